/**
 * The Redis store on a local 3-master Redis Cluster: every multi-key script touches
 * one service's keys, which share a hash tag, so they run on whichever master owns it.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../src/distributed/connection.js';
import { createRedisStore, keep, RemoteError, type RedisStore } from '../../src/distributed/index.js';
import { startCluster, type RedisClusterHandle } from '../support/cluster.js';

let cluster: RedisClusterHandle;
let client: Cluster;
let store: RedisStore;
let other: RedisStore;

beforeAll(async () => {
  cluster = await startCluster();
  client = new Cluster(cluster.startupNodes);
  store = createRedisStore({ redis: client, timeoutMs: 10_000 });
  other = createRedisStore({ redis: new Cluster(cluster.startupNodes), timeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await other?.close();
  client?.disconnect();
  await cluster?.stop();
});

describe('Redis store on a 3-master cluster', () => {
  it('serves, caches, deduplicates and reports across services on different masters', async () => {
    // Enough services that their hash tags land on all three masters.
    const services = Array.from({ length: 6 }, (_, i) => `svc${i}`);
    let runs = 0;
    for (const service of services) {
      other.serve(
        service,
        async ([n]) => {
          runs++;
          await new Promise((r) => setTimeout(r, 30));
          if (n === -1) throw new Error(`negative in ${service}`);
          return keep(`${service}:${String(n)}`, { ttlSeconds: 60 });
        },
        { concurrency: 2 },
      );
    }
    const results = await Promise.all(services.flatMap((s) => [1, 2, 2].map((n) => store.get(s, [n]))));
    expect(results).toEqual(services.flatMap((s) => [`${s}:1`, `${s}:2`, `${s}:2`]));
    expect(runs).toBe(services.length * 2);
    // Cached now, on every master.
    expect(await Promise.all(services.map((s) => store.get(s, [1])))).toEqual(services.map((s) => `${s}:1`));
    expect(runs).toBe(services.length * 2);
    await expect(store.get('svc0', [-1])).rejects.toBeInstanceOf(RemoteError);

    await store.forget('svc1', [1]);
    await store.save('svc2', [9], 'saved', { ttlSeconds: 60 });
    expect(await store.get('svc2', [9])).toBe('saved');
    await store.prefetch('svc3', [7]);
    // Computations are counted as they start; hits are counted by clients and written in batches.
    const settled = async () => {
      const s = await store.stats('svc3');
      return s.computations === 3 && s.hits === 1;
    };
    for (let i = 0; i < 100 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 20));
    const stats = await store.stats('svc3');
    expect(stats.computations).toBe(3);
    expect(stats.hits).toBe(1);
    expect((await store.servers('svc4')).map((s) => s.service)).toEqual(['svc4']);
    // The services really are spread: every master holds some of their keys.
    const sizes = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
    expect(sizes).toHaveLength(3);
    expect(sizes.every((n) => n > 0)).toBe(true);
  });

  it("a script's first call on each master is not overtaken by the commands sent after it", async () => {
    // Hash tags on three different masters, each new to the connection.
    const slotOwner = new Map<number, string>();
    for (const [from, to, ...nodes] of await client.cluster('SLOTS')) {
      const [host, port] = nodes[0] ?? [];
      for (let slot = from; slot <= to; slot++) slotOwner.set(slot, `${host}:${port}`);
    }
    const tags: string[] = [];
    const owners = new Set<string>();
    for (let i = 0; owners.size < 3; i++) {
      const owner = slotOwner.get(Number(await client.cluster('KEYSLOT', `{order${i}}`))) as string;
      if (!owners.has(owner)) {
        owners.add(owner);
        tags.push(`order${i}`);
      }
    }
    const connection = new Connection(new Cluster(cluster.startupNodes));
    try {
      for (const tag of tags) {
        // Sent without waiting, as claims are; the read after it must see its effect.
        void connection.script('depend', [`t:{${tag}}:d:k`], ['svc\nk', 60_000]);
        expect(await connection.main.smembers(`t:{${tag}}:d:k`)).toEqual(['svc\nk']);
      }
    } finally {
      await connection.close();
    }
  });
});
