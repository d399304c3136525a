/**
 * Connections to one Redis deployment (a server or a cluster): the shared command
 * connection with our scripts defined on it, and fresh connections for blocking
 * commands, which must not share a socket with anything else.
 */
import { createHash } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { LUA_SCRIPTS } from './lua/scripts.generated.js';
import { PROTOCOL_VERSION } from './protocol-version.js';
import { describeTarget, log } from '../log/index.js';
import { LookupConnection, lookupTargetOf } from './lookup-connection.js';

export type RedisClient = Redis | Cluster;
/** What a store can be given: a URL, ioredis options, or a client (Redis or Cluster). */
export type RedisTarget = string | RedisOptions | RedisClient;

/**
 * Scripts become ioredis commands named `memocell_v3_NAME` (Redis itself knows them by
 * SHA-1 only). The version is in the name because a client passed in may be shared by
 * two copies of memocell in one process, and a command already defined on it is kept:
 * scripts that change what they expect or answer must come with a new version.
 */
const SCRIPT_VERSION = `v${PROTOCOL_VERSION}`;
export type ScriptName = keyof typeof LUA_SCRIPTS;

/** Each script's SHA-1, by which Redis knows it once it has run it (EVALSHA). */
const SCRIPT_SHAS = Object.fromEntries(
  Object.entries(LUA_SCRIPTS).map(([name, script]) => [name, createHash('sha1').update(script.lua).digest('hex')]),
) as Record<ScriptName, string>;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function isClient(target: RedisTarget): target is RedisClient {
  return target instanceof Redis || target instanceof Cluster;
}

export class Connection {
  readonly main: RedisClient;
  /** We made the client, so we close it; a client passed in stays the caller's. */
  private readonly owned: boolean;
  private readonly extra = new Set<RedisClient>();
  /** Where this connects, for logs: host and port or a redacted URL, never a password. */
  private readonly where: string;

  constructor(
    target: RedisTarget,
    options: {
      /** Cache lookups over a connection of their own (lookup-connection.ts). Default: true. */
      readonly lookupConnection?: boolean;
    } = {},
  ) {
    this.lookupLane = options.lookupConnection === false ? null : undefined;
    if (isClient(target)) {
      this.main = target;
      this.owned = false;
    } else {
      // No auto-pipelining: it delays every command to the next tick, which costs a lone
      // get more than batching saves (measured: bench/distributed, cache hits).
      this.main = typeof target === 'string' ? new Redis(target) : new Redis(target as RedisOptions);
      this.owned = true;
    }
    this.where = describeTarget(target);
    this.watch(this.main, 'main');
    // The next connection may reach a Redis that restarted without our scripts. (On
    // 'close', not 'ready': a call made before the first ready went out in full then.)
    this.main.on('close', () => this.loaded.clear());
    for (const [name, script] of Object.entries(LUA_SCRIPTS)) {
      if (!(commandName(name as ScriptName) in this.main)) {
        this.main.defineCommand(commandName(name as ScriptName), {
          numberOfKeys: script.numberOfKeys,
          lua: script.lua,
        });
      }
    }
  }

  /** The lookup connection: undefined until the first lookup, null where there is none. */
  private lookupLane: LookupConnection | null | undefined;
  /** Writes in flight that a lookup must not overtake (`ordered`). */
  private writing = 0;

  /**
   * The cached value at `key` (one GET): over the lookup connection when it is ready,
   * else over the main connection. While a write of this process that a lookup must
   * see is in flight (`ordered`), over the main connection, behind the write.
   */
  lookup(key: string): Promise<string | null> {
    const lane = this.lookupLane;
    if (lane !== null && lane !== undefined) {
      if (lane.ready && this.writing === 0) return lane.get(key);
    } else if (lane === undefined) {
      this.openLookupLane();
    }
    return this.main.get(key);
  }

