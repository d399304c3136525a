/**
 * Connection's wait for its own pub/sub message (what makes a forget or set resolve
 * only once this process's listeners acted on it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../src/distributed/connection.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
let connection: Connection;

beforeAll(async () => {
  redis = await startRedis();
  connection = new Connection(redis.url);
});
afterAll(async () => {
  await connection?.close();
  await redis?.stop();
});

/** Subscribes and waits until the subscription is active (a probe message arrives). */
async function listen(channel: string): Promise<string[]> {
  const heard: string[] = [];
  connection.subscribe(channel, (message) => heard.push(message), { sharded: true });
  while (!heard.includes('probe')) {
    await connection.main.spublish(channel, 'probe');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return heard;
}

describe('Connection.expectMessage', () => {
  it('a wait that timed out does not take the next identical message from the wait after it', async () => {
    const channel = 'test:{c1}:invalidated';
    const heard = await listen(channel);
    // A message that never comes (as when it was published before the subscription was active).
    await connection.expectMessage(channel, 'key', 20);
    // The next wait for the same message must be the one its arrival resolves.
    let resolved = false;
    void connection.expectMessage(channel, 'key', 60_000)?.then(() => (resolved = true));
    const before = heard.length;
    await connection.main.spublish(channel, 'key');
    while (heard.length === before) await new Promise((resolve) => setTimeout(resolve, 5));
    // Dispatch resolves the waiter in the same turn as it calls the listeners.
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard.at(-1)).toBe('key');
    expect(resolved).toBe(true);
  });
});
