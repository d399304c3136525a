/**
 * Server faults (issue "Survive faults", items 1 to 3): server processes SIGKILLed at
 * random and restarted, one SIGKILLed just after Redis handed it a request, a server
 * stalled (SIGSTOP) past its lease, and identical gets from many processes for a
 * computation longer than the lease. Everything is real: a private redis-server, and
 * every server and client beyond the test's own in a child process of its own
 * (fixtures/fault-server.mjs, fixtures/fault-client.mjs).
 *
 * Every computation prints `start TAG PID T` and `end TAG PID T` (epoch ms), so the
 * tests see which process computed what and when; values are `TAG@PID`, so they also
 * see which computation answered.
 *
 * Scaled for CI (the file runs in about 40 s): leases of 2 s (kills) and 1 s (stall,
 * dedup) instead of the default 5 s, so the bound "lease + 2 s" is 4 s and a stall or a
 * dedup need last only a few seconds. The kill test keeps the counts (4 servers
 * of concurrency 2, 500 requests of 50 to 500 ms, a kill every 2 s: about 10 kills in
 * 20 to 25 s). The only time bound asserted is the (a stranded request starts
 * again within lease + 2 s of the kill; measured: under 2.5 s, the lease plus at most
 * one sweep). Everything else waits for events (lines, Redis state), not for time to
 * pass, and computations that must outlast a stall or a lease are held on a gate the
 * test opens.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalKey,
  createRedisStore,
  RemoteError,
  StoreClosedError,
  TimeoutError,
  type RedisStore,
} from '../../src/distributed/index.js';
import { requestKeyOf, serviceKeys } from '../../src/distributed/keys.js';
import { startNode, type Child } from '../support/processes.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { parseRunRecord, readRunRecord } from '../support/run-record.js';
import { sleep, until } from '../support/until.js';
import { seeded } from '../support/seeded.mjs';

const SERVER = 'test/reliability/fixtures/fault-server.mjs';
const CLIENT = 'test/reliability/fixtures/fault-client.mjs';
const KEYS = serviceKeys('memocell', 'job');
/** The bound on re-running a stranded request, beyond the lease. */
const RERUN_SLACK_MS = 2_000;

interface Computation {
  readonly kind: 'start' | 'end';
  readonly tag: string;
  readonly pid: number;
  readonly at: number;
}

/** The `start`/`end` lines the given server processes printed. */
function computations(servers: readonly Child[]): Computation[] {
  const found: Computation[] = [];
  for (const server of servers) {
    for (const line of server.output().split('\n')) {
      const match = /^(start|end) (\S+) (\d+) (\d+)$/.exec(line);
      if (match) found.push({ kind: match[1] as 'start' | 'end', tag: match[2] as string, pid: Number(match[3]), at: Number(match[4]) });
    }
  }
  return found.sort((a, b) => a.at - b.at);
}

type Outcome = 'ok' | 'wrong' | 'TimeoutError' | 'RemoteError' | 'StoreClosedError' | `other:${string}`;

interface Settled {
  readonly outcome: Outcome;
  readonly value: string;
}

/** Makes a call and records how it settled: the right value (`tag@pid`), a wrong one, or an error. */
async function settled(call: Promise<unknown>, tag: string): Promise<Settled> {
  try {
    const value = String(await call);
    return { outcome: new RegExp(`^${tag}@\\d+$`).test(value) ? 'ok' : 'wrong', value };
  } catch (error) {
    const e = error as Error;
    const outcome: Outcome =
      e instanceof TimeoutError || e instanceof RemoteError || e instanceof StoreClosedError
        ? (e.name as Outcome)
        : `other:${e?.name}: ${e?.message}`;
    return { outcome, value: e.message };
  }
}

