/**
 * The embedded store: the distributed contract inside one process, with no Redis. It is
 * what `connect()` gives when no URL is passed, so a program written against services
 * runs unchanged on one machine, and it is checked by the same contract tests as the
 * Redis store.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Observable, Subject } from 'rxjs';
import { requestKeyOf } from './keys.js';
import { checkCodec, type Codec } from './codec.js';
import { describeArgs, failureOf, RemoteError, type RemoteFailure, type RequestRef } from './errors/remote-error.js';
import { StoreClosedError } from './errors/store-closed-error.js';
import { TimeoutError } from './errors/timeout-error.js';
import { isKept } from './keep.js';
import { parseCanonicalKey } from './parse-key.js';
import { PROTOCOL_VERSION } from './protocol-version.js';
import { awaitRemote, currentFrame, runInFrame, type RequestFrame } from './slots.js';
import type {
  Args,
  CallOptions,
  DistributedStore,
  Handler,
  HandlerContext,
  ServeOptions,
  ServerHandle,
  ServerInfo,
  ServiceStats,
} from './types.js';
import {
  checkPositiveInteger,
  checkPositiveNumber,
  checkRequestSize,
  checkService,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_RESULT_BYTES,
  keyOfArgs,
} from './validate.js';
import { bytesOver, TooLargeError } from './errors/too-large-error.js';
import { RequestSlot, ServerPool } from './embedded/slot.js';
import { TtlCache } from './embedded/ttl-cache.js';
import { log } from '../log/index.js';

/** Options of `createEmbeddedStore`. */
export interface EmbeddedStoreOptions {
  /** How long a `get` waits by default before failing with a `TimeoutError`, in ms. Default: 30 000. */
  readonly timeoutMs?: number;
  /** How results are encoded in the cache. Default: `defaultCodec` (JSON values and byte arrays). */
  readonly codec?: Codec;
  /** Largest request, in bytes of its encoded arguments (`TooLargeError` beyond). Default: 1 MiB. */
  readonly maxRequestBytes?: number;
  /** Largest result, in bytes of its encoded form (its callers get a `TooLargeError` failure beyond). Default: 16 MiB. */
  readonly maxResultBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A computation's outcome, encoded once and decoded for each waiter. */
type Outcome = { readonly ok: true; readonly data: string } | { readonly ok: false; readonly failure: RemoteFailure };

interface Waiter {
  /** The caller's own arguments, for its errors. */
  readonly args: Args;
  settle(outcome: Outcome): void;
  fail(error: unknown): void;
}

/** One request for one key: queued, then running, then gone. */
interface Request {
  readonly key: string;
  /** The arguments of the first caller, for messages. */
  readonly args: Args;
  /** The queue it waits in, or undefined once a server has taken it. */
  queue: 'gets' | 'prefetches' | undefined;
  readonly waiters: Set<Waiter>;
  /**
   * Forgotten, saved over, or something it read was, while it ran: its result mixes old
   * and new inputs, so it is computed again (up to MAX_RECOMPUTES times) before anyone
   * gets it, and never cached.
   */
  stale: boolean;
  /** How many times it was computed again because it went stale while running. */
  recomputes?: number;
}

/** A request that keeps going stale while it runs is answered anyway after this many tries (not cached). */
const MAX_RECOMPUTES = 3;

class Server implements ServerHandle {
  readonly started = Date.now();
  readonly abort = new AbortController();
  readonly stopped: Promise<void>;
  resolveStopped!: () => void;
  inFlight = 0;
  served = 0;
  /** False once stopping: the pump gives it no more requests. */
  accepting = true;

