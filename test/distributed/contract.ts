/**
 * The contract of a `DistributedStore`, written only against the interface so the same
 * suite runs on every implementation (the embedded store, the Redis store). Every test
 * uses service names of its own, so the tests can share one store (one Redis); the
 * servers a test starts are stopped after it.
 *
 * Waits are on events (gates the test opens, counters it polls), not on guessed sleeps,
 * except where time is the subject (TTL expiry, timeouts).
 */
import os from 'node:os';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/distributed/errors/remote-error.js';
import { StoreClosedError } from '../../src/distributed/errors/store-closed-error.js';
import { TimeoutError } from '../../src/distributed/errors/timeout-error.js';
import { TooLargeError } from '../../src/distributed/errors/too-large-error.js';
import { keep } from '../../src/distributed/keep.js';
import { requestKeyOf } from '../../src/distributed/keys.js';
import { canonicalKey } from '../../src/reactive/key.js';
import type { Args, DistributedStore, Handler, ServeOptions, ServerHandle } from '../../src/distributed/types.js';
import { deferred, type Deferred } from '../support/deferred.js';

export interface StoreFixture {
  readonly store: DistributedStore;
  /** Closes the store and frees what it holds; must tolerate a store already closed. */
  cleanup(): Promise<void>;
}

export type MakeStore = () => Promise<StoreFixture>;

