/**
 * Cells: computed values, lazy and memoised, recomputed only when something they read
 * changed (ReacTcl's `react x := {code}`). A computation that returns a Promise makes
 * an async cell: its runs are tracked across `await` through the context, and a run
 * that a newer one supersedes is aborted and never overwrites it.
 */
import { Observable } from 'rxjs';
import type { AsyncCell, AsyncState, Cell, CellContext, Readable } from './context.js';
import {
  activeSub,
  DIRTY,
  HAS_ERROR,
  Node,
  readComputed,
  refresh,
  track,
  write,
  type Equals,
  type NodeOwner,
} from './graph.js';
import { effect } from './effect.js';
import { observableKey } from './observable.js';
import type { CellOptions, EqualityFn } from './options.js';
import { untracked } from './batch.js';

/** Anything the context can read: every readable of this module keeps its node here. */
interface HasNode {
  readonly _node: Node;
}

/** One run of an async cell: its abort signal and the Promise its readers hold. */
class AsyncRun<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T | PromiseLike<T>) => void;
  reject!: (error: unknown) => void;
  settled = false;
  private controller: AbortController | undefined;

  constructor(readonly id: number) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Readers may never await it; a rejection nobody reads must not crash the process.
    this.promise.catch(() => {});
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  abort(): void {
    this.controller?.abort(new DOMException('This run of the cell was superseded by a newer one', 'AbortError'));
  }
}

class RunContext implements CellContext {
  constructor(
    private readonly cell: CellImpl<unknown>,
    private readonly runId: number,
  ) {}

  get<T>(source: AsyncCell<T>): Promise<T>;
  get<T>(source: Readable<T>): T;
  get(source: Readable<unknown> | AsyncCell<unknown>): unknown {
    const dep = nodeOf(source);
    if (dep.compute !== undefined) refresh(dep);
    const sub = activeSub;
    if (sub !== undefined) track(dep, sub);
    // After an `await` nothing is computing: record into this cell, unless a newer run
    // superseded this one (it may still read, but no longer shapes the dependencies).
    else if (this.cell._runs === this.runId) track(dep, this.cell._node);
    if (dep.flags & HAS_ERROR) throw dep.value;
    return dep.value;
  }

  get signal(): AbortSignal {
    return this.cell._signalFor(this.runId);
  }
}

