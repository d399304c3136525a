/**
 * Public shapes shared by inputs, cells and memo entries. Types only.
 */
import type { Observable, Subscribable } from 'rxjs';

/** Anything whose value can be read and tracked: an input, a cell, a memo entry. */
export interface Readable<T> {
  /** The current value; inside a computation, also records the dependency. */
  get(): T;
  /** The current value without recording a dependency. */
  peek(): T;
  /** An rxjs Observable: the current value on subscribe, then each distinct later value. */
  observe(): Observable<T>;
  /** The interop protocol: lets rxjs `from(readable)` (and other libraries) subscribe. */
  [Symbol.observable](): Subscribable<T>;
  readonly name: string | undefined;
}

/** The state of an async cell: its latest settled value or error, and whether a run is pending. */
export type AsyncState<T> =
  | { readonly status: 'pending'; readonly value: T | undefined; readonly error: undefined }
  | { readonly status: 'value'; readonly value: T; readonly error: undefined }
  | { readonly status: 'error'; readonly value: T | undefined; readonly error: unknown };

/**
 * Given to a cell's computation. `ctx.get(source)` reads a source and records it as a
 * dependency, also after an `await`, where plain `source.get()` no longer can.
 */
export interface CellContext {
  /** Reads an async cell: its settled value, as a Promise; records the dependency. */
  get<T>(source: AsyncCell<T>): Promise<T>;
  /** Reads an input, cell or memo entry and records the dependency. */
  get<T>(source: Readable<T>): T;
  /** Aborted when this run is superseded by a newer one; pass it to `fetch` and friends. */
  readonly signal: AbortSignal;
}

/** A computed value: lazy, memoised, recomputed only when something it read changed. */
export interface Cell<T> extends Readable<T> {
  /** Its state as an async cell would report it: `value`, or `error` if it threw. */
  state(): AsyncState<T>;
  /** A Promise of its value (already settled for a synchronous cell). */
  settled(): Promise<T>;
}

/**
 * A cell whose computation returns a Promise. `get()` returns a Promise of the settled
 * value of the current run (following any run that supersedes it); `state()` tells
 * whether a run is pending and holds the last settled value or error.
 */
export interface AsyncCell<T> extends Omit<Readable<Promise<T>>, 'observe' | typeof Symbol.observable> {
  state(): AsyncState<T>;
  settled(): Promise<T>;
  /** Emits each distinct settled value; an error ends the Observable. */
  observe(): Observable<T>;
  [Symbol.observable](): Subscribable<T>;
}

/** A value set from outside: the roots of the graph. */
export interface Input<T> extends Readable<T> {
  set(value: T): void;
  update(fn: (value: T) => T): void;
}
