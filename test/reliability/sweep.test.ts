/**
 * The sweep behind a long queue. A sweep looks at 100 due members of the pending set at
 * most (each costs an LPOS on its queue, inside one script), and the grace checks of a
 * long queue come due together; a lease that lapses just after them used to wait
 * several sweep intervals (500-750 ms each) behind them. A server now sweeps again at
 * once after a full batch.
 *
 * Real parts: a private redis-server and a server of the store (in this process, busy
 * on a held request so it pops nothing); the queue and the lapsed lease are written by
 * hand, as clients and a dead server would have left them.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore } from '../../src/distributed/index.js';
import { serviceKeys } from '../../src/distributed/keys.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { sleep } from '../support/until.js';
import { formatRunRecord, readRunRecord } from '../support/run-record.js';

const K = serviceKeys('memocell', 'job');
const QUEUED = 600;

describe('the sweep behind a long queue', () => {
  let redis: RedisServerHandle;
  let raw: Redis;
  let store: RedisStore;
  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    store = createRedisStore({ redis: redis.url, leaseMs: 1_000, timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await store?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  it(`a lease that lapses just after ${QUEUED} queued requests' grace checks is recovered within one sweep interval`, async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = store.serve('job', async ([tag]) => {
      if (tag === 'hold') await held;
      return tag;
    });
    const holding = store.get('job', ['hold']);
    await expect.poll(async () => (await readRunRecord(raw, K.runs, '["hold"]'))?.state, { timeout: 10_000 }).toBe('running');

    const now = Date.now();
    const pipeline = raw.pipeline();
    for (let i = 0; i < QUEUED; i++) {
      const key = `["q${i}"]`;
      pipeline.hset(K.runs, key, formatRunRecord({ state: 'queued', kind: 'get', payload: `${key}\n` }));
      pipeline.rpush(K.gets, `${key}\n`);
      pipeline.zadd(K.pending, now + 300, key);
    }
    // Claimed by a server that died: its lease lapses 100 ms after the grace checks.
    const lapsed = '["lapsed"]';
    const lapsesAt = now + 400;
    pipeline.hset(K.runs, lapsed, formatRunRecord({ state: 'running', kind: 'get', payload: `${lapsed}\n`, owner: 'dead-server', token: 't1' }));
    pipeline.zadd(K.pending, lapsesAt, lapsed);
    await pipeline.exec();

    let recoveredAt = 0;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(10)) {
      if ((await readRunRecord(raw, K.runs, lapsed))?.owner === '') {
        recoveredAt = Date.now();
        break;
      }
    }
    const delay = recoveredAt - lapsesAt;
    console.log(`a lease lapsing behind ${QUEUED} due grace checks was recovered ${delay} ms after it lapsed (sweeps every 500-750 ms)`);
    expect(recoveredAt).toBeGreaterThan(0);
    // One interval and a few immediate sweeps; behind six full batches it took several intervals.
    expect(delay).toBeLessThan(1_500);
    expect(await raw.lindex(K.gets, 0)).toBe(`${lapsed}\n`);

    release();
    expect(await holding).toBe('hold');
    await server.stop();
  }, 60_000);
});
