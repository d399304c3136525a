/**
 * Redis-store specifics beyond the shared contract: several Redis instances, long
 * arguments, byte values, and blocking waits that survive dropped connections.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, keep, RemoteError, TimeoutError, type RedisStore } from '../../src/distributed/index.js';
import { serviceKeys } from '../../src/distributed/keys.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let main: RedisServerHandle;
let second: RedisServerHandle;
const stores: RedisStore[] = [];

beforeAll(async () => {
  [main, second] = await Promise.all([startRedis(), startRedis()]);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all([main?.stop(), second?.stop()]);
});

function store(options: Parameters<typeof createRedisStore>[0] = {}): RedisStore {
  const s = createRedisStore({ redis: main.url, timeoutMs: 10_000, ...options });
  stores.push(s);
  return s;
}

describe('Redis store', () => {
  it('puts a service on a Redis of its own when asked', async () => {
    const s = store({ services: { heavy: second.url } });
    s.serve('heavy', ([n]) => keep((n as number) + 1, { ttlSeconds: 60 }));
    s.serve('light', ([n]) => keep((n as number) - 1, { ttlSeconds: 60 }));
    expect(await s.get('heavy', [1])).toBe(2);
    expect(await s.get('light', [1])).toBe(0);
    const [onMain, onSecond] = [new Redis(main.url), new Redis(second.url)];
    try {
      const mainKeys = await onMain.keys('*');
      const secondKeys = await onSecond.keys('*');
      expect(secondKeys.some((k) => k.includes(':v:'))).toBe(true);
      expect(mainKeys.some((k) => k.includes(':v:'))).toBe(true);
      // No key of one service on the other's Redis.
      const heavyName = await Promise.all(secondKeys.filter((k) => k.endsWith(':name')).map((k) => onSecond.get(k)));
      const mainNames = await Promise.all(mainKeys.filter((k) => k.endsWith(':name')).map((k) => onMain.get(k)));
      expect(heavyName).toEqual(['heavy']);
      expect(mainNames).toEqual(['light']);
    } finally {
      onMain.disconnect();
      onSecond.disconnect();
    }
  });

  it('a caller that gives up leaves the run record: the computation answers only the clients still waiting', async () => {
    const [a, b, server] = [store(), store(), store()];
    const service = 'leave-record';
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    server.serve(service, async ([n]) => {
      await held;
      return n;
    });
    const raw = new Redis(main.url);
    try {
      const runs = serviceKeys('memocell', service).runs;
      const waiters = async (): Promise<string[]> => {
        const record = await raw.hget(runs, '[1]');
        return record === null ? [] : (record.split('\t')[8] as string).split(',').filter((id) => id !== '');
      };
      const aborted = new AbortController();
      const fromA = a.get(service, [1], { signal: aborted.signal });
      const fromB = b.get(service, [1]);
      await expect.poll(waiters, { timeout: 10_000 }).toHaveLength(2);
      aborted.abort(new Error('not needed any more'));
      await expect(fromA).rejects.toThrow('not needed any more');
      await expect.poll(waiters, { timeout: 10_000 }).toHaveLength(1);
      release();
      expect(await fromB).toBe(1);
      // Done: the record is gone, and with it the hash of records.
      expect(await raw.exists(runs)).toBe(0);
    } finally {
      raw.disconnect();
    }
  });

  it('carries long arguments whole (their key is a hash) and byte values', async () => {
    const s = store();
    const long = 'x'.repeat(5_000);
    s.serve('echo', (args) => keep({ length: (args[0] as string).length, last: args[1] }, { ttlSeconds: 60 }));
    s.serve('bytes', ([n]) => keep(Buffer.from([1, 2, n as number]), { ttlSeconds: 60 }));
    expect(await s.get('echo', [long, { nested: [1, 2] }])).toEqual({ length: 5_000, last: { nested: [1, 2] } });
    const bytes = await s.get<Buffer>('bytes', [255]);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect([...bytes]).toEqual([1, 2, 255]);
    expect([...(await s.get<Buffer>('bytes', [255]))]).toEqual([1, 2, 255]);
  });

  it('a server refuses a queued request over its maxRequestBytes, answers its callers, and goes on serving', async () => {
    // The client allows more than the server: what another tool or a misconfigured
    // client may queue.
    const server = store({ maxRequestBytes: 1_000 });
    const client = store();
    let calls = 0;
    server.serve('sized', ([s]) => {
      calls++;
      return (s as string).length;
    });
    const e = (await client.get('sized', ['x'.repeat(2_000)]).catch((x: unknown) => x)) as RemoteError;
    expect(e).toBeInstanceOf(RemoteError);
    expect(e.remoteName).toBe('TooLargeError');
    expect(e.remoteMessage).toMatch(/2004 bytes, over the store's maxRequestBytes \(1000\)/);
    expect(calls).toBe(0);
    expect(await client.get('sized', ['x'.repeat(10)])).toBe(10);
    expect(calls).toBe(1);
  });

  it('malformed requests and results written by other tools fail their callers clearly, and nothing crashes', async () => {
    const s = store();
    let calls = 0;
    s.serve('strict', ([n]) => {
      calls++;
      return keep((n as number) * 2, { ttlSeconds: 60 });
    });
    expect(await s.get('strict', [1])).toBe(2);
    const raw = new Redis(main.url);
    try {
      const { base } = serviceKeys('memocell', 'strict');
      expect(await raw.exists(`${base}:v:[1]`)).toBe(1);
      // A cached value no memocell wrote.
      await raw.set(`${base}:v:[2]`, 'hello from another tool');
      const bad = (await s.get('strict', [2]).catch((x: unknown) => x)) as RemoteError;
      expect(bad).toBeInstanceOf(RemoteError);
      expect(bad.remoteName).toBe('ProtocolError');
      expect(bad.remoteMessage).toMatch(/not written by memocell/);
      // A queued request that is not a request: dropped, the server keeps serving.
      await raw.rpush(`${base}:q`, 'garbage without a newline', '[unterminated\n');
      expect(await s.get('strict', [3])).toBe(6);
      expect(calls).toBe(2);
    } finally {
      raw.disconnect();
    }
  });

  it('waits survive the server killing every client connection (the blocking loops reconnect)', async () => {
    const s = store();
    s.serve('slow', async ([n]) => {
      await new Promise((r) => setTimeout(r, 600));
      return n;
    });
    const pending = Promise.all([s.get('slow', [1]), s.get('slow', [2])]);
    await new Promise((r) => setTimeout(r, 200));
    const admin = new Redis(main.url);
    try {
      // Kills the command, blocking-pop and subscriber connections of the store alike.
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    } finally {
      admin.disconnect();
    }
    expect(await pending).toEqual([1, 2]);
  });

  it('a stop whose pub/sub message the server missed (its subscriber was reconnecting) still stops it, by its heartbeat', async () => {
    const serving = store();
    const admin = store();
    const handle = serving.serve('ordered', ([n]) => n);
    expect(await serving.get('ordered', [1])).toBe(1);
    const raw = new Redis(main.url);
    const orders = serviceKeys('memocell', 'ordered').orders(handle.id);
    try {
      // Drop every subscriber connection and send the stop at once: the server is not
      // subscribed when the message goes out, so pub/sub alone would lose it.
      await raw.client('KILL', 'TYPE', 'pubsub');
      await admin.stopServer('ordered', handle.id);
      const outcome = await Promise.race([
        handle.stopped.then(() => 'stopped'),
        new Promise((r) => setTimeout(() => r('still serving after 5 s'), 5_000)),
      ]);
      expect(outcome).toBe('stopped');
      expect(await raw.exists(orders)).toBe(0);
      // A command for an id no server has lapses with its list.
      await admin.stopServer('ordered', 'nobody');
      const ttl = await raw.pttl(serviceKeys('memocell', 'ordered').orders('nobody'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10_000);
    } finally {
      raw.disconnect();
    }
  });

  it('every call settles by its deadline while Redis is frozen, and works again after', async () => {
    const s = store();
    s.serve('frozen', ([n]) => keep(n, { ttlSeconds: 60 }));
    expect(await s.get('frozen', [1])).toBe(1);
    main.pause();
    try {
      const started = Date.now();
      const outcomes = await Promise.all(
        [[1], [2]].map((args) => s.get('frozen', args, { timeoutMs: 300 }).catch((e: unknown) => e)),
      );
      const elapsed = Date.now() - started;
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(TimeoutError);
      expect(elapsed).toBeLessThan(2_000); // a hang would be the test's own timeout
    } finally {
      main.resume();
    }
    expect(await s.get('frozen', [3], { timeoutMs: 5_000 })).toBe(3);
  });

  it('forget skips a dependents entry whose service is no service name, and still reaches the valid readers', async () => {
    const s = store();
    s.serve('dep-base', ([n]) => keep(n, { ttlSeconds: 60 }));
    s.serve('dep-reader', async ([n]) => keep(((await s.get('dep-base', [n])) as number) + 1, { ttlSeconds: 60 }));
    expect(await s.get('dep-reader', [1])).toBe(2);
    const raw = new Redis(main.url);
    try {
      // A foreign tool's entry: a control character makes it no memocell service.
      const base = serviceKeys('memocell', 'dep-base');
      await raw.sadd(base.dependents('[1]'), 'bad\u0001name\n[1]');
      const reader = serviceKeys('memocell', 'dep-reader');
      expect(await raw.exists(reader.value('[1]'))).toBe(1);
      await s.forget('dep-base', [1]);
      expect(await raw.exists(reader.value('[1]'))).toBe(0);
      // No state was made for it: a get by that name is still refused.
      await expect(s.get('bad\u0001name', [1])).rejects.toThrow(TypeError);
    } finally {
      raw.disconnect();
    }
  });
});
