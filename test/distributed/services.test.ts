/**
 * `services()` on the Redis store beyond the shared contract: prefixes keep their
 * services apart (glob characters in a prefix included), services on a Redis of their
 * own are found there, a name key that is not ours is skipped, and MEMOCELL_PREFIX is
 * the default prefix.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStore, type RedisStoreOptions } from '../../src/distributed/index.js';
import { serviceKeys } from '../../src/distributed/keys.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { eventually } from './contract.js';

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

function store(options: RedisStoreOptions = {}): RedisStore {
  const s = createRedisStore({ redis: main.url, ...options });
  stores.push(s);
  return s;
}

describe('RedisStore.services()', () => {
  it('lists only the services under its own prefix, even when the prefix holds glob characters', async () => {
    const star = store({ prefix: 'p*' });
    const plain = store({ prefix: 'px' });
    star.serve('under-star', ([n]) => n);
    plain.serve('under-px', ([n]) => n);
    await eventually(async () => expect(await star.services()).toEqual(['under-star']));
    await eventually(async () => expect(await plain.services()).toEqual(['under-px']));
  });

  it('finds a service that lives on a Redis of its own', async () => {
    const s = store({ prefix: 'split', services: { apart: second.url } });
    s.serve('apart', ([n]) => n);
    s.serve('home', ([n]) => n);
    await eventually(async () => expect(await s.services()).toEqual(['apart', 'home']));
  });

  it('skips a name key whose hash tag does not match the name it holds', async () => {
    const s = store({ prefix: 'forged' });
    s.serve('real', ([n]) => n);
    const raw = new Redis(main.url);
    try {
      // The key of service `a`, claiming to be `b`: not something a server wrote.
      await raw.set(serviceKeys('forged', 'a').name, 'b');
      await eventually(async () => expect(await s.services()).toEqual(['real']));
    } finally {
      raw.disconnect();
    }
  });

  it('takes its default prefix from MEMOCELL_PREFIX, and refuses a bad one', async () => {
    const saved = process.env.MEMOCELL_PREFIX;
    try {
      process.env.MEMOCELL_PREFIX = 'from-env';
      const fromEnv = store();
      fromEnv.serve('env-svc', ([n]) => n);
      const explicit = store({ prefix: 'from-env' });
      await eventually(async () => expect(await explicit.services()).toEqual(['env-svc']));
      process.env.MEMOCELL_PREFIX = 'has space';
      expect(() => createRedisStore({ redis: main.url })).toThrow(/MEMOCELL_PREFIX/);
    } finally {
      if (saved === undefined) delete process.env.MEMOCELL_PREFIX;
      else process.env.MEMOCELL_PREFIX = saved;
    }
  });
});
