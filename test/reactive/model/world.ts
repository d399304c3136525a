/**
 * The system under test for the model-based test: a random graph built from real
 * inputs, cells, a memo family, effects and Observable subscriptions, instrumented so
 * every computation, effect run and emission is recorded, next to a model that
 * recomputes every formula from scratch. `checkpoint` and `end` hold the invariants.
 */
import type { Subscription } from 'rxjs';
import { cell, effect, input, memo, type Cell, type Input, type MemoFn } from '../../../src/reactive/index.js';
import {
  evaluate,
  naive,
  sameOkVal,
  sameVal,
  showRef,
  showVal,
  valOf,
  valueIn,
  type Graph,
  type Ref,
  type Snapshot,
  type Val,
} from './graph.js';

/** How a command reads a node: `get()`, `peek()`, or `state()` (cells and memo entries). */
export type ReadHow = 'get' | 'peek' | 'state';

/** One dependency read by one run of a cell, with what it gave. */
interface Read {
  readonly ref: Ref;
  readonly val: Val;
}

/** One run of a cell's computation, with what it knew before running. */
interface Run {
  readonly cell: number;
  readonly prevReads: readonly Read[] | undefined;
  readonly prevMayRerun: boolean;
}

/** What effects and Observable subscriptions share: a target, and what it saw this command. */
interface Watcher {
  readonly id: number;
  readonly target: Ref;
  /** Everything it saw, in order (an effect's reads; an Observable's `next`/`error`). */
  readonly seen: Val[];
  /** `seen.length` when the current command began. */
  seenAtStart: number;
  /** Created by the current command. */
  isNew: boolean;
  /** Disposed / unsubscribed (by a command, or, for an Observable, by its error). */
  stopped: boolean;
  /**
   * Did the target's value differ from the value it had when the command began, at
   * some moment of the command where that could move its version? Only then may it
   * see the same value again.
   */
  mayRepeat: boolean;
}

export interface EffectRec extends Watcher {
  dispose(): void;
}

export interface SubRec extends Watcher {
  sub: Subscription | undefined;
  /** Ended by an error it emitted. */
  errored: boolean;
}

export class InvariantError extends Error {
  override name = 'InvariantError';
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new InvariantError(message());
}

const showSeen = (vals: readonly Val[]): string => `[${vals.map(showVal).join(', ')}]`;

export interface WorldOptions {
  /**
   * Let an Observable emit a value equal to its previous emission when the value moved
   * away and back within one command (input A→B→A in a batch): version-based change
   * detection re-runs its effect. The contract ("each distinct later value") forbids it.
   */
  readonly allowRepeatedEmission: boolean;
}

export class World {
  readonly inputs: Input<number>[];
  readonly cells: Cell<number>[];
  readonly f: MemoFn<[number], number>;
  /** The model: the inputs' values; everything else is `naive(graph, values)`. */
  readonly values: number[];
  /** The model's values now (refreshed at every checkpoint). */
  snap: Snapshot;
  /** The model's values when the current command began. */
  before: Snapshot;

  /** Reads of the computations running now, innermost last (`null`: a memo body). */
  private readonly frames: (Read[] | null)[] = [];
  /** What each cell read in its last run. */
  private readonly lastReads: (readonly Read[] | undefined)[];
  /**
   * Since its last run, did something a cell read in it take a different value at a
   * moment where that could move the dependency's version? Only then may it run again.
   */
  private readonly mayRerun: boolean[];
  /** Cell runs since the last checkpoint. */
  private runs: Run[] = [];
  inBatch = false;

  readonly effects: EffectRec[] = [];
  readonly subs: SubRec[] = [];

  constructor(
    readonly graph: Graph,
    readonly options: WorldOptions,
  ) {
    this.values = [...graph.init];
    this.inputs = this.values.map((v, i) => input(v, { name: `in${i}` }));
    this.f = memo(
      (k: number): number => {
        this.frames.push(null);
        try {
          return evaluate(graph.memo[k]!, (ref) => this.readInside(ref), `f(${k})`);
        } finally {
          this.frames.pop();
        }
      },
      { max: graph.max, name: 'f' },
    );
    this.cells = graph.cells.map((expr, i) =>
      cell(
        () => {
          this.runs.push({ cell: i, prevReads: this.lastReads[i], prevMayRerun: this.mayRerun[i]! });
          this.mayRerun[i] = false;
          const reads: Read[] = [];
          this.frames.push(reads);
          try {
            return evaluate(expr, (ref) => this.readInside(ref), `c${i}`);
          } finally {
            this.frames.pop();
            this.lastReads[i] = reads;
          }
        },
        { name: `c${i}` },
      ),
    );
    this.lastReads = this.cells.map(() => undefined);
    this.mayRerun = this.cells.map(() => false);
    this.snap = this.before = naive(graph, this.values);
  }

