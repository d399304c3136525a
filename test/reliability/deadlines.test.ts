/**
 * Deadlines (issue "Survive faults", item 4): 1,000 calls with random deadlines from 50 ms
 * to 20 s against slow servers. Each call must resolve with the right value, or reject
 * with a `TimeoutError` no later than its deadline + 250 ms (and not before its
 * deadline); a computation whose callers all gave up still finishes, is cached, and the
 * next caller gets it without a second computation.
 *
 * Set-up: two server processes (concurrency 24 each) of `load.slow`, whose computations
 * take 5 ms to 5 s; 650 distinct requests, and 350 more calls that repeat one of them,
 * started at random moments in the first 3 s from two client stores in this process, so
 * calls join computations that are queued, running, or already abandoned by an earlier
 * caller. Durations and deadlines are drawn log-uniformly (every order of magnitude is
 * represented) from a fixed seed. Work is about twice what the slots can do in 5 s, so
 * calls time out both because their computation is long and because it waits in the
 * queue. The whole test lasts about the longest deadline (20 s) plus start-up.
 *
 * Found and fixed: a call whose deadline passed while its first lookup (a plain GET) was
 * on its way (a 50 ms deadline in the opening burst on a loaded machine) gave up without
 * registering its request, so nothing was computed for the next caller. Now a late call
 * registers its request like any call whose wait times out; the second test forces the
 * case with CLIENT PAUSE.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, TimeoutError, type RedisStore } from '../../src/distributed/index.js';
import { serviceKeys } from '../../src/distributed/keys.js';
import { startNode, type Child } from '../support/processes.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { seeded } from '../support/seeded.mjs';

const SERVER = 'test/reliability/fixtures/load-server.mjs';
const SERVICE = 'load.slow';
const CALLS = 1_000;
const DISTINCT = 650;
const LATE_MS = 250;


function logUniform(random: () => number, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min))));
}

interface PlannedCall {
  readonly tag: string;
  readonly ms: number;
  readonly deadline: number;
  readonly startAt: number;
}

function plan(): PlannedCall[] {
  const random = seeded(4);
  const durations: number[] = [];
  const calls: PlannedCall[] = [];
  for (let i = 0; i < CALLS; i++) {
    const request = i < DISTINCT ? i : Math.floor(random() * DISTINCT);
    if (i < DISTINCT) durations.push(logUniform(random, 5, 5_000));
    calls.push({
      tag: `r${request}`,
      ms: durations[request] as number,
      deadline: logUniform(random, 50, 20_000),
      startAt: Math.floor(random() * 3_000),
    });
  }
  return calls;
}

interface Outcome {
  readonly call: PlannedCall;
  readonly kind: 'ok' | 'wrong' | 'TimeoutError' | 'other';
  /** Settled this long after its deadline (negative: before). */
  readonly late: number;
  readonly detail: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('deadlines against slow servers', () => {
  let redis: RedisServerHandle;
  let raw: Redis;
  const stores: RedisStore[] = [];
  const children: Child[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    for (let i = 0; i < 2; i++) {
      const child = startNode(SERVER, [SERVICE, '24'], { REDIS_URL: redis.url });
      children.push(child);
    }
    await Promise.all(children.map((child) => child.waitFor(/^ready /, 20_000)));
    for (let i = 0; i < 2; i++) stores.push(createRedisStore({ redis: redis.url }));
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(stores.map((s) => s.close()));
    raw?.disconnect();
    await redis?.stop();
  });

  async function call(store: RedisStore, planned: PlannedCall): Promise<Outcome> {
    await sleep(planned.startAt);
    const started = performance.now();
    const late = (): number => Math.round(performance.now() - started - planned.deadline);
    try {
      const value = await store.get<string>(SERVICE, [planned.ms, planned.tag], { timeoutMs: planned.deadline });
      return { call: planned, kind: value === `v:${planned.tag}` ? 'ok' : 'wrong', late: late(), detail: value };
    } catch (error) {
      const e = error as Error;
      return { call: planned, kind: e instanceof TimeoutError ? 'TimeoutError' : 'other', late: late(), detail: `${e.name}: ${e.message}` };
    }
  }

  it('1,000 calls: each resolves right or times out by deadline + 250 ms; late results are cached for the next caller', async () => {
    const planned = plan();
    // How late this process's own timers ran: a call settling late because the machine
    // starved this process shows here too.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const outcomes = await Promise.all(planned.map((p, i) => call(stores[i % 2] as RedisStore, p)));
    loopDelay.disable();
    const stalled = `this process's event loop was up to ${Math.round(loopDelay.max / 1e6)} ms late`;

    const count = (kind: Outcome['kind']): number => outcomes.filter((o) => o.kind === kind).length;
    const timeouts = outcomes.filter((o) => o.kind === 'TimeoutError');
    const lateness = timeouts.map((o) => o.late);
    console.log(
      `deadlines: ${CALLS} calls (${DISTINCT} distinct requests, 5 ms-5 s each; deadlines 50 ms-20 s): ` +
        `${count('ok')} answered, ${timeouts.length} TimeoutError, ${count('wrong')} wrong, ${count('other')} other; ` +
        `timeouts settled ${Math.min(...lateness)} to ${Math.max(...lateness)} ms after their deadline (${stalled})`,
    );
    // Every call: the right value, or a TimeoutError at most 250 ms after its deadline and
    // never before it. Deadlines are kept on the monotonic clock this test measures with
    // (performance.now): when they were kept on the wall clock, a CI run had 7 calls time
    // out 28-45 ms early, the wall clock having moved faster than the monotonic one.
    const bad = outcomes.filter(
      (o) => !(o.kind === 'ok' || (o.kind === 'TimeoutError' && o.late <= LATE_MS && o.late >= 0)),
    );
    expect(bad.slice(0, 5), `${bad.length} calls broke their deadline or went wrong; ${stalled}`).toEqual([]);
    // Both kinds happened, so both were checked.
    expect(count('ok')).toBeGreaterThan(100);
    expect(timeouts.length).toBeGreaterThan(100);

    // Computations go on when their callers give up: wait until nothing is queued or
    // running (a request is in the pending set from its registration to its completion).
    const k = serviceKeys('memocell', SERVICE);
    await expect
      .poll(async () => (await raw.llen(k.gets)) + (await raw.llen(k.prefetches)) + (await raw.zcard(k.pending)), {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(0);
    const computedBefore = await raw.hgetall(`count:${SERVICE}`);
    const fieldOf = (o: Outcome): string => JSON.stringify([o.call.ms, o.call.tag]);

    const byTag = new Map<string, Outcome[]>();
    for (const o of outcomes) byTag.set(o.call.tag, [...(byTag.get(o.call.tag) ?? []), o]);
    const timedOutTags = [...byTag].filter(([, os]) => os.some((o) => o.kind === 'TimeoutError'));
    // Requests computed although every caller had given up: their results came late.
    const late = timedOutTags.filter(
      ([, os]) => os.every((o) => o.kind === 'TimeoutError') && computedBefore[fieldOf(os[0]!)] !== undefined,
    );
    // Every request was computed, even one whose every call timed out before it reached
    // Redis (a 50 ms deadline in the opening burst of a loaded machine): a call that is
    // late still registers its request.
    const notComputed = [...byTag].filter(([, os]) => computedBefore[fieldOf(os[0]!)] === undefined);
    expect(notComputed.map(([tag]) => tag)).toEqual([]);
    expect(late.length).toBeGreaterThan(10);

    // The next caller of any request that timed out gets the late result, not a recomputation.
    const again = await Promise.all(
      timedOutTags.map(([tag, os]) => stores[1]!.get<string>(SERVICE, [os[0]!.call.ms, tag], { timeoutMs: 10_000 })),
    );
    expect(again).toEqual(timedOutTags.map(([tag]) => `v:${tag}`));
    const perRequest = await raw.hgetall(`count:${SERVICE}`);
    const twice = Object.entries(perRequest).filter(([, n]) => n !== '1');
    expect(twice).toEqual([]);
    expect(Object.keys(perRequest)).toHaveLength(DISTINCT);
    console.log(
      `deadlines: ${timedOutTags.length} requests had a caller time out; ${late.length} were computed after every caller ` +
        `had gone, and all ${timedOutTags.length} were answered to the next caller without a second computation; ` +
        `${DISTINCT} requests, ${DISTINCT} computations`,
    );
  }, 90_000);

  it('a call that times out before its request reaches Redis still has it computed for the next caller', async () => {
    // A fresh store looks a request up with a plain GET first; Redis paused, the lookup
    // outlives the call's deadline.
    const store = createRedisStore({ redis: redis.url });
    try {
      const started = performance.now();
      await raw.call('CLIENT', 'PAUSE', '500', 'ALL');
      const outcome = await store.get(SERVICE, [200, 'paused'], { timeoutMs: 100 }).catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(TimeoutError);
      expect(performance.now() - started).toBeLessThan(100 + LATE_MS);
      const field = JSON.stringify([200, 'paused']);
      await expect.poll(() => raw.hget(`count:${SERVICE}`, field), { timeout: 10_000 }).toBe('1');
      await expect.poll(() => raw.zcard(serviceKeys('memocell', SERVICE).pending), { timeout: 10_000 }).toBe(0);
      expect(await store.get(SERVICE, [200, 'paused'], { timeoutMs: 5_000 })).toBe('v:paused');
      expect(await raw.hget(`count:${SERVICE}`, field)).toBe('1');
    } finally {
      await store.close();
    }
  }, 30_000);
});