function summarize(results: readonly Settled[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
}

const pidOf = (value: string): number => Number(value.slice(value.lastIndexOf('@') + 1));

describe('server faults', () => {
  let redis: RedisServerHandle;
  let raw: Redis;
  let store: RedisStore;
  const children: Child[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    // The kill tests' lease, as a deployment configures every process alike: a client's
    // queue grace (default: its lease) is when a request it queued is first checked.
    store = createRedisStore({ redis: redis.url, timeoutMs: 120_000, leaseMs: 2_000 });
  });
  afterEach(async () => {
    // SIGKILL also ends a stopped process.
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await raw.flushall();
  });
  afterAll(async () => {
    await store?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  function launchServer(concurrency: number, leaseMs: number, verbose = false): Child {
    const child = startNode(SERVER, [String(concurrency), String(leaseMs), verbose ? 'verbose' : ''], {
      REDIS_URL: redis.url,
    });
    children.push(child);
    return child;
  }

  async function startServer(concurrency: number, leaseMs: number, verbose = false): Promise<Child> {
    const child = launchServer(concurrency, leaseMs, verbose);
    await child.waitFor(/^ready /, 30_000);
    return child;
  }

  /** A client process making `count` identical gets; resolves with what each received. */
  function startClient(args: unknown[], count: number): { child: Child; results: Promise<Settled[]> } {
    const child = startNode(CLIENT, [JSON.stringify(args), String(count), '120000'], { REDIS_URL: redis.url });
    children.push(child);
    const results = child.waitFor(/^\{.*\}$/, 150_000).then((line) => {
      const { gets } = JSON.parse(line[0]) as { gets: Array<{ value?: string; error?: string }> };
      return gets.map((g): Settled =>
        g.error === undefined
          ? { outcome: new RegExp(`^${String(args[0])}@\\d+$`).test(String(g.value)) ? 'ok' : 'wrong', value: String(g.value) }
          : { outcome: `other:${g.error}`, value: g.error },
      );
    });
    return { child, results };
  }

  /** How many client processes wait for the request (the WAITERS of its record in Redis). */
  const waiters = async (args: unknown[]): Promise<number> =>
    (await readRunRecord(raw, KEYS.runs, requestKeyOf(canonicalKey(args))))?.waiters.length ?? 0;
  const computed = async (tag: string): Promise<number> => Number(await raw.hget('computations', tag));
  const started = (server: Child, tag: string): boolean => new RegExp(`^start ${tag} `, 'm').test(server.output());
  const serverId = (server: Child): string => /^ready (\S+)$/m.exec(server.output())?.[1] ?? '?';

  /** The tags of the requests whose run record names the server its owner, with each one's lease (ms since the epoch). */
  async function ownedBy(id: string): Promise<Map<string, number>> {
    const owned = new Map<string, number>();
    const records = await raw.hgetall(KEYS.runs);
    for (const [requestKey, value] of Object.entries(records)) {
      const record = parseRunRecord(value);
      if (record.owner === id) owned.set(String((JSON.parse(requestKey) as unknown[])[0]), Number(record.lease));
    }
    return owned;
  }

  it('4 servers, one SIGKILLed and replaced every 2 s, 500 requests: none lost; stranded ones re-run within lease + 2 s; extra computations <= kills x concurrency', async () => {
    const SERVERS = 4;
    const CONCURRENCY = 2;
    const LEASE_MS = 2_000;
    const REQUESTS = 500;
    const KILL_EVERY_MS = 2_000;
    const random = seeded(20240611);
    const durations = Array.from({ length: REQUESTS }, () => 50 + Math.floor(random() * 451));
    const tags = durations.map((_, i) => `r${i}`);

    const all = await Promise.all(Array.from({ length: SERVERS }, () => startServer(CONCURRENCY, LEASE_MS)));
    const live = new Set(all);
    const kills: Array<{ pid: number; at: number; held: Map<string, number> }> = [];
    let finished = false;
    const killing = (async () => {
      while (!finished) {
        await sleep(KILL_EVERY_MS);
        if (finished) return;
        const candidates = [...live];
        const victim = candidates[Math.floor(random() * candidates.length)];
        if (victim === undefined) continue;
        live.delete(victim);
        const at = Date.now();
        victim.kill('SIGKILL');
        const replacement = launchServer(CONCURRENCY, LEASE_MS);
        await victim.exited;
        // What it held when it died, as Redis records it: requests it took and claimed,
        // including any it had not started computing yet (so printed no line for).
        kills.push({ pid: victim.pid, at, held: await ownedBy(serverId(victim)) });
        all.push(replacement);
        // Only a server that is up may be a victim: one killed while starting had nothing to lose.
        void replacement.waitFor(/^ready /, 30_000).then(
          () => live.add(replacement),
          () => {},
        );
      }
    })();

    const began = Date.now();
    let results: Settled[];
    try {
      results = await Promise.all(tags.map((tag, i) => settled(store.get('job', [tag, durations[i], false]), tag)));
    } finally {
      finished = true;
      await killing;
    }
    const elapsed = Date.now() - began;

    // Nothing lost: every call resolved with its own request's value.
    expect(summarize(results)).toEqual({ ok: REQUESTS });
    expect(kills.length).toBeGreaterThanOrEqual(5);

    const events = computations(all);
    const startsOf = new Map<string, Computation[]>();
    const ended = new Set<string>();
    for (const e of events) {
      if (e.kind === 'end') ended.add(`${e.tag}@${e.pid}`);
      else startsOf.set(e.tag, [...(startsOf.get(e.tag) ?? []), e]);
    }
    // Each answer came from a computation that ran to its end.
    const unfinishedAnswers = results.filter((r) => !ended.has(r.value)).map((r) => r.value);
    expect(unfinishedAnswers).toEqual([]);

    const starts = events.filter((e) => e.kind === 'start').length;
    const extra = starts - REQUESTS;
    // A request is stranded by a kill when the killed server held it (Redis named it its
    // owner) or had started it, and did not answer it.
    // lapse: how long after the kill the request's lease ran out (undefined: not claimed
    // yet); a late re-run then shows whether the lease or what came after it took long.
    // Taken again, then lost again: kills come every 2 s and re-runs about 2 s after a
    // kill, so a re-taken request may be held by the next victim before that one starts
    // it (Redis names it owner; no start line). Its re-run then comes a lease after the
    // second kill, and measured from the first it looks late (4,480 ms in one CI run).
    // Such a request counts as re-taken by the second kill (the delay is at most the time
    // between the kills), and as stranded by the second kill, measured from that kill.
    const stranded: Array<{ tag: string; killedPid: number; delay: number; lapse: number | undefined; retaken?: boolean }> = [];
    const neverRerun: string[] = [];
    for (const kill of kills) {
      for (const [i, tag] of tags.entries()) {
        const tagStarts = startsOf.get(tag) ?? [];
        const answeredBy = pidOf((results[i] as Settled).value);
        const held = kill.held.has(tag) || tagStarts.some((s) => s.pid === kill.pid && s.at <= kill.at);
        if (answeredBy === kill.pid || !held) continue;
        const rerun = tagStarts.find((s) => s.pid !== kill.pid && s.at >= kill.at);
        const lease = kill.held.get(tag);
        const lapse = lease === undefined ? undefined : lease - kill.at;
        const lostAgain = kills.find(
          (later) =>
            later.at > kill.at &&
            (rerun === undefined || later.at < rerun.at) &&
            later.held.has(tag) &&
            !tagStarts.some((s) => s.pid === later.pid),
        );
        if (lostAgain !== undefined) stranded.push({ tag, killedPid: kill.pid, delay: lostAgain.at - kill.at, lapse, retaken: true });
        else if (rerun !== undefined) stranded.push({ tag, killedPid: kill.pid, delay: rerun.at - kill.at, lapse });
        else if (!tagStarts.some((s) => s.pid === answeredBy && s.at < kill.at)) neverRerun.push(tag);
        // (else another server had taken it over before the kill: not stranded by it.)
      }
    }
    // Second computations that no kill explains: a live server's request taken over (a
    // stall past the lease on this loaded machine) or a popped request queued again.
    const killedAt = new Map(kills.map((k) => [k.pid, k.at]));
    const unexplained = [...startsOf.values()].filter((list) =>
      list.slice(1).some((later, i) => !((killedAt.get((list[i] as Computation).pid) ?? Infinity) <= later.at)),
    ).length;
    const delays = stranded.map((s) => s.delay);
    const maxDelay = Math.max(0, ...delays);
    const leased = stranded.filter((s) => s.lapse !== undefined && s.retaken !== true);
    const lapses = leased.map((s) => s.lapse as number);
    const afterLapse = leased.map((s) => s.delay - (s.lapse as number));
    const heldUnstarted = kills.reduce(
      (n, k) => n + [...k.held.keys()].filter((tag) => !(startsOf.get(tag) ?? []).some((s) => s.pid === k.pid)).length,
      0,
    );
    const stats = await raw.hgetall(KEYS.stats);
    console.log(
      `SIGKILL: ${kills.length} kills in ${elapsed} ms; ${REQUESTS}/${REQUESTS} answered; ` +
        `${stranded.length} stranded (${heldUnstarted} taken but not started; ` +
        `${stranded.filter((s) => s.retaken === true).length} taken again and lost to a later kill), ` +
        `re-run after ${Math.min(...delays)}..${maxDelay} ms ` +
        `(leases ran out ${Math.min(...lapses)}..${Math.max(...lapses)} ms after the kill, re-runs began ` +
        `${Math.min(...afterLapse)}..${Math.max(...afterLapse)} ms after that) ` +
        `(bound ${LEASE_MS + RERUN_SLACK_MS}); ${starts} computations started (${extra} extra, bound ` +
        `${kills.length * CONCURRENCY}; ${unexplained} not explained by a kill); Redis counted ${stats.computations} claimed`,
    );
    expect(neverRerun).toEqual([]);
    expect(stranded.length).toBeGreaterThan(0);
    expect(stranded.filter((s) => s.delay > LEASE_MS + RERUN_SLACK_MS)).toEqual([]);
    expect(extra).toBeLessThanOrEqual(kills.length * CONCURRENCY);
    // Nothing left behind: no queued or running request in Redis.
    expect(await raw.zcard(KEYS.pending)).toBe(0);
    expect(await raw.llen(KEYS.gets)).toBe(0);
  }, 180_000);

  it('a server SIGKILLed after Redis handed it a request but before it claimed it: the request is re-run within lease + 2 s', async () => {
    const LEASE_MS = 2_000;
    // A second server, kept busy on a gated request so that it is not the one waiting in
    // BLPOP when the request arrives; it sweeps meanwhile, and takes the request once free.
    const rescuer = await startServer(1, LEASE_MS);
    const busy = settled(store.get('job', ['busy', 0, true]), 'busy');
    await until('the rescuer computes the busy request', () => started(rescuer, 'busy'));
    // Connections blocked in BLMPOP before the victim starts: this test's own reply loop.
    const blockedPops = async (): Promise<string[]> =>
      String(await raw.client('LIST'))
        .split('\n')
        .filter((c) => / flags=\S*b/.test(c) && c.includes(' cmd=blmpop'))
        .map((c) => /(?:^| )id=(\d+)/.exec(c)?.[1] ?? '');
    const others = new Set(await blockedPops());
    const victim = await startServer(1, LEASE_MS);
    // Blocked in its take loop's BLMPOP, as Redis sees it (the rescuer is busy: its only
    // blocked pop is its gate's BLPOP).
    const victimBlocked = async (): Promise<boolean> => (await blockedPops()).some((id) => !others.has(id));
    // Frozen while blocked. Its BLMPOP times out every 5 s and is sent again: should that
    // fall between the check and the freeze, thaw it and try again.
    for (let frozen = false; !frozen; ) {
      await until('the victim waits for requests in BLMPOP', victimBlocked);
      victim.kill('SIGSTOP');
      frozen = await victimBlocked();
      if (!frozen) victim.kill('SIGCONT');
    }
    const args = ['popped', 100, false];
    const answer = settled(store.get('job', args), 'popped');
    // Redis pops the request for the frozen victim: the reply sits unread in its socket.
    await until(
      'the frozen victim has been handed the request',
      async () => (await readRunRecord(raw, KEYS.runs, requestKeyOf(canonicalKey(args))))?.state === 'queued' && (await raw.llen(KEYS.gets)) === 0,
    );
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await victim.exited;
    await raw.rpush('gate:busy', 'open');
    expect((await busy).outcome).toBe('ok');
    const result = await answer;
    expect(result).toEqual({ outcome: 'ok', value: `popped@${rescuer.pid}` });
    const rerun = computations([rescuer]).find((e) => e.kind === 'start' && e.tag === 'popped');
    const delay = (rerun?.at ?? Infinity) - killedAt;
    console.log(`popped, then SIGKILLed before its claim: re-run ${delay} ms after the kill (bound ${LEASE_MS + RERUN_SLACK_MS})`);
    expect(delay).toBeLessThanOrEqual(LEASE_MS + RERUN_SLACK_MS);
    expect(await computed('popped')).toBe(1);
  }, 60_000);

  describe('a server stalled (SIGSTOP) past its lease', () => {
    const LEASE_MS = 1_000;

    it('another server computes; every waiter, before and after the takeover, gets its answer; the late result is dropped', async () => {
      const args = ['stall', 0, true];
      const stalled = await startServer(1, LEASE_MS, true);
      const first = settled(store.get('job', args), 'stall');
      const early = [startClient(args, 3), startClient(args, 3)];
      await until('the first server computes', () => started(stalled, 'stall'));
      await until('three processes wait', async () => (await waiters(args)) === 3);
      stalled.kill('SIGSTOP');
      const stoppedAt = Date.now();
      // Joins while the stalled server still holds the lease (or just after it lapsed).
      const beforeTakeover = startClient(args, 3);
      await until('four processes wait', async () => (await waiters(args)) === 4);
      const rescuer = await startServer(1, LEASE_MS);
      await until('the rescuer takes the request over', () => started(rescuer, 'stall'));
      const takeover = computations([rescuer])[0] as Computation;
      const afterTakeover = startClient(args, 3);
      await until('five processes wait', async () => (await waiters(args)) === 5);
      // One pass for each computation: the stalled one may already wait at the gate.
      await raw.rpush('gate:stall', 'open', 'open');
      const answered = [await first, ...(await Promise.all([...early, beforeTakeover, afterTakeover].map((c) => c.results))).flat()];
      const expected = `stall@${rescuer.pid}`;
      expect(answered).toEqual(Array(13).fill({ outcome: 'ok', value: expected }));
      // A client arriving after the answer gets the same value, from the cache.
      const late = await startClient(args, 3).results;
      expect(late).toEqual(Array(3).fill({ outcome: 'ok', value: expected }));

      stalled.kill('SIGCONT');
      await until('the stalled server finishes and its late result is dropped', () =>
        /dropped a late result for /.test(stalled.output()),
      );
      expect(computations([stalled]).filter((e) => e.tag === 'stall').map((e) => e.kind)).toEqual(['start', 'end']);
      expect(await store.get('job', args)).toBe(expected);
      expect(await computed('stall')).toBe(2);
      console.log(`stall: taken over ${takeover.at - stoppedAt} ms after SIGSTOP (lease ${LEASE_MS}); 16 waiters got ${expected}`);
    }, 90_000);

    it('a value saved meanwhile is what waiters get, and the late result does not overwrite a newer save', async () => {
      const args = ['saved', 0, true];
      const stalled = await startServer(1, LEASE_MS, true);
      const first = settled(store.get('job', args), 'saved');
      const client = startClient(args, 3);
      await until('the first server computes', () => started(stalled, 'saved'));
      await until('two processes wait', async () => (await waiters(args)) === 2);
      stalled.kill('SIGSTOP');
      await store.save('job', args, 'saved@1', { ttlSeconds: 600 });
      const rescuer = await startServer(1, LEASE_MS);
      await until('the rescuer takes the request over', () => started(rescuer, 'saved'));
      await raw.rpush('gate:saved', 'open', 'open');
      const answered = [await first, ...(await client.results)];
      // Saved over while it ran: the saved value is the answer, not the rescuer's result.
      expect(answered).toEqual(Array(4).fill({ outcome: 'ok', value: 'saved@1' }));
      expect(await store.get('job', args)).toBe('saved@1');
      await store.save('job', args, 'saved@2', { ttlSeconds: 600 });
      stalled.kill('SIGCONT');
      await until('the stalled server finishes and its late result is dropped', () =>
        /dropped a late result for /.test(stalled.output()),
      );
      expect(await store.get('job', args)).toBe('saved@2');
      expect(await computed('saved')).toBe(2);
    }, 90_000);
  });

  it('100 identical gets from 10 client processes for a computation longer than the lease: computed exactly once', async () => {
    const LEASE_MS = 1_000;
    const args = ['dedup', 0, true];
    // Half the clients wait before any server runs; the other half join once the
    // computation has outlived its lease three times over (renewed meanwhile).
    const firstWave = Array.from({ length: 5 }, () => startClient(args, 10));
    await until('five client processes wait', async () => (await waiters(args)) === 5);
    const servers = await Promise.all([0, 1, 2].map(() => startServer(2, LEASE_MS)));
    await until('a server computes', () => servers.some((s) => started(s, 'dedup')));
    const startedAt = Date.now();
    await sleep(3 * LEASE_MS);
    const secondWave = Array.from({ length: 5 }, () => startClient(args, 10));
    await until('ten client processes wait', async () => (await waiters(args)) === 10);
    const heldMs = Date.now() - startedAt;
    // Passes enough for duplicates too, so a failure shows as a count, not a hang.
    await raw.rpush('gate:dedup', ...Array(10).fill('open'));
    const answered = (await Promise.all([...firstWave, ...secondWave].map((c) => c.results))).flat();
    expect(answered).toHaveLength(100);
    const values = new Set(answered.map((a) => a.value));
    expect(summarize(answered)).toEqual({ ok: 100 });
    expect(values.size).toBe(1);
    expect(await computed('dedup')).toBe(1);
    expect(await raw.hget(KEYS.stats, 'computations')).toBe('1');
    console.log(`dedup: 100 gets from 10 processes, computation held ${heldMs} ms (lease ${LEASE_MS}): computed once`);
  }, 90_000);
});
