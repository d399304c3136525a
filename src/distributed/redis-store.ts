/**
 * The Redis store: memoised services shared by every process that connects to the
 * same Redis (or Redis Cluster), with a connection of their own per service if asked.
 */
import { randomBytes } from 'node:crypto';
import { defer, from, Observable } from 'rxjs';
import { Cluster, type Redis } from 'ioredis';
import { checkCodec, type Codec } from './codec.js';
import { Connection, type RedisClient, type RedisTarget } from './connection.js';
import { encodeValue } from './envelope.js';
import { StoreClosedError } from './errors/store-closed-error.js';
import { ControlError } from './errors/control-error.js';
import { distclRemote, BlockingPool, type DistclRemote } from './distcl/client.js';
import { DistclServer, type DistclHandler } from './distcl/server.js';
import { checkPrefix, requestKeyOf, requestPayload, serviceKeys, type ServiceKeys } from './keys.js';
import { ServiceClient, type Timings } from './redis-client.js';
import { RedisServer, type ServerTimings } from './redis-server.js';
import { awaitRemote, currentFrame } from './slots.js';
import { liveServers } from './protocol-version.js';
import type { RequestRef } from './errors/remote-error.js';
import { canonicalKey } from '../reactive/key.js';
import type {
  Args,
  CallOptions,
  DistributedStore,
  Handler,
  ServeOptions,
  ServerHandle,
  ServerInfo,
  ServiceStats,
} from './types.js';
import {
  checkPositiveInteger,
  checkBoolean,
  checkPositiveNumber,
  checkRequestSize,
  checkService,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_RESULT_BYTES,
  isServiceName,
  keyOfArgs,
} from './validate.js';
import { bytesOver, TooLargeError } from './errors/too-large-error.js';
import type { Limits } from './redis-server.js';
import { log } from '../log/index.js';

/** A memocell service served elsewhere, called like a function of its arguments. */
export interface RemoteService<A extends unknown[], R> {
  (...args: A): Promise<R>;
  prefetch(...args: A): Promise<void>;
  forget(...args: A): Promise<void>;
  observe(...args: A): Observable<R>;
  readonly service: string;
}

function checkProtocol(protocol: unknown): 'memocell' | 'distcl' {
  if (protocol === undefined || protocol === 'memocell' || protocol === 'distcl') return protocol ?? 'memocell';
  throw new TypeError(`Expected \`protocol\` to be 'memocell' or 'distcl', got \`${String(protocol)}\``);
}

/**
 * The prefix of a store given none: `MEMOCELL_PREFIX` when set, so a module that
 * connects with defaults lands under the prefix `memocell serve --prefix` chose.
 */
function defaultPrefix(): string | undefined {
  const fromEnv = process.env.MEMOCELL_PREFIX;
  if (fromEnv === undefined || fromEnv === '') return undefined;
  try {
    return checkPrefix(fromEnv);
  } catch (error) {
    throw new TypeError(`The MEMOCELL_PREFIX environment variable is not a valid prefix: ${(error as Error).message}`);
  }
}

/** Escapes the characters Redis glob patterns treat specially (`*?[]\`), for SCAN MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** How long a control command waits for its server's heartbeat (beats every second). */
const ORDERS_TTL_MS = 10_000;

/** How long a dependents set lives after the last read it records: a day. */
const DEPENDENTS_TTL_MS = 24 * 60 * 60 * 1000;