  constructor(
    readonly id: string,
    readonly service: string,
    readonly handler: Handler,
    readonly concurrency: number,
    public verbose: boolean,
    readonly pool: ServerPool,
    private readonly requestStop: (server: Server) => void,
  ) {
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  stop(): Promise<void> {
    this.requestStop(this);
    return this.stopped;
  }

  info(): ServerInfo {
    return {
      id: this.id,
      service: this.service,
      host: os.hostname(),
      pid: process.pid,
      started: this.started,
      concurrency: this.concurrency,
      inFlight: this.inFlight,
      served: this.served,
      protocol: PROTOCOL_VERSION,
    };
  }
}

class Service {
  readonly cache = new TtlCache();
  /** Requests queued or running, by key: a second caller joins the first. */
  readonly pending = new Map<string, Request>();
  // Sets keep insertion order and delete in O(1): the first element is the oldest.
  readonly gets = new Set<Request>();
  readonly prefetches = new Set<Request>();
  /** Servers taking work, in round-robin order. */
  readonly servers: Server[] = [];
  /** Servers taking work or finishing it, by id. */
  readonly registry = new Map<string, Server>();
  next = 0;
  pumpScheduled = false;
  /** A server has served it: `services()` lists it from then on. */
  served = false;
  hits = 0;
  misses = 0;
  computations = 0;
  errors = 0;

  constructor(readonly name: string) {}

  unqueue(request: Request): void {
    if (request.queue === 'gets') this.gets.delete(request);
    else if (request.queue === 'prefetches') this.prefetches.delete(request);
    request.queue = undefined;
  }
}

/**
 * The arguments a handler receives: rebuilt from the request's key, as a Redis server
 * does, so a handler sees the same values on either store and never the caller's objects.
 */
function handlerArgs(request: Request): Args {
  try {
    return parseCanonicalKey(request.key);
  } catch {
    // Keys nested deeper than the reader allows: no wire here, so hand over the originals.
    return request.args;
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const item of set) return item;
  return undefined;
}

/**
 * A `DistributedStore` in this process: services, servers, cache and counters live in
 * memory, with the Redis store's semantics (dedup of identical requests, gets before
 * prefetches, per-result TTL, error chains, re-entrant handlers, timeouts, graceful
 * stop). Values go through the codec both ways, so callers never share objects with the
 * cache and what Redis would refuse is refused here too.
 *
 * @example
 * ```ts
 * const store = new EmbeddedStore();
 * store.serve('square', ([n]) => keep((n as number) ** 2, { ttlSeconds: 600 }));
 * await store.get('square', [7]); // 49, computed
 * await store.get('square', [7]); // 49, from the cache
 * await store.close();
 * ```
 */
export class EmbeddedStore implements DistributedStore {
  private readonly byName = new Map<string, Service>();
  /** Forgotten or saved request keys, by service: what local copies of results must drop. */
  private readonly invalidated = new Map<string, Subject<string>>();

  private invalidate(service: string, canonical: string): void {
    this.invalidated.get(service)?.next(requestKeyOf(canonical));
  }

  /**
   * Request keys of `service` whose cached result was forgotten or replaced by `save`.
   *
   * @example
   * ```ts
   * store.invalidations('square').subscribe((key) => console.log('dropped', key));
   * ```
   */
  /** In one process, a subscription hears everything from the moment it is made. */
  listening(service: string): Promise<void> {
    checkService(service);
    return Promise.resolve();
  }

  invalidations(service: string): Observable<string> {
    const name = checkService(service);
    return new Observable<string>((subscriber) => {
      let subject = this.invalidated.get(name);
      if (subject === undefined) this.invalidated.set(name, (subject = new Subject<string>()));
      const subscription = subject.subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        if (subject !== undefined && !subject.observed) this.invalidated.delete(name);
      };
    });
  }
  private readonly timeoutMs: number;
  private readonly codec: Codec;
  private readonly maxRequestBytes: number;
  private readonly maxResultBytes: number;
  private closed = false;

  constructor(options: EmbeddedStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected the store options to be an object, got \`${String(options)}\` (${typeof options})`);
    }
    this.timeoutMs = checkPositiveNumber('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.codec = checkCodec(options.codec);
    this.maxRequestBytes = checkPositiveInteger('maxRequestBytes', options.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES);
    this.maxResultBytes = checkPositiveInteger('maxResultBytes', options.maxResultBytes, DEFAULT_MAX_RESULT_BYTES);
  }

