import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisStore, keep, RemoteError, type RedisStore } from '../../src/distributed/index.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let server: RedisServerHandle;
let store: RedisStore;
beforeAll(async () => {
  server = await startRedis();
  store = createRedisStore({ redis: server.url, timeoutMs: 5000 });
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

it('smoke', async () => {
  let runs = 0;
  store.serve('sq', async ([n]) => {
    runs++;
    await new Promise((r) => setTimeout(r, 50));
    if (n === 13) throw new Error('unlucky');
    return keep((n as number) ** 2, { ttlSeconds: 60 });
  }, { concurrency: 2 });
  expect(await store.get('sq', [12])).toBe(144);
  expect(await store.get('sq', [12])).toBe(144);
  expect(runs).toBe(1);
  const all = await Promise.all([1, 2, 3, 3, 3].map((n) => store.get('sq', [n])));
  expect(all).toEqual([1, 4, 9, 9, 9]);
  expect(runs).toBe(4);
  await expect(store.get('sq', [13])).rejects.toBeInstanceOf(RemoteError);
  const stats = await store.stats('sq');
  expect(stats.computations).toBe(5);
  const servers = await store.servers('sq');
  expect(servers).toHaveLength(1);
});
