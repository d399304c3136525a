/**
 * Servers of another protocol version on a service are named: a server warns when it
 * starts beside one, or when one appears later (clients do not check: the client ACL
 * role may not read the registry).
 * Processes of two versions cannot share a service, and without the warning a timeout
 * is all anyone would see. The older server here is a registry entry as protocol v2
 * servers wrote it (no `protocol` field), kept alive by hand.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, PROTOCOL_MISMATCH, PROTOCOL_VERSION, TimeoutError, type RedisStore } from '../../src/distributed/index.js';
import { serviceKeys } from '../../src/distributed/keys.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { until } from '../support/until.js';

let redis: RedisServerHandle;
let raw: Redis;
const stores: RedisStore[] = [];
const warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  if (warning.name === PROTOCOL_MISMATCH) warnings.push(warning);
};
/** The warnings about one service (a test's servers may still warn while the next runs). */
const about = (service: string): Error[] => warnings.filter((w) => w.message.includes(`"${service}"`));

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
  process.on('warning', onWarning);
});
afterAll(async () => {
  process.off('warning', onWarning);
  await Promise.all(stores.map((s) => s.close()));
  raw?.disconnect();
  await redis?.stop();
});

function store(): RedisStore {
  const s = createRedisStore({ redis: redis.url });
  stores.push(s);
  return s;
}

/** Registers a server the way a protocol v2 server did, alive for a minute. */
async function registerV2Server(service: string, id: string): Promise<void> {
  const keys = serviceKeys('memocell', service);
  const info = { id, service, host: 'old-host', pid: 4242, started: Date.now(), concurrency: 1, inFlight: 0, served: 0 };
  await raw.hset(keys.servers, id, JSON.stringify(info));
  await raw.zadd(keys.alive, Date.now() + 60_000, id);
}

describe('servers of another protocol version', () => {
  it('are listed with their version: 2 for an entry that names none, this one for ours', async () => {
    const s = store();
    await registerV2Server('listed', 'old-1');
    const server = s.serve('listed', () => 1, { id: 'new-1' });
    await until('both are listed', async () => (await s.servers('listed')).length === 2);
    const byId = Object.fromEntries((await s.servers('listed')).map((info) => [info.id, info.protocol]));
    expect(byId).toEqual({ 'old-1': 2, 'new-1': PROTOCOL_VERSION });
    await server.stop();
  });

  it('a server warns once of each: one there when it starts, and one that appears later; naming it and saying what to do', async () => {
    await registerV2Server('beside', 'old-2');
    const server = store().serve('beside', () => 1);
    await until('the warning', async () => about('beside').length > 0);
    // A second server of another version, registered later, is named by the next check
    // (every 10 s); the first is not named again.
    await registerV2Server('beside', 'old-4');
    await until('the second warning', async () => about('beside').length > 1, 15_000);
    expect(about('beside')).toHaveLength(2);
    expect((about('beside')[1] as Error).message).toContain('(old-4, host old-host');
    const message = (about('beside')[0] as Error).message;
    expect(message).toContain('"beside"');
    expect(message).toContain('protocol v2 (old-2, host old-host, pid 4242)');
    expect(message).toContain(`this process speaks v${PROTOCOL_VERSION}`);
    expect(message).toContain('Stop every process of the service');
    expect((about('beside')[0] as Error & { code?: string }).code).toBe(PROTOCOL_MISMATCH);
    await server.stop();
  }, 30_000);

  it('a service whose servers all speak this version draws no warning', async () => {
    const s = store();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = s.serve('same-version', async () => {
      await held;
      return 1;
    });
    await until('the server is listed', async () => (await s.servers('same-version')).length === 1);
    await expect(s.get('same-version', [1], { timeoutMs: 150 })).rejects.toBeInstanceOf(TimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(about('same-version')).toEqual([]);
    release();
    await server.stop();
  });
});
