/**
 * The lookup connection (lookup-connection.ts): cache lookups over a connection of
 * their own, read without ioredis. Against real redis-server processes: it reaches the
 * database, user and socket the main connection does, gives back what GET gives, hands
 * its lookups to the main connection whenever it breaks or stalls and comes back, and
 * never lets a lookup overtake a save or forget this process sent before it.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '../../src/distributed/connection.js';
import { createRedisStore, keep, type RedisStore } from '../../src/distributed/index.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { until } from '../support/until.js';

let redis: RedisServerHandle;
let admin: Redis;
const connections: Connection[] = [];
const stores: RedisStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(connections.map((c) => c.close()));
  admin?.disconnect();
  await redis?.stop();
});

function connect(target: ConstructorParameters<typeof Connection>[0], options?: ConstructorParameters<typeof Connection>[1]): Connection {
  const connection = new Connection(target, options);
  connections.push(connection);
  return connection;
}

/** Makes the lookup connection (the first lookup does) and waits until it is ready. */
async function ready(connection: Connection): Promise<void> {
  await connection.lookup('no-such-key');
  await until('the lookup connection is ready', () => connection.lookupStatus === 'ready', 10_000);
}

/** The fields of each client in CLIENT LIST. */
async function clients(client: Redis): Promise<Array<Record<string, string>>> {
  const list = (await client.client('LIST')) as string;
  return list
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=', 2) as [string, string])));
}

describe('lookup connection', () => {
  it('once ready, serves lookups itself and gives back what GET gives: strings, null, megabytes', async () => {
    const connection = connect(redis.url);
    expect(connection.lookupStatus).toBe('unused');
    const big = `${'€'.repeat(300_000)}\r\n$-1\r\n${'x'.repeat(1_000_000)}`;
    await admin.mset('lk:small', 'v1', 'lk:empty', '', 'lk:big', big);
    await ready(connection);
    const mainId = String(await connection.main.client('ID'));
    for (let i = 0; i < 20; i++) expect(await connection.lookup('lk:small')).toBe('v1');
    expect(await connection.lookup('lk:empty')).toBe('');
    expect(await connection.lookup('lk:missing')).toBeNull();
    expect((await connection.lookup('lk:big')) === big).toBe(true);
    // The main connection's last command is still CLIENT ID: the lookups went elsewhere.
    const others = (await clients(admin)).filter((c) => c.id !== mainId && c.cmd === 'get');
    expect(others).toHaveLength(1);
    expect((await clients(admin)).find((c) => c.id === mainId)?.cmd).toBe('client|id');
  });

  it('many lookups in flight at once come back in order, each with its own value', async () => {
    const connection = connect(redis.url);
    const keys = Array.from({ length: 500 }, (_, i) => `lk:many:${i}`);
    await admin.mset(keys.flatMap((k, i) => [k, i % 7 === 0 ? 'x'.repeat(70_000 + i) : `value ${i}`]));
    await ready(connection);
    const got = await Promise.all(keys.map((k) => connection.lookup(k)));
    expect(got).toEqual(keys.map((_, i) => (i % 7 === 0 ? 'x'.repeat(70_000 + i) : `value ${i}`)));
  });

  it("reaches the main connection's user, password and database", async () => {
    const locked = await startRedis({ password: 'top-secret' });
    const setup = new Redis(locked.url);
    try {
      await setup.call('ACL', 'SETUSER', 'reader', 'on', '>reader-pw', '~*', '+@all');
      await setup.select(3);
      await setup.set('only-in-db-3', 'found');
      const url = `redis://reader:reader-pw@127.0.0.1:${locked.port}/3`;
      const connection = connect(url);
      await ready(connection);
      // Read from database 0, or refused for want of AUTH, this would be null or fail.
      expect(await connection.lookup('only-in-db-3')).toBe('found');
      const lookupClient = (await clients(setup)).find((c) => c.cmd === 'get');
      expect(lookupClient?.user).toBe('reader');
      expect(lookupClient?.db).toBe('3');
      await connection.close();
    } finally {
      setup.disconnect();
      await locked.stop();
    }
  });

  it('reaches a server over a Unix socket', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'memocell-sock-'));
    const socketPath = path.join(dir, 'redis.sock');
    const local = await startRedis({ args: ['--unixsocket', socketPath, '--unixsocketperm', '700'] });
    try {
      const connection = connect({ path: socketPath });
      await connection.main.set('k', 'over the socket');
      await ready(connection);
      expect(await connection.lookup('k')).toBe('over the socket');
      await connection.close();
    } finally {
      await local.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lookups in flight when it is killed are answered through the main connection, and it comes back', async () => {
    const connection = connect(redis.url);
    const keys = Array.from({ length: 300 }, (_, i) => `lk:kill:${i}`);
    await admin.mset(keys.flatMap((k) => [k, `of ${k}`]));
    await ready(connection);
    const lookups = keys.map((k) => connection.lookup(k));
    // Every client but the admin: the lookup connection and the main one.
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    expect(await Promise.all(lookups)).toEqual(keys.map((k) => `of ${k}`));
    await until('the lookup connection is back', () => connection.lookupStatus === 'ready', 10_000);
    expect(await connection.lookup(keys[1] as string)).toBe(`of ${keys[1] as string}`);
  });

  it('a lookup that gets no answer breaks it after its stall limit; the main connection answers once Redis does', async () => {
    const connection = connect(redis.url);
    await admin.set('lk:stall', 'late');
    await ready(connection);
    redis.pause();
    let answer: Promise<string | null>;
    try {
      answer = connection.lookup('lk:stall');
      await until('the stalled lookup connection gives up', () => connection.lookupStatus !== 'ready', 10_000);
    } finally {
      redis.resume();
    }
    expect(await answer).toBe('late');
    await until('the lookup connection is back', () => connection.lookupStatus === 'ready', 10_000);
  });

  it('closing answers the lookups in flight, through the main connection', async () => {
    const connection = new Connection(redis.url);
    await admin.set('lk:closing', 'answered');
    await ready(connection);
    const lookups = Array.from({ length: 50 }, () => connection.lookup('lk:closing'));
    await connection.close();
    expect(await Promise.all(lookups)).toEqual(Array(50).fill('answered'));
    expect(connection.lookupStatus).toBe('none');
  });

  it('the store option must be true or false, and says so', () => {
    expect(() => createRedisStore({ redis: redis.url, lookupConnection: 'no' as unknown as boolean })).toThrow(
      /Expected `lookupConnection` to be true or false, got `no` \(string\)/,
    );
  });

  it('is not made when turned off, nor for a client with a key prefix', async () => {
    const off = connect(redis.url, { lookupConnection: false });
    await off.lookup('x');
    expect(off.lookupStatus).toBe('none');
    const prefixed = new Redis(redis.url, { keyPrefix: 'app:' });
    try {
      const withPrefix = connect(prefixed);
      await withPrefix.lookup('x');
      expect(withPrefix.lookupStatus).toBe('none');
    } finally {
      prefixed.disconnect();
    }
  });
});

