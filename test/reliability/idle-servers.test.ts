/**
 * The idle list (get-1.lua, complete-4.lua, heartbeat-2.lua, sweep-3.lua): a new request
 * goes to the inbox of the most recently idle server instead of to whichever blocked
 * server has waited longest. These tests check that it does, and that a server on the
 * idle list that dies, stalls, stops or goes away without a word loses no request.
 *
 * Real parts only: a private redis-server, servers in child processes of their own
 * (fixtures/fault-server.mjs: values are `TAG@PID`, so the tests see who computed what),
 * and, for the protocol-level cases, the scripts run by hand for a server id that no
 * process owns. Leases and queue grace are 2 s, so the bounds below stay short.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalKey, createRedisStore, type RedisStore } from '../../src/distributed/index.js';
import { requestKeyOf, serviceKeys } from '../../src/distributed/keys.js';
import { startNode, type Child } from '../support/processes.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { sleep, until } from '../support/until.js';
import { readRunRecord } from '../support/run-record.js';

const SERVER = 'test/reliability/fixtures/fault-server.mjs';
const KEYS = serviceKeys('memocell', 'job');
const LEASE_MS = 2_000;
/** A server's heartbeat deadline is 3 s after its last beat; the others beat every second. */
const LAPSE_MS = 3_000 + 1_000;
const SLACK_MS = 1_500;
const LUA = (name: string): string => readFileSync(new URL(`../../src/distributed/lua/${name}.lua`, import.meta.url), 'utf8');

const pidOf = (value: string): number => Number(value.slice(value.lastIndexOf('@') + 1));