  /** The canonical key of a request's arguments, refused when over `maxRequestBytes`. */
  private requestKey(service: string, args: Args): string {
    const key = keyOfArgs(args);
    checkRequestSize(service, key, this.maxRequestBytes);
    return key;
  }

  /**
   * The result of `service` for `args`: from the cache, else computed by a server of the
   * service (waiting for one to appear, up to the timeout). Inside a handler the wait
   * lends the handler's concurrency slot to other requests.
   *
   * @example
   * ```ts
   * const area = await store.get<number>('area', [3, 4], { timeoutMs: 5_000 });
   * ```
   */
  get<T = unknown>(service: string, args: Args, options?: CallOptions): Promise<T> {
    let result: Promise<T>;
    try {
      result = this.request<T>(service, args, options);
      // A handler reading this result: forgetting it must forget the handler's result too.
      const frame = currentFrame();
      if (frame !== undefined) this.recordDependency(`${service}\n${keyOfArgs(args)}`, frame.request);
    } catch (error) {
      return Promise.reject(error);
    }
    return awaitRemote(result);
  }

  /** "SERVICE\nKEY" -> the computations that read it, in the same form. */
  private readonly dependents = new Map<string, Set<string>>();

  private recordDependency(read: string, reader: RequestRef): void {
    let set = this.dependents.get(read);
    if (set === undefined) this.dependents.set(read, (set = new Set()));
    set.add(`${reader.service}\n${keyOfArgs(reader.args)}`);
  }

  /** Forgets results and everything computed from them, transitively. */
  private forgetAll(refs: Iterable<string>): void {
    const seen = new Set<string>();
    const queue = [...refs];
    while (queue.length > 0) {
      const ref = queue.shift() as string;
      if (seen.has(ref)) continue;
      seen.add(ref);
      const newline = ref.indexOf('\n');
      this.forgetOne(ref.slice(0, newline), ref.slice(newline + 1));
      const next = this.dependents.get(ref);
      if (next !== undefined) {
        this.dependents.delete(ref);
        queue.push(...next);
      }
    }
  }

  private forgetOne(name: string, key: string): void {
    const svc = this.byName.get(name);
    if (svc !== undefined) {
      svc.cache.delete(key);
      const request = svc.pending.get(key);
      if (request !== undefined && request.queue === undefined) request.stale = true;
    }
    // Last: a listener may read the result again at once, and must not find the old one.
    this.invalidate(name, key);
  }