  /** A read from inside a computation: tracked, and recorded for the minimality check. */
  private readInside(ref: Ref): number {
    const frame = this.frames[this.frames.length - 1];
    try {
      const v = this.read(ref, 'get');
      frame?.push({ ref, val: { ok: true, v } });
      return v;
    } catch (error) {
      frame?.push({ ref, val: valOf(() => { throw error; }) });
      throw error;
    }
  }

  read(ref: Ref, how: ReadHow): number {
    if (ref.t === 'in') {
      const node = this.inputs[ref.i]!;
      return how === 'peek' ? node.peek() : node.get();
    }
    if (how === 'get') return ref.t === 'cell' ? this.cells[ref.i]!.get() : this.f(ref.k);
    const node = ref.t === 'cell' ? this.cells[ref.i]! : this.f.cell(ref.k);
    if (how === 'peek') return node.peek();
    const state = node.state();
    if (state.status === 'error') throw state.error;
    if (state.status === 'pending') throw new InvariantError(`${showRef(ref)}.state() is pending in a sync graph`);
    return state.value;
  }

  /** Reads `ref` from outside and compares with the model. */
  readAndCheck(ref: Ref, how: ReadHow): void {
    const got = valOf(() => this.read(ref, how));
    const want = valueIn(naive(this.graph, this.values), ref);
    check(sameVal(got, want), () => `${showRef(ref)}.${how}() gave ${showVal(got)}, the model says ${showVal(want)}`);
  }

  // ---- the commands' building blocks --------------------------------------------------

  set(i: number, v: number): void {
    this.values[i] = v;
    this.inputs[i]!.set(v);
  }

  subscribeEffect(target: Ref): EffectRec {
    const rec: EffectRec = {
      id: this.effects.length,
      target,
      seen: [],
      seenAtStart: 0,
      isNew: true,
      stopped: false,
      mayRepeat: false,
      dispose: () => {},
    };
    this.effects.push(rec);
    rec.dispose = effect(() => {
      rec.seen.push(valOf(() => this.read(target, 'get')));
    });
    return rec;
  }

  subscribeObservable(target: Ref): SubRec {
    const rec: SubRec = {
      id: this.subs.length,
      target,
      seen: [],
      seenAtStart: 0,
      isNew: true,
      stopped: false,
      mayRepeat: false,
      sub: undefined,
      errored: false,
    };
    this.subs.push(rec);
    const observable =
      target.t === 'in' ? this.inputs[target.i]!.observe() : target.t === 'cell' ? this.cells[target.i]!.observe() : this.f.observe(target.k);
    rec.sub = observable.subscribe({
      next: (v) => rec.seen.push({ ok: true, v }),
      error: (error: unknown) => {
        rec.seen.push(valOf(() => { throw error; }));
        rec.errored = rec.stopped = true;
      },
      complete: () => rec.seen.push({ ok: false, msg: '<complete>' }),
    });
    return rec;
  }

  // ---- invariants ------------------------------------------------------------------

  begin(): void {
    this.before = this.snap = naive(this.graph, this.values);
    check(this.runs.length === 0, () => `computations ran between commands: ${this.runs.map((r) => `c${r.cell}`).join(', ')}`);
    for (const w of [...this.effects, ...this.subs]) {
      w.seenAtStart = w.seen.length;
      w.isNew = false;
      w.mayRepeat = false;
    }
  }

  /**
   * After each step of a command (each write and read inside a batch, and the end of
   * every command): no computation ran twice or without cause, and nothing was seen
   * inside a batch.
   */
  checkpoint(kind: 'write' | 'read'): void {
    const snap = (this.snap = naive(this.graph, this.values));
    const ran = new Set<number>();
    for (const run of this.runs) {
      check(!ran.has(run.cell), () => `c${run.cell} computed twice in one step`);
      ran.add(run.cell);
      const changed = run.prevReads?.find((r) => !sameOkVal(r.val, valueIn(snap, r.ref)));
      check(
        run.prevReads === undefined || run.prevMayRerun || changed !== undefined,
        () =>
          `c${run.cell} recomputed though nothing it read changed since its last run ` +
          `(it read ${run.prevReads!.map((r) => `${showRef(r.ref)}=${showVal(r.val)}`).join(', ') || 'nothing'})`,
      );
    }
    check(
      !(this.inBatch && kind === 'write') || this.runs.length === 0,
      () => `a write inside a batch computed ${[...ran].map((i) => `c${i}`).join(', ')}: cells must be lazy`,
    );
    this.runs = [];
    // A computed node's version moves only when something reads it; an input's on every write.
    const counts = (ref: Ref): boolean => kind === 'read' || ref.t === 'in';
    this.lastReads.forEach((reads, i) => {
      if (reads?.some((r) => counts(r.ref) && !sameOkVal(r.val, valueIn(snap, r.ref)))) this.mayRerun[i] = true;
    });
    for (const w of [...this.effects, ...this.subs]) {
      if (counts(w.target) && !sameOkVal(valueIn(this.before, w.target), valueIn(snap, w.target))) w.mayRepeat = true;
      if (this.inBatch) {
        check(w.seen.length === w.seenAtStart, () => `${this.label(w)} saw ${showSeen(w.seen.slice(w.seenAtStart))} inside a batch`);
      }
    }
  }