/** Options of `createRedisStore`, each with its default. */
export interface RedisStoreOptions {
  /** The Redis to use: a URL, ioredis options, or an ioredis `Redis`/`Cluster`. Default: `redis://127.0.0.1:6379`. */
  readonly redis?: RedisTarget;
  /** Put these services on Redis deployments of their own (DisTcl's advice for scale). */
  readonly services?: Readonly<Record<string, RedisTarget>>;
  /**
   * First part of every key. Default: the `MEMOCELL_PREFIX` environment variable if it
   * is set (the `memocell` command's `--prefix` sets it for the modules it serves),
   * else `memocell`.
   */
  readonly prefix?: string;
  /** Default deadline of a call, in ms. Default: 30 000. */
  readonly timeoutMs?: number;
  /** A computation's lease, renewed while it runs; a lost server's work restarts after it. Default: 5 000 ms. */
  readonly leaseMs?: number;
  /**
   * How long a queued request waits before a sweep checks that it is still queued; a
   * request that a server took off the queue and died before claiming is queued again
   * after it. Default: `leaseMs`, so such a request restarts as soon as a killed
   * server's computations do. A computation whose server died restarts once its lease
   * has lapsed and, when this is longer than the lease, this long after it was queued.
   */
  readonly queueGraceMs?: number;
  /** Encodes results. Default: JSON values and byte arrays (`defaultCodec`). */
  readonly codec?: Codec;
  /**
   * Largest request, in bytes of its encoded arguments: larger ones are refused with a
   * `TooLargeError` before anything is sent, and servers refuse larger ones queued by
   * other tools. Default: 1 MiB.
   */
  readonly maxRequestBytes?: number;
  /**
   * Largest result, in bytes of its encoded form: a server whose handler returns more
   * answers its callers with a `TooLargeError` failure (nothing is cached) and keeps
   * serving; `save` refuses larger values. Default: 16 MiB.
   */
  readonly maxResultBytes?: number;
  /**
   * Cache lookups (a get's plain `GET` while most gets hit) go over one more connection
   * per Redis, read without ioredis's command machinery: a lone cache hit took 19-25%
   * less time (BENCHMARKS.md). Made at the first lookup; while it is not ready, lookups
   * use the main connection. Never made for a Cluster, Sentinel, a custom connector or a
   * client with a `keyPrefix`. `false`: one connection fewer, every lookup through
   * ioredis. Default: true.
   */
  readonly lookupConnection?: boolean;
}

interface ServiceState {
  readonly keys: ServiceKeys;
  readonly connection: Connection;
  client: ServiceClient | undefined;
}

export class RedisStore implements DistributedStore {
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly codec: Codec;
  private readonly limits: Limits;
  private readonly timings: ServerTimings;
  private readonly main: Connection;
  private readonly connections = new Map<string, Connection>();
  private readonly serviceStates = new Map<string, ServiceState>();
  private readonly running = new Set<RedisServer>();
  private readonly clientId = randomBytes(9).toString('base64url');
  private closed = false;

  constructor(options: RedisStoreOptions = {}) {
    this.prefix = checkPrefix(options.prefix ?? defaultPrefix());
    this.timeoutMs = checkPositiveNumber('timeoutMs', options.timeoutMs, 30_000);
    const leaseMs = checkPositiveNumber('leaseMs', options.leaseMs, 5_000);
    const queueGraceMs = checkPositiveNumber('queueGraceMs', options.queueGraceMs, leaseMs);
    this.codec = checkCodec(options.codec);
    this.limits = {
      maxRequestBytes: checkPositiveInteger('maxRequestBytes', options.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES),
      maxResultBytes: checkPositiveInteger('maxResultBytes', options.maxResultBytes, DEFAULT_MAX_RESULT_BYTES),
    };
    this.timings = {
      leaseMs,
      queueGraceMs,
      recordTtlMs: Math.max(100_000, 10 * Math.max(leaseMs, queueGraceMs)),
      replyTtlMs: 60_000,
      blockSeconds: 5,
    };
    const connectionOptions = { lookupConnection: checkBoolean('lookupConnection', options.lookupConnection, true) };
    this.main = new Connection(options.redis ?? 'redis://127.0.0.1:6379', connectionOptions);
    for (const [service, target] of Object.entries(options.services ?? {})) {
      this.connections.set(checkService(service), new Connection(target, connectionOptions));
    }
  }

  private state(service: string): ServiceState {
    let state = this.serviceStates.get(service);
    if (state === undefined) {
      state = {
        keys: serviceKeys(this.prefix, service),
        connection: this.connections.get(service) ?? this.main,
        client: undefined,
      };
      this.serviceStates.set(service, state);
    }
    return state;
  }

  private clientOf(service: string, state: ServiceState): ServiceClient {
    return (state.client ??= new ServiceClient(
      service,
      state.keys,
      state.connection,
      this.clientId,
      this.codec,
      this.timings as Timings,
    ));
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new StoreClosedError(what);
  }