  /**
   * `get` as an Observable: each subscription asks once, emits the result and completes;
   * unsubscribing gives up the wait (the request still completes for other callers).
   *
   * @example
   * ```ts
   * store.get$<number>('area', [3, 4]).subscribe((a) => console.log(a));
   * ```
   */
  get$<T = unknown>(service: string, args: Args, options?: CallOptions): Observable<T> {
    return new Observable<T>((subscriber) => {
      const controller = new AbortController();
      const signal = options?.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
      this.get<T>(service, args, { ...options, signal }).then(
        (value) => {
          subscriber.next(value);
          subscriber.complete();
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => controller.abort();
    });
  }

  /**
   * Asks for the result to be computed and cached (if its handler keeps it) without
   * waiting for it. Does nothing when it is cached or already asked for. Gets are served
   * before prefetches.
   *
   * @example
   * ```ts
   * for (let row = 0; row < 100; row++) await store.prefetch('slice', [row]);
   * ```
   */
  async prefetch(service: string, args: Args): Promise<void> {
    const name = checkService(service);
    const key = this.requestKey(String(service), args);
    this.checkOpen(`prefetch ${name}${describeArgs(args)}`);
    const svc = this.service(name);
    if (svc.cache.has(key) || svc.pending.has(key)) return;
    const request: Request = { key, args, queue: 'prefetches', waiters: new Set(), stale: false };
    svc.pending.set(key, request);
    svc.prefetches.add(request);
    this.schedulePump(svc);
  }

  /**
   * Drops the cached result. A computation of it that is running now still answers its
   * waiters but is not cached, since it may have read what made the result stale.
   *
   * @example
   * ```ts
   * await store.forget('report', [2024]);
   * ```
   */
  async forget(service: string, args: Args): Promise<void> {
    const name = checkService(service);
    const key = this.requestKey(String(service), args);
    this.checkOpen(`forget ${name}${describeArgs(args)}`);
    this.forgetAll([`${name}\n${key}`]);
  }

  /**
   * Caches a result computed elsewhere for `ttlSeconds`. Callers waiting for a request of
   * it that no server has taken yet get this value at once.
   *
   * @example
   * ```ts
   * await store.save('square', [12], 144, { ttlSeconds: 600 });
   * ```
   */
  async save(
    service: string,
    args: Args,
    value: unknown,
    options: { readonly ttlSeconds: number; readonly ifAbsent?: boolean },
  ): Promise<boolean> {
    const name = checkService(service);
    const key = this.requestKey(String(service), args);
    const ttl: unknown = (options as { ttlSeconds?: unknown } | undefined)?.ttlSeconds;
    if (ttl === undefined) throw new TypeError('Expected `ttlSeconds` to be a finite number > 0, got `undefined` (undefined)');
    const ttlSeconds = checkPositiveNumber('ttlSeconds', ttl, 0);
    const data = this.codec.encode(value);
    const bytes = bytesOver(data, this.maxResultBytes);
    if (bytes !== undefined) throw new TooLargeError(name, 'result', bytes, this.maxResultBytes);
    this.checkOpen(`save ${name}${describeArgs(args)}`);
    const svc = this.service(name);
    if (options.ifAbsent === true && svc.cache.has(key)) return false;
    svc.cache.set(key, data, ttlSeconds);
    this.invalidate(name, key);
    // What was computed from the old result is out of date now.
    const ref = `${name}\n${key}`;
    const readers = this.dependents.get(ref);
    if (readers !== undefined) {
      this.dependents.delete(ref);
      this.forgetAll(readers);
    }
    const request = svc.pending.get(key);
    if (request === undefined) return true;
    if (request.queue === undefined) {
      request.stale = true;
    } else {
      svc.unqueue(request);
      svc.pending.delete(key);
      this.deliver(request, { ok: true, data });
    }
    return true;
  }

  /**
   * Makes this store a server of `service`: requests are popped (gets first), computed by
   * `handler`, and answered to every caller waiting for them. Several servers of one
   * service share its requests.
   *
   * @example
   * ```ts
   * const server = store.serve('fact', async ([n]) => {
   *   const k = n as number;
   *   return keep(k <= 1 ? 1 : k * (await store.get<number>('fact', [k - 1])), { ttlSeconds: 60 });
   * }, { concurrency: 2 });
   * await server.stop();
   * ```
   */
  serve(service: string, handler: Handler, options: ServeOptions = {}): ServerHandle {
    const name = checkService(service);
    if (typeof handler !== 'function') {
      throw new TypeError(`Expected \`handler\` to be a function, got \`${String(handler)}\` (${typeof handler})`);
    }
    const concurrency = checkPositiveInteger('concurrency', options.concurrency, 1);
    if (options.protocol !== undefined && options.protocol !== 'memocell') {
      throw new TypeError(
        `The embedded store serves only the memocell protocol, got \`${String(options.protocol)}\`: ` +
          'DisTcl clients reach services through Redis, so use createRedisStore for protocol "distcl".',
      );
    }
    const id = options.id ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`Expected \`id\` to be a non-empty string, got \`${String(id)}\` (${typeof id})`);
    }
    const verbose = options.verbose ?? false;
    if (typeof verbose !== 'boolean') {
      throw new TypeError(`Expected \`verbose\` to be a boolean, got \`${String(verbose)}\` (${typeof verbose})`);
    }
    this.checkOpen(`serve ${name}`);
    const svc = this.service(name);
    if (svc.registry.has(id)) throw new Error(`A server with id '${id}' already serves '${name}' in this store`);
    const pool = new ServerPool(concurrency, () => this.schedulePump(svc));
    const server = new Server(id, name, handler, concurrency, verbose, pool, (s) => this.beginStop(svc, s));
    svc.servers.push(server);
    svc.registry.set(id, server);
    svc.served = true;
    this.schedulePump(svc);
    return server;
  }

