/**
 * Redis faults (issue: survive faults): Redis frozen (SIGSTOP), paused (CLIENT PAUSE),
 * its connections killed over and over (CLIENT KILL), cut and slowed by a TCP proxy, and
 * restarted with and without persistence. A server runs in a child process; calls are
 * made here. What must hold each time: every call settles, with the right value or a
 * typed error, by its deadline + 250 ms; no unhandled rejection; and service resumes.
 *
 * Scaled for CI: CLIENT KILL runs every 500 ms for 10 s (not 30 s).
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisStore,
  RemoteError,
  StoreClosedError,
  TimeoutError,
  type RedisStore,
} from '../../src/distributed/index.js';
import { startNode, type Child } from '../support/processes.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const SERVER = 'test/distributed/fixtures/server.mjs';
const LATE_MS = 250;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

type Outcome = 'ok' | 'wrong' | 'TimeoutError' | 'RemoteError' | 'StoreClosedError' | `other:${string}`;
interface Settled {
  readonly outcome: Outcome;
  /** How long after its deadline it settled (negative: before). */
  readonly late: number;
  readonly detail: string;
}

/** Makes a call with a deadline and records how and when it settled. */
async function timed(
  call: (timeoutMs: number) => Promise<unknown>,
  deadlineMs: number,
  expected: unknown,
): Promise<Settled> {
  const started = Date.now();
  try {
    const value = await call(deadlineMs);
    return {
      outcome: value === expected ? 'ok' : 'wrong',
      late: Date.now() - started - deadlineMs,
      detail: String(value),
    };
  } catch (error) {
    const e = error as Error;
    const outcome: Outcome =
      e instanceof TimeoutError || e instanceof RemoteError || e instanceof StoreClosedError
        ? (e.name as Outcome)
        : `other:${e?.name}: ${e?.message}`;
    return { outcome, late: Date.now() - started - deadlineMs, detail: e.message };
  }
}

