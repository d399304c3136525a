/**
 * A store pointed at a Redis that is not there: calls end by their deadline with a
 * TimeoutError that names the cause (and never the password), nothing prints unhandled
 * errors, and the store still closes.
 */
import { describe, expect, it } from 'vitest';
import { createRedisStore, TimeoutError } from '../../src/distributed/index.js';
import { getFreePort, releasePort } from '../support/ports.js';

describe('unreachable Redis', () => {
  it('get and the fallback wait fail by their deadline, naming the unreachable Redis without its password', async () => {
    const port = await getFreePort();
    const store = createRedisStore({ redis: `redis://app:hunter2@127.0.0.1:${port}`, timeoutMs: 600 });
    const printed: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      for (const call of [() => store.get('nowhere', [1]), () => store.get('nowhere', [2], { timeoutMs: 300 })]) {
        const started = Date.now();
        const e = (await call().catch((x: unknown) => x)) as TimeoutError;
        expect(e).toBeInstanceOf(TimeoutError);
        expect(Date.now() - started).toBeLessThan(e.timeoutMs + 250);
        expect(e.message).toMatch(new RegExp(`Redis at redis://app:\\*\\*\\*@127\\.0\\.0\\.1:${port}/? is unreachable: .*ECONNREFUSED`));
        expect(e.message).toMatch(/Check the Redis address/);
        expect(e.message).not.toContain('hunter2');
      }
      const closing = Date.now();
      await store.close();
      // Closing does not wait for a Redis that is not there.
      expect(Date.now() - closing).toBeLessThan(3_000);
    } finally {
      console.error = original;
      releasePort(port);
    }
    expect(printed.filter((p) => String(p).includes('Unhandled'))).toEqual([]);
  });

  it('a server started while Redis is unreachable keeps trying and does not crash its process', async () => {
    const port = await getFreePort();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    // One retry: ioredis fails queued commands (the first heartbeat) within a second.
    const store = createRedisStore({ redis: { host: '127.0.0.1', port, maxRetriesPerRequest: 1 }, timeoutMs: 600 });
    try {
      store.serve('nowhere', () => 1);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await store.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      process.off('unhandledRejection', onUnhandled);
      releasePort(port);
    }
    expect(unhandled).toEqual([]);
  });
});
