/**
 * Memoised function families (ReacTcl's "arrays or dicts of values, memoising
 * individual elements"): one cell per structurally equal argument list, each with its
 * own dependencies, in a bounded map.
 */
import { Observable } from 'rxjs';
import { batch } from './batch.js';
import { checkEquals, checkFunction, ComputedCell, isThenable } from './cell.js';
import type { Cell } from './context.js';
import { bumpGlobalVersion, COMPUTING, DIRTY, dropDeps, HAS_ERROR, invalidate, isFresh, WATCHED } from './graph.js';
import { canonicalKey } from './key.js';
import type { EqualityFn, MemoOptions } from './options.js';

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
  /** The memoised function itself: calling it computes without the cache. */
  readonly body: (...args: A) => R;
}

const DEFAULT_MAX = 10_000;

/**
 * @internal An option, keyed by this symbol so it stays out of the public options: a
 * function called with an entry's arguments when the entry leaves the family's map
 * (evicted by `max`, or forgotten or expired while nothing watched it). The bridge
 * keeps its index of the entries its L1 holds by it.
 */
export const ON_REMOVE: unique symbol = Symbol('memocell.memo.onRemove');

/** @internal Memo options with the removal hook. */
export interface MemoOptionsWithHook<R> extends MemoOptions<R> {
  readonly [ON_REMOVE]?: (args: readonly unknown[]) => void;
}
/** An evicted entry: it computes by calling the family, so it follows whichever entry now holds its arguments. */
const FORWARDING = 1 << 12;

/** What entries share: the function, the lookup and the family's name. */
interface Family {
  readonly fn: (...args: unknown[]) => unknown;
  readonly call: (...args: unknown[]) => unknown;
  readonly familyName: string;
  /** A timed entry computed: make sure a sweep will expire it. */
  readonly stamped: (expiresAt: number) => void;
}

/** Its arguments are one number or string, held as is: no array per entry. */
const LONE_ARGUMENT = 1 << 13;

class MemoEntry<R> extends ComputedCell<R> {
  /** Clock tick of the last call; the least recent unwatched entries are evicted first. */
  lastUsed = 0;

  constructor(
    readonly family: Family,
    /** The arguments: an array, or the lone argument itself when flagged `LONE_ARGUMENT`. */
    private readonly argument: unknown,
    equals: EqualityFn<R>,
  ) {
    super(equals);
    if (!Array.isArray(argument)) this.flags |= LONE_ARGUMENT;
  }

  get args(): readonly unknown[] {
    return this.flags & LONE_ARGUMENT ? [this.argument] : (this.argument as unknown[]);
  }

  /** Its key in the family's map. */
  get mapKey(): unknown {
    return mapKeyOf(this.args);
  }

  get name(): string {
    const key = canonicalKey(this.args);
    return `${this.family.familyName}(${key.length > 80 ? `${key.slice(1, 78)}…` : key.slice(1, -1)})`;
  }

  _invoke(): unknown {
    const fn = this.flags & FORWARDING ? this.family.call : this.family.fn;
    return this.flags & LONE_ARGUMENT ? fn(this.argument) : fn(...(this.argument as unknown[]));
  }

  // The inherited one with `_invoke` inlined: a call less per recomputation.
  override _compute(): unknown {
    const runId = ++this._runs;
    const fn = this.flags & FORWARDING ? this.family.call : this.family.fn;
    const result = this.flags & LONE_ARGUMENT ? fn(this.argument) : fn(...(this.argument as unknown[]));
    if (isThenable(result)) return this._startRun(result, runId);
    if (this._async?.run !== undefined) this._leaveAsync(result);
    return result;
  }
}

/** `computedAt` of an entry with no value: below any reading of the monotonic clock, which starts at 0. */
const NOT_COMPUTED = -1;

/**
 * An entry of a family with `ttlMs`: stamps each computation. The family's sweep
 * forgets it when it expires; no timer per entry, so nothing but the map holds it.
 */
