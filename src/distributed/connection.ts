/**
 * Connections to one Redis deployment (a server or a cluster): the shared command
 * connection with our scripts defined on it, and fresh connections for blocking
 * commands, which must not share a socket with anything else.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { LUA_SCRIPTS } from './lua/scripts.generated.js';

export type RedisClient = Redis | Cluster;
/** What a store can be given: a URL, ioredis options, or a client (Redis or Cluster). */
export type RedisTarget = string | RedisOptions | RedisClient;

/** Scripts are registered under a versioned name so two versions on one Redis never clash. */
const SCRIPT_VERSION = 'v1';
export type ScriptName = keyof typeof LUA_SCRIPTS;

function isClient(target: RedisTarget): target is RedisClient {
  return target instanceof Redis || target instanceof Cluster;
}

export class Connection {
  readonly main: RedisClient;
  /** We made the client, so we close it; a client passed in stays the caller's. */
  private readonly owned: boolean;
  private readonly extra = new Set<RedisClient>();

  constructor(target: RedisTarget) {
    if (isClient(target)) {
      this.main = target;
      this.owned = false;
    } else {
      // No auto-pipelining: it delays every command to the next tick, which costs a lone
      // get more than batching saves (measured: bench/distributed, cache hits).
      this.main = typeof target === 'string' ? new Redis(target) : new Redis(target as RedisOptions);
      this.owned = true;
    }
    for (const [name, script] of Object.entries(LUA_SCRIPTS)) {
      if (!(commandName(name as ScriptName) in this.main)) {
        this.main.defineCommand(commandName(name as ScriptName), {
          numberOfKeys: script.numberOfKeys,
          lua: script.lua,
        });
      }
    }
  }

  get isCluster(): boolean {
    return this.main instanceof Cluster;
  }

  /** Runs one of our scripts (EVALSHA, falling back to EVAL when Redis lacks it). */
  script(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const command = (this.main as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[
      commandName(name)
    ] as (...a: (string | number)[]) => Promise<unknown>;
    return command.call(this.main, ...keys, ...args);
  }

  private subscriber: RedisClient | undefined;
  private shardedSubscriber: RedisClient | undefined;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  private readonly awaited = new Map<string, Array<{ message: string; arrived: () => void }>>();

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
      const send = (): void => {
        if (!this.listeners.has(channel)) return; // stopped listening before the subscriber was ready
        void (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel)).catch(() => {});
      };
      // ioredis writes (S)SUBSCRIBE at once on a connected socket still doing its ready
      // check; the check's INFO then fails in subscriber mode and the subscription is
      // lost (ioredis issue #2037). Subscribe once the client is ready (it resubscribes
      // by itself after a reconnect).
      if (subscriber.status === 'ready') send();
      else subscriber.once('ready', send);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
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
    if (!this.listeners.has(channel)) return undefined;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref?.();
      let list = this.awaited.get(channel);
      if (list === undefined) this.awaited.set(channel, (list = []));
      list.push({
        message,
        arrived: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** A connection of its own, for a blocking command or a subscription. */
  dedicated(): RedisClient {
    const client = this.main.duplicate();
    // A dedicated connection must never queue commands forever while offline: a
    // blocking wait is re-issued by its watchdog instead.
    this.extra.add(client);
    return client;
  }

  /** Closes a dedicated connection at once (aborting a blocking command on it). */
  drop(client: RedisClient): void {
    this.extra.delete(client);
    client.disconnect();
  }

  async close(): Promise<void> {
    for (const client of this.extra) client.disconnect();
    this.extra.clear();
    if (this.owned) {
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