function nodeOf(source: unknown): Node {
  const node = (source as Partial<HasNode> | null)?._node;
  if (!(node instanceof Node)) {
    throw new TypeError(
      `ctx.get() expects an input, a cell or a memo entry of memocell, got \`${String(source)}\` (${typeof source})`,
    );
  }
  return node;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function computeCell(node: Node): unknown {
  const cell = node.owner as CellImpl<unknown>;
  const runId = ++cell._runs;
  const fn = cell._fn;
  const result = fn.length === 0 ? (fn as () => unknown)() : fn(new RunContext(cell, runId));
  if (isThenable(result)) return cell._startRun(result, runId);
  if (cell._run !== undefined) cell._leaveAsync(result);
  return result;
}

const PENDING_INITIAL: AsyncState<never> = Object.freeze({ status: 'pending', value: undefined, error: undefined });

/** @internal */
export class CellImpl<T> implements Cell<T>, NodeOwner {
  /** @internal */
  readonly _node: Node;
  /** @internal Replaced when a memo entry is evicted (it then forwards to its successor). */
  _fn: (ctx: CellContext) => T | PromiseLike<T>;
  /** @internal Counts computations; a run whose id is not the latest is superseded. */
  _runs = 0;
  /** @internal The current async run, once the computation has returned a Promise. */
  _run: AsyncRun<T> | undefined = undefined;
  /** Holds the AsyncState of an async cell, so readers of `state()` follow it. */
  private stateNode: Node | undefined = undefined;
  private readonly userEquals: EqualityFn<T>;
  private readonly ownName: string | undefined;

  constructor(fn: (ctx: CellContext) => T | PromiseLike<T>, options?: CellOptions<T>) {
    if (typeof fn !== 'function') {
      throw new TypeError(`Expected \`fn\` to be a function, got \`${String(fn)}\` (${typeof fn})`);
    }
    const equals = options?.equals ?? Object.is;
    if (typeof equals !== 'function') {
      throw new TypeError(`Expected \`equals\` to be a function, got \`${String(equals)}\` (${typeof equals})`);
    }
    this._fn = fn;
    this.userEquals = equals;
    this.ownName = options?.name;
    this._node = new Node(computeCell, equals as Equals, this, DIRTY);
  }

  get name(): string | undefined {
    return this.ownName;
  }

  get(): T {
    return readComputed(this._node) as T;
  }

  peek(): T {
    return untracked(() => this.get());
  }

  state(): AsyncState<T> {
    let value: T;
    try {
      value = this.get();
    } catch (error) {
      return { status: 'error', value: undefined, error };
    }
    const stateNode = this.stateNode;
    if (this._run === undefined || stateNode === undefined) return { status: 'value', value, error: undefined };
    const sub = activeSub;
    if (sub !== undefined) track(stateNode, sub);
    return stateNode.value as AsyncState<T>;
  }

  settled(): Promise<T> {
    let value: unknown;
    try {
      value = this.peek();
    } catch (error) {
      return Promise.reject(error);
    }
    return this._run !== undefined ? (value as Promise<T>) : Promise.resolve(value as T);
  }

  observe(): Observable<T> {
    return new Observable<T>((subscriber) => {
      let last: T | undefined;
      let emitted = false;
      return effect(() => {
        const state = this.state();
        if (state.status === 'error') {
          subscriber.error(state.error);
        } else if (state.status === 'value') {
          // A sync cell re-runs this only when its value changed; an async one also on
          // each settle, so compare settled values.
          if (emitted && this._run !== undefined && this.userEquals(last as T, state.value)) return;
          emitted = true;
          last = state.value;
          subscriber.next(state.value);
        }
      });
    });
  }

  [observableKey](): Observable<T> {
    return this.observe();
  }

  /** @internal */
  _signalFor(runId: number): AbortSignal {
    const run = this._run;
    if (run !== undefined && run.id === runId) return run.signal;
    // Asked for before the computation returned its Promise: the run object comes later,
    // so make it now and let `_startRun` adopt it.
    if (runId === this._runs) return this.pendingRun(runId).signal;
    const stale = new AbortController();
    stale.abort(new DOMException('This run of the cell was superseded by a newer one', 'AbortError'));
    return stale.signal;
  }

  private early: AsyncRun<T> | undefined = undefined;

  private pendingRun(runId: number): AsyncRun<T> {
    if (this.early === undefined || this.early.id !== runId) this.early = new AsyncRun<T>(runId);
    return this.early;
  }

  /** @internal A computation returned a Promise: it becomes the current run. */
  _startRun(result: PromiseLike<unknown>, runId: number): Promise<T> {
    const run = this.pendingRun(runId);
    this.early = undefined;
    const previous = this._run;
    this._run = run;
    // Settled values, not Promises, are compared by the user's equality.
    this._node.equals = Object.is;
    if (previous !== undefined && !previous.settled) {
      previous.settled = true;
      previous.abort();
      previous.resolve(run.promise);
    }
    const last = this.stateNode?.value as AsyncState<T> | undefined;
    this.setState(
      last === undefined || last.status === 'pending'
        ? last ?? PENDING_INITIAL
        : { status: 'pending', value: last.value, error: undefined },
    );
    result.then(
      (value) => this.settle(run, true, value),
      (error) => this.settle(run, false, error),
    );
    return run.promise;
  }

  /** @internal The computation, async before, returned a plain value this time. */
  _leaveAsync(value: unknown): void {
    const previous = this._run;
    this._run = undefined;
    this._node.equals = this.userEquals as Equals;
    if (previous !== undefined && !previous.settled) {
      previous.settled = true;
      previous.abort();
      previous.resolve(value as T);
    }
  }

  private setState(state: AsyncState<T>): void {
    if (this.stateNode === undefined) {
      this.stateNode = new Node(undefined, sameState(this.userEquals), undefined, 0, state);
      this.stateNode.version = 1;
    } else {
      write(this.stateNode, state);
    }
  }

  private settle(run: AsyncRun<T>, ok: boolean, outcome: unknown): void {
    if (run.settled || this._run !== run) return;
    // Something read by this run may have changed while it was in flight: then its
    // outcome mixes old and new inputs. Check now and, if so, start over; the readers
    // of this run's Promise get the newer run's outcome.
    try {
      refresh(this._node);
    } catch {
      // A cycle found while checking shows up on the next read; settle with what we have.
    }
    if (this._run !== run || run.settled) return;
    run.settled = true;
    const last = this.stateNode?.value as AsyncState<T> | undefined;
    if (ok) {
      this.setState({ status: 'value', value: outcome as T, error: undefined });
      run.resolve(outcome as T);
    } else {
      this.setState({ status: 'error', value: last?.value, error: outcome });
      run.reject(outcome);
    }
  }
}

function sameState<T>(equals: EqualityFn<T>): Equals {
  return (a, b) => {
    const x = a as AsyncState<T>;
    const y = b as AsyncState<T>;
    if (x.status !== y.status) return false;
    if (x.status === 'error') return x.error === y.error;
    if (x.status === 'pending') return Object.is(x.value, y.value);
    return equals(x.value as T, y.value as T);
  };
}

/**
 * Creates a cell: a value computed by `fn`, lazily, memoised until something `fn`
 * read (inputs, cells, memo entries) changes. A computation that throws memoises the
 * error: every read rethrows it until a dependency changes.
 *
 * An `async` computation makes an async cell: `get()` returns a Promise of the settled
 * value, `state()` reports `pending`/`value`/`error`. Read dependencies through
 * `ctx.get(source)` so they are recorded after an `await` too; `ctx.signal` aborts when
 * a dependency changes and a newer run supersedes this one.
 *
 * @example
 * ```ts
 * const width = input(10);
 * const area = cell(() => width.get() * 2, { name: 'area' });
 * area.get(); // 20
 *
 * const user = cell(async (ctx) => {
 *   const res = await fetch(`/users/${ctx.get(userId)}`, { signal: ctx.signal });
 *   return res.json();
 * });
 * await user.get();
 * ```
 */
export function cell<T>(fn: (ctx: CellContext) => Promise<T>, options?: CellOptions<T>): AsyncCell<T>;
export function cell<T>(fn: (ctx: CellContext) => T, options?: CellOptions<T>): Cell<T>;
export function cell<T>(fn: (ctx: CellContext) => T | Promise<T>, options?: CellOptions<T>): Cell<T> | AsyncCell<T> {
  return new CellImpl<T>(fn, options) as Cell<T> | AsyncCell<T>;
}
