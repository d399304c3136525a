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
  private readonly listeners = new Map<string, Set<(message: string) => void>>();

  /**
   * Listens to a pub/sub channel on one subscriber connection shared by every channel
   * of this deployment. Returns the function that stops listening.
   */
  subscribe(channel: string, listener: (message: string) => void): () => void {
    if (this.subscriber === undefined) {
      const subscriber = this.dedicated();
      subscriber.on('message', (from: string, message: string) => {
        for (const l of this.listeners.get(from) ?? []) l(message);
      });
      this.subscriber = subscriber;
    }
    let set = this.listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
      void this.subscriber.subscribe(channel).catch(() => {});
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      void this.subscriber?.unsubscribe(channel).catch(() => {});
    };
  }

  /**
   * Resolves once every message published before this call has reached this process's
   * listeners: Redis answers a PING on the subscriber connection after the messages
   * queued for it. Used after an invalidation, so the process that made it sees it at once.
   */
  async syncSubscriptions(): Promise<void> {
    if (this.subscriber === undefined || this.listeners.size === 0) return;
    await this.subscriber.ping().catch(() => {});
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
