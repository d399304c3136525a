/**
 * One entry point to a store: embedded in this process, or shared over Redis.
 */
import { createEmbeddedStore } from '../distributed/embedded-store.js';
import { createRedisStore, type RedisStoreOptions } from '../distributed/redis-store.js';
import type { RedisClient } from '../distributed/connection.js';
import { Store } from './store.js';

/**
 * Connects to a store of memoised functions. With no argument, the embedded store (one
 * process, no Redis). With a Redis URL, an ioredis client (`Redis` or `Cluster`), or
 * Redis store options, results are shared by every process on that Redis.
 *
 * @example
 * ```ts
 * const store = connect(process.env.REDIS_URL); // undefined: the embedded store
 * const fib = store.memo('fib', async (n: number): Promise<number> => (n < 2 ? n : (await fib(n - 1)) + (await fib(n - 2))));
 * store.serve(fib);
 * await fib(30);
 * ```
 */
export function connect(target?: string | RedisClient | RedisStoreOptions): Store {
  if (target === undefined) return new Store(createEmbeddedStore());
  if (typeof target === 'string' || isClient(target)) return new Store(createRedisStore({ redis: target }));
  if (typeof target === 'object' && target !== null) return new Store(createRedisStore(target));
  throw new TypeError(
    `Expected a Redis URL, an ioredis client or store options, got \`${String(target)}\` (${typeof target})`,
  );
}

function isClient(target: unknown): target is RedisClient {
  return (
    typeof target === 'object' &&
    target !== null &&
    typeof (target as { duplicate?: unknown }).duplicate === 'function' &&
    typeof (target as { defineCommand?: unknown }).defineCommand === 'function'
  );
}
