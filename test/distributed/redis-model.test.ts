/**
 * The model-based test of random get/prefetch/forget/save sequences, on the Redis
 * store. Fewer runs than on the embedded store: a prefetch's completion is observed
 * through the server registry, which refreshes once a second.
 */
import { afterAll, beforeAll } from 'vitest';
import { createRedisStore } from '../../src/distributed/index.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { storeModelSuite } from './model.test.js';

let redis: RedisServerHandle | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

storeModelSuite(
  'Redis store model',
  async () => {
    const store = createRedisStore({ redis: (redis as RedisServerHandle).url, leaseMs: 1_000 });
    return { store, cleanup: () => store.close() };
  },
  { numRuns: Number(process.env.FC_NUM_RUNS_REDIS ?? 8) },
);
