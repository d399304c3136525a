/**
 * The bridge's store on both stores: one call shape for local and remote memoised
 * functions, a per-process L1 of cells, and invalidation through `forget`.
 */
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cell, connect, RemoteError, type Store } from '../../src/index.js';
import { Cluster } from 'ioredis';
import { startCluster, type RedisClusterHandle } from '../support/cluster.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle | undefined;
let cluster: RedisClusterHandle | undefined;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startCluster()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

/** Two stores that share data: two connections to one Redis, or the one embedded store twice. */
const flavours: Array<[string, () => [Store, Store]]> = [
  [
    'embedded store',
    () => {
      const embedded = connect();
      return [embedded, embedded];
    },
  ],
  ['Redis store', () => [connect((redis as RedisServerHandle).url), connect((redis as RedisServerHandle).url)]],
  [
    'Redis Cluster store',
    () => [
      connect(new Cluster((cluster as RedisClusterHandle).startupNodes)),
      connect(new Cluster((cluster as RedisClusterHandle).startupNodes)),
    ],
  ],
];

let counter = 0;
const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

describe.each(flavours)('bridge on the %s', (_name, open) => {
  let store: Store;
  let other: Store;
  beforeAll(() => {
    [store, other] = open();
  });
  afterAll(async () => {
    await store.close();
    if (other !== store) await other.close();
  });

  it('a memoised function is computed by a server once, then served from the L1', async () => {
    let runs = 0;
    const square = store.memo(unique('square'), async (n: number) => {
      runs++;
      return n * n;
    });
    store.serve(square);
    expect(await square(12)).toBe(144);
    expect(await square(12)).toBe(144);
    expect(runs).toBe(1);
    // The L1 answered the second call: the store saw one get.
    expect((await store.distributed.stats(square.service)).hits).toBe(0);
    expect(square.peek(12)).toBe(144);
  });

  it('a remote stub calls a function served elsewhere, with the same API', async () => {
    const name = unique('double');
    const served = other.memo(name, (n: number) => n * 2);
    other.serve(served);
    const double = store.remote<[number], number>(name);
    expect(await double(21)).toBe(42);
    expect(double.body).toBeUndefined();
    expect(() => store.serve(double)).toThrow(/no body/);
  });

  it('forget drops the result everywhere: the next call recomputes', async () => {
    let version = 0;
    const f = store.memo(unique('versioned'), () => `v${++version}`);
    store.serve(f);
    expect(await f()).toBe('v1');
    expect(await f()).toBe('v1');
    await f.forget();
    expect(await f()).toBe('v2');
  });

  it('an observed result re-emits after it is forgotten (here or in another store)', async () => {
    let version = 0;
    const name = unique('live');
    const f = store.memo(name, (k: string) => `${k}:${++version}`);
    store.serve(f);
    const seen: string[] = [];
    const emitted = firstValueFrom(f.observe('a').pipe(take(3), toArray()));
    const sub = f.observe('a').subscribe((v) => seen.push(v));
    // Each forget waits for the value before it: one made while the first is still
    // being computed would forget nothing (a loaded machine took longer than a fixed 50 ms).
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);
    await f.forget('a');
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    // A forget from another store (another process, on Redis) reaches this one too.
    const remote = other.remote<[string], string>(name);
    await remote.forget('a');
    expect(await emitted).toEqual(['a:1', 'a:2', 'a:3']);
    sub.unsubscribe();
  });

  it('a cell reading a remote result through its context recomputes when it is forgotten', async () => {
    let version = 0;
    const f = store.memo(unique('incell'), (n: number) => n * 10 + ++version);
    store.serve(f);
    const total = cell(async (ctx) => (await ctx.get(f.cell(1))) + 1000);
    const seen: number[] = [];
    const sub = total.observe().subscribe((v) => seen.push(v));
    await new Promise((r) => setTimeout(r, 100));
    await f.forget(1);
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    expect(seen).toEqual([1011, 1012]);
  });

  it('recursion through the store completes: re-entrant calls lend their slot', async () => {
    const fib = store.memo(unique('fib'), async (n: number): Promise<number> => (n < 2 ? n : (await fib(n - 1)) + (await fib(n - 2))));
    store.serve(fib, { concurrency: 1 });
    expect(await fib(25)).toBe(75_025);
  });

  it('errors reach the caller as RemoteError and are not kept in the L1', async () => {
    let fail = true;
    const f = store.memo(unique('flaky'), () => {
      if (fail) throw new Error('not yet');
      return 'ok';
    });
    store.serve(f);
    await expect(f()).rejects.toBeInstanceOf(RemoteError);
    fail = false;
    await new Promise((r) => setTimeout(r, 10));
    expect(await f()).toBe('ok');
  });

  describe('shared inputs and dependencies', () => {

    it('a chain f -> g -> shared input: setting the input (from another store) recomputes f, and its observers see it', async () => {
      const rate = store.input(unique('rate'), 2);
      let gRuns = 0;
      let fRuns = 0;
      const g = store.memo(unique('g'), async (x: number) => {
        gRuns++;
        return x * (await rate.get());
      });
      const f = store.memo(unique('f'), async (x: number) => {
        fRuns++;
        return `f(${await g(x)})`;
      });
      store.serve(g);
      store.serve(f, { concurrency: 2 });
      expect(await f(10)).toBe('f(20)');
      expect(await f(10)).toBe('f(20)');
      expect([fRuns, gRuns]).toEqual([1, 1]);
      const seen: string[] = [];
      const sub = f.observe(10).subscribe((v) => seen.push(v));
      await new Promise((r) => setTimeout(r, 50));
      // Another process (on Redis) sets the input: the store forgets g(10) and f(10).
      const sameRate = other.input<number>(rate.name);
      await sameRate.set(3);
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      sub.unsubscribe();
      expect(seen).toEqual(['f(20)', 'f(30)']);
      expect(await f(10)).toBe('f(30)');
      expect(await rate.get()).toBe(3);
      expect([fRuns, gRuns]).toEqual([2, 2]);
    });

    it('an input keeps its value: a second store with another initial value does not overwrite it', async () => {
      const name = unique('kept');
      const first = store.input(name, 'first');
      expect(await first.get()).toBe('first');
      const second = other.input(name, 'second');
      expect(await second.get()).toBe('first');
    });
  });
});
