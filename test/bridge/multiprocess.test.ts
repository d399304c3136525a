/**
 * Live results across real processes: a process observing a memoised result sees it
 * recomputed when another process forgets it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Store } from '../../src/index.js';
import { startNode, type Child } from '../support/processes.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
let store: Store;
const children: Child[] = [];

beforeAll(async () => {
  redis = await startRedis();
  store = connect(redis.url);
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.close();
  await redis?.stop();
});

describe('bridge across processes', () => {
  it('observers in two processes re-emit when a third forgets the result', async () => {
    const observers = [0, 1].map(() => {
      const child = startNode('test/bridge/fixtures/observer.mjs', ['live', 'a'], { REDIS_URL: redis.url });
      children.push(child);
      return child;
    });
    // Both see the first value (computed once: both print v1).
    for (const o of observers) await o.waitFor(/^value a:v1$/);
    const live = store.remote<[string], string>('live');
    await live.forget('a');
    for (const o of observers) await o.waitFor(/^value a:v2$/);
    expect(await live('a')).toBe('a:v2');
  });

  it('a chain f -> g -> shared input over three processes: setting the input re-emits f', async () => {
    const g = startNode('test/bridge/fixtures/chain.mjs', ['g'], { REDIS_URL: redis.url });
    children.push(g);
    await g.waitFor(/^ready g$/);
    const f = startNode('test/bridge/fixtures/chain.mjs', ['f'], { REDIS_URL: redis.url });
    children.push(f);
    await f.waitFor(/^value f\(20\)$/);
    // This process only sets the input.
    await store.input<number>('chain.rate').set(5);
    await f.waitFor(/^value f\(50\)$/);
  });
});