  get<T = unknown>(service: string, args: Args, options?: CallOptions): Promise<T> {
    let canonical: string;
    let timeoutMs: number;
    // A service with a state was checked when the state was made: a hit costs no check.
    let state = this.serviceStates.get(service);
    try {
      if (this.closed) throw new StoreClosedError(`get ${String(service)}`);
      if (state === undefined) state = this.state(checkService(service));
      canonical = keyOfArgs(args);
      checkRequestSize(service, canonical, this.limits.maxRequestBytes);
      timeoutMs = checkPositiveNumber('timeoutMs', options?.timeoutMs, this.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    const requestKey = requestKeyOf(canonical);
    const frame = currentFrame();
    if (frame !== undefined) this.recordDependency(state, requestKey, frame.request);
    const pending = this.clientOf(service, state).get(requestKey, canonical, args, timeoutMs, options?.signal);
    return awaitRemote(pending) as Promise<T>;
  }

  get$<T = unknown>(service: string, args: Args, options?: CallOptions): Observable<T> {
    return defer(() => from(this.get<T>(service, args, options)));
  }

  async prefetch(service: string, args: Args): Promise<void> {
    this.assertOpen(`prefetch ${String(service)}`);
    checkService(service);
    const canonical = keyOfArgs(args);
    checkRequestSize(service, canonical, this.limits.maxRequestBytes);
    const requestKey = requestKeyOf(canonical);
    const { keys: k, connection } = this.state(service);
    await connection.script(
      'prefetch',
      [k.value(requestKey), k.runs, k.prefetches, k.pending, k.stats],
      [
        requestKey,
        requestPayload(requestKey, canonical),
        Date.now() + this.timings.queueGraceMs,
        this.timings.recordTtlMs,
      ],
    );
  }

  /**
   * Drops the cached result, and every result computed from it, transitively (in any
   * service, on any Redis of this store): each process is told to drop its copies.
   */
  async forget(service: string, args: Args): Promise<void> {
    this.assertOpen(`forget ${String(service)}`);
    checkService(service);
    const canonical = keyOfArgs(args);
    checkRequestSize(service, canonical, this.limits.maxRequestBytes);
    await this.invalidate([`${service}\n${requestKeyOf(canonical)}`]);
  }

  /**
   * Records that the computation running now (`reader`) read `requestKey`, so that
   * forgetting it forgets the reader's result too. Sent without waiting: it travels
   * ahead of the reader's own completion on the same connection.
   */
  private recordDependency(state: ServiceState, requestKey: string, reader: RequestRef): void {
    const ref = `${reader.service}\n${requestKeyOf(canonicalKey(reader.args))}`;
    state.connection
      .script('depend', [state.keys.dependents(requestKey)], [ref, DEPENDENTS_TTL_MS])
      .catch(() => {});
  }

  /**
   * Forgets results and everything that depends on them, breadth first: one script call
   * per service and level, each handing back the next level's dependents.
   */
  private async invalidate(refs: readonly string[]): Promise<void> {
    const seen = new Set<string>();
    let level = [...refs];
    while (level.length > 0) {
      const byService = new Map<string, string[]>();
      for (const ref of level) {
        if (seen.has(ref)) continue;
        seen.add(ref);
        const newline = ref.indexOf('\n');
        if (newline <= 0) continue;
        const service = ref.slice(0, newline);
        // Only memocell's own services have dependents (and a state here must be one:
        // get trusts a service that has one).
        if (!isServiceName(service)) continue;
        let keys = byService.get(service);
        if (keys === undefined) byService.set(service, (keys = []));
        keys.push(ref.slice(newline + 1));
      }
      const next = await Promise.all(
        [...byService].map(async ([service, requestKeys]) => {
          const { keys, connection } = this.state(service);
          // This process's local copies are dropped by the same message as everyone's:
          // wait for it, so a read here right after a forget or save never sees the old result.
          const arrived = connection.expectMessage(keys.invalidated, requestKeys.join('\n'));
          const dependents = (await connection.ordered(() =>
            connection.script('invalidate', [keys.value(requestKeys[0] as string)], [keys.base, keys.invalidated, ...requestKeys]),
          )) as string[];
          await arrived;
          if (log.invalidate.enabled) {
            log.invalidate('%s: forgot %d result(s), %d dependent(s) next', service, requestKeys.length, dependents.length);
          }
          return dependents;
        }),
      );
      level = next.flat();
    }
  }

  async save(
    service: string,
    args: Args,
    value: unknown,
    options: { readonly ttlSeconds: number; readonly ifAbsent?: boolean },
  ): Promise<boolean> {
    this.assertOpen(`save ${String(service)}`);
    checkService(service);
    const requestKey = requestKeyOf(keyOfArgs(args));
    const ttlSeconds = options?.ttlSeconds;
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) {
      throw new TypeError(
        `Expected \`ttlSeconds\` to be a finite number > 0, got \`${String(ttlSeconds)}\` (${typeof ttlSeconds})`,
      );
    }
    checkRequestSize(service, keyOfArgs(args), this.limits.maxRequestBytes);
    const { envelope, failed } = encodeValue(this.codec, value);
    if (failed) {
      // encodeValue turned the codec's refusal into a failure report: surface it as thrown.
      throw new TypeError(`Cannot save the value for ${service}: ${JSON.parse(envelope.slice(1)).message as string}`);
    }
    const bytes = bytesOver(envelope, this.limits.maxResultBytes + 1);
    if (bytes !== undefined) throw new TooLargeError(service, 'result', bytes - 1, this.limits.maxResultBytes);
    const { keys, connection } = this.state(service);
    const arrived = connection.expectMessage(keys.invalidated, requestKey);
    const dependents = (await connection.ordered(() =>
      connection.script(
        'save',
        [keys.value(requestKey), keys.runs],
        [
          envelope,
          Math.max(1, Math.round(ttlSeconds * 1000)),
          keys.invalidated,
          requestKey,
          keys.dependents(requestKey),
          options.ifAbsent === true ? '1' : '0',
        ],
      ),
    )) as string[] | 0;
    if (dependents === 0) return false;
    await arrived;
    // What was computed from the old result is out of date now.
    if (dependents.length > 0) await this.invalidate(dependents);
    return true;
  }

  /**
   * Makes this process a server of `service`. With `protocol: 'distcl'` it serves
   * DisTcl's queues instead: the handler gets the request's words as strings and returns
   * a string, or `keep(string, { ttlSeconds })` (DisTcl's `-secs2keep`).
   */
  serve(service: string, handler: Handler, options?: ServeOptions & { readonly protocol?: 'memocell' }): ServerHandle;
  serve(service: string, handler: DistclHandler, options: ServeOptions & { readonly protocol: 'distcl' }): ServerHandle;
  serve(service: string, handler: Handler | DistclHandler, options?: ServeOptions): ServerHandle {
    this.assertOpen(`serve ${String(service)}`);
    checkService(service);
    if (typeof handler !== 'function') {
      throw new TypeError(`Expected \`handler\` to be a function, got \`${String(handler)}\` (${typeof handler})`);
    }
    const concurrency = checkPositiveInteger('concurrency', options?.concurrency, 1);
    const protocol = checkProtocol(options?.protocol);
    if (protocol === 'distcl') {
      const { connection } = this.state(service);
      const server = new DistclServer(
        service,
        handler as DistclHandler,
        connection,
        concurrency,
        options?.id,
        options?.verbose ?? false,
        (stopped) => this.distclServers.delete(stopped),
      );
      this.distclServers.add(server);
      server.start();
      return server;
    }
    const { keys, connection } = this.state(service);
    const server = new RedisServer(
      service,
      handler as Handler,
      keys,
      connection,
      this.codec,
      this.timings,
      this.limits,
      concurrency,
      options?.id,
      options?.verbose ?? false,
      (stopped) => this.running.delete(stopped),
    );
    this.running.add(server);
    this.subscribeControl(service, keys, connection);
    server.start();
    return server;
  }

  // ---- remote services -------------------------------------------------------------

  /**
   * A service served elsewhere, called like a function. `protocol: 'distcl'` calls a
   * DisTcl service (Tcl servers, or memocell servers in that mode): words in, a string
   * out, with DisTcl's wait of 10 s unless `timeoutMs` says otherwise.
   *
   * @example
   * ```ts
   * const mand = store.remote('mand', { protocol: 'distcl' });
   * const row = await mand('slice', 100, -2, 0.01, 1.2, 0.01, 0, 99, 1);
   * const square = store.remote<[number], number>('square');
   * await square(12);
   * ```
   */
  remote(service: string, options: { readonly protocol: 'distcl'; readonly timeoutMs?: number }): DistclRemote;
  remote<A extends unknown[] = unknown[], R = unknown>(
    service: string,
    options?: { readonly protocol?: 'memocell'; readonly timeoutMs?: number },
  ): RemoteService<A, R>;
  remote(
    service: string,
    options?: { readonly protocol?: 'memocell' | 'distcl'; readonly timeoutMs?: number },
  ): DistclRemote | RemoteService<unknown[], unknown> {
    this.assertOpen(`remote ${String(service)}`);
    checkService(service);
    const protocol = checkProtocol(options?.protocol);
    if (protocol === 'distcl') {
      const timeoutMs = checkPositiveNumber('timeoutMs', options?.timeoutMs, 10_000);
      const { connection } = this.state(service);
      let pool = this.blockingPools.get(connection);
      if (pool === undefined) this.blockingPools.set(connection, (pool = new BlockingPool(connection)));
      return distclRemote(service, connection, pool, timeoutMs, () => this.closed);
    }
    const timeoutMs = options?.timeoutMs;
    const callOptions = timeoutMs === undefined ? undefined : { timeoutMs };
    const call = ((...args: unknown[]) => this.get(service, args, callOptions)) as RemoteService<unknown[], unknown>;
    call.prefetch = (...args) => this.prefetch(service, args);
    call.forget = (...args) => this.forget(service, args);
    call.observe = (...args) => this.get$(service, args, callOptions);
    Object.defineProperty(call, 'service', { value: service });
    return call;
  }

  private readonly blockingPools = new Map<Connection, BlockingPool>();
  private readonly distclServers = new Set<DistclServer>();

  // ---- control -------------------------------------------------------------------

  private readonly controlled = new Set<string>();

  private subscribeControl(service: string, keys: ServiceKeys, connection: Connection): void {
    if (this.controlled.has(keys.control)) return;
    this.controlled.add(keys.control);
    connection.subscribe(keys.control, (message) => {
      let command: { to?: unknown; command?: unknown };
      try {
        command = JSON.parse(message) as typeof command;
      } catch {
        return;
      }
      for (const server of this.running) {
        if (server.service === service && server.id === command.to) server.obey(command.command);
      }
    });
  }

  /**
   * Request keys of `service` whose cached result was forgotten or replaced, published
   * by whichever process did it.
   */
  invalidations(service: string): Observable<string> {
    checkService(service);
    return new Observable<string>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      const { keys, connection } = this.state(service);
      // One message carries every request key one script call forgot, one per line.
      return connection.subscribe(
        keys.invalidated,
        (message) => {
          const requestKeys = message.split('\n');
          if (log.invalidate.enabled) log.invalidate('%s: told to drop %d local copy(ies)', service, requestKeys.length);
          for (const requestKey of requestKeys) subscriber.next(requestKey);
        },
        // Sharded: on a Cluster only the shard owning the service's keys carries it.
        { sharded: true },
      );
    });
  }

  listening(service: string): Promise<void> {
    checkService(service);
    if (this.closed) return Promise.resolve();
    const { keys, connection } = this.state(service);
    return connection.subscribed(keys.invalidated);
  }

  private async control(service: string, serverId: string, command: string): Promise<void> {
    this.assertOpen(`${command} ${String(service)}`);
    checkService(service);
    const { keys, connection } = this.state(service);
    // Pub/sub for speed, and a list the server's heartbeat reads, for a server that was
    // not subscribed when the message went out (just started, or reconnecting).
    const orders = keys.orders(serverId);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await connection.main
        .multi()
        .rpush(orders, command)
        .pexpire(orders, ORDERS_TTL_MS)
        .publish(keys.control, JSON.stringify({ to: serverId, command }))
        .exec();
    } catch (error) {
      throw new ControlError(service, serverId, command, error);
    }
    for (const [error] of replies ?? []) if (error) throw new ControlError(service, serverId, command, error);
  }

  /** A server of this process, if that is where `serverId` runs: told directly, without a race. */
  private local(service: string, serverId: string): RedisServer | undefined {
    for (const server of this.running) if (server.service === service && server.id === serverId) return server;
    return undefined;
  }

  async stopServer(service: string, serverId: string): Promise<void> {
    const server = this.local(service, serverId);
    if (server !== undefined) {
      // Takes no new work from now on; in-flight work finishes in the background.
      void server.stop();
      return;
    }
    await this.control(service, serverId, 'stop');
  }

  async setVerbose(service: string, serverId: string, verbose: boolean): Promise<void> {
    const server = this.local(service, serverId);
    if (server !== undefined) {
      server.verbose = verbose;
      return;
    }
    await this.control(service, serverId, verbose ? 'verbose' : 'quiet');
  }

  async servers(service: string): Promise<ServerInfo[]> {
    this.assertOpen(`servers ${String(service)}`);
    checkService(service);
    const { keys, connection } = this.state(service);
    return liveServers(connection.main, keys);
  }

  /**
   * The names of the services known under this store's prefix: every service a server
   * has served on its Redis (a name stays known after its servers stop), sorted. Scans
   * each Redis of the store (every master of a Cluster) for the services' name keys.
   *
   * @example
   * ```ts
   * for (const name of await store.services()) console.log(name, (await store.servers(name)).length);
   * ```
   */
  async services(): Promise<string[]> {
    this.assertOpen('services');
    const pattern = `${globEscape(this.prefix)}:{*}:name`;
    const names = new Set<string>();
    const connections = new Set([this.main, ...this.connections.values()]);
    await Promise.all(
      [...connections].map(async (connection) => {
        const nodes: Redis[] = connection.main instanceof Cluster ? connection.main.nodes('master') : [connection.main];
        await Promise.all(nodes.map((node) => collectNames(node, pattern, this.prefix, names)));
      }),
    );
    return [...names].sort();
  }

  async stats(service: string): Promise<ServiceStats> {
    this.assertOpen(`stats ${String(service)}`);
    checkService(service);
    const { keys, connection } = this.state(service);
    const [counters, shared, prefetches, inboxed] = await Promise.all([
      connection.main.hgetall(keys.stats),
      connection.main.llen(keys.gets),
      connection.main.llen(keys.prefetches),
      this.inboxLengths(connection.main, keys),
    ]);
    const gets = shared + inboxed;
    const count = (name: string): number => Number(counters[name] ?? 0) || 0;
    return {
      service,
      queued: { gets, prefetches },
      hits: count('hits'),
      misses: count('misses'),
      computations: count('computations'),
      errors: count('errors'),
    };
  }

  /** Gets waiting in idle servers' inboxes (see get-1.lua): queued, like the shared queue. */
  private async inboxLengths(client: RedisClient, keys: ServiceKeys): Promise<number> {
    const servers = await client.smembers(keys.direct);
    const lengths = await Promise.all(servers.map((id) => client.llen(keys.inbox(id))));
    return lengths.reduce((sum, n) => sum + n, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.running, ...this.distclServers].map((server) => server.stop()));
    await Promise.allSettled([...this.serviceStates.values()].map((state) => state.client?.close()));
    const connections = new Set([this.main, ...this.connections.values()]);
    await Promise.allSettled([...connections].map((connection) => connection.close()));
  }
}

/**
 * Adds to `names` the service names one Redis node holds under `pattern`, keeping only
 * those whose key carries their own hash tag (anything else is not a name we wrote).
 */
async function collectNames(node: Redis, pattern: string, prefix: string, names: Set<string>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    // Each key on its own: on a Cluster node the keys of one scan sit in different slots.
    const values = await Promise.all(keys.map((key) => node.get(key).catch(() => null)));
    for (const [i, name] of values.entries()) {
      if (name !== null && serviceKeys(prefix, name).name === keys[i]) names.add(name);
    }
  } while (cursor !== '0');
}

/**
 * Connects a store of memoised services to Redis (or Redis Cluster).
 *
 * @example
 * ```ts
 * const store = createRedisStore({ redis: process.env.REDIS_URL });
 * store.serve('square', ([n]) => keep((n as number) ** 2, { ttlSeconds: 600 }), { concurrency: 4 });
 * await store.get('square', [12]); // 144, computed once, then cached for 10 minutes
 * ```
 */
export function createRedisStore(options?: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}
