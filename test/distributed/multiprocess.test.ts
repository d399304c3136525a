/**
 * The Redis store across real processes: servers and clients in child processes of
 * their own, a private redis-server, and nothing mocked.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, RemoteError, TimeoutError, type RedisStore } from '../../src/distributed/index.js';
import { startNode, type Child } from '../support/processes.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

const SERVER = 'test/distributed/fixtures/server.mjs';
const CLIENT = 'test/distributed/fixtures/client.mjs';

let redis: RedisServerHandle;
let raw: Redis;
let store: RedisStore;
const children: Child[] = [];

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
  store = createRedisStore({ redis: redis.url, timeoutMs: 20_000 });
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await raw.flushall();
});
afterAll(async () => {
  await store?.close();
  raw?.disconnect();
  await redis?.stop();
});

async function server(services: string, concurrency = 1, leaseMs = 5_000): Promise<{ child: Child; ids: string[] }> {
  const child = startNode(SERVER, [services, String(concurrency), String(leaseMs)], { REDIS_URL: redis.url });
  children.push(child);
  const ready = await child.waitFor(/^ready (.*)$/);
  return { child, ids: (ready[1] as string).split(' ') };
}

async function count(service: string): Promise<number> {
  return Number(await raw.get(`count:${service}`));
}

describe('Redis store across processes', () => {
  it('servers in two processes share the load', async () => {
    const a = await server('work');
    const b = await server('work');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.get<string>('work', [150, `job${i}`])),
    );
    const pids = new Set(results.map((r) => Number(r.split('@')[1])));
    expect(pids).toEqual(new Set([a.child.pid, b.child.pid]));
    expect(results.map((r) => r.split('@')[0])).toEqual(Array.from({ length: 12 }, (_, i) => `job${i}`));
  });

  it('a server killed mid-request loses nothing: another computes it once the lease lapses', async () => {
    const victim = await server('work', 1, 1_000);
    const pending = store.get<string>('work', [3_000, 'long']);
    // Wait until the victim has started computing, then kill it without warning.
    for (let i = 0; i < 100 && (await count('work')) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await count('work')).toBe(1);
    victim.child.kill('SIGKILL');
    await victim.child.exited;
    const rescuer = await server('work', 1, 1_000);
    const value = await pending;
    expect(value).toBe(`long@${rescuer.child.pid}`);
    expect(await count('work')).toBe(2);
  });

  it('a server stalled past its lease is taken over; its late result is dropped', async () => {
    const stalled = await server('kept', 1, 800);
    const pending = store.get<string>('kept', [1_500, 'stall']);
    while ((await count('kept')) === 0) await new Promise((r) => setTimeout(r, 20));
    stalled.child.kill('SIGSTOP');
    const rescuer = await server('kept', 1, 800);
    const value = await pending;
    expect(value).toBe(`stall@${rescuer.child.pid}`);
    stalled.child.kill('SIGCONT');
    // Let the stalled server finish and try to complete with its old token.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await count('kept')).toBe(2);
    // The cached value is still the rescuer's: the late result did not overwrite it.
    expect(await store.get('kept', [1_500, 'stall'])).toBe(value);
    expect(await count('kept')).toBe(2);
  });

  it('identical gets from three client processes are computed once, even past the lease', async () => {
    await server('kept', 2, 500);
    const clients = [0, 1, 2].map(() => {
      const child = startNode(CLIENT, ['kept', JSON.stringify([2_000, 'shared'])], { REDIS_URL: redis.url });
      children.push(child);
      return child;
    });
    const lines = await Promise.all(clients.map((c) => c.waitFor(/^\{.*\}$/, 15_000)));
    const values = lines.map((m) => (JSON.parse(m[0]) as { value: string }).value);
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toMatch(/^shared@\d+$/);
    expect(await count('kept')).toBe(1);
    // And it is cached now: a fourth get is a hit.
    expect(await store.get('kept', [2_000, 'shared'])).toBe(values[0]);
    expect(await count('kept')).toBe(1);
  });

  it('re-entrant calls deeper than all server slots together complete', async () => {
    await server('fact', 1);
    await server('fact', 1);
    // 12 nested requests, 2 slots in all: each waiting handler lends its slot.
    expect(await store.get('fact', [12])).toBe(479_001_600);
    expect(await count('fact')).toBe(12);
  });

  it('a stop sent from another process stops the server gracefully', async () => {
    const { child, ids } = await server('work');
    const inFlight = store.get<string>('work', [400, 'last']);
    while ((await count('work')) === 0) await new Promise((r) => setTimeout(r, 20));
    await store.stopServer('work', ids[0] as string);
    expect(await inFlight).toBe(`last@${child.pid}`);
    await child.waitFor(/^stopped /);
    expect(await child.exited).toBe(0);
    expect(await store.servers('work')).toEqual([]);
  });

  it('a handler error reaches a client in another process as a RemoteError, not cached', async () => {
    await server('fail');
    const first = (await store.get('fail', ['magic']).catch((e: unknown) => e)) as RemoteError;
    expect(first).toBeInstanceOf(RemoteError);
    expect(first.service).toBe('fail');
    expect(first.args).toEqual(['magic']);
    expect(first.remoteName).toBe('RangeError');
    expect(first.remoteMessage).toBe('cannot do magic');
    expect(first.remoteStack).toContain('server.mjs');
    await expect(store.get('fail', ['magic'])).rejects.toBeInstanceOf(RemoteError);
    expect(await count('fail')).toBe(2);
  });

  it('a get with no server times out with a TimeoutError naming the service and arguments', async () => {
    const error = await store.get('nobody', [1, 'a'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).service).toBe('nobody');
    expect((error as TimeoutError).args).toEqual([1, 'a']);
    expect((error as Error).message).toContain('nobody(1,"a")');
  });
});