  /**
   * The servers of `service` in this store, including those finishing work after a stop.
   *
   * @example
   * ```ts
   * for (const s of await store.servers('slice')) console.log(s.id, s.inFlight, s.served);
   * ```
   */
  async servers(service: string): Promise<ServerInfo[]> {
    const name = checkService(service);
    this.checkOpen(`servers ${name}`);
    return [...(this.byName.get(name)?.registry.values() ?? [])].map((s) => s.info());
  }

  /**
   * The names of the services a server has served in this store (a name stays known
   * after its servers stop), sorted.
   *
   * @example
   * ```ts
   * store.serve('square', ([n]) => (n as number) ** 2);
   * await store.services(); // ['square']
   * ```
   */
  async services(): Promise<string[]> {
    this.checkOpen('services');
    return [...this.byName.values()].filter((svc) => svc.served).map((svc) => svc.name).sort();
  }

  /**
   * Queue lengths and counters of `service`.
   *
   * @example
   * ```ts
   * const { hits, misses } = await store.stats('slice');
   * ```
   */
  async stats(service: string): Promise<ServiceStats> {
    const name = checkService(service);
    this.checkOpen(`stats ${name}`);
    const svc = this.byName.get(name);
    return {
      service: name,
      queued: { gets: svc?.gets.size ?? 0, prefetches: svc?.prefetches.size ?? 0 },
      hits: svc?.hits ?? 0,
      misses: svc?.misses ?? 0,
      computations: svc?.computations ?? 0,
      errors: svc?.errors ?? 0,
    };
  }

  /**
   * Stops a server gracefully: it finishes what it is computing and takes no more; its
   * queued work goes to the other servers of the service. Resolves once asked (the
   * server's `stopped` says when it is done). Unknown ids are ignored.
   *
   * @example
   * ```ts
   * await store.stopServer('slice', 'worker-1');
   * ```
   */
  async stopServer(service: string, serverId: string): Promise<void> {
    const name = checkService(service);
    this.checkOpen(`stopServer ${name}`);
    const svc = this.byName.get(name);
    const server = svc?.registry.get(serverId);
    if (svc !== undefined && server !== undefined) this.beginStop(svc, server);
  }

  /**
   * Turns a server's request log (one line per request, on stderr) on or off.
   *
   * @example
   * ```ts
   * await store.setVerbose('slice', 'worker-1', true);
   * ```
   */
  async setVerbose(service: string, serverId: string, verbose: boolean): Promise<void> {
    const name = checkService(service);
    if (typeof verbose !== 'boolean') {
      throw new TypeError(`Expected \`verbose\` to be a boolean, got \`${String(verbose)}\` (${typeof verbose})`);
    }
    this.checkOpen(`setVerbose ${name}`);
    const server = this.byName.get(name)?.registry.get(serverId);
    if (server !== undefined) server.verbose = verbose;
  }

