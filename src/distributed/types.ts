/**
 * The contract of a distributed store: what the Redis store and the embedded
 * in-process store both implement, and what the bridge builds `store.memo` and
 * `store.serve` on. Types only.
 */
import type { Observable } from 'rxjs';

/** Arguments of a request: anything `canonicalKey` can encode. */
export type Args = readonly unknown[];

/** A result a handler may return to have it cached: see `keep`. */
export interface Kept<T> {
  readonly value: T;
  readonly ttlSeconds: number;
}

/** What a handler receives besides the arguments. */
export interface HandlerContext {
  /** The service being served. */
  readonly service: string;
  /** The request's arguments (the same as the handler's parameters). */
  readonly args: Args;
  /**
   * Aborted when this computation's result is no longer wanted: its server lost the
   * lease (it stalled past it) and another server computes the request now, or the
   * embedded store was closed.
   */
  readonly signal: AbortSignal;
}

/**
 * Computes a service's result for one request. Return a value (not cached), or
 * `keep(value, { ttlSeconds })` to have it cached; throw to fail every waiter with a
 * `RemoteError`. May be async, and may call any service, its own included.
 */
export type Handler = (args: Args, ctx: HandlerContext) => unknown;

export interface CallOptions {
  /** Give up after this long with a `TimeoutError`. Default: the store's `timeoutMs` (30 s). */
  readonly timeoutMs?: number;
  /** Abort the wait (the request itself still completes for other callers). */
  readonly signal?: AbortSignal;
}

export interface ServeOptions {
  /** How many requests this server computes at once. Default: 1, as in DisTcl. */
  readonly concurrency?: number;
  /** A name for this server in the registry and its control channel. Default: a random id. */
  readonly id?: string;
  /** Log each request to stderr. Default: false; switchable at run time (`setVerbose`). */
  readonly verbose?: boolean;
  /**
   * `memocell` (default), or `distcl` to serve DisTcl's own queues and value format so
   * Tcl DisTcl clients can call this server (Redis store only; see the README).
   */
  readonly protocol?: 'memocell' | 'distcl';
}

/** A running server of one service in this process. */
export interface ServerHandle {
  readonly id: string;
  readonly service: string;
  /** Finish in-flight work, take no more, then resolve. */
  stop(): Promise<void>;
  /** Resolves when the server has stopped (by `stop()` here or a stop sent from elsewhere). */
  readonly stopped: Promise<void>;
}

/** One entry of the live registry of servers. */
export interface ServerInfo {
  readonly id: string;
  readonly service: string;
  readonly host: string;
  readonly pid: number;
  /** When it started, ms since the epoch. */
  readonly started: number;
  readonly concurrency: number;
  /** Requests it is computing now. */
  readonly inFlight: number;
  /** Requests it has answered since it started. */
  readonly served: number;
  /**
   * The protocol over Redis it speaks (3 for this memocell; 2 for a server whose entry
   * names none, written before v3). Servers of two versions cannot share a service.
   */
  readonly protocol: number;
}

/** Counters and queue lengths of one service. */
export interface ServiceStats {
  readonly service: string;
  /** Requests waiting in the get queue and in the prefetch queue. */
  readonly queued: { readonly gets: number; readonly prefetches: number };
  /** Gets answered from the cache. */
  readonly hits: number;
  /**
   * Gets that had to wait for a computation (started by them or already running).
   * Identical gets made by one process while the first is pending may share its
   * registration and count once.
   */
  readonly misses: number;
  /** Computations started by servers (a computation re-run after its server was lost counts again). */
  readonly computations: number;
  /** Computations that threw. */
  readonly errors: number;
}

/**
 * A store of memoised services. `RedisStore` shares them across processes and
 * machines; `EmbeddedStore` keeps them in this process with the same semantics.
 */
export interface DistributedStore {
  /** The result for these arguments: cached (one round trip), else computed by a server. */
  get<T = unknown>(service: string, args: Args, options?: CallOptions): Promise<T>;
  /** The same as an Observable: emits the result and completes. */
  get$<T = unknown>(service: string, args: Args, options?: CallOptions): Observable<T>;
  /** Asks for the result to be computed, without waiting. Resolves once the request is queued. */
  prefetch(service: string, args: Args): Promise<void>;
  /** Drops the cached result, if any. */
  forget(service: string, args: Args): Promise<void>;
  /**
   * Stores a result computed elsewhere, cached for `ttlSeconds`; results computed from
   * the one it replaces are forgotten. With `ifAbsent`, only when nothing is cached
   * (then it changes nothing else); resolves whether it stored.
   */
  save(
    service: string,
    args: Args,
    value: unknown,
    options: { readonly ttlSeconds: number; readonly ifAbsent?: boolean },
  ): Promise<boolean | void>;
  /** Makes this process a server of `service`. */
  serve(service: string, handler: Handler, options?: ServeOptions): ServerHandle;
  /** The live servers of a service. */
  servers(service: string): Promise<ServerInfo[]>;
  /**
   * The names of the services this store knows: every service a server has served on it
   * (a name stays known after its servers stop), sorted.
   */
  services(): Promise<string[]>;
  /** Queue lengths and counters of a service. */
  stats(service: string): Promise<ServiceStats>;
  /**
   * Tells a server, here or in another process, to stop gracefully. Resolves once the
   * command is sent; the server gets it at once, or by its next heartbeat if it missed
   * the message (a second at most). `handle.stopped` or `servers()` show when it is done.
   *
   * @example
   * ```ts
   * const [first] = await store.servers('square');
   * if (first) await store.stopServer('square', first.id);
   * ```
   */
  stopServer(service: string, serverId: string): Promise<void>;
  /** Turns a server's request logging on or off, here or in another process. */
  setVerbose(service: string, serverId: string, verbose: boolean): Promise<void>;
  /**
   * The request keys (`requestKeyOf(canonicalKey(args))`) whose cached result was
   * forgotten or replaced by `save`, in any process: what a local copy of a result
   * must drop. Hot: subscribing starts listening, unsubscribing stops.
   */
  invalidations(service: string): Observable<string>;
  /**
   * Resolves once a subscription to `invalidations(service)` made in this process
   * receives what is published from now on (Redis confirms subscriptions a moment after
   * they are made). A local copy fetched before then could miss its invalidation.
   */
  listening(service: string): Promise<void>;
  /** Stops this process's servers and closes connections. */
  close(): Promise<void>;
}
