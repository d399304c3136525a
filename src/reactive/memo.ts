/**
 * Memoised function families (ReacTcl's "arrays or dicts of values, memoising
 * individual elements"): one cell per structurally equal argument list, each with its
 * own dependencies, in a bounded map.
 */
import { Observable } from 'rxjs';
import { CellImpl } from './cell.js';
import type { Cell } from './context.js';
import { COMPUTING, DIRTY, dropDeps, HAS_ERROR, invalidate, isFresh, WATCHED } from './graph.js';
import { batch } from './batch.js';
import { canonicalKey } from './key.js';
import type { MemoOptions } from './options.js';

/** A memoised function: call it like the function it wraps. */
export interface MemoFn<A extends unknown[], R> {
  /** The value for these arguments: cached, or computed now and cached. Tracked in cells. */
  (...args: A): R;
  /** Drops the cached value for these arguments; whatever read it recomputes when next read. */
  forget(...args: A): void;
  /** The cached value if one is held and current, else `undefined`; computes nothing, tracks nothing. */
  peek(...args: A): R | undefined;
  /** Is a current value cached for these arguments? */
  has(...args: A): boolean;
  /** An Observable of the value for these arguments: now, and after every change. */
  observe(...args: A): Observable<Awaited<R>>;
  /** The cell behind these arguments' entry. */
  cell(...args: A): Cell<R>;
  /** Forgets every entry. */
  clear(): void;
  /** How many entries are held now. */
  readonly size: number;
  /** The family's name, used in entry names such as `fib(10)`. */
  readonly familyName: string;
}

const DEFAULT_MAX = 10_000;

class MemoEntry<R> extends CellImpl<R> {
  /** Clock tick of the last call; the least recent unwatched entries are evicted first. */
  lastUsed = 0;
  /** When the value was last computed (ms since epoch), for `ttlMs`. */
  computedAt = 0;

  constructor(
    fn: () => R,
    readonly args: readonly unknown[],
    readonly key: string,
    private readonly family: { readonly familyName: string },
    equals: MemoOptions<R>['equals'],
  ) {
    super(fn, equals === undefined ? undefined : { equals });
  }

  override get name(): string {
    const key = this.key;
    return `${this.family.familyName}(${key.length > 80 ? `${key.slice(1, 78)}…` : key.slice(1, -1)})`;
  }
}

function checkOptions(options: MemoOptions<unknown> | undefined): { max: number; ttlMs: number | undefined } {
  const max = options?.max ?? DEFAULT_MAX;
  if (!Number.isInteger(max) || max < 1) {
    throw new TypeError(`Expected \`max\` to be an integer >= 1, got \`${String(max)}\` (${typeof max})`);
  }
  const ttlMs = options?.ttlMs;
  if (ttlMs !== undefined && !(typeof ttlMs === 'number' && ttlMs > 0 && Number.isFinite(ttlMs))) {
    throw new TypeError(`Expected \`ttlMs\` to be a finite number > 0, got \`${String(ttlMs)}\` (${typeof ttlMs})`);
  }
  return { max, ttlMs };
}

/**
 * Memoises `fn` per argument list. Each entry is a cell: it records what `fn` read
 * (inputs, cells, other memo entries, the family itself for recursion) and recomputes
 * only when one of those changed. Arguments are keyed structurally by `canonicalKey`:
 * `f({ a: 1, b: 2 })` and `f({ b: 2, a: 1 })` share an entry; arguments that cannot be
 * encoded (functions, symbols, cycles) are refused with a `TypeError`.
 *
 * Memory is bounded by `max` (least recently used unwatched entries go first) and,
 * optionally, `ttlMs`. Memoise only functions whose result depends on nothing but
 * their arguments and the reactive values they read.
 *
 * @example
 * ```ts
 * const fib = memo((n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2)), { name: 'fib' });
 * fib(90);          // computed once per n
 * fib.forget(90);   // recomputed when next called
 * fib.observe(10).subscribe((v) => console.log(v));
 * ```
 */
