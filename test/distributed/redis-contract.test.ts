/**
 * The shared contract suite on the Redis store: against a private redis-server, and
 * against a local 3-master Redis Cluster.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createRedisStore } from '../../src/distributed/index.js';
import { startCluster, type RedisClusterHandle } from '../support/cluster.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { contractSuite } from './contract.js';

let single: RedisServerHandle | undefined;
let cluster: RedisClusterHandle | undefined;

beforeAll(async () => {
  [single, cluster] = await Promise.all([startRedis(), startCluster()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([single?.stop(), cluster?.stop()]);
});

contractSuite('Redis store (single server)', async () => {
  const store = createRedisStore({ redis: (single as RedisServerHandle).url, leaseMs: 1_000 });
  return { store, cleanup: () => store.close() };
});

contractSuite('Redis store (3-master cluster)', async () => {
  const client = new Cluster((cluster as RedisClusterHandle).startupNodes);
  const store = createRedisStore({ redis: client, leaseMs: 1_000 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      client.disconnect();
    },
  };
});