  /**
   * The lookup connection's state, for diagnostics and tests: `unused` before the first
   * lookup, `none` where there is none (turned off, a Cluster, ...), else its status.
   */
  get lookupStatus(): 'unused' | 'none' | LookupConnection['status'] {
    if (this.lookupLane === undefined) return 'unused';
    return this.lookupLane === null ? 'none' : this.lookupLane.status;
  }

  private openLookupLane(): void {
    if (this.main instanceof Cluster) {
      this.lookupLane = null;
      return;
    }
    const target = lookupTargetOf(this.main, this.where);
    if (typeof target === 'string') {
      if (log.connection.enabled) log.connection('no lookup connection to %s: %s', this.where, target);
      this.lookupLane = null;
      return;
    }
    const main = this.main;
    this.lookupLane = new LookupConnection(target, (key) => main.get(key));
  }

  /**
   * Runs a write (a save, a forget) that lookups made after it is sent must see: until
   * it is answered, lookups take the main connection, where they queue behind it.
   */
  async ordered<T>(write: () => Promise<T>): Promise<T> {
    this.writing++;
    try {
      return await write();
    } finally {
      this.writing--;
    }
  }

  get isCluster(): boolean {
    return this.main instanceof Cluster;
  }

  /** Scripts sent in full (EVAL) since the connection last closed (one Redis, not a cluster). */
  private readonly loaded = new Set<ScriptName>();