export function memo<A extends unknown[], R>(fn: (...args: A) => R, options?: MemoOptions<R>): MemoFn<A, R> {
  if (typeof fn !== 'function') {
    throw new TypeError(`Expected \`fn\` to be a function, got \`${String(fn)}\` (${typeof fn})`);
  }
  const { max, ttlMs } = checkOptions(options as MemoOptions<unknown> | undefined);
  const equals = options?.equals;
  const entries = new Map<string, MemoEntry<R>>();
  let clock = 0;

  const family = function memoised(...args: A): R {
    return entryFor(args).get();
  } as MemoFn<A, R>;
  const familyName = options?.name ?? (fn.name || 'memo');
  Object.defineProperty(family, 'familyName', { value: familyName });

  function entryFor(args: A): MemoEntry<R> {
    const key = canonicalKey(args);
    let entry = entries.get(key);
    if (entry === undefined) {
      entry = create(args, key);
    } else if (ttlMs !== undefined && entry.computedAt !== 0 && Date.now() - entry.computedAt >= ttlMs) {
      forgetEntry(entry);
      entry = entries.get(key) ?? create(args, key);
    }
    entry.lastUsed = ++clock;
    return entry;
  }

  function create(args: A, key: string): MemoEntry<R> {
    const compute =
      ttlMs === undefined
        ? () => fn(...args)
        : () => {
            stampAndScheduleExpiry(entry);
            return fn(...args);
          };
    const entry: MemoEntry<R> = new MemoEntry(compute, args, key, family, equals);
    entries.set(key, entry);
    entry.lastUsed = ++clock;
    if (entries.size > max) evictLeastRecentlyUsed(entry);
    return entry;
  }

  function stampAndScheduleExpiry(entry: MemoEntry<R>): void {
    const stamp = (entry.computedAt = Date.now());
    const timer = setTimeout(() => {
      // Only watched entries need the timer: an unwatched one is checked when next called.
      if (entry.computedAt === stamp && entry._node.flags & WATCHED) forgetEntry(entry);
    }, ttlMs);
    timer.unref?.();
  }

  /**
   * Takes an entry out of the map. Cells that already read it keep a reference, so it
   * becomes a forwarder to whatever entry now holds its arguments: their later reads
   * still see a `forget` of those arguments.
   */
  function evict(entry: MemoEntry<R>): void {
    if (entries.get(entry.key) === entry) entries.delete(entry.key);
    const node = entry._node;
    entry._fn = () => family(...(entry.args as A));
    node.flags |= DIRTY;
    dropDeps(node);
  }

  function evictLeastRecentlyUsed(keep: MemoEntry<R>): void {
    const target = max - Math.max(1, Math.floor(max / 10));
    const candidates: MemoEntry<R>[] = [];
    for (const entry of entries.values()) {
      if (entry !== keep && !(entry._node.flags & (WATCHED | COMPUTING))) candidates.push(entry);
    }
    candidates.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of candidates) {
      if (entries.size <= target) break;
      evict(entry);
    }
  }

  function forgetEntry(entry: MemoEntry<R>): void {
    if (!(entry._node.flags & WATCHED)) evict(entry);
    invalidate(entry._node);
  }

  family.forget = (...args: A): void => {
    const entry = entries.get(canonicalKey(args));
    if (entry !== undefined) forgetEntry(entry);
  };
  family.peek = (...args: A): R | undefined => {
    const entry = entries.get(canonicalKey(args));
    if (entry === undefined || !isFresh(entry._node) || entry._node.flags & HAS_ERROR) return undefined;
    return entry._node.value as R;
  };
  family.has = (...args: A): boolean => {
    const entry = entries.get(canonicalKey(args));
    return entry !== undefined && isFresh(entry._node);
  };
  family.observe = (...args: A): Observable<Awaited<R>> =>
    new Observable<Awaited<R>>((subscriber) =>
      (entryFor(args).observe() as unknown as Observable<Awaited<R>>).subscribe(subscriber),
    );
  family.cell = (...args: A): Cell<R> => entryFor(args);
  family.clear = (): void => {
    batch(() => {
      for (const entry of [...entries.values()]) forgetEntry(entry);
    });
  };
  Object.defineProperty(family, 'size', { get: () => entries.size });
  return family;
}