  /** The end of a command: what effects and Observables saw. */
  end(): void {
    this.checkpoint('read');
    const now = this.snap;
    for (const e of this.effects) {
      const fresh = e.seen.slice(e.seenAtStart);
      const want = valueIn(now, e.target);
      const label = this.label(e);
      if (e.stopped) {
        check(fresh.length === 0, () => `${label} ran after it was disposed: saw ${showSeen(fresh)}`);
        continue;
      }
      check(fresh.length <= 1, () => `${label} ran ${fresh.length} times in one command: saw ${showSeen(fresh)}`);
      check(!e.isNew || fresh.length === 1, () => `${label} did not run when created`);
      check(
        fresh.every((v) => sameVal(v, want)),
        () => `${label} saw ${showSeen(fresh)}, but the state after the command has ${showVal(want)} (a glitch)`,
      );
      check(
        e.isNew || fresh.length === 0 || e.mayRepeat,
        () => `${label} ran though ${showRef(e.target)} kept its value ${showVal(want)} (no equality cutoff)`,
      );
      const last = e.seen[e.seen.length - 1]!;
      check(sameVal(last, want), () => `${label} last saw ${showVal(last)}, but ${showRef(e.target)} is ${showVal(want)}`);
    }
    for (const s of this.subs) {
      const fresh = s.seen.slice(s.seenAtStart);
      const want = valueIn(now, s.target);
      const label = this.label(s);
      const prev = s.seen[s.seenAtStart - 1];
      if (s.stopped && !(s.errored && fresh.length > 0)) {
        check(fresh.length === 0, () => `${label} emitted after it ended: ${showSeen(fresh)}`);
        continue;
      }
      check(fresh.length <= 1, () => `${label} emitted ${showSeen(fresh)} in one command`);
      check(
        fresh.every((v) => sameVal(v, want)),
        () => `${label} emitted ${showSeen(fresh)}, but the state after the command has ${showVal(want)} (a glitch)`,
      );
      if (s.isNew) {
        check(fresh.length === 1, () => `${label} did not emit the current value on subscribe`);
      } else if (prev !== undefined && sameOkVal(prev, want)) {
        check(
          fresh.length === 0 || (this.options.allowRepeatedEmission && s.mayRepeat),
          () => `${label} emitted ${showSeen(fresh)} again: not a distinct value`,
        );
      } else {
        check(fresh.length === 1, () => `${label} did not emit: ${showRef(s.target)} went from ${prev && showVal(prev)} to ${showVal(want)}`);
      }
      check(s.errored === !(want.ok), () => `${label}: errored is ${s.errored} but ${showRef(s.target)} is ${showVal(want)}`);
      check(s.sub?.closed === s.stopped, () => `${label}: subscription.closed is ${s.sub?.closed}, expected ${s.stopped}`);
    }
  }

  label(w: Watcher): string {
    return `${'dispose' in w ? 'e' : 's'}${w.id} (${'dispose' in w ? 'effect' : 'observe'} of ${showRef(w.target)})`;
  }

  /** Stops every effect and subscription: the end of a run. */
  dispose(): void {
    for (const e of this.effects) {
      e.dispose();
      e.stopped = true;
    }
    for (const s of this.subs) {
      s.sub?.unsubscribe();
      s.stopped = true;
    }
  }

  /** Once nothing watches the graph, a write computes nothing and reaches nobody. */
  checkReleased(): void {
    this.dispose();
    this.begin();
    this.values.forEach((v, i) => this.set(i, v + 1));
    const ran = this.runs.map((r) => `c${r.cell}`);
    this.runs = [];
    check(ran.length === 0, () => `with every effect and subscription ended, writes still computed ${ran.join(', ')}`);
    for (const w of [...this.effects, ...this.subs]) {
      check(w.seen.length === w.seenAtStart, () => `${this.label(w)} saw ${showSeen(w.seen.slice(w.seenAtStart))} after it ended`);
    }
  }
}
