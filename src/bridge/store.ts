/**
 * The bridge's store: memoised functions with one call shape whether they compute
 * here or elsewhere. Each process keeps local copies of the results it used (an L1
 * cache made of reactive cells); a miss goes to the distributed store; a `forget` in
 * any process drops every process's copy, so cells and Observables that read a result
 * recompute and re-emit.
 */
import type { Observable } from 'rxjs';
import type { Subscription } from 'rxjs';
import { memo as reactiveMemo, ON_REMOVE, type MemoFn, type MemoOptionsWithHook } from '../reactive/memo.js';
import { bumpGlobalVersion } from '../reactive/graph.js';
import type { AsyncCell } from '../reactive/context.js';
import { canonicalKey } from '../reactive/key.js';
import { keep } from '../distributed/keep.js';
import { requestKeyOf } from '../distributed/keys.js';
import { RedisStore } from '../distributed/redis-store.js';
import type { DistclRemote } from '../distributed/distcl/client.js';
import type { DistributedStore, ServeOptions, ServerHandle } from '../distributed/types.js';
import { currentFrame } from '../distributed/slots.js';
import { log } from '../log/index.js';

/** Options of `store.memo` and `store.remote`, each with its default. */
export interface StoreMemoOptions {
  /**
   * How long a result stays cached in the store. Default: 300 s. A process's L1 copy
   * lives until it is invalidated (a forget or input set anywhere) or evicted (`l1Max`).
   */
  readonly ttlSeconds?: number;
  /** Most results each process keeps in its L1 (least recently used unwatched go first). Default: 1 000. */
  readonly l1Max?: number;
  /** Deadline of a call that goes to the store, in ms. Default: the store's (30 s). */
  readonly timeoutMs?: number;
}

/** A memoised function of a store: the same calls whether it computes here or elsewhere. */
export interface StoreMemo<A extends unknown[], R> {
  /** The result: from this process's L1, else the store's cache, else a server computes it. */
  (...args: A): Promise<R>;
  /** Asks the store to compute these arguments without waiting. */
  prefetch(...args: A): Promise<void>;
  /** Asks for many argument lists at once, so free servers work on them in parallel. */
  prefetchMany(argLists: readonly A[]): Promise<void>;
  /** Drops the result in the store and in every process's L1; readers recompute. */
  forget(...args: A): Promise<void>;
  /** The L1 copy if this process holds a current one, else `undefined`; fetches nothing. */
  peek(...args: A): R | undefined;
  /** An Observable of the result: now, and again each time it is recomputed after a forget anywhere. */
  observe(...args: A): Observable<R>;
  /** The L1 cell behind these arguments: read it in a cell with `await ctx.get(f.cell(...args))`. */
  cell(...args: A): AsyncCell<R>;
  /** The service name under which the store knows this function. */
  readonly service: string;
  /** The body, when this process defined it (`store.memo`), so `store.serve` can run it. */
  readonly body: ((...args: A) => R | Promise<R>) | undefined;
  /** Cache lifetime in the store, seconds. */
  readonly ttlSeconds: number;
  /**
   * The store this function belongs to, so whoever holds only the function (the
   * `memocell serve` command, for one) can serve it: `fn.store.serve(fn)`.
   *
   * @example
   * ```ts
   * const square = connect(process.env.REDIS_URL).memo('square', (n: number) => n * n);
   * square.store.serve(square, { concurrency: 2 });
   * ```
   */
  readonly store: Store;
  /** @internal Drops this process's L1 copy only. */
  forgetLocally(...args: A): Promise<void>;
}

/** The service under which shared inputs live in the store (arguments: the input's name). */
const INPUT_SERVICE = 'memocell.input';
/** Shared inputs do not expire: ten years. */
const INPUT_TTL_SECONDS = 10 * 365 * 24 * 60 * 60;

/** An input whose value lives in the store: any process may set it. */
export interface SharedInput<T> {
  /** The current value (this process's L1 copy, kept current by invalidations). */
  get(): Promise<T>;
  /** Sets the value for every process; everything computed from the old value is forgotten. */
  set(value: T): Promise<void>;
  /** The L1 cell of the value: read it in a cell with `await ctx.get(input.cell())`. */
  cell(): AsyncCell<T>;
  /** The value now and after every change, from any process. */
  observe(): Observable<T>;
  readonly name: string;
}

