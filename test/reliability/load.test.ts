/**
 * Load (issue "Survive faults", item 9): 10,000 concurrent gets over 4 server processes
 * and 4 client processes, 2,500 gets from each client, all made at once. Every get must
 * be answered with the right value and no request computed twice: each computation is
 * counted per request in Redis by the servers (`count:load.square`, field = arguments).
 * Arguments are drawn from 7,000 numbers, so about a quarter of the gets ask for a
 * request another get (in the same client or another) asked for too: concurrent
 * identical gets must share one computation, later ones hit the cache.
 *
 * p50/p99 latency (from a get's call to its answer, in the client) are printed, not
 * asserted: the machine is shared and timings are noisy. Servers and clients run at nice
 * 10, so the burst does not starve test files running beside this one.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore } from '../../src/distributed/index.js';
import { type Child } from '../support/processes.js';
import { startNodeLowly } from '../support/low-priority.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

const SERVER = 'test/reliability/fixtures/load-server.mjs';
const CLIENT = 'test/reliability/fixtures/load-client.mjs';
const SERVICE = 'load.square';
const SERVERS = 4;
const CLIENTS = 4;
const GETS_PER_CLIENT = 2_500;
const KEY_SPACE = 7_000;

interface ClientResult {
  readonly right: number;
  readonly errors: string[];
  readonly errorCount: number;
  readonly elapsed: number;
  readonly keys: number[];
  readonly latencies: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

describe('load', () => {
  let redis: RedisServerHandle;
  let raw: Redis;
  let store: RedisStore;
  const children: Child[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    store = createRedisStore({ redis: redis.url });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await store?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  it('10,000 concurrent gets from 4 client processes over 4 servers: all answered, none computed twice', async () => {
    const servers = Array.from({ length: SERVERS }, () => startNodeLowly(SERVER, [SERVICE, '16'], { REDIS_URL: redis.url }));
    children.push(...servers);
    await Promise.all(servers.map((s) => s.waitFor(/^ready /, 30_000)));
    const clients = Array.from({ length: CLIENTS }, (_, i) =>
      startNodeLowly(CLIENT, [String(i), String(GETS_PER_CLIENT), String(KEY_SPACE)], { REDIS_URL: redis.url }),
    );
    children.push(...clients);
    await Promise.all(clients.map((c) => c.waitFor(/^ready$/, 30_000)));
    const before = await store.stats(SERVICE);

    // Every client starts its 2,500 gets at once.
    await raw.rpush('go:load', ...clients.map(() => 'go'));
    const results = await Promise.all(
      clients.map(async (c) => JSON.parse((await c.waitFor(/^result (.*)$/, 90_000))[1] as string) as ClientResult),
    );

    const errors = results.flatMap((r) => r.errors);
    expect(errors).toEqual([]);
    expect(results.map((r) => r.right)).toEqual(clients.map(() => GETS_PER_CLIENT));

    // No request computed twice: every request asked for (warm-ups included) was computed exactly once.
    const asked = new Set(results.flatMap((r) => r.keys));
    const perRequest = await raw.hgetall(`count:${SERVICE}`);
    const twice = Object.entries(perRequest).filter(([, n]) => n !== '1');
    expect(twice).toEqual([]);
    expect(Object.keys(perRequest).length).toBe(asked.size + CLIENTS);
    for (const n of asked) expect(perRequest[JSON.stringify([n])]).toBe('1');
    // Clients write the hits they counted when they close.
    await Promise.all(clients.map((c) => c.exited));
    const after = await store.stats(SERVICE);
    expect(after.computations - before.computations).toBe(asked.size);

    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const wall = Math.max(...results.map((r) => r.elapsed));
    const gets = CLIENTS * GETS_PER_CLIENT;
    console.log(
      `load: ${gets} gets (${asked.size} distinct requests) from ${CLIENTS} clients over ${SERVERS} servers ` +
        `(concurrency 16 each): all answered, each request computed once; latency p50 ${percentile(latencies, 50).toFixed(0)} ms, ` +
        `p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${percentile(latencies, 100).toFixed(0)} ms; ` +
        `last answer after ${wall.toFixed(0)} ms (${Math.round(gets / (wall / 1000))} gets/s); ` +
        `hits ${after.hits - before.hits}, misses ${after.misses - before.misses}`,
    );
  }, 120_000);
});