describe('servers on the idle list', () => {
  let redis: RedisServerHandle;
  let raw: Redis;
  let store: RedisStore;
  const children: Child[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    store = createRedisStore({ redis: redis.url, timeoutMs: 60_000, leaseMs: LEASE_MS });
  });
  afterEach(async () => {
    const ending = children.splice(0);
    for (const child of ending) child.kill('SIGKILL');
    // Gone before the next test: a dying server's blocked pop could still take what the
    // next test queues by hand.
    await Promise.all(ending.map((child) => child.exited));
    await raw.flushall();
  });
  afterAll(async () => {
    await store?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  const idle = (): Promise<string[]> => raw.lrange(KEYS.idle, 0, -1);

  /** Starts a server process and waits until it is on the idle list; resolves it and its id. */
  async function startServer(concurrency = 1): Promise<{ child: Child; id: string }> {
    const child = startNode(SERVER, [String(concurrency), String(LEASE_MS)], { REDIS_URL: redis.url });
    children.push(child);
    const id = (await child.waitFor(/^ready (\S+)$/, 30_000))[1] as string;
    await until(`server ${id} is on the idle list`, async () => (await idle()).includes(id));
    return { child, id };
  }

  const get = (tag: string, ms = 0, gated = false): Promise<string> => store.get<string>('job', [tag, ms, gated]);
  const started = (server: Child, tag: string): boolean => new RegExp(`^start ${tag} `, 'm').test(server.output());
  const computed = async (tag: string): Promise<number> => Number(await raw.hget('computations', tag));

  it('lone requests one after another all go to one server; one made while it is busy goes to the other', async () => {
    const a = await startServer();
    const b = await startServer();
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) pids.add(pidOf(await get(`seq${i}`)));
    // Without the idle list, Redis hands each one to the server blocked longest: they alternate.
    expect(pids.size).toBe(1);
    const warm = [...pids][0] as number;
    const warmServer = warm === a.child.pid ? a : b;
    const coldServer = warm === a.child.pid ? b : a;
    expect(warmServer.child.pid).toBe(warm);
    const held = get('hold', 0, true);
    await until('the warm server computes the held request', () => started(warmServer.child, 'hold'));
    expect(pidOf(await get('meanwhile'))).toBe(coldServer.child.pid);
    await raw.rpush('gate:hold', 'open');
    expect(pidOf(await held)).toBe(warm);
  }, 60_000);

  it('a server SIGKILLed while first on the idle list: the request sent to its inbox is answered by another, computed once', async () => {
    await startServer();
    await startServer();
    // The one that answers this is first on the list afterwards.
    const first = pidOf(await get('warm'));
    const victim = children.find((c) => c.pid === first) as Child;
    const victimId = (await idle())[0] as string;
    expect(victimId).toContain(`-${first}-`);
    victim.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    const answer = await get('orphan');
    const delay = Date.now() - killedAt;
    console.log(`sent to a SIGKILLed idle server's inbox: answered ${delay} ms after the kill (bound ${LAPSE_MS + SLACK_MS})`);
    expect(pidOf(answer)).not.toBe(first);
    expect(delay).toBeLessThanOrEqual(LAPSE_MS + SLACK_MS);
    expect(await computed('orphan')).toBe(1);
    // The dead server's place and inbox are gone, and so is it from the registry.
    await until('the dead server has left the registry', async () => !(await store.servers('job')).some((s) => s.id === victimId));
    expect(await idle()).not.toContain(victimId);
    expect(await raw.llen(KEYS.inbox(victimId))).toBe(0);
    expect(await raw.sismember(KEYS.direct, victimId)).toBe(0);
  }, 60_000);

  it('a server stalled (SIGSTOP) while first on the idle list: another answers; thawed, it rejoins the list', async () => {
    await startServer();
    await startServer();
    const first = pidOf(await get('warm'));
    const stalled = children.find((c) => c.pid === first) as Child;
    const stalledId = (await idle())[0] as string;
    stalled.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // Redis hands the request to the stalled server's blocked pop: it sits in its socket.
    const answer = await get('frozen');
    const delay = Date.now() - stoppedAt;
    // Popped by the stalled server: the sweep takes it back after the queue grace. Still
    // in its inbox (stalled between two pops): the heartbeat's lapse does.
    console.log(`sent to a stalled idle server: answered ${delay} ms after the stall (bound ${LAPSE_MS + SLACK_MS})`);
    expect(pidOf(answer)).not.toBe(first);
    expect(delay).toBeLessThanOrEqual(LAPSE_MS + SLACK_MS);
    stalled.kill('SIGCONT');
    await until('the thawed server is back on the idle list', async () => (await idle()).includes(stalledId));
    // Thawed, it may compute what it had popped (as any server stalled past its queue
    // grace does); never more than that once.
    expect(await computed('frozen')).toBeLessThanOrEqual(2);
  }, 60_000);

  it('a request that reaches a full server (put back on the list by a race) is handed to another within a heartbeat', async () => {
    const full = await startServer(1);
    const other = await startServer(1);
    // `other` joined last and is first in line; take it out so `full` gets the held one.
    await raw.lrem(KEYS.idle, 0, other.id);
    const held = get('hold', 0, true);
    await until('the one-slot server computes the held request', () => started(full.child, 'hold'));
    // The race: a heartbeat sent with room, run by Redis after the client took it off the list.
    await raw.lpush(KEYS.idle, full.id);
    const sentAt = Date.now();
    const answer = await get('behind');
    const waited = Date.now() - sentAt;
    console.log(`sent to a full server's inbox: answered by another after ${waited} ms (its heartbeat hands it back)`);
    expect(pidOf(answer)).toBe(other.child.pid);
    expect(waited).toBeLessThan(1_000 + SLACK_MS);
    await raw.rpush('gate:hold', 'open');
    expect(pidOf(await held)).toBe(full.child.pid);
  }, 60_000);

  it('a stopping server leaves the idle list at once: gets go to the others while it finishes its work', async () => {
    await startServer(1);
    const stopping = await startServer(2);
    // The last server to join is first on the list; with a slot left it stays there.
    await until('the two-slot server is first on the list', async () => (await idle())[0] === stopping.id);
    const held = get('hold', 0, true);
    await until('the two-slot server computes the held request', () => started(stopping.child, 'hold'));
    await until('it is back first on the list with its free slot', async () => (await idle())[0] === stopping.id);
    await store.stopServer('job', stopping.id);
    await until('the stopping server has left the idle list', async () => !(await idle()).includes(stopping.id));
    const other = children.find((c) => c !== stopping.child) as Child;
    expect(pidOf(await get('after'))).toBe(other.pid);
    await raw.rpush('gate:hold', 'open');
    expect(pidOf(await held)).toBe(stopping.child.pid);
  }, 60_000);

  describe('a server that leaves without a word (the scripts run by hand for an id no process owns)', () => {
    const GHOST = 'ghost-server';

    /** Puts GHOST on the idle list as a server that pops its inbox, alive until `deadline`. */
    async function ghostBeats(deadline: number, mode = 'idle', description = '{}'): Promise<void> {
      await raw.eval(LUA('heartbeat-2'), 2, KEYS.servers, KEYS.alive, GHOST, description, deadline, Date.now(), KEYS.base, mode);
    }

    it('its heartbeat lapses: what clients sent to its inbox goes back to the front of the get queue, in order, and is answered', async () => {
      await ghostBeats(Date.now() + 60_000);
      expect(await idle()).toEqual([GHOST]);
      // Only the first new request finds the ghost on the list; the rest queue as usual.
      const answers = Promise.all([get('g1'), get('g2')]);
      await until('a request waits in the ghost inbox', async () => (await raw.llen(KEYS.inbox(GHOST))) === 1);
      expect(await raw.lrange(KEYS.inbox(GHOST), 0, -1)).toEqual([`${canonicalKey(['g1', 0, false])}\n`]);
      expect((await readRunRecord(raw, KEYS.runs, requestKeyOf(canonicalKey(['g1', 0, false]))))?.inbox).toBe(GHOST);
      // Now it lapses: the next heartbeat of any server drops it and its inbox.
      await ghostBeats(Date.now() - 1);
      const server = await startServer();
      const values = await answers;
      expect(values.map(pidOf)).toEqual([server.child.pid, server.child.pid]);
      expect(await raw.llen(KEYS.inbox(GHOST))).toBe(0);
      expect(await idle()).not.toContain(GHOST);
      expect(await raw.sismember(KEYS.direct, GHOST)).toBe(0);
    }, 60_000);

    /** GHOST first on the idle list, as `complete` puts a server there. */
    async function ghostFirst(): Promise<void> {
      await ghostBeats(Date.now() + 60_000, 'busy');
      await raw.lpush(KEYS.idle, GHOST);
    }

    it('it leaves (empty description): its inbox is queued for the others at once', async () => {
      const server = await startServer();
      await ghostFirst();
      const answer = get('left');
      await until('the request waits in the ghost inbox', async () => (await raw.llen(KEYS.inbox(GHOST))) === 1);
      await ghostBeats(Date.now() + 60_000, 'idle', '');
      expect(pidOf(await answer)).toBe(server.child.pid);
      expect(await raw.llen(KEYS.inbox(GHOST))).toBe(0);
    }, 60_000);

    it('it says it is busy: what waits in its inbox goes back to the front of the get queue, and it leaves the list', async () => {
      const server = await startServer();
      await ghostFirst();
      const answer = get('full');
      await until('the request waits in the ghost inbox', async () => (await raw.llen(KEYS.inbox(GHOST))) === 1);
      // Still first in line (only `get` took it off): a server that fills up says so.
      await raw.lpush(KEYS.idle, GHOST);
      await ghostBeats(Date.now() + 60_000, 'busy');
      expect(pidOf(await answer)).toBe(server.child.pid);
      expect(await raw.llen(KEYS.inbox(GHOST))).toBe(0);
      expect(await idle()).not.toContain(GHOST);
      expect(await raw.sismember(KEYS.direct, GHOST)).toBe(1);
    }, 60_000);

    it('it takes through `complete`: its own inbox comes before the shared queue', async () => {
      await ghostBeats(Date.now() + 60_000);
      await raw.rpush(KEYS.gets, '["shared"]\n');
      await raw.rpush(KEYS.inbox(GHOST), '["mine"]\n');
      const taken = await raw.eval(
        LUA('complete-4'), 4, KEYS.pending, KEYS.stats, KEYS.gets, KEYS.prefetches,
        KEYS.base, GHOST, 1, Date.now() + LEASE_MS, 100_000, 60_000, 'ghost.1',
      );
      expect(taken).toEqual(['["mine"]\n']);
      expect(await raw.lrange(KEYS.gets, 0, -1)).toEqual(['["shared"]\n']);
    }, 60_000);

    it('it stays alive but never pops: the sweep leaves the request there while it lives, and takes it back once it is dead', async () => {
      const server = await startServer();
      await ghostFirst();
      const answer = get('stuck');
      await until('the request waits in the ghost inbox', async () => (await raw.llen(KEYS.inbox(GHOST))) === 1);
      // Past the queue grace and a sweep or two, it is still the ghost's: it is alive.
      await sleep(LEASE_MS + 1_500);
      expect(await raw.llen(KEYS.inbox(GHOST))).toBe(1);
      // Dead by its own deadline, but still listed (nothing has dropped it yet): the sweep
      // takes it back. The server beats every second, so both paths race; either is right.
      await raw.zadd(KEYS.alive, Date.now() - 1, GHOST);
      expect(pidOf(await answer)).toBe(server.child.pid);
      expect(await computed('stuck')).toBe(1);
      expect(await raw.llen(KEYS.inbox(GHOST))).toBe(0);
    }, 60_000);
  });
});