export class Store {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    /** The distributed store underneath: Redis, or embedded in this process. */
    readonly distributed: DistributedStore,
  ) {}

  /**
   * A memoised function whose results are shared by every process on this store.
   *
   * @example
   * ```ts
   * const store = connect(process.env.REDIS_URL);
   * const slice = store.memo('mand.slice', sliceFn, { ttlSeconds: 300 });
   * store.serve(slice, { concurrency: 4 });   // this process computes requests too
   * await slice(1, 32);                        // L1 hit, else store cache, else a server computes it
   * slice.observe(1, 32).subscribe(draw);      // re-emits after slice.forget(1, 32) anywhere
   * ```
   */
  memo<A extends unknown[], R>(
    service: string,
    body: (...args: A) => R | Promise<R>,
    options?: StoreMemoOptions,
  ): StoreMemo<A, Awaited<R>> {
    if (typeof body !== 'function') {
      throw new TypeError(`Expected \`body\` to be a function, got \`${String(body)}\` (${typeof body})`);
    }
    return this.makeMemo<A, Awaited<R>>(service, body as (...args: A) => Awaited<R> | Promise<Awaited<R>>, options);
  }

  /**
   * A function served elsewhere (another codebase, another language), typed by you:
   * the same API as `store.memo`, without the body. With `protocol: 'distcl'`, a DisTcl
   * service (words in, a string out), on a Redis store.
   *
   * @example
   * ```ts
   * const render = store.remote<[number, number], Buffer>('mand.slice');
   * const legacy = store.remote('mand', { protocol: 'distcl' });
   * ```
   */
  remote(service: string, options: { readonly protocol: 'distcl'; readonly timeoutMs?: number }): DistclRemote;
  remote<A extends unknown[], R>(service: string, options?: StoreMemoOptions & { readonly protocol?: 'memocell' }): StoreMemo<A, R>;
  remote<A extends unknown[], R>(
    service: string,
    options?: StoreMemoOptions & { readonly protocol?: 'memocell' | 'distcl' },
  ): StoreMemo<A, R> | DistclRemote {
    if (options?.protocol === 'distcl') {
      if (!(this.distributed instanceof RedisStore)) {
        throw new TypeError("protocol 'distcl' needs a Redis store: connect to the Redis your DisTcl services use");
      }
      return this.distributed.remote(service, { protocol: 'distcl', ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
    }
    return this.makeMemo<A, R>(service, undefined, options);
  }

  /**
   * Makes this process a server of a memoised function: it computes requests for it
   * (from any process) with up to `concurrency` at once.
   *
   * Where calls compute: always through the store, even in a process that serves the
   * function, so identical calls from everywhere are computed once and cached once. A
   * call made from inside a handler lends the handler's slot while it waits, so this
   * process's servers take that work up at once when they are the free ones (Girder's
   * re-entrancy), and other processes' servers help when this one is busy.
   */
  serve<A extends unknown[], R>(fn: StoreMemo<A, R>, options?: Omit<ServeOptions, 'protocol'>): ServerHandle {
    const body = fn?.body;
    if (body === undefined) {
      throw new TypeError(
        `Cannot serve \`${String(fn?.service)}\`: this process has no body for it. Serve a function made by store.memo(name, fn).`,
      );
    }
    const ttlSeconds = fn.ttlSeconds;
    return this.distributed.serve(
      fn.service,
      async (args) => keep(await body(...(args as A)), { ttlSeconds }),
      options,
    );
  }

  /**
   * An input whose value lives in the store: any process may `set` it, and memoised
   * functions (in any process) and cells that read it are invalidated. `initial` is
   * stored only if the input has no value yet.
   *
   * @example
   * ```ts
   * const zoom = store.input('zoom', 1);
   * const tile = store.memo('tile', async (x: number) => render(x, await zoom.get()));
   * await zoom.set(2);   // every cached tile computed at zoom 1 is forgotten, everywhere
   * ```
   */
  input<T>(name: string, initial?: T): SharedInput<T> {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(`Expected \`name\` to be a non-empty string, got \`${String(name)}\` (${typeof name})`);
    }
    const value = this.makeMemo<[string], T>(INPUT_SERVICE, undefined, { ttlSeconds: INPUT_TTL_SECONDS });
    const distributed = this.distributed;
    const ready = distributed.save(INPUT_SERVICE, [name], initial, { ttlSeconds: INPUT_TTL_SECONDS, ifAbsent: true });
    ready.catch(() => {});
    return {
      name,
      get: async () => {
        await ready;
        return value(name);
      },
      set: async (next: T) => {
        await ready;
        await distributed.save(INPUT_SERVICE, [name], next, { ttlSeconds: INPUT_TTL_SECONDS });
        // The store told every process, this one included; drop the local copy now too.
        await value.forgetLocally(name);
      },
      cell: () => value.cell(name),
      observe: () => value.observe(name),
    };
  }

  /** Stops this process's servers and listeners and closes the store. */
  async close(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    await this.distributed.close();
  }

  private makeMemo<A extends unknown[], R>(
    service: string,
    body: ((...args: A) => R | Promise<R>) | undefined,
    options: StoreMemoOptions | undefined,
  ): StoreMemo<A, R> {
    const ttlSeconds = options?.ttlSeconds ?? 300;
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) {
      throw new TypeError(`Expected \`ttlSeconds\` to be a finite number > 0, got \`${String(ttlSeconds)}\` (${typeof ttlSeconds})`);
    }
    const distributed = this.distributed;
    const callOptions = options?.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs };
    /**
     * Arguments of the entries the L1 holds, by request key, to find the entry an
     * invalidation names. Exactly the held ones: an entry leaves it when the L1 drops the
     * entry, so it is bounded as the L1 is, and a held entry (however long ago it was
     * fetched) is always found.
     */
    const known = new Map<string, A>();
    /** Whether the L1 has dropped an entry: a cell may still hold (and read) a dropped one. */
    let dropped = false;
    const l1Max = options?.l1Max ?? 1_000;

    // An L1 entry fetches from the store when it computes; a hit never reaches this.
    const l1: MemoFn<A, Promise<R>> = reactiveMemo(
      (...args: A): Promise<R> => {
        remember(args);
        // The first fetches wait until this process hears invalidations: a copy fetched
        // before could miss the forget that should drop it, and stay stale.
        const fetched = subscribed
          ? distributed.get<R>(service, args, callOptions)
          : distributed.listening(service).then(() => {
              subscribed = true;
              return distributed.get<R>(service, args, callOptions);
            });
        return fetched.catch((error: unknown) => {
          // Errors are not cached in the store; neither here: the next call asks again.
          // Dropped a turn later, once the failure has settled and reached its readers,
          // so nothing re-runs it by itself.
          setImmediate(() => l1.forget(...args));
          throw error;
        });
      },
      // No TTL here: an L1 copy lives until it is invalidated (a forget or set anywhere
      // reaches it) or evicted by l1Max; the store's TTL bounds the store's copy.
      {
        max: l1Max,
        name: service,
        [ON_REMOVE]: (args: readonly unknown[]) => {
          dropped = true;
          known.delete(requestKeyOf(canonicalKey(args)));
        },
      } as MemoOptionsWithHook<Promise<R>>,
    );

    let listening = false;
    let subscribed = false;
    const remember = (args: A): void => {
      if (!listening) {
        listening = true;
        this.subscriptions.push(
          distributed.invalidations(service).subscribe((requestKey) => {
            const args = known.get(requestKey);
            if (args === undefined) {
              // Not held here. A cell that read a copy the L1 dropped since still holds it:
              // make cells check what they read again (the dropped copy then fetches anew).
              if (dropped) bumpGlobalVersion();
              return;
            }
            if (log.invalidate.enabled) log.invalidate('%s %s: dropping the local copy', service, requestKey);
            l1.forget(...args);
          }),
        );
      }
      const requestKey = requestKeyOf(canonicalKey(args));
      if (!known.has(requestKey)) known.set(requestKey, args);
    };

    const call = function storeMemo(): Promise<R> {
      // Inside a handler, read through the store even on an L1 hit: the store records
      // that the handler's result depends on this one, so forgetting this forgets that.
      if (currentFrame() !== undefined) {
        return distributed.get<R>(service, Array.prototype.slice.call(arguments) as unknown as A, callOptions);
      }
      // The L1 is the hot path: no argument array, no key building on a hit.
      return (l1 as unknown as (...a: unknown[]) => Promise<R>).apply(undefined, arguments as unknown as unknown[]);
    } as unknown as StoreMemo<A, R>;
    call.prefetch = (...args) => distributed.prefetch(service, args);
    call.prefetchMany = async (argLists) => {
      await Promise.all(argLists.map((args) => distributed.prefetch(service, args)));
    };
    call.forget = async (...args) => {
      await distributed.forget(service, args);
      // The store tells every process, this one included; dropping the local copy now
      // as well means a call right after this resolves never sees the old result.
      l1.forget(...args);
    };
    call.forgetLocally = async (...args) => {
      l1.forget(...args);
    };
    call.peek = (...args) => {
      const entry = l1.has(...args) ? l1.cell(...args) : undefined;
      if (entry === undefined) return undefined;
      const state = (entry as unknown as AsyncCell<R>).state();
      return state.status === 'value' ? state.value : undefined;
    };
    call.observe = (...args) => l1.observe(...args) as unknown as Observable<R>;
    call.cell = (...args) => l1.cell(...args) as unknown as AsyncCell<R>;
    Object.defineProperty(call, 'service', { value: service });
    Object.defineProperty(call, 'body', { value: body });
    Object.defineProperty(call, 'ttlSeconds', { value: ttlSeconds });
    Object.defineProperty(call, 'store', { value: this });
    return call;
  }
}