function summarize(results: readonly Settled[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
}

/** Every call settled with the right value, or a TimeoutError by its deadline + 250 ms. */
function expectSettledInTime(results: readonly Settled[], label = expect.getState().currentTestName ?? ''): void {
  const failures = results.filter((r) => r.outcome !== 'ok');
  const latest = failures.length === 0 ? 'no failures' : `latest failure ${Math.max(...failures.map((r) => r.late))} ms after its deadline`;
  // Figures for RELIABILITY.md: outcomes, and how late after its deadline the latest failure came.
  console.log(`${label}: ${JSON.stringify(summarize(results))}, ${latest}`);
  const bad = results.filter((r) => r.outcome !== 'ok' && (r.outcome !== 'TimeoutError' || r.late > LATE_MS));
  expect(bad, JSON.stringify(summarize(results))).toEqual([]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Redis faults', () => {
  let redis: RedisServerHandle;
  let admin: Redis;
  const children: Child[] = [];
  const stores: RedisStore[] = [];
  let tagSeq = 0;
  const tag = (): string => `t${++tagSeq}`;

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await startRedis();
    admin = new Redis(redis.url, { lazyConnect: false });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await Promise.all(stores.splice(0).map((s) => s.close()));
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    admin?.disconnect();
    await redis?.stop();
  });

  function store(url = redis.url): RedisStore {
    const s = createRedisStore({ redis: url, timeoutMs: 10_000 });
    stores.push(s);
    return s;
  }

  async function server(url = redis.url, concurrency = 4): Promise<Child> {
    const child = startNode(SERVER, ['work,kept', String(concurrency), '2000'], { REDIS_URL: url });
    children.push(child);
    await child.waitFor(/^ready /, 20_000);
    return child;
  }

  /** Calls `work` with the given deadlines; each computes for `ms` and answers `tag@pid`. */
  function calls(s: RedisStore, deadlines: readonly number[], ms: number): Promise<Settled[]> {
    return Promise.all(
      deadlines.map((deadline) => {
        const t = tag();
        return timed(
          (timeoutMs) => s.get<string>('work', [ms, t], { timeoutMs }).then((v) => v.replace(/@\d+$/, '')),
          deadline,
          t,
        );
      }),
    );
  }

  it('Redis frozen (SIGSTOP) for 5 s: every call settles by its deadline; service resumes', async () => {
    await server();
    const s = store();
    expect((await calls(s, [5_000], 10))[0]?.outcome).toBe('ok');
    const deadlines = Array.from({ length: 40 }, (_, i) => 500 + i * 200); // 0.5 s to 8.3 s
    const running = calls(s, deadlines, 50);
    await sleep(100);
    redis.pause();
    await sleep(5_000);
    redis.resume();
    const results = await running;
    expectSettledInTime(results);
    // Calls with deadlines well past the freeze were answered.
    expect(results.filter((_, i) => (deadlines[i] as number) >= 8_000).every((r) => r.outcome === 'ok')).toBe(true);
    const after = await calls(s, [5_000, 5_000], 10);
    expect(after.map((r) => r.outcome)).toEqual(['ok', 'ok']);
  }, 60_000);

  it('CLIENT PAUSE: calls wait it out when their deadline allows, else time out in time', async () => {
    await server();
    const s = store();
    expect((await calls(s, [5_000], 10))[0]?.outcome).toBe('ok');
    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    const results = await calls(s, [1_000, 1_000, 8_000, 8_000], 10);
    expectSettledInTime(results);
    expect(results.map((r) => r.outcome)).toEqual(['TimeoutError', 'TimeoutError', 'ok', 'ok']);
  }, 30_000);

  it('CLIENT KILL every 500 ms for 10 s: every call settles right or in time, and nearly all are answered', async () => {
    await server();
    const s = store();
    const killer = new Redis(redis.url);
    let kills = 0;
    const killing = setInterval(() => {
      void killer
        .call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
        .then((n) => (kills += Number(n)))
        .catch(() => {});
    }, 500);
    const results: Settled[] = [];
    const until = Date.now() + 10_000;
    try {
      // Waves of calls for the whole period, each with a 5 s deadline.
      while (Date.now() < until) results.push(...(await calls(s, Array(20).fill(5_000), 20)));
    } finally {
      clearInterval(killing);
      killer.disconnect();
    }
    expectSettledInTime(results);
    expect(kills).toBeGreaterThan(10);
    const answered = results.filter((r) => r.outcome === 'ok').length;
    console.log(`CLIENT KILL x${kills} connections: ${answered}/${results.length} calls answered`, summarize(results));
    // Before waits were registered again after a reconnection, about 1 in 1,000 was lost.
    expect(answered).toBeGreaterThanOrEqual(Math.floor(results.length * 0.98));
    const after = await calls(s, [5_000, 5_000], 10);
    expect(after.map((r) => r.outcome)).toEqual(['ok', 'ok']);
  }, 60_000);

  describe('through a TCP proxy', () => {
    let proxy: TcpProxy;
    beforeAll(async () => {
      proxy = await startTcpProxy(redis.port);
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('with 30 ms latency each way calls are answered; cutting every connection every 300 ms loses none that has time', async () => {
      await server(proxy.url());
      const s = store(proxy.url());
      proxy.setLatency(30);
      const slow = await calls(s, Array(10).fill(5_000), 10);
      expect(summarize(slow)).toEqual({ ok: 10 });
      proxy.setLatency(0);
      let cuts = 0;
      const cutting = setInterval(() => (cuts += proxy.cutAll() > 0 ? 1 : 0), 300);
      const results: Settled[] = [];
      try {
        for (let wave = 0; wave < 5; wave++) results.push(...(await calls(s, Array(20).fill(8_000), 100)));
      } finally {
        clearInterval(cutting);
      }
      expectSettledInTime(results);
      expect(cuts).toBeGreaterThan(0);
      console.log(`proxy cuts x${cuts}:`, summarize(results));
      const after = await calls(s, [5_000], 10);
      expect(after[0]?.outcome).toBe('ok');
    }, 90_000);
  });

  it('Redis restarted without persistence: calls in flight fail typed by their deadline; new calls succeed within 5 s', async () => {
    await server();
    const s = store();
    expect((await calls(s, [5_000], 10))[0]?.outcome).toBe('ok');
    const inFlight = calls(s, Array(10).fill(3_000), 1_500);
    await sleep(300);
    await redis.restart();
    const restarted = Date.now();
    const results = await inFlight;
    expectSettledInTime(results);
    expect(results.every((r) => r.outcome === 'TimeoutError')).toBe(true);
    // New calls succeed within 5 s of the restart (retrying until then).
    let answered = false;
    while (!answered && Date.now() - restarted < 5_000) {
      const [r] = await calls(s, [1_000], 10);
      answered = r?.outcome === 'ok';
    }
    expect(answered).toBe(true);
  }, 60_000);
});

describe('Redis restarted with persistence (appendfsync always)', () => {
  let redis: RedisServerHandle;
  const children: Child[] = [];
  let s: RedisStore | undefined;

  beforeAll(async () => {
    redis = await startRedis({ persistence: true });
  });
  afterAll(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await s?.close();
    await redis?.stop();
  });

  it('nothing acknowledged is lost: saved and cached results survive, acknowledged prefetches are computed', async () => {
    s = createRedisStore({ redis: redis.url, timeoutMs: 10_000 });
    await s.save('kept', [0, 'saved'], 'saved-value', { ttlSeconds: 600 });
    // Prefetches acknowledged while no server runs: they wait in the queue.
    await Promise.all(Array.from({ length: 20 }, (_, i) => s!.prefetch('kept', [10, `p${i}`])));
    await redis.restart();
    const child = startNode(SERVER, ['kept', '4', '2000'], { REDIS_URL: redis.url });
    children.push(child);
    await child.waitFor(/^ready /, 20_000);
    expect(await s.get('kept', [0, 'saved'])).toBe('saved-value');
    const raw = new Redis(redis.url);
    try {
      // Every acknowledged prefetch was computed once, and its result is cached.
      await expect.poll(async () => Number(await raw.get('count:kept')), { timeout: 10_000 }).toBe(20);
      const values = await Promise.all(Array.from({ length: 20 }, (_, i) => s!.get<string>('kept', [10, `p${i}`])));
      expect(values.map((v) => v.replace(/@\d+$/, ''))).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
      expect(Number(await raw.get('count:kept'))).toBe(20);
    } finally {
      raw.disconnect();
    }
  }, 60_000);
});