class TimedMemoEntry<R> extends MemoEntry<R> {
  /**
   * When the value was last computed, on the monotonic clock (`performance.now()`: a
   * wall clock stepped forward or back must not expire entries early or keep them
   * late); {@link NOT_COMPUTED} until computed and once forgotten.
   */
  computedAt = NOT_COMPUTED;

  constructor(
    family: Family,
    argument: unknown,
    equals: EqualityFn<R>,
    private readonly ttlMs: number,
  ) {
    super(family, argument, equals);
  }

  override _compute(): unknown {
    this.computedAt = performance.now();
    this.family.stamped(this.computedAt + this.ttlMs);
    return super._compute();
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
 * The map key of an argument list. A lone number or string is its own key: Map's
 * SameValueZero equality is exactly the canonical key's equality for those (`-0` is
 * `0`, `NaN` is `NaN`), and it spares building a string on every call. Strings are
 * prefixed so they never meet a canonical key.
 */
function mapKeyOf(args: readonly unknown[]): unknown {
  if (args.length === 1) {
    const only = args[0];
    if (typeof only === 'number') return only;
    if (typeof only === 'string') return `'${only}`;
  }
  return canonicalKey(args);
}

/** A lone number or string argument itself, else the arguments array. */
function loneOrAll(args: readonly unknown[]): unknown {
  if (args.length === 1) {
    const only = args[0];
    if (typeof only === 'number' || typeof only === 'string') return only;
  }
  return args;
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
  checkFunction(fn);
  const { max, ttlMs } = checkOptions(options as MemoOptions<unknown> | undefined);
  const equals = checkEquals(options?.equals);
  const onRemove = (options as MemoOptionsWithHook<R> | undefined)?.[ON_REMOVE];
  const entries = new Map<unknown, MemoEntry<R>>();
  let clock = 0;

  const memoised = function memoised(): R {
    // A lone number is the common case (and the benchmark's): look it up without
    // materialising an argument array.
    if (arguments.length === 1) {
      const only: unknown = arguments[0];
      if (typeof only === 'number') {
        const entry = entries.get(only);
        if (entry !== undefined && (ttlMs === undefined || !expired(entry as TimedMemoEntry<R>, ttlMs))) {
          entry.lastUsed = ++clock;
          return entry.get();
        }
        if (entry === undefined) return create(only, only).get();
      }
    }
    return entryFor(Array.prototype.slice.call(arguments) as A).get();
  } as MemoFn<A, R>;
  const familyName = options?.name ?? (fn.name || 'memo');
  const family: Family = {
    fn: fn as (...args: unknown[]) => unknown,
    call: memoised as unknown as (...args: unknown[]) => unknown,
    familyName,
    stamped: (expiresAt) => scheduleSweep(expiresAt),
  };

  // Expiry is a change: observers re-emit and cells that read an entry recompute. One
  // timer per family sweeps the map; it fires at most every tenth of the ttl, so an
  // entry is forgotten at most ttlMs / 10 late (a call checks its entry exactly).
  let sweepTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleSweep(at: number): void {
    if (sweepTimer !== undefined) return;
    // setTimeout takes at most 2^31-1 ms (about 24.8 days); a longer wait is resumed later.
    sweepTimer = setTimeout(sweep, Math.min(2 ** 31 - 1, Math.max(0, at - performance.now())));
    sweepTimer.unref?.();
  }
  function sweep(): void {
    sweepTimer = undefined;
    const now = performance.now();
    let next = Infinity;
    batch(() => {
      for (const entry of [...entries.values()]) {
        const { computedAt } = entry as TimedMemoEntry<R>;
        if (computedAt === NOT_COMPUTED) continue;
        const due = computedAt + (ttlMs as number);
        if (due <= now) forgetEntry(entry);
        else if (due < next) next = due;
      }
    });
    if (next !== Infinity) scheduleSweep(Math.max(next, now + (ttlMs as number) / 10));
  }

  function entryFor(args: A): MemoEntry<R> {
    const mapKey = mapKeyOf(args);
    let entry = entries.get(mapKey);
    if (entry === undefined) {
      entry = create(loneOrAll(args), mapKey);
    } else if (ttlMs !== undefined && expired(entry as TimedMemoEntry<R>, ttlMs)) {
      forgetEntry(entry);
      entry = entries.get(mapKey) ?? create(loneOrAll(args), mapKey);
    }
    entry.lastUsed = ++clock;
    return entry;
  }

  /** `argument`: the lone number or string argument as is, else the argument array. */
  function create(argument: unknown, mapKey: unknown): MemoEntry<R> {
    const entry: MemoEntry<R> =
      ttlMs === undefined
        ? new MemoEntry(family, argument, equals)
        : new TimedMemoEntry(family, argument, equals, ttlMs);
    entries.set(mapKey, entry);
    entry.lastUsed = ++clock;
    if (entries.size > max) evictLeastRecentlyUsed(entry);
    return entry;
  }

  /**
   * Takes an entry out of the map. Cells that already read it keep a reference, so it
   * becomes a forwarder to whatever entry now holds its arguments: their later reads
   * still see a `forget` of those arguments.
   */
  function evict(entry: MemoEntry<R>): void {
    const mapKey = entry.mapKey;
    if (entries.get(mapKey) === entry) {
      entries.delete(mapKey);
      onRemove?.(entry.args);
    }
    entry.flags |= FORWARDING | DIRTY;
    dropDeps(entry);
  }

  function evictLeastRecentlyUsed(keep: MemoEntry<R>): void {
    const target = max - Math.max(1, Math.floor(max / 10));
    const candidates: MemoEntry<R>[] = [];
    for (const entry of entries.values()) {
      if (entry !== keep && !(entry.flags & (WATCHED | COMPUTING))) candidates.push(entry);
    }
    candidates.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of candidates) {
      if (entries.size <= target) break;
      evict(entry);
    }
  }

