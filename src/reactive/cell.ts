/**
 * Cells: computed values, lazy and memoised, recomputed only when something they read
 * changed (ReacTcl's `react x := {code}`). A computation that returns a Promise makes
 * an async cell: its runs are tracked across `await` through the context, and a run
 * that a newer one supersedes is aborted and never overwrites it.
 */
import { Observable, type Subscribable } from 'rxjs';
import type { AsyncCell, AsyncState, Cell, CellContext, Readable } from './context.js';
import { effect } from './effect.js';
import {
  activeSub,
  COMPUTED,
  DIRTY,
  HAS_ERROR,
  Node,
  readComputed,
  refresh,
  setActiveSub,
  track,
  type Equals,
} from './graph.js';
import { InputImpl } from './input.js';
import { installObservableInterop } from './observable.js';
import type { CellOptions, EqualityFn } from './options.js';
import { isThenable } from './thenable.js';

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
    this.controller?.abort(new DOMException(SUPERSEDED, 'AbortError'));
  }
}

class RunContext implements CellContext {
  constructor(
    private readonly cell: ComputedCell<unknown>,
    private readonly runId: number,
  ) {}

  get<T>(source: AsyncCell<T>): Promise<T>;
  get<T>(source: Readable<T>): T;
  get(source: Readable<unknown> | AsyncCell<unknown>): unknown {
    if (!(source instanceof Node)) {
      throw new TypeError(
        `ctx.get() expects an input, a cell or a memo entry of memocell, got \`${String(source)}\` (${typeof source})`,
      );
    }
    const dep: Node = source;
    if (dep.flags & COMPUTED) refresh(dep);
    const sub = activeSub;
    if (sub !== undefined) track(dep, sub);
    // After an `await` nothing is computing: record into this cell, unless a newer run
    // superseded this one (it may still read, but no longer shapes the dependencies).
    else if (this.cell._runs === this.runId) track(dep, this.cell);
    if (dep.flags & HAS_ERROR) throw dep.value;
    return dep.value;
  }

  get signal(): AbortSignal {
    return this.cell._signalFor(this.runId);
  }
}

export { isThenable };

const PENDING_INITIAL: AsyncState<never> = Object.freeze({ status: 'pending', value: undefined, error: undefined });
const SUPERSEDED = 'This run of the cell was superseded by a newer one';

/** The async side of a cell, made when its computation first returns a Promise. */
class AsyncSide<T> {
  /** The current run; `undefined` once the computation returns plain values again. */
  run: AsyncRun<T> | undefined = undefined;
  /** A run made early because the computation asked for `ctx.signal` before returning. */
  early: AsyncRun<T> | undefined = undefined;
  /** Holds the AsyncState, so readers of `state()` follow it. */
  readonly state: InputImpl<AsyncState<T>>;

  constructor(readonly userEquals: EqualityFn<T>) {
    this.state = new InputImpl<AsyncState<T>>(PENDING_INITIAL, { equals: sameState(userEquals) });
  }

  runFor(runId: number): AsyncRun<T> {
    if (this.early === undefined || this.early.id !== runId) this.early = new AsyncRun<T>(runId);
    return this.early;
  }
}

/**
 * @internal What every computed node shares: reading, async runs, state, Observables.
 * Subclasses say how to run the computation (`_invoke`) and what they are called.
 */
export abstract class ComputedCell<T> extends Node implements Cell<T> {
  /** Installed on the prototype below, under the runtime's interop key. */
  declare [Symbol.observable]: () => Subscribable<T>;
  /** @internal Counts computations; a run whose id is not the latest is superseded. */
  _runs = 0;
  /** @internal Made when the computation first returns a Promise. */
  _async: AsyncSide<T> | undefined = undefined;

  constructor(equals: EqualityFn<T>) {
    super(COMPUTED | DIRTY, equals as Equals, undefined);
  }

  /** @internal Runs the computation once. */
  abstract _invoke(runId: number): unknown;

  get(): T {
    return readComputed(this) as T;
  }

  peek(): T {
    const prev = setActiveSub(undefined);
    try {
      return readComputed(this) as T;
    } finally {
      setActiveSub(prev);
    }
  }

  override _compute(): unknown {
    const runId = ++this._runs;
    const result = this._invoke(runId);
    if (isThenable(result)) return this._startRun(result, runId);
    if (this._async?.run !== undefined) this._leaveAsync(result);
    return result;
  }

  state(): AsyncState<T> {
    let value: T;
    try {
      value = this.get();
    } catch (error) {
      return { status: 'error', value: undefined, error };
    }
    const side = this._async;
    if (side === undefined || side.run === undefined) return { status: 'value', value, error: undefined };
    return side.state.get();
  }