describe('lookups and writes of the same process', () => {
  it('a get sent right after a save or a forget sees it, though neither was awaited and the write had to wait for a reconnect', async () => {
    const client = new Redis(redis.url);
    const s = createRedisStore({ redis: client, timeoutMs: 10_000, prefix: 'order' });
    stores.push(s);
    let computed = 0;
    s.serve('fresh', ([n]) => {
      computed++;
      return keep(`computed ${String(n)}`, { ttlSeconds: 60 });
    });
    const lookupStatus = (): string => (s as unknown as { main: Connection }).main.lookupStatus;
    await s.save('fresh', [1], 'warm', { ttlSeconds: 60 });
    // Gets that hit: lookups now go first, over the lookup connection.
    await until('the lookup connection is ready', async () => {
      expect(await s.get('fresh', [1])).toBe('warm');
      return lookupStatus() === 'ready';
    });
    /**
     * Cuts the main connection alone: until ioredis has connected again, the write
     * waits in its offline queue while the lookup connection is up. A get sent then
     * over the lookup connection would read the value from before the write.
     */
    const cutMain = async (): Promise<void> => {
      const id = String(await client.client('ID'));
      await admin.client('KILL', 'ID', id);
      await until('the main connection is down', () => client.status !== 'ready', 5_000);
      expect(lookupStatus()).toBe('ready');
    };
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) expect(await s.get('fresh', [1])).toBe(round === 0 ? 'warm' : 'old');
      await cutMain();
      void s.save('fresh', [1], `saved ${round}`, { ttlSeconds: 60 });
      expect(await s.get('fresh', [1])).toBe(`saved ${round}`);
      await s.save('fresh', [1], 'old', { ttlSeconds: 60 });
      // Hits keep lookups first (a run of misses would send gets to the script).
      for (let i = 0; i < 3; i++) expect(await s.get('fresh', [1])).toBe('old');
      const before = computed;
      await cutMain();
      void s.forget('fresh', [1]);
      expect(await s.get('fresh', [1])).toBe('computed 1');
      expect(computed).toBe(before + 1);
      await s.save('fresh', [1], 'old', { ttlSeconds: 60 });
    }
    await s.close();
    client.disconnect();
  });
});