/** A service name no other test (or earlier run on the same Redis) uses. */
export function uniqueService(label: string): string {
  return `t-${label}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Retries `check` until it stops throwing, for state that settles after a call returns. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 3_000, intervalMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await sleep(intervalMs);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` so a synchronous throw and a rejection look the same to `expect(...).rejects`. */
function attempt<T>(fn: () => Promise<T> | T): Promise<T> {
  return (async () => fn())();
}

/** A promise that settles or fails the test after `ms`, so a hang names what hung. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

export function contractSuite(name: string, makeStore: MakeStore): void {
  describe(name, () => {
    let fixture: StoreFixture;
    let store: DistributedStore;
    const handles: ServerHandle[] = [];
    const gates: Deferred<void>[] = [];

    beforeAll(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterAll(async () => {
      await fixture?.cleanup();
    });

    afterEach(async () => {
      for (const gate of gates.splice(0)) gate.resolve();
      const stopping = handles.splice(0).map((h) => within(h.stop(), 5_000, `stopping server ${h.id} of ${h.service}`));
      await Promise.all(stopping);
    });

    /** Starts a server that is stopped after the test. */
    function serve(service: string, handler: Handler, options?: ServeOptions): ServerHandle {
      const handle = store.serve(service, handler, options);
      handles.push(handle);
      return handle;
    }

    /** A gate handlers wait on; opened by the test, or after it at the latest. */
    function gate(): Deferred<void> {
      const g = deferred();
      gates.push(g);
      return g;
    }

    /**
     * Waits until `count` identical gets, made at once, have all joined the one held
     * computation: the handler has started, and each get is counted as a miss, or (a
     * store may do this) shares the first one's registration, so the count stops short.
     */
    async function allJoined(service: string, calls: () => number, count: number): Promise<void> {
      await eventually(() => expect(calls()).toBe(1));
      await eventually(async () => expect((await store.stats(service)).misses).toBe(count), 200).catch(() => undefined);
      const { misses } = await store.stats(service);
      expect(misses).toBeGreaterThanOrEqual(1);
      expect(misses).toBeLessThanOrEqual(count);
    }

    describe('get and serve', () => {
      it('a get returns what a server computes, for each argument list', async () => {
        const svc = uniqueService('basic');
        serve(svc, ([a, b]) => ({ sum: (a as number) + (b as number), list: [a, b], text: `${String(a)}+${String(b)}` }));
        expect(await store.get(svc, [2, 3])).toEqual({ sum: 5, list: [2, 3], text: '2+3' });
        expect(await store.get(svc, [10, -4])).toEqual({ sum: 6, list: [10, -4], text: '10+-4' });
      });

      it('async handlers work, and the handler sees its context', async () => {
        const svc = uniqueService('async');
        const seen: { service: string; args: Args; signal: boolean }[] = [];
        serve(svc, async (args, ctx) => {
          await sleep(5);
          seen.push({ service: ctx.service, args: ctx.args, signal: ctx.signal instanceof AbortSignal });
          return `async ${String(args[0])}`;
        });
        expect(await store.get(svc, ['x'])).toBe('async x');
        expect(seen).toEqual([{ service: svc, args: ['x'], signal: true }]);
      });

      it('results round-trip through the codec: null, undefined, strings, numbers, bytes', async () => {
        const svc = uniqueService('values');
        const values: Record<string, unknown> = { null: null, undefined: undefined, str: 'héllo ✓', num: -1.5, bool: false, nested: { a: [1, { b: null }] } };
        serve(svc, ([what]) => (what === 'bytes' ? Buffer.from([0, 1, 255]) : values[what as string]));
        for (const [k, v] of Object.entries(values)) expect(await store.get(svc, [k])).toEqual(v);
        const bytes = await store.get<Uint8Array>(svc, ['bytes']);
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect([...bytes]).toEqual([0, 1, 255]);
      });

      it('string results come back exactly: control characters, quotes, emoji, a lone surrogate, 200 KB of markup', async () => {
        const svc = uniqueService('strings');
        const markup = Array.from({ length: 2000 }, (_, i) => `<div class="row" data-i="${i}">"${i}"\t&amp;\r\n</div>`).join('');
        const texts: Record<string, string> = {
          empty: '',
          control: 'a\u0000b\nc\td\re\u001f',
          quotes: `"'\\ {"json":true}`,
          emoji: 'é ✓ 😀 \u2028',
          lone: 'x\ud800y\udc00',
          markup,
        };
        let calls = 0;
        serve(svc, ([what]) => {
          calls++;
          return keep(texts[what as string], { ttlSeconds: 60 });
        });
        for (const [name, text] of Object.entries(texts)) {
          expect(await store.get(svc, [name])).toBe(text);
          // Again, from the cache.
          expect(await store.get(svc, [name])).toBe(text);
          await store.save(svc, [name, 'saved'], text, { ttlSeconds: 60 });
          expect(await store.get(svc, [name, 'saved'])).toBe(text);
        }
        expect(calls).toBe(Object.keys(texts).length);
      });

      it('a get with no server waits for one to appear', async () => {
        const svc = uniqueService('late');
        const pending = store.get(svc, [1], { timeoutMs: 3_000 });
        await sleep(50);
        serve(svc, ([n]) => (n as number) + 1);
        expect(await pending).toBe(2);
      });

      it('callers never share mutable objects with the cache', async () => {
        const svc = uniqueService('copies');
        serve(svc, () => keep({ items: [1, 2] }, { ttlSeconds: 60 }));
        const first = await store.get<{ items: number[] }>(svc, [1]);
        first.items.push(3);
        expect(await store.get(svc, [1])).toEqual({ items: [1, 2] });

        const saved = { items: ['a'] };
        await store.save(svc, [2], saved, { ttlSeconds: 60 });
        saved.items.push('b');
        const got = await store.get<{ items: string[] }>(svc, [2]);
        expect(got).toEqual({ items: ['a'] });
        got.items.length = 0;
        expect(await store.get(svc, [2])).toEqual({ items: ['a'] });
      });
    });

    describe('caching', () => {
      it('a result is not cached unless the handler keeps it', async () => {
        const svc = uniqueService('nocache');
        let calls = 0;
        serve(svc, () => ++calls);
        expect(await store.get(svc, ['k'])).toBe(1);
        expect(await store.get(svc, ['k'])).toBe(2);
        expect(calls).toBe(2);
        const stats = await store.stats(svc);
        expect(stats.hits).toBe(0);
      });

      it('a kept result is cached: the next get hits without running the handler', async () => {
        const svc = uniqueService('keep');
        let calls = 0;
        serve(svc, ([n]) => keep({ n, call: ++calls }, { ttlSeconds: 60 }));
        expect(await store.get(svc, [7])).toEqual({ n: 7, call: 1 });
        expect(await store.get(svc, [7])).toEqual({ n: 7, call: 1 });
        expect(await store.get(svc, [8])).toEqual({ n: 8, call: 2 });
        expect(calls).toBe(2);
        // Structurally equal arguments are the same request.
        const o = uniqueService('objkeys');
        let objCalls = 0;
        serve(o, () => keep(++objCalls, { ttlSeconds: 60 }));
        expect(await store.get(o, [{ a: 1, b: [2] }])).toBe(1);
        expect(await store.get(o, [{ b: [2], a: 1 }])).toBe(1);
        expect(await store.get(o, [{ b: [2], a: 1, c: undefined }])).toBe(1);
        expect(objCalls).toBe(1);
      });

      it('kept and saved results expire after their TTL', async () => {
        const svc = uniqueService('ttl');
        let calls = 0;
        serve(svc, ([n]) => keep(`${String(n)}#${++calls}`, { ttlSeconds: 1 }));
        expect(await store.get(svc, ['a'])).toBe('a#1');
        await store.save(svc, ['b'], 'saved', { ttlSeconds: 1 });
        expect(await store.get(svc, ['a'])).toBe('a#1');
        expect(await store.get(svc, ['b'])).toBe('saved');
        await sleep(1_150);
        expect(await store.get(svc, ['a'])).toBe('a#2');
        expect(await store.get(svc, ['b'])).toBe('b#3');
      });

      it('forget drops the cached result; the next get recomputes', async () => {
        const svc = uniqueService('forget');
        let calls = 0;
        serve(svc, () => keep(++calls, { ttlSeconds: 60 }));
        expect(await store.get(svc, [1])).toBe(1);
        expect(await store.get(svc, [1])).toBe(1);
        await store.forget(svc, [1]);
        expect(await store.get(svc, [1])).toBe(2);
        expect(await store.get(svc, [1])).toBe(2);
        // Forgetting what is not cached is harmless.
        await store.forget(svc, [99]);
        await store.forget(uniqueService('never'), [1]);
      });

      it('save stores a result: a get hits it without any server running', async () => {
        const svc = uniqueService('save');
        await store.save(svc, ['x', 1], { saved: true }, { ttlSeconds: 60 });
        expect(await store.get(svc, ['x', 1], { timeoutMs: 1_000 })).toEqual({ saved: true });
        let calls = 0;
        serve(svc, () => keep(++calls, { ttlSeconds: 60 }));
        expect(await store.get(svc, ['x', 1])).toEqual({ saved: true });
        // A save replaces a computed result.
        expect(await store.get(svc, ['y'])).toBe(1);
        await store.save(svc, ['y'], 'replaced', { ttlSeconds: 60 });
        expect(await store.get(svc, ['y'])).toBe('replaced');
        expect(calls).toBe(1);
      });
    });

    describe('invalidations', () => {
      it('report the request keys forgotten or replaced by save, and only while subscribed', async () => {
        const svc = uniqueService('inval');
        const seen: string[] = [];
        const subscription = store.invalidations(svc).subscribe((key) => seen.push(key));
        // A subscription over the network takes effect a moment later: listening says when.
        await store.listening(svc);
        await store.forget(svc, [1]);
        await store.save(svc, [{ b: 2, a: 1 }], 'x', { ttlSeconds: 10 });
        await eventually(() => expect(seen).toEqual([requestKeyOf(canonicalKey([1])), requestKeyOf(canonicalKey([{ a: 1, b: 2 }]))]));
        subscription.unsubscribe();
        await store.forget(svc, [2]);
        await sleep(50);
        expect(seen).toHaveLength(2);
      });

      it('forget and save reach every result computed from the one they change, transitively', async () => {
        const [a, b, c] = ['chainA', 'chainB', 'chainC'].map(uniqueService) as [string, string, string];
        const runs = { a: 0, b: 0, c: 0 };
        let version = 0;
        serve(c, ([x]) => {
          runs.c++;
          return keep(`c${String(x)}:${++version}`, { ttlSeconds: 60 });
        });
        serve(b, async ([x]) => {
          runs.b++;
          return keep(`b(${await store.get<string>(c, [x])})`, { ttlSeconds: 60 });
        }, { concurrency: 2 });
        serve(a, async ([x]) => {
          runs.a++;
          return keep(`a(${await store.get<string>(b, [x])})`, { ttlSeconds: 60 });
        }, { concurrency: 2 });
        expect(await store.get(a, [1])).toBe('a(b(c1:1))');
        expect(await store.get(a, [1])).toBe('a(b(c1:1))');
        expect(runs).toEqual({ a: 1, b: 1, c: 1 });
        await store.forget(c, [1]);
        expect(await store.get(a, [1])).toBe('a(b(c1:2))');
        expect(runs).toEqual({ a: 2, b: 2, c: 2 });
        // Forgetting the middle leaves what it read alone.
        await store.forget(b, [1]);
        expect(await store.get(a, [1])).toBe('a(b(c1:2))');
        expect(runs).toEqual({ a: 3, b: 3, c: 2 });
        // A saved replacement is a change too.
        await store.save(c, [1], 'saved', { ttlSeconds: 60 });
        expect(await store.get(a, [1])).toBe('a(b(saved))');
        expect(runs).toEqual({ a: 4, b: 4, c: 2 });
      });

      it('a computation that read something forgotten while it ran is computed again before anyone gets it', async () => {
        const [q, r] = ['raceQ', 'raceR'].map(uniqueService) as [string, string];
        let version = 0;
        serve(q, () => keep(`q${++version}`, { ttlSeconds: 60 }));
        const reached = gate();
        const open = gate();
        let rRuns = 0;
        serve(r, async () => {
          rRuns++;
          const read = await store.get<string>(q, []);
          reached.resolve();
          await open.promise; // the test forgets q while this run holds its old value
          return keep(`r(${read})`, { ttlSeconds: 60 });
        });
        const result = store.get(r, []);
        await reached.promise;
        await store.forget(q, []);
        open.resolve();
        // Never the mixed value r(q1): the run went stale, so r was computed again.
        expect(await result).toBe('r(q2)');
        expect(rRuns).toBe(2);
        expect(await store.get(r, [])).toBe('r(q2)');
        expect(rRuns).toBe(2);
      });

      it('a computation saved over while it ran is answered with the saved value', async () => {
        const svc = uniqueService('savedOver');
        const reached = gate();
        const open = gate();
        let runs = 0;
        serve(svc, async () => {
          runs++;
          reached.resolve();
          await open.promise;
          return keep('computed', { ttlSeconds: 60 });
        });
        const result = store.get(svc, []);
        await reached.promise;
        await store.save(svc, [], 'saved', { ttlSeconds: 60 });
        open.resolve();
        expect(await result).toBe('saved');
        expect(await store.get(svc, [])).toBe('saved');
        expect(runs).toBe(1);
      });
    });

    describe('errors', () => {
      it('a handler error reaches every waiter as a RemoteError, and is not cached', async () => {
        const svc = uniqueService('err');
        const open = gate();
        let calls = 0;
        serve(svc, async ([n]) => {
          calls++;
          await open.promise;
          throw new RangeError(`bad input ${String(n)}`);
        });
        const waits = [1, 2, 3].map(() => store.get(svc, [42]).then(() => undefined, (e: unknown) => e));
        await allJoined(svc, () => calls, 3);
        open.resolve();
        const errors = await Promise.all(waits);
        expect(calls).toBe(1);
        for (const e of errors) {
          expect(e).toBeInstanceOf(RemoteError);
          const r = e as RemoteError;
          expect(r.service).toBe(svc);
          expect(r.args).toEqual([42]);
          expect(r.remoteMessage).toBe('bad input 42');
          expect(r.remoteName).toBe('RangeError');
          expect(r.remoteStack).toContain('bad input 42');
          expect(r.chain).toEqual([{ service: svc, args: [42] }]);
          expect(r.message).toContain('bad input 42');
          expect(r.message).toContain(svc);
        }
        await expect(store.get(svc, [42])).rejects.toBeInstanceOf(RemoteError);
        expect(calls).toBe(2);
        await eventually(async () => expect((await store.stats(svc)).errors).toBe(2));
      });

      it('what a handler throws that is not an Error still arrives as a RemoteError', async () => {
        const svc = uniqueService('throwstr');
        serve(svc, () => {
          throw 'just a string'; // eslint-disable-line no-throw-literal
        });
        const e = (await store.get(svc, []).catch((x: unknown) => x)) as RemoteError;
        expect(e).toBeInstanceOf(RemoteError);
        expect(e.remoteMessage).toBe('just a string');
      });

      it('an error from a nested call carries the chain of requests', async () => {
        const a = uniqueService('chain-a');
        const b = uniqueService('chain-b');
        const c = uniqueService('chain-c');
        serve(c, ([x]) => {
          throw new Error(`c cannot do ${String(x)}`);
        });
        serve(b, async ([x]) => store.get(c, [(x as number) * 10]));
        serve(a, async ([x]) => store.get(b, [(x as number) + 1]));
        const e = (await store.get(a, [1]).catch((x: unknown) => x)) as RemoteError;
        expect(e).toBeInstanceOf(RemoteError);
        expect(e.service).toBe(a);
        expect(e.args).toEqual([1]);
        expect(e.remoteMessage).toBe('c cannot do 20');
        expect(e.remoteStack).toContain('c cannot do 20');
        expect(e.chain).toEqual([
          { service: a, args: [1] },
          { service: b, args: [2] },
          { service: c, args: [20] },
        ]);
      });

      it('a chain whose arguments JSON lacks (bigint, Map) still reaches the callers, and the servers go on', async () => {
        const inner = uniqueService('chain-big-inner');
        const outer = uniqueService('chain-big-outer');
        serve(inner, () => {
          throw new Error('inner fails');
        });
        serve(outer, async ([x]) => {
          if (x === 'ok') return 'fine';
          return store.get(inner, [10n ** 20n, new Map([[1, 2]])]);
        });
        const e = (await store.get(outer, [1]).catch((x: unknown) => x)) as RemoteError;
        expect(e).toBeInstanceOf(RemoteError);
        expect(e.remoteMessage).toBe('inner fails');
        expect(e.chain.map((r) => r.service)).toEqual([outer, inner]);
        // Readable arguments: the value itself (embedded) or its readable form (over Redis).
        expect([10n ** 20n, '100000000000000000000n']).toContainEqual(e.chain[1]?.args[0]);
        expect(await store.get(outer, ['ok'])).toBe('fine');
      });
    });

    describe('requests', () => {
      it('concurrent identical gets are computed once and all get the result', async () => {
        const svc = uniqueService('dedup');
        const open = gate();
        let calls = 0;
        serve(svc, async ([n]) => {
          calls++;
          await open.promise;
          return { n, call: calls };
        }, { concurrency: 4 });
        const waits = Array.from({ length: 6 }, (_, i) => store.get(svc, [i % 2 === 0 ? { n: 5 } : { pad: undefined, n: 5 }]));
        await allJoined(svc, () => calls, 6);
        open.resolve();
        const results = await Promise.all(waits);
        expect(calls).toBe(1);
        for (const r of results) expect(r).toEqual({ n: { n: 5 }, call: 1 });
        // Each waiter has its own copy.
        expect(new Set(results).size).toBe(6);
      });

      it('gets are served before prefetches', async () => {
        const svc = uniqueService('order');
        const busy = gate();
        const order: string[] = [];
        serve(svc, async ([what]) => {
          order.push(what as string);
          if (what === 'first') await busy.promise;
          return what;
        }, { concurrency: 1 });
        const first = store.get(svc, ['first']);
        await eventually(() => expect(order).toEqual(['first']));
        await store.prefetch(svc, ['p1']);
        await store.prefetch(svc, ['p2']);
        await store.prefetch(svc, ['p3']);
        const late = store.get(svc, ['g']);
        await eventually(async () => expect((await store.stats(svc)).queued).toEqual({ gets: 1, prefetches: 3 }));
        busy.resolve();
        expect(await first).toBe('first');
        expect(await late).toBe('g');
        await eventually(() => expect(order).toHaveLength(5));
        expect(order).toEqual(['first', 'g', 'p1', 'p2', 'p3']);
      });

      it('prefetch resolves without waiting; a later get hits (or joins) the result', async () => {
        const svc = uniqueService('prefetch');
        const open = gate();
        let calls = 0;
        let finished = 0;
        serve(svc, async ([n]) => {
          calls++;
          await open.promise;
          finished++;
          return keep((n as number) * 2, { ttlSeconds: 60 });
        });
        await store.prefetch(svc, [21]); // resolves although the handler is held
        await eventually(() => expect(calls).toBe(1));
        open.resolve();
        await eventually(() => expect(finished).toBe(1));
        expect(await store.get(svc, [21])).toBe(42);
        // Prefetching what is cached does nothing.
        await store.prefetch(svc, [21]);
        expect(await store.get(svc, [21])).toBe(42);
        await sleep(30);
        expect(calls).toBe(1);
        // A prefetch followed at once by a get: computed once.
        await store.prefetch(svc, [5]);
        expect(await store.get(svc, [5])).toBe(10);
        expect(calls).toBe(2);
      });

      it('a get times out with a TimeoutError naming the service and arguments', async () => {
        const svc = uniqueService('timeout');
        const started = Date.now();
        const e = (await store.get(svc, ['nobody', 1], { timeoutMs: 150 }).catch((x: unknown) => x)) as TimeoutError;
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
        expect(e).toBeInstanceOf(TimeoutError);
        expect(e.service).toBe(svc);
        expect(e.args).toEqual(['nobody', 1]);
        expect(e.timeoutMs).toBe(150);
        expect(e.message).toContain(svc);

        // A slow handler: the caller gives up, the computation still completes and is cached.
        const slow = uniqueService('slow');
        const open = gate();
        let calls = 0;
        serve(slow, async () => {
          calls++;
          await open.promise;
          return keep('late', { ttlSeconds: 60 });
        });
        await expect(store.get(slow, [1], { timeoutMs: 100 })).rejects.toBeInstanceOf(TimeoutError);
        open.resolve();
        await eventually(async () => expect(await store.get(slow, [1], { timeoutMs: 200 })).toBe('late'));
        expect(calls).toBe(1);
      });

      it('a handler may call its own service recursively without starving the pool', async () => {
        const svc = uniqueService('fact');
        let calls = 0;
        serve(svc, async ([n]) => {
          calls++;
          const k = n as number;
          return k <= 1 ? 1 : k * (await store.get<number>(svc, [k - 1]));
        }, { concurrency: 2 });
        expect(await store.get(svc, [20], { timeoutMs: 5_000 })).toBe(2432902008176640000);
        expect(calls).toBe(20);
      });

      it('re-entrancy with one slot: parallel nested calls share their results (fib DAG)', async () => {
        const svc = uniqueService('fib');
        const computed: number[] = [];
        serve(svc, async ([n]) => {
          const k = n as number;
          computed.push(k);
          if (k < 2) return keep(k, { ttlSeconds: 60 });
          const [a, b] = await Promise.all([store.get<number>(svc, [k - 1]), store.get<number>(svc, [k - 2])]);
          return keep(a + b, { ttlSeconds: 60 });
        }, { concurrency: 1 });
        expect(await store.get(svc, [15], { timeoutMs: 5_000 })).toBe(610);
        expect(computed.sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i));
      });

      it('a server computes up to `concurrency` requests at once', async () => {
        const svc = uniqueService('conc');
        let running = 0;
        let max = 0;
        serve(svc, async ([n]) => {
          running++;
          max = Math.max(max, running);
          await sleep(60);
          running--;
          return n;
        }, { concurrency: 3 });
        const results = await Promise.all([1, 2, 3, 4, 5].map((n) => store.get(svc, [n])));
        expect(results).toEqual([1, 2, 3, 4, 5]);
        expect(max).toBe(3);
      });

      it('the default concurrency is 1', async () => {
        const svc = uniqueService('conc1');
        let running = 0;
        let max = 0;
        serve(svc, async ([n]) => {
          running++;
          max = Math.max(max, running);
          await sleep(20);
          running--;
          return n;
        });
        await Promise.all([1, 2, 3].map((n) => store.get(svc, [n])));
        expect(max).toBe(1);
      });

      it('several servers of one service share the load', async () => {
        const svc = uniqueService('share');
        const open = gate();
        const by: string[] = [];
        const handler = (tag: string): Handler => async ([n]) => {
          by.push(tag);
          await open.promise;
          return n;
        };
        serve(svc, handler('one'), { concurrency: 1 });
        serve(svc, handler('two'), { concurrency: 1 });
        const waits = [1, 2].map((n) => store.get(svc, [n]));
        await eventually(() => expect(by).toHaveLength(2));
        expect([...by].sort()).toEqual(['one', 'two']);
        open.resolve();
        expect(await Promise.all(waits)).toEqual([1, 2]);
      });
    });

    describe('control', () => {
      it('stopServer is graceful: the request in flight finishes, no new one is taken', async () => {
        const svc = uniqueService('stop');
        const open = gate();
        const seen: number[] = [];
        const handle = serve(svc, async ([n]) => {
          seen.push(n as number);
          await open.promise;
          return (n as number) * 100;
        }, { id: `${svc}-server` });
        expect(handle.id).toBe(`${svc}-server`);
        expect(handle.service).toBe(svc);
        const inFlight = store.get(svc, [1]);
        await eventually(() => expect(seen).toEqual([1]));
        await store.stopServer(svc, handle.id);
        const after = store.get(svc, [2], { timeoutMs: 400 });
        open.resolve();
        expect(await inFlight).toBe(100);
        await within(handle.stopped, 2_000, 'stopped');
        await expect(after).rejects.toBeInstanceOf(TimeoutError);
        expect(seen).toEqual([1]);
      });

      it('ServerHandle.stop waits for in-flight work; queued work goes to another server', async () => {
        const svc = uniqueService('handover');
        const open = gate();
        const by: string[] = [];
        const first = serve(svc, async ([n]) => {
          by.push(`first:${String(n)}`);
          await open.promise;
          return `first:${String(n)}`;
        });
        const a = store.get(svc, ['a']);
        await eventually(() => expect(by).toEqual(['first:a']));
        const b = store.get(svc, ['b']);
        await eventually(async () => expect((await store.stats(svc)).queued.gets).toBe(1));
        let stopped = false;
        const stopping = first.stop().then(() => {
          stopped = true;
        });
        await sleep(20);
        expect(stopped).toBe(false);
        serve(svc, ([n]) => `second:${String(n)}`);
        expect(await b).toBe('second:b');
        open.resolve();
        expect(await a).toBe('first:a');
        await within(stopping, 2_000, 'stop()');
        expect(by).toEqual(['first:a']);
      });

      it('servers() lists live servers with their details, and drops a stopped one', async () => {
        const svc = uniqueService('registry');
        const before = Date.now();
        const handle = serve(svc, ([n]) => n, { id: `${svc}-a`, concurrency: 2 });
        const list = await eventually(async () => {
          const l = await store.servers(svc);
          expect(l).toHaveLength(1);
          return l;
        });
        const info = list[0]!;
        expect(info).toMatchObject({ id: `${svc}-a`, service: svc, host: os.hostname(), pid: process.pid, concurrency: 2, inFlight: 0, served: 0 });
        expect(info.started).toBeGreaterThanOrEqual(before - 1_000);
        expect(info.started).toBeLessThanOrEqual(Date.now() + 1_000);
        await store.get(svc, [1]);
        await store.get(svc, [2]);
        await eventually(async () => expect((await store.servers(svc))[0]?.served).toBe(2));
        await handle.stop();
        await eventually(async () => expect(await store.servers(svc)).toEqual([]));
        expect(await store.servers(uniqueService('none'))).toEqual([]);
      });

      it('services() lists every service a server has served, sorted, also after it stopped', async () => {
        const [a, b] = [uniqueService('names-a'), uniqueService('names-b')];
        const called = uniqueService('names-called');
        expect(await store.services()).not.toContain(a);
        const handle = serve(a, ([n]) => n);
        serve(b, ([n]) => n);
        await store.prefetch(called, [1]); // asked for, never served: not a known service
        const list = await eventually(async () => {
          const l = await store.services();
          expect(l).toEqual(expect.arrayContaining([a, b]));
          return l;
        });
        expect(list).toEqual([...list].sort());
        expect(list).not.toContain(called);
        await handle.stop();
        expect(await store.services()).toContain(a);
      });

      it('servers() shows requests in flight', async () => {
        const svc = uniqueService('inflight');
        const open = gate();
        serve(svc, async ([n]) => {
          await open.promise;
          return n;
        }, { concurrency: 2 });
        const waits = [1, 2].map((n) => store.get(svc, [n]));
        await eventually(async () => expect((await store.servers(svc))[0]?.inFlight).toBe(2));
        open.resolve();
        await Promise.all(waits);
        await eventually(async () => expect((await store.servers(svc))[0]?.inFlight).toBe(0));
      });

      it('stats() counts queues, hits, misses, computations and errors', async () => {
        const svc = uniqueService('stats');
        expect(await store.stats(svc)).toEqual({ service: svc, queued: { gets: 0, prefetches: 0 }, hits: 0, misses: 0, computations: 0, errors: 0 });
        const open = gate();
        serve(svc, async ([n]) => {
          if (n === 'hold') await open.promise;
          if (n === 'bad') throw new Error('bad');
          return keep(n, { ttlSeconds: 60 });
        });
        await store.get(svc, [1]);
        await store.get(svc, [1]);
        await store.get(svc, ['bad']).catch(() => undefined);
        await eventually(async () =>
          expect(await store.stats(svc)).toEqual({ service: svc, queued: { gets: 0, prefetches: 0 }, hits: 1, misses: 2, computations: 2, errors: 1 }),
        );
        const held = store.get(svc, ['hold']);
        await eventually(async () => expect((await store.stats(svc)).computations).toBe(3));
        const queuedGet = store.get(svc, [2]);
        await store.prefetch(svc, [3]);
        await eventually(async () => expect((await store.stats(svc)).queued).toEqual({ gets: 1, prefetches: 1 }));
        open.resolve();
        await Promise.all([held, queuedGet]);
        await eventually(async () =>
          expect(await store.stats(svc)).toEqual({ service: svc, queued: { gets: 0, prefetches: 0 }, hits: 1, misses: 4, computations: 5, errors: 1 }),
        );
      });

      it('setVerbose switches a server’s log without disturbing it', async () => {
        const svc = uniqueService('verbose');
        const handle = serve(svc, ([n]) => n, { id: `${svc}-v` });
        const write = process.stderr.write;
        process.stderr.write = (() => true) as typeof process.stderr.write; // keep the test output clean
        try {
          await store.setVerbose(svc, handle.id, true);
          expect(await store.get(svc, [1])).toBe(1);
          await store.setVerbose(svc, handle.id, false);
          expect(await store.get(svc, [2])).toBe(2);
        } finally {
          process.stderr.write = write;
        }
      });

      it('get$ emits the result once and completes; errors arrive as error notifications', async () => {
        const svc = uniqueService('observable');
        serve(svc, ([n]) => {
          if (n === 0) throw new Error('zero');
          return keep((n as number) + 1, { ttlSeconds: 60 });
        });
        expect(await lastValueFrom(store.get$(svc, [1]).pipe(toArray()))).toEqual([2]);
        expect(await lastValueFrom(store.get$(svc, [1]).pipe(toArray()))).toEqual([2]);
        await expect(lastValueFrom(store.get$(svc, [0]))).rejects.toBeInstanceOf(RemoteError);
      });
    });

    describe('bad input', () => {
      it('refuses bad arguments and names with a TypeError before anything happens', async () => {
        const svc = uniqueService('bad');
        let calls = 0;
        serve(svc, () => ++calls);
        const bad: Array<() => unknown> = [
          () => store.get(svc, 5 as unknown as Args),
          () => store.get(svc, 'abc' as unknown as Args),
          () => store.get(svc, [() => 1]),
          () => store.get(svc, [{ f: Symbol('s') }]),
          () => store.get('', [1]),
          () => store.get(42 as unknown as string, [1]),
          () => store.prefetch(svc, [() => 1]),
          () => store.forget(svc, 7 as unknown as Args),
          () => store.save(svc, [() => 1], 1, { ttlSeconds: 10 }),
          () => store.save(svc, [1], 1, { ttlSeconds: 0 }),
          () => store.save(svc, [1], 1, { ttlSeconds: -1 }),
          () => store.save(svc, [1], () => 1, { ttlSeconds: 10 }),
          () => store.save(svc, [1], 1, {} as { ttlSeconds: number }),
          () => store.get(svc, [1], { timeoutMs: -5 }),
          () => store.serve(svc, () => 1, { concurrency: 0 }),
          () => store.serve(svc, () => 1, { concurrency: 1.5 }),
          () => store.serve('', () => 1),
          () => store.serve(svc, 'not a function' as unknown as Handler),
        ];
        for (const [i, call] of bad.entries()) {
          const outcome = await attempt(call).then(
            () => 'resolved',
            (e: unknown) => e,
          );
          expect(outcome, `bad call #${i}`).toBeInstanceOf(TypeError);
        }
        const stats = await store.stats(svc);
        expect(stats.queued).toEqual({ gets: 0, prefetches: 0 });
        expect(stats.misses).toBe(0);
        expect(calls).toBe(0);
        expect(await store.get(svc, [1])).toBe(1);
        expect(await store.servers(svc)).toHaveLength(1);
      });

      it('__proto__ and constructor keys round-trip as plain data, in arguments and results, and touch no prototype', async () => {
        const svc = uniqueService('proto');
        let seen: unknown;
        serve(svc, ([arg]) => {
          seen = arg;
          return keep({ echo: arg, extra: JSON.parse('{"__proto__": {"fromResult": true}, "constructor": {"prototype": {"x": 1}}}') }, { ttlSeconds: 60 });
        });
        const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "a": 1}');
        const first = (await store.get(svc, [hostile])) as Record<string, unknown>;
        const cached = (await store.get(svc, [hostile])) as Record<string, unknown>;
        for (const result of [first, cached]) {
          expect(Object.getPrototypeOf(result.echo)).toBe(Object.prototype);
          expect(Object.prototype.hasOwnProperty.call(result.echo, '__proto__')).toBe(true);
          expect((result.echo as Record<string, unknown>)['__proto__']).toEqual({ polluted: true });
          expect(Object.prototype.hasOwnProperty.call(result.extra, '__proto__')).toBe(true);
        }
        expect(Object.prototype.hasOwnProperty.call(seen, '__proto__')).toBe(true);
        expect(Object.getPrototypeOf(seen)).toBe(Object.prototype);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(({} as Record<string, unknown>).fromResult).toBeUndefined();
        expect((Object.prototype as unknown as Record<string, unknown>).x).toBeUndefined();
      });

      it('a result the codec cannot encode fails every waiter with a RemoteError, kept or not', async () => {
        const svc = uniqueService('unencodable');
        serve(svc, ([how]) => {
          const bad = { when: new Map([[1, 2]]), f: () => 1 };
          return how === 'kept' ? keep(bad, { ttlSeconds: 60 }) : () => 1;
        });
        for (const how of ['kept', 'plain']) {
          const e = (await store.get(svc, [how]).catch((x: unknown) => x)) as RemoteError;
          expect(e, how).toBeInstanceOf(RemoteError);
          expect(e.remoteMessage).toMatch(/encode/i);
          expect(e.service).toBe(svc);
          expect(e.args).toEqual([how]);
        }
        // Nothing was cached.
        await expect(store.get(svc, ['kept'])).rejects.toBeInstanceOf(RemoteError);
      });
    });

    describe('size limits', () => {
      const MiB = 1024 * 1024;
      // `["…"]`: four characters of the canonical key around the string.
      const argsOf = (bytes: number): Args => ['x'.repeat(bytes - 4)];

      it('refuses arguments over maxRequestBytes (default 1 MiB) with a TooLargeError before anything is sent', async () => {
        const svc = uniqueService('bigargs');
        let calls = 0;
        serve(svc, ([s]) => {
          calls++;
          return (s as string).length;
        });
        const tooBig = argsOf(MiB + 1);
        for (const call of [
          () => store.get(svc, tooBig),
          () => store.prefetch(svc, tooBig),
          () => store.forget(svc, tooBig),
          () => store.save(svc, tooBig, 1, { ttlSeconds: 10 }),
        ]) {
          const e = (await attempt(call).catch((x: unknown) => x)) as TooLargeError;
          expect(e).toBeInstanceOf(TooLargeError);
          expect(e).toBeInstanceOf(RangeError);
          expect(e.what).toBe('arguments');
          expect(e.bytes).toBe(MiB + 1);
          expect(e.limit).toBe(MiB);
          expect(e.message).toMatch(/maxRequestBytes/);
        }
        expect((await store.stats(svc)).queued).toEqual({ gets: 0, prefetches: 0 });
        expect(calls).toBe(0);
        // Exactly at the limit is allowed; multi-byte characters count as their UTF-8 bytes.
        expect(await store.get(svc, argsOf(MiB))).toBe(MiB - 4);
        const e = await attempt(() => store.get(svc, ['é'.repeat(MiB / 2)])).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(TooLargeError);
        expect((e as TooLargeError).bytes).toBe(MiB + 4);
      });

      it('a result over maxResultBytes (default 16 MiB) fails its callers, is not cached, and the server goes on', async () => {
        const svc = uniqueService('bigresult');
        let calls = 0;
        serve(svc, ([n]) => {
          calls++;
          return keep('y'.repeat(n as number), { ttlSeconds: 60 });
        });
        const e = (await store.get(svc, [16 * MiB]).catch((x: unknown) => x)) as RemoteError;
        expect(e).toBeInstanceOf(RemoteError);
        expect(e.remoteName).toBe('TooLargeError');
        expect(e.remoteMessage).toMatch(/over the store's maxResultBytes \(16777216\)/);
        await expect(store.get(svc, [16 * MiB])).rejects.toBeInstanceOf(RemoteError);
        expect(calls).toBe(2);
        expect(await store.get(svc, [3])).toBe('yyy');
        const saved = (await attempt(() => store.save(svc, [1], 'z'.repeat(16 * MiB), { ttlSeconds: 10 })).catch(
          (x: unknown) => x,
        )) as TooLargeError;
        expect(saved).toBeInstanceOf(TooLargeError);
        expect(saved.what).toBe('result');
      });
    });

    describe('close', () => {
      it('close() rejects pending waits with StoreClosedError, and later calls too', async () => {
        const own = await makeStore();
        try {
          const svc = uniqueService('closing');
          const open = deferred();
          let started = false;
          own.store.serve(svc, async () => {
            started = true;
            await open.promise;
            return 1;
          });
          const running = own.store.get(svc, ['running']).catch((e: unknown) => e);
          const queued = own.store.get(svc, ['queued']).catch((e: unknown) => e);
          const noServer = own.store.get(uniqueService('noserver'), [1]).catch((e: unknown) => e);
          await eventually(() => expect(started).toBe(true));
          const closing = own.store.close();
          // Whether close() waits for the handler in flight is the store's choice: let it finish.
          open.resolve();
          await within(closing, 3_000, 'close()');
          expect(await queued).toBeInstanceOf(StoreClosedError);
          expect(await noServer).toBeInstanceOf(StoreClosedError);
          const r = await running;
          if (r !== 1) expect(r).toBeInstanceOf(StoreClosedError);
          await expect(attempt(() => own.store.get(svc, [1]))).rejects.toBeInstanceOf(StoreClosedError);
          await expect(attempt(() => own.store.prefetch(svc, [1]))).rejects.toBeInstanceOf(StoreClosedError);
          await within(own.store.close(), 1_000, 'second close()');
        } finally {
          await own.cleanup();
        }
      });
    });
  });
}