  settled(): Promise<T> {
    let value: unknown;
    try {
      value = this.peek();
    } catch (error) {
      return Promise.reject(error);
    }
    return this._async?.run !== undefined ? (value as Promise<T>) : Promise.resolve(value as T);
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
          // Compare with the last emission: an async cell re-runs this on each settle, and
          // a sync one may change and change back within one batch.
          const side = this._async;
          const equals = side?.run !== undefined ? side.userEquals : (this.equals as EqualityFn<T>);
          if (emitted && equals(last as T, state.value)) return;
          emitted = true;
          last = state.value;
          subscriber.next(state.value);
        }
      });
    });
  }


  /** @internal */
  _signalFor(runId: number): AbortSignal {
    const run = this._async?.run;
    if (run !== undefined && run.id === runId) return run.signal;
    // Asked for before the computation returned its Promise: make the run now and let
    // `startRun` adopt it.
    if (runId === this._runs) return (this._async ??= new AsyncSide(this.equals as EqualityFn<T>)).runFor(runId).signal;
    const stale = new AbortController();
    stale.abort(new DOMException(SUPERSEDED, 'AbortError'));
    return stale.signal;
  }

  /** A computation returned a Promise: it becomes the current run. */
  /** @internal */
  _startRun(result: PromiseLike<unknown>, runId: number): Promise<T> {
    const side = (this._async ??= new AsyncSide(this.equals as EqualityFn<T>));
    const run = side.runFor(runId);
    side.early = undefined;
    const previous = side.run;
    side.run = run;
    // Settled values, not Promises, are compared by the user's equality.
    this.equals = Object.is;
    if (previous !== undefined && !previous.settled) {
      previous.settled = true;
      previous.abort();
      previous.resolve(run.promise);
    }
    const last = side.state.value as AsyncState<T>;
    if (last.status !== 'pending') side.state.set({ status: 'pending', value: last.value, error: undefined });
    result.then(
      (value) => this.settle(run, true, value),
      (error) => this.settle(run, false, error),
    );
    return run.promise;
  }

  /** The computation, async before, returned a plain value this time. */
  /** @internal */
  _leaveAsync(value: unknown): void {
    const side = this._async as AsyncSide<T>;
    const previous = side.run;
    side.run = undefined;
    this.equals = side.userEquals as Equals;
    if (previous !== undefined && !previous.settled) {
      previous.settled = true;
      previous.abort();
      previous.resolve(value as T);
    }
  }

  private settle(run: AsyncRun<T>, ok: boolean, outcome: unknown): void {
    const side = this._async as AsyncSide<T>;
    if (run.settled || side.run !== run) return;
    // Something read by this run may have changed while it was in flight: then its
    // outcome mixes old and new inputs. Check now and, if so, start over; the readers
    // of this run's Promise get the newer run's outcome.
    try {
      refresh(this);
    } catch {
      // A cycle found while checking shows up on the next read; settle with what we have.
    }
    if (side.run !== run || run.settled) return;
    run.settled = true;
    if (ok) {
      side.state.set({ status: 'value', value: outcome as T, error: undefined });
      run.resolve(outcome as T);
    } else {
      const last = side.state.value as AsyncState<T>;
      side.state.set({ status: 'error', value: last.value, error: outcome });
      run.reject(outcome);
    }
  }
}

installObservableInterop(ComputedCell);

/** @internal A cell made by `cell(fn)`. */
export class CellImpl<T> extends ComputedCell<T> {
  /** A computation that declares no parameter gets no context, saving an allocation per run. */
  private readonly wantsContext: boolean;

  constructor(
    private readonly fn: (ctx: CellContext) => T | PromiseLike<T>,
    equals: EqualityFn<T>,
    private readonly ownName: string | undefined,
  ) {
    super(equals);
    // Read once: `fn.length` is a slow accessor.
    this.wantsContext = fn.length !== 0;
  }

  get name(): string | undefined {
    return this.ownName;
  }

  _invoke(runId: number): unknown {
    return this.wantsContext ? this.fn(new RunContext(this as ComputedCell<unknown>, runId)) : (this.fn as () => unknown)();
  }

  // The same as the inherited one with `_invoke` inlined: one stack frame less per
  // level when a long chain of cells computes for the first time.
  override _compute(): unknown {
    const runId = ++this._runs;
    const result = this.wantsContext
      ? this.fn(new RunContext(this as ComputedCell<unknown>, runId))
      : (this.fn as () => unknown)();
    if (isThenable(result)) return this._startRun(result, runId);
    if (this._async?.run !== undefined) this._leaveAsync(result);
    return result;
  }
}

function sameState<T>(equals: EqualityFn<T>): EqualityFn<AsyncState<T>> {
  return (x, y) => {
    if (x.status !== y.status) return false;
    if (x.status === 'error') return x.error === y.error;
    if (x.status === 'pending') return Object.is(x.value, y.value);
    return equals(x.value as T, y.value as T);
  };
}

/** Checks the options shared by `cell` and `memo`. */
export function checkEquals<T>(equals: EqualityFn<T> | undefined): EqualityFn<T> {
  const checked = equals ?? (Object.is as EqualityFn<T>);
  if (typeof checked !== 'function') {
    throw new TypeError(`Expected \`equals\` to be a function, got \`${String(checked)}\` (${typeof checked})`);
  }
  return checked;
}

export function checkFunction(fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new TypeError(`Expected \`fn\` to be a function, got \`${String(fn)}\` (${typeof fn})`);
  }
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
  checkFunction(fn);
  return new CellImpl<T>(fn, checkEquals(options?.equals), options?.name) as unknown as Cell<T> | AsyncCell<T>;
}