  function forgetEntry(entry: MemoEntry<R>): void {
    if (entry instanceof TimedMemoEntry) entry.computedAt = NOT_COMPUTED;
    if (!(entry.flags & WATCHED)) evict(entry);
    invalidate(entry);
  }

  memoised.forget = (...args: A): void => {
    const entry = entries.get(mapKeyOf(args));
    if (entry !== undefined) forgetEntry(entry);
    // An evicted entry may still be read by cells that hold it; make them check it.
    else bumpGlobalVersion();
  };
  memoised.peek = (...args: A): R | undefined => {
    const entry = entries.get(mapKeyOf(args));
    if (entry === undefined || !isFresh(entry) || entry.flags & HAS_ERROR) return undefined;
    return entry.value as R;
  };
  memoised.has = (...args: A): boolean => {
    const entry = entries.get(mapKeyOf(args));
    return entry !== undefined && isFresh(entry);
  };
  memoised.observe = (...args: A): Observable<Awaited<R>> =>
    new Observable<Awaited<R>>((subscriber) =>
      (entryFor(args).observe() as unknown as Observable<Awaited<R>>).subscribe(subscriber),
    );
  memoised.cell = (...args: A): Cell<R> => entryFor(args);
  memoised.clear = (): void => {
    batch(() => {
      for (const entry of [...entries.values()]) forgetEntry(entry);
    });
  };
  Object.defineProperty(memoised, 'size', { get: () => entries.size });
  Object.defineProperty(memoised, 'familyName', { value: familyName });
  Object.defineProperty(memoised, 'body', { value: fn });
  return memoised;
}

function expired(entry: { readonly computedAt: number }, ttlMs: number): boolean {
  return entry.computedAt !== NOT_COMPUTED && performance.now() - entry.computedAt >= ttlMs;
}
