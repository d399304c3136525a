/**
 * Options of the reactive layer, each with its default. Types only.
 */

/** Decides whether a new value equals the old one; equal values invalidate nothing downstream. */
export type EqualityFn<T> = (a: T, b: T) => boolean;

export interface InputOptions<T> {
  /** Equality used to ignore writes of an equal value. Default: `Object.is`. */
  readonly equals?: EqualityFn<T>;
  /** Shown in errors (for example a `CycleError`) and debugging. Default: none. */
  readonly name?: string;
}

export interface CellOptions<T> {
  /**
   * Equality cutoff: a recomputation that yields a value equal to the previous one
   * keeps the old value and invalidates nothing downstream. Default: `Object.is`.
   * For an async cell it compares settled values (Observable emissions).
   */
  readonly equals?: EqualityFn<T>;
  /** Shown in errors (for example a `CycleError`) and debugging. Default: `cell#<id>`. */
  readonly name?: string;
}

export interface EffectOptions {
  /** Shown in errors and debugging. Default: none. */
  readonly name?: string;
}

export interface MemoOptions<R> {
  /**
   * The most entries kept. When a call adds an entry beyond it, the least recently
   * used entries that nothing watches are evicted (about a tenth at a time, so the
   * cost is amortised). Watched entries are never evicted. Default: `10_000`.
   */
  readonly max?: number;
  /**
   * How long a computed entry may be served, in milliseconds. When it expires it is
   * forgotten: the next call recomputes it, observers get the recomputed value, and
   * cells that read it recompute when next read. Default: no expiry.
   */
  readonly ttlMs?: number;
  /** Equality cutoff of each entry, as for `cell`. Default: `Object.is`. */
  readonly equals?: EqualityFn<R>;
  /** Names entries `name(args)` in errors. Default: the function's own name. */
  readonly name?: string;
}