  /**
   * Runs one of our scripts: its first call on a connection as EVAL, which loads it, the
   * rest as EVALSHA, and EVAL again on NOSCRIPT (Redis flushed its scripts). On one Redis
   * this is a plain command, not the one ioredis defines for the script, which wraps each
   * call in a command class of its own and a closure: 9-14 µs less per one-at-a-time
   * miss (two scripts) on a 2-core machine (BENCHMARKS.md, 2026-12-07).
   *
   * A cluster keeps the defined command, which knows which of its nodes' connections
   * have seen the script. Known per client only, a script's first call on each further
   * node would be refused (NOSCRIPT) and sent again a round trip later, behind commands
   * sent after it: a claim sent without waiting then landed after its request's
   * `complete`, which dropped the result as not the claimant's, and the request was
   * computed again once its lease lapsed (a bridge test on the cluster, 2 runs in 13).
   */
  script(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (this.isCluster) return this.definedScript(name, keys, args);
    if (!this.loaded.has(name)) {
      this.loaded.add(name);
      return this.scriptInFull(name, keys, args);
    }
    return this.main.evalsha(SCRIPT_SHAS[name], keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return this.scriptInFull(name, keys, args);
    });
  }

  /** The command ioredis defines for the script (EVALSHA, or EVAL where it has not run). */
  private definedScript(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const command = (this.main as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[
      commandName(name)
    ] as (...a: (string | number)[]) => Promise<unknown>;
    return command.call(this.main, ...keys, ...args);
  }

  /** Redis's EVAL: runs the script's text in Redis, which keeps it for EVALSHA. */
  private scriptInFull(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.main.call('EVAL', LUA_SCRIPTS[name].lua, keys.length, ...keys, ...args);
  }

  /**
   * Runs one of our scripts several times in one pipeline (one write, one round trip),
   * without waiting: for fire-and-forget steps such as claims. All keys must share a
   * hash slot on a Cluster (ours do: one service's keys share a tag).
   */
  pipelineScripts(name: ScriptName, calls: ReadonlyArray<{ keys: readonly string[]; args: readonly (string | number)[] }>): void {
    const pipeline = this.main.pipeline() as unknown as Record<string, (...a: (string | number)[]) => unknown> & {
      exec(): Promise<unknown>;
    };
    const command = pipeline[commandName(name)] as (...a: (string | number)[]) => unknown;
    for (const call of calls) command.call(pipeline, ...call.keys, ...call.args);
    pipeline.exec().catch(() => {});
  }

  private subscriber: RedisClient | undefined;
  private shardedSubscriber: RedisClient | undefined;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  private readonly awaited = new Map<string, Array<{ message: string; arrived: () => void }>>();
  /**
   * Channels by whether Redis has confirmed the subscription: a message published
   * before the confirmation does not reach this process. Settles (true) once confirmed,
   * or (false) if the subscribe command failed; ioredis subscribes again on reconnect.
   */
  private readonly confirmations = new Map<string, Promise<boolean>>();
  private readonly confirmed = new Set<string>();

  /**
   * Listens to a pub/sub channel. `sharded` channels (SSUBSCRIBE: a channel that shares
   * its hash tag with the keys it is about, so on a Cluster only the shard owning them
   * carries it) share one subscriber; classic channels another. Returns the function
   * that stops listening.
   */
  subscribe(channel: string, listener: (message: string) => void, options: { readonly sharded?: boolean } = {}): () => void {
    const sharded = options.sharded === true;
    const subscriber = sharded ? this.shardedClient() : this.classicClient();
    let set = this.listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
      const confirmation = new Promise<boolean>((resolve) => {
        const send = (): void => {
          // Stopped listening before the subscriber was ready.
          if (!this.listeners.has(channel)) return resolve(false);
          (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel)).then(
            () => {
              if (this.listeners.has(channel)) this.confirmed.add(channel);
              resolve(true);
            },
            () => resolve(false),
          );
        };
        // ioredis writes (S)SUBSCRIBE at once on a connected socket still doing its ready
        // check; the check's INFO then fails in subscriber mode and the subscription is
        // lost (ioredis issue #2037). Subscribe once the client is ready (it resubscribes
        // by itself after a reconnect).
        if (subscriber.status === 'ready') send();
        else subscriber.once('ready', send);
      });
      this.confirmations.set(channel, confirmation);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      this.confirmations.delete(channel);
      this.confirmed.delete(channel);
      void (sharded ? subscriber.sunsubscribe(channel) : subscriber.unsubscribe(channel)).catch(() => {});
    };
  }

  private dispatch(channel: string, message: string): void {
    for (const listener of this.listeners.get(channel) ?? []) listener(message);
    const waiting = this.awaited.get(channel);
    if (waiting === undefined) return;
    const index = waiting.findIndex((w) => w.message === message);
    if (index < 0) return;
    const [w] = waiting.splice(index, 1);
    if (waiting.length === 0) this.awaited.delete(channel);
    w?.arrived();
  }

  private classicClient(): RedisClient {
    if (this.subscriber === undefined) {
      const client = this.dedicated();
      client.on('message', (channel: string, message: string) => this.dispatch(channel, message));
      this.subscriber = client;
    }
    return this.subscriber;
  }

  private shardedClient(): RedisClient {
    if (this.shardedSubscriber === undefined) {
      // On a Cluster, ioredis keeps one sharded subscriber per shard when asked to.
      const client =
        this.main instanceof Cluster ? this.main.duplicate([], { shardedSubscribers: true }) : this.main.duplicate();
      this.extra.add(client);
      client.on('smessage', (channel: string, message: string) => this.dispatch(channel, message));
      this.shardedSubscriber = client;
    }
    return this.shardedSubscriber;
  }

  /**
   * If this process listens on `channel`, a promise that resolves when `message`
   * arrives there (or after `timeoutMs`): a publisher waits for its own message, so its
   * own listeners have acted before it goes on. Call it before publishing.
   */
  expectMessage(channel: string, message: string, timeoutMs = 1_000): Promise<void> | undefined {
    // Not confirmed yet: the message may be published before Redis delivers to us.
    if (!this.confirmed.has(channel)) return undefined;
    return new Promise<void>((resolve) => {
      let list = this.awaited.get(channel);
      if (list === undefined) this.awaited.set(channel, (list = []));
      const waiter = {
        message,
        arrived: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      list.push(waiter);
      // A message that never came (published before the subscription was active) must
      // not leave its waiter behind: it would take the next identical message, and the
      // waiter that message is for would sit out its whole timeout, every time.
      const timer = setTimeout(() => {
        const current = this.awaited.get(channel);
        const index = current?.indexOf(waiter) ?? -1;
        if (current !== undefined && index >= 0) {
          current.splice(index, 1);
          if (current.length === 0) this.awaited.delete(channel);
        }
        resolve();
      }, timeoutMs);
      timer.unref?.();
    });
  }

  /**
   * Resolves once Redis has confirmed this process's subscription to `channel` (at once
   * if it has, or if nothing here listens there), so that what is published from then on
   * arrives. Resolves too if subscribing failed, or after `limitMs` while Redis cannot
   * be reached: callers must not wait for ever.
   */
  subscribed(channel: string, limitMs = 2_000): Promise<void> {
    const confirmation = this.confirmations.get(channel);
    if (confirmation === undefined || this.confirmed.has(channel)) return Promise.resolve();
    // Redis away: the subscriber is not ready and may not be for long; the callers'
    // own deadlines decide then, so waiting here is bounded.
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      timer.unref?.();
      void confirmation.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** A connection of its own, for a blocking command or a subscription. */
  dedicated(): RedisClient {
    const client = this.main.duplicate();
    // A dedicated connection must never queue commands forever while offline: a
    // blocking wait is re-issued by its watchdog instead.
    this.extra.add(client);
    this.watch(client, 'dedicated');
    return client;
  }

  /** Whether the main connection is up now (commands sent now are not queued offline). */
  get ready(): boolean {
    return this.main.status === 'ready';
  }

  /** The last connection error while Redis is unreachable, for the errors calls end with. */
  private lastError: string | undefined;

  /**
   * Why Redis cannot be reached now, if it cannot: added to the `TimeoutError` of a call
   * that waited in vain, so the caller learns the cause, not only the symptom.
   */
  get trouble(): string | undefined {
    if (this.lastError === undefined || this.main.status === 'ready') return undefined;
    return `; Redis at ${this.where} is unreachable: ${this.lastError}`;
  }

  /**
   * Follows a client's connection errors (so ioredis does not print them as unhandled:
   * calls report them as typed errors instead) and logs its connection events under
   * `memocell:connection`.
   */
  private watch(client: RedisClient, role: string): void {
    const where = this.where;
    // A client the caller passed in keeps the error handling its owner gave it.
    if (client !== this.main || this.owned) {
      client.on('error', (error: Error) => {
        this.lastError = error.message;
        if (log.connection.enabled) log.connection('%s connection to %s: %s', role, where, error.message);
      });
    }
    client.on('ready', () => {
      if (client === this.main) this.lastError = undefined;
      if (log.connection.enabled) log.connection('%s connection to %s: ready', role, where);
    });
    if (!log.connection.enabled) return;
    client.on('connect', () => log.connection('%s connection to %s: connected', role, where));
    client.on('reconnecting', (ms: number) => log.connection('%s connection to %s: reconnecting in %d ms', role, where, ms));
    client.on('end', () => log.connection('%s connection to %s: closed', role, where));
  }

  /** Closes a dedicated connection at once (aborting a blocking command on it). */
  drop(client: RedisClient): void {
    this.extra.delete(client);
    client.disconnect();
  }

  async close(): Promise<void> {
    // First: its unanswered lookups go to the main connection, answered before it quits.
    this.lookupLane?.close();
    this.lookupLane = null;
    for (const client of this.extra) client.disconnect();
    this.extra.clear();
    if (this.owned) {
      // QUIT lets replies in flight arrive first; but while Redis is unreachable it would
      // wait in the offline queue through every retry, so then just hang up.
      if (this.main.status !== 'ready') {
        this.main.disconnect();
        return;
      }
      try {
        await this.main.quit();
      } catch {
        this.main.disconnect();
      }
    }
  }
}

function commandName(name: ScriptName): string {
  return `memocell_${SCRIPT_VERSION}_${name}`;
}
