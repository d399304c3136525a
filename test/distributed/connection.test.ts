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

describe('Connection.subscribed', () => {
  it('resolves once the subscription is confirmed: every message published from then on arrives', async () => {
    for (let i = 0; i < 20; i++) {
      const channel = `test:{s${i}}:invalidated`;
      const heard: string[] = [];
      connection.subscribe(channel, (message) => heard.push(message), { sharded: true });
      await connection.subscribed(channel);
      await connection.main.spublish(channel, 'first');
      const deadline = Date.now() + 5_000;
      while (!heard.includes('first') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      expect(heard, channel).toEqual(['first']);
    }
  });

  it('a wait for our own message is not taken before the subscription is confirmed', async () => {
    const channel = 'test:{s-early}:invalidated';
    connection.subscribe(channel, () => {}, { sharded: true });
    // Not confirmed yet in this turn: waiting could only end by its timeout.
    expect(connection.expectMessage(channel, 'x', 60_000)).toBeUndefined();
    await connection.subscribed(channel);
    const waiting = connection.expectMessage(channel, 'x', 60_000);
    expect(waiting).toBeInstanceOf(Promise);
    await connection.main.spublish(channel, 'x');
    await waiting;
  });

  it('resolves at once for a channel nobody here listens to', async () => {
    await connection.subscribed('test:{nobody}:invalidated');
  });
});

describe('Connection.script', () => {
  /** Script calls Redis has run since the last reset, by command (EVAL, EVALSHA). */
  async function scriptCalls(): Promise<{ eval: number; evalsha: number }> {
    const stats = await connection.main.info('commandstats');
    const calls = (name: string): number => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
    return { eval: calls('eval'), evalsha: calls('evalsha') };
  }
  const depend = (on: Connection = connection, key = 'test:{sc}:d:k'): Promise<unknown> => on.script('depend', [key], ['svc\nk', 60_000]);

  it('sends a script in full once, then by its SHA-1, and again in full after Redis lost it', async () => {
    const fresh = new Connection(redis.url);
    try {
      await connection.main.config('RESETSTAT');
      expect(await depend(fresh)).toBe(1);
      expect(await scriptCalls()).toEqual({ eval: 1, evalsha: 0 });
      expect(await depend(fresh)).toBe(1);
      expect(await scriptCalls()).toEqual({ eval: 1, evalsha: 1 });
      // Redis's script cache emptied under an open connection: the EVALSHA is refused
      // (NOSCRIPT) and the call goes through as EVAL, which loads it again.
      await connection.main.script('FLUSH');
      expect(await depend(fresh)).toBe(1);
      expect(await scriptCalls()).toEqual({ eval: 2, evalsha: 2 });
      expect(await depend(fresh)).toBe(1);
      expect(await scriptCalls()).toEqual({ eval: 2, evalsha: 3 });
    } finally {
      await fresh.close();
    }
  });

  it("passes a script's own error on, without trying it again", async () => {
    await depend();
    await connection.main.config('RESETSTAT');
    // depend's SADD on a key holding a string fails inside the script.
    await connection.main.set('test:{sc}:d:string', 'x');
    await expect(depend(connection, 'test:{sc}:d:string')).rejects.toThrow(/WRONGTYPE/);
    expect(await scriptCalls()).toEqual({ eval: 0, evalsha: 1 });
  });
});
