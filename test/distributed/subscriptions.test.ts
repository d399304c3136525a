/**
 * Subscriptions made while the subscriber connection is still connecting.
 */
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection, type RedisClient } from '../../src/distributed/connection.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

/** Publishes on `channel` until `arrived()` says the message got through (or 5 s pass). */
async function publishUntil(publisher: Redis, channel: string, sharded: boolean, arrived: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (!arrived() && Date.now() < deadline) {
    await (sharded ? publisher.spublish(channel, 'hello') : publisher.publish(channel, 'hello'));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return arrived();
}

describe('Connection subscriptions', () => {
  for (const sharded of [true, false]) {
    // ioredis writes (S)SUBSCRIBE as soon as the socket connects, before its ready check;
    // the check's INFO then fails in subscriber mode and the connection is torn down
    // (ioredis issue #2037). A second channel subscribed in that window was lost.
    it(`keeps a ${sharded ? 'sharded' : 'classic'} subscription made while the subscriber is still connecting`, async () => {
      const connection = new Connection(server.url);
      const publisher = new Redis(server.url);
      const errors: Error[] = [];
      try {
        const got = new Set<string>();
        connection.subscribe('first', () => got.add('first'), { sharded });
        const fields = connection as unknown as { shardedSubscriber?: RedisClient; subscriber?: RedisClient };
        const client = (sharded ? fields.shardedSubscriber : fields.subscriber) as RedisClient;
        client.on('error', (error: Error) => errors.push(error));
        // Socket connected, ready check not yet done: the window where the bug struck.
        await once(client, 'connect');
        connection.subscribe('second', () => got.add('second'), { sharded });
        expect(await publishUntil(publisher, 'first', sharded, () => got.has('first'))).toBe(true);
        expect(await publishUntil(publisher, 'second', sharded, () => got.has('second'))).toBe(true);
        expect(errors.map((e) => e.message)).toEqual([]);
      } finally {
        publisher.disconnect();
        await connection.close();
      }
    });
  }
});
