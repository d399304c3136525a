/**
 * The watchdog on blocking commands: a wait that Redis never answers ends by its limit
 * (timeout + grace) with a WatchdogLapse and a fresh connection, instead of hanging; an
 * answer or an error from Redis settles the wait as it is, with no lapse after it.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { guardedBlmpop, guardedBlmpopFirst, WatchdogLapse } from '../../src/distributed/blocking.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
const clients: Redis[] = [];

function client(): Redis {
  const c = new Redis(redis.url, { maxRetriesPerRequest: null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(() => {
  redis.resume();
  for (const c of clients.splice(0)) c.disconnect();
});
afterAll(async () => {
  await redis?.stop();
});

describe('blocking waits with a watchdog', () => {
  it('resolves the elements pushed while it waits', async () => {
    const waiting = client();
    const other = client();
    await waiting.ping();
    const popped = guardedBlmpop(waiting, 'test:replies', 16, 5);
    await other.rpush('test:replies', 'a', 'b');
    expect(await popped).toEqual(['a', 'b']);
  });

  it('resolves an empty wait at its own timeout, not as a lapse', async () => {
    const waiting = client();
    await waiting.ping();
    await expect(guardedBlmpopFirst(waiting, ['test:none'], 1, 1, 2_000)).resolves.toBeNull();
  });

  it('passes an error from Redis on as it is', async () => {
    const waiting = client();
    await waiting.set('test:string', 'x');
    await expect(guardedBlmpop(waiting, 'test:string', 1, 5)).rejects.toThrow(/WRONGTYPE/);
  });

  it('a wait Redis never answers ends at timeout + grace with a WatchdogLapse, and the client connects again', async () => {
    const waiting = client();
    await waiting.ping();
    redis.pause();
    const began = performance.now();
    const error = await guardedBlmpop(waiting, 'test:frozen', 1, 1, 300).catch((e: unknown) => e);
    const took = performance.now() - began;
    expect(error).toBeInstanceOf(WatchdogLapse);
    expect((error as Error).message).toMatch(/BLMPOP did not answer within 1300 ms/);
    expect(took).toBeGreaterThanOrEqual(1_300);
    expect(took).toBeLessThan(5_000);
    redis.resume();
    // The lapse dropped the connection; ioredis makes a new one, which works.
    expect(await waiting.ping()).toBe('PONG');
  });
});