  /**
   * Stops every server (aborting their handlers' signals), fails every pending wait with
   * a `StoreClosedError`, and drops the cache and its timers. Idempotent.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const svc of this.byName.values()) {
      for (const server of svc.registry.values()) {
        server.accepting = false;
        server.abort.abort(new StoreClosedError(`Server ${server.id} of ${svc.name}`));
        server.resolveStopped();
      }
      svc.registry.clear();
      svc.servers.length = 0;
      for (const request of svc.pending.values()) {
        for (const waiter of request.waiters) {
          waiter.fail(new StoreClosedError(`get ${svc.name}${describeArgs(waiter.args)}`));
        }
      }
      svc.pending.clear();
      svc.gets.clear();
      svc.prefetches.clear();
      svc.cache.clear();
    }
    this.byName.clear();
  }

  // ---- internals -------------------------------------------------------------------

  private checkOpen(what: string): void {
    if (this.closed) throw new StoreClosedError(what);
  }

  private service(name: string): Service {
    let svc = this.byName.get(name);
    if (svc === undefined) {
      svc = new Service(name);
      this.byName.set(name, svc);
    }
    return svc;
  }

  /** A get without the slot lending: validation errors throw synchronously. */
  private request<T>(service: string, args: Args, options: CallOptions | undefined): Promise<T> {
    const name = checkService(service);
    const key = this.requestKey(String(service), args);
    const timeoutMs = checkPositiveNumber('timeoutMs', options?.timeoutMs, this.timeoutMs);
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`Expected \`signal\` to be an AbortSignal, got \`${String(signal)}\` (${typeof signal})`);
    }
    this.checkOpen(`get ${name}${describeArgs(args)}`);
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    const svc = this.service(name);
    const data = svc.cache.get(key);
    if (data !== undefined) {
      svc.hits++;
      return Promise.resolve(this.codec.decode(data) as T);
    }
    svc.misses++;
    let request = svc.pending.get(key);
    if (request === undefined) {
      request = { key, args, queue: 'gets', waiters: new Set(), stale: false };
      svc.pending.set(key, request);
      svc.gets.add(request);
      this.schedulePump(svc);
    } else if (request.queue === 'prefetches') {
      // Someone waits for it now: it moves to the get queue, behind older gets.
      svc.prefetches.delete(request);
      svc.gets.add(request);
      request.queue = 'gets';
    }
    const waiting = request;
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiting.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        args,
        settle: (outcome) => {
          done();
          if (!outcome.ok) {
            reject(new RemoteError(name, args, outcome.failure));
            return;
          }
          try {
            resolve(this.codec.decode(outcome.data) as T);
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.fail(signal?.reason);
      // The request stays: it completes for other callers, and is cached if kept.
      const timer = setTimeout(() => waiter.fail(new TimeoutError(name, args, timeoutMs)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiting.waiters.add(waiter);
    });
  }

  /**
   * Pumps on a later microtask: callers may be inside a handler (a slot released by
   * `awaitRemote`), and starting another handler there would nest it in their stack.
   */
  private schedulePump(svc: Service): void {
    if (svc.pumpScheduled || this.closed) return;
    svc.pumpScheduled = true;
    queueMicrotask(() => {
      svc.pumpScheduled = false;
      if (!this.closed) this.pump(svc);
    });
  }

  /** Hands queued requests, oldest get first, to servers with a free slot. */
  private pump(svc: Service): void {
    for (;;) {
      const request = first(svc.gets) ?? first(svc.prefetches);
      if (request === undefined) return;
      const data = svc.cache.get(request.key);
      if (data !== undefined) {
        // Cached while it waited (by save, or a computation that raced it): no work left.
        svc.unqueue(request);
        svc.pending.delete(request.key);
        this.deliver(request, { ok: true, data });
        continue;
      }
      const server = this.freeServer(svc);
      if (server === undefined) return;
      svc.unqueue(request);
      void this.run(svc, server, request);
    }
  }

  /** A server with a free slot, taken for the caller; round robin spreads the load. */
  private freeServer(svc: Service): Server | undefined {
    const n = svc.servers.length;
    for (let i = 0; i < n; i++) {
      const index = (svc.next + i) % n;
      const server = svc.servers[index];
      if (server !== undefined && server.pool.tryAcquire()) {
        svc.next = (index + 1) % n;
        return server;
      }
    }
    return undefined;
  }

  private async run(svc: Service, server: Server, request: Request): Promise<void> {
    server.inFlight++;
    svc.computations++;
    const began = Date.now();
    const slot = new RequestSlot(server.pool);
    const args = handlerArgs(request);
    const frame: RequestFrame = { request: { service: svc.name, args }, pool: slot, awaiting: 0 };
    const ctx: HandlerContext = { service: svc.name, args, signal: server.abort.signal };
    let outcome: Outcome;
    let ttlSeconds: number | undefined;
    try {
      const result: unknown = await runInFrame(frame, () => server.handler(args, ctx));
      const value = isKept(result) ? result.value : result;
      if (isKept(result)) ttlSeconds = result.ttlSeconds;
      outcome = this.encodeResult(svc.name, request.args, value);
    } catch (error) {
      outcome = { ok: false, failure: failureOf(error) };
    }
    slot.finish();
    if (this.closed) return;
    server.inFlight--;
    server.served++;
    if (request.stale && (request.recomputes ?? 0) < MAX_RECOMPUTES && request.waiters.size > 0) {
      // Something it read changed while it ran: compute it again before answering.
      request.recomputes = (request.recomputes ?? 0) + 1;
      request.stale = false;
      request.queue = 'gets';
      svc.gets.add(request);
      this.schedulePump(svc);
      if (!server.accepting && server.inFlight === 0) this.finishStop(svc, server);
      return;
    }
    if (!outcome.ok) svc.errors++;
    else if (ttlSeconds !== undefined && !request.stale) svc.cache.set(request.key, outcome.data, ttlSeconds);
    svc.pending.delete(request.key);
    if (server.verbose || log.server.enabled) {
      const status = outcome.ok ? (ttlSeconds === undefined ? 'ok' : `ok, kept ${ttlSeconds} s`) : `failed: ${outcome.failure.message}`;
      const line =
        `${svc.name} server ${server.id}: ${svc.name}${describeArgs(request.args)} ${status} ` +
        `in ${Date.now() - began} ms, ${request.waiters.size} waiting`;
      if (server.verbose) process.stderr.write(`memocell ${line}\n`);
      log.server('%s', line);
    }
    this.deliver(request, outcome);
    if (!server.accepting && server.inFlight === 0) this.finishStop(svc, server);
  }

  /** Encodes a handler's result; one the codec refuses fails like a handler error would. */
  private encodeResult(service: string, args: Args, value: unknown): Outcome {
    let data: string;
    try {
      data = this.codec.encode(value);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        failure: failureOf(new TypeError(`The result of ${service}${describeArgs(args)} cannot be encoded: ${reason}`)),
      };
    }
    const bytes = bytesOver(data, this.maxResultBytes);
    if (bytes !== undefined) return { ok: false, failure: failureOf(new TooLargeError(service, 'result', bytes, this.maxResultBytes)) };
    return { ok: true, data };
  }

  private deliver(request: Request, outcome: Outcome): void {
    for (const waiter of [...request.waiters]) waiter.settle(outcome);
  }

  private beginStop(svc: Service, server: Server): void {
    if (!server.accepting) return;
    server.accepting = false;
    const index = svc.servers.indexOf(server);
    if (index >= 0) svc.servers.splice(index, 1);
    if (svc.next >= svc.servers.length) svc.next = 0;
    if (server.inFlight === 0) this.finishStop(svc, server);
  }

  private finishStop(svc: Service, server: Server): void {
    if (svc.registry.get(server.id) === server) svc.registry.delete(server.id);
    server.resolveStopped();
  }
}

/**
 * An embedded store: services in this process, with the contract of the Redis store.
 *
 * @example
 * ```ts
 * const store = createEmbeddedStore({ timeoutMs: 5_000 });
 * store.serve('greet', ([name]) => `hello ${String(name)}`);
 * console.log(await store.get('greet', ['world'])); // 'hello world'
 * ```
 */
export function createEmbeddedStore(options?: EmbeddedStoreOptions): EmbeddedStore {
  return new EmbeddedStore(options);
}
