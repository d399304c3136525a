/**
 * Work that finishes together travels together: the requests a server's slots finish
 * in one run of promise callbacks are answered in one `complete` call, and the gets a
 * client makes in one run go in one `get` call. Counted by Redis itself (INFO
 * commandstats) on a private redis-server, so a split into more calls shows.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore } from '../../src/distributed/index.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
let admin: Redis;
const stores: RedisStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  admin?.disconnect();
  await redis?.stop();
});

function store(prefix: string): RedisStore {
  const s = createRedisStore({ redis: redis.url, prefix, timeoutMs: 20_000 });
  stores.push(s);
  return s;
}

/** Script calls Redis has run since the last reset (EVALSHA and EVAL). */
async function scriptCalls(): Promise<number> {
  const stats = await admin.info('commandstats');
  let calls = 0;
  for (const m of stats.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(m[2]);
  return calls;
}

describe('round trips under load', () => {
  it('a server answers the requests its slots finish together in one complete call', async () => {
    const client = store('rt1');
    const requests = 160;
    const concurrency = 16;
    // Queued before any server runs: the server finds a full queue.
    const answers = Array.from({ length: requests }, (_, i) => client.get('noop', [i]));
    const server = store('rt1');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await admin.config('RESETSTAT');
    server.serve('noop', (args) => args[0], { concurrency });
    expect(await Promise.all(answers)).toEqual(Array.from({ length: requests }, (_, i) => i));
    const calls = await scriptCalls();
    // One call takes the first 16, then one call per 16 answered (which takes the next
    // 16), plus at most a heartbeat and a sweep: 11 to 13. Answering the first of each
    // group alone doubles the completes (21 and more).
    expect(calls).toBeGreaterThanOrEqual(requests / concurrency + 1);
    expect(calls).toBeLessThanOrEqual(requests / concurrency + 3);
  });

  it('a client registers the gets its callers make together in one get call', async () => {
    const client = store('rt2');
    // One miss first: a client whose gets miss registers at once (one whose gets hit
    // looks in the cache first, and its registrations follow the lookups' replies).
    await expect(client.get('nobody-serves', ['warm-up'], { timeoutMs: 50 })).rejects.toThrow();
    await admin.config('RESETSTAT');
    // Thirty-two callers, each reaching its get a different number of promise hops on.
    const hops = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    const answers = Array.from({ length: 32 }, (_, i) => hops(i % 7).then(() => client.get('nobody-serves', [i], { timeoutMs: 300 }).catch(() => 'timed out')));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await scriptCalls()).toBe(1);
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 32 }, () => 'timed out'));
  });
});
