/**
 * Model-based test of a store: random sequences of get / concurrent gets / prefetch /
 * forget / save on two services (one whose handler keeps its results, one whose handler
 * does not), compared after every step with a plain Map.
 *
 * The handler's result is a deterministic function of its arguments and of how many
 * times it ran for them (`c<n>.<count>`), so the model predicts every value: a get of a
 * cached key returns the cached value without running the handler (a hit); otherwise the
 * handler runs once more and its result is cached only on the keeping service. Every
 * step also checks the handler's call counts and the store's hit and miss counters.
 *
 * No step leaves work in flight, so steps never race each other: concurrent gets are
 * held in the handler until all are registered, and a prefetch is followed until its
 * server reports nothing in flight. Arguments come in structurally equal forms (key order,
 * an `undefined` property) that must name the same request.
 *
 * `storeModelSuite` takes a store factory, so the same run checks the Redis store.
 * FC_NUM_RUNS sets the number of runs.
 */
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keep } from '../../src/distributed/keep.js';
import { createEmbeddedStore } from '../../src/distributed/embedded-store.js';
import type { Args, DistributedStore, ServerHandle } from '../../src/distributed/types.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { eventually, uniqueService, type MakeStore, type StoreFixture } from './contract.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS) || 40;
const KEYS = 3;
/** Service 0 keeps its results, service 1 does not. */
const KEPT = 0;
const PLAIN = 1;
const FORMS = 3;

type Svc = typeof KEPT | typeof PLAIN;

/** What the store should hold and have done. */
interface Model {
  /** Cached values by `${svc}:${n}`. */
  readonly cache: Map<string, string>;
  /** Handler runs by `${svc}:${n}`. */
  readonly calls: Map<string, number>;
  /**
   * Bounds of the stats counters, summed over both services. Exact except after
   * concurrent identical gets, which a store may register (and count) once.
   */
  readonly hits: Bounds;
  readonly misses: Bounds;
  saves: number;
}

interface Bounds {
  min: number;
  max: number;
}

function add(b: Bounds, min: number, max = min): void {
  b.min += min;
  b.max += max;
}

/** The store under test and what its handlers saw. */
class Real {
  readonly services: readonly [string, string];
  readonly calls = new Map<string, number>();
  /** Handler runs that have returned. */
  finished = 0;
  /** While set, handlers wait for it (so concurrent gets all find the request pending). */
  hold: Deferred<void> | undefined;
  private readonly handles: ServerHandle[] = [];

  constructor(readonly store: DistributedStore) {
    this.services = [uniqueService('model-kept'), uniqueService('model-plain')];
    for (const svc of [KEPT, PLAIN] as const) {
      this.handles.push(
        store.serve(
          this.services[svc],
          async (args) => {
            const n = (args[0] as { n: number }).n;
            const k = key(svc, n);
            const count = (this.calls.get(k) ?? 0) + 1;
            this.calls.set(k, count);
            const hold = this.hold;
            if (hold !== undefined) await hold.promise;
            await Promise.resolve();
            this.finished++;
            const value = `c${n}.${count}`;
            return svc === KEPT ? keep(value, { ttlSeconds: 3_600 }) : value;
          },
          { concurrency: 2 },
        ),
      );
    }
  }

  async stop(): Promise<void> {
    this.hold?.resolve();
    await Promise.all(this.handles.map((h) => h.stop()));
  }
}

function key(svc: Svc, n: number): string {
  return `${svc}:${n}`;
}

/** Structurally equal argument lists of one request, in different forms. */
function argsOf(n: number, form: number): Args {
  if (form === 0) return [{ n, tag: 'x' }];
  if (form === 1) return [{ tag: 'x', n }];
  return [{ extra: undefined, n, tag: 'x' }];
}

/** The model's answer to a get, updating it as the store should update itself. */
function predictGet(m: Model, svc: Svc, n: number): { value: string; hit: boolean } {
  const k = key(svc, n);
  const cached = m.cache.get(k);
  if (cached !== undefined) {
    add(m.hits, 1);
    return { value: cached, hit: true };
  }
  add(m.misses, 1);
  const count = (m.calls.get(k) ?? 0) + 1;
  m.calls.set(k, count);
  const value = `c${n}.${count}`;
  if (svc === KEPT) m.cache.set(k, value);
  return { value, hit: false };
}

async function checkCounters(m: Model, r: Real): Promise<void> {
  expect(Object.fromEntries(r.calls)).toEqual(Object.fromEntries(m.calls));
  // Counters may settle after the call that moved them returns (a client may report hits later).
  await eventually(async () => {
    const [kept, plain] = await Promise.all(r.services.map((s) => r.store.stats(s)));
    const hits = (kept?.hits ?? 0) + (plain?.hits ?? 0);
    const misses = (kept?.misses ?? 0) + (plain?.misses ?? 0);
    expect(hits, `hits within [${m.hits.min}, ${m.hits.max}]`).toBeGreaterThanOrEqual(m.hits.min);
    expect(hits, `hits within [${m.hits.min}, ${m.hits.max}]`).toBeLessThanOrEqual(m.hits.max);
    expect(misses, `misses within [${m.misses.min}, ${m.misses.max}]`).toBeGreaterThanOrEqual(m.misses.min);
    expect(misses, `misses within [${m.misses.min}, ${m.misses.max}]`).toBeLessThanOrEqual(m.misses.max);
  });
}

/** Handler runs the model expects for one service: each answered by one server. */
function callsOf(m: Model, svc: Svc): number {
  let sum = 0;
  for (const [k, count] of m.calls) if (k.startsWith(`${svc}:`)) sum += count;
  return sum;
}

type Cmd = fc.AsyncCommand<Model, Real>;

class GetCmd implements Cmd {
  constructor(
    readonly svc: Svc,
    readonly n: number,
    readonly form: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const expected = predictGet(m, this.svc, this.n);
    expect(await r.store.get(r.services[this.svc], argsOf(this.n, this.form))).toBe(expected.value);
    await checkCounters(m, r);
  }
  toString = (): string => `get(${this.svc}, ${this.n}/${this.form})`;
}

/** Several gets at once: one computation (or all hits), one value for all. */
class GetManyCmd implements Cmd {
  constructor(
    readonly svc: Svc,
    readonly n: number,
    readonly count: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const k = key(this.svc, this.n);
    const cached = m.cache.has(k);
    const callsBefore = m.calls.get(k) ?? 0;
    const expected = predictGet(m, this.svc, this.n);
    // The first get counted above; the others may share its registration (or lookup).
    add(cached ? m.hits : m.misses, 0, this.count - 1);
    const before = await r.store.stats(r.services[this.svc]);
    if (!cached) r.hold = deferred();
    try {
      const gets = Array.from({ length: this.count }, (_, i) => r.store.get(r.services[this.svc], argsOf(this.n, i % FORMS)));
      if (!cached) {
        // Held in the handler until every get has joined the one computation: each is
        // counted, or shares the first one's registration (then the count stops short).
        await eventually(() => expect(r.calls.get(k)).toBe(callsBefore + 1));
        await eventually(async () => expect((await r.store.stats(r.services[this.svc])).misses).toBe(before.misses + this.count), 100).catch(
          () => undefined,
        );
      }
      r.hold?.resolve();
      expect(await Promise.all(gets)).toEqual(Array.from({ length: this.count }, () => expected.value));
    } finally {
      r.hold?.resolve();
      r.hold = undefined;
    }
    await checkCounters(m, r);
  }
  toString = (): string => `getMany(${this.svc}, ${this.n}) x${this.count}`;
}

/**
 * A prefetch, followed until its server reports it answered, then a get: a hit. On the
 * plain service only what is cached is prefetched (a computed, uncached result would
 * vanish, and the get after it could race the end of that computation).
 */
class PrefetchCmd implements Cmd {
  constructor(
    readonly svc: Svc,
    readonly n: number,
    readonly form: number,
  ) {}
  check = (m: Readonly<Model>): boolean => this.svc === KEPT || m.cache.has(key(this.svc, this.n));
  async run(m: Model, r: Real): Promise<void> {
    const k = key(this.svc, this.n);
    const cached = m.cache.has(k);
    const finishedBefore = r.finished;
    await r.store.prefetch(r.services[this.svc], argsOf(this.n, this.form));
    if (!cached) {
      const count = (m.calls.get(k) ?? 0) + 1;
      m.calls.set(k, count);
      m.cache.set(k, `c${this.n}.${count}`);
      await eventually(() => expect(r.finished).toBe(finishedBefore + 1));
      // `served` counts answered requests: once it has moved, the result is stored.
      await eventually(async () => {
        const servers = await r.store.servers(r.services[this.svc]);
        expect(servers.reduce((sum, s) => sum + s.served, 0)).toBe(callsOf(m, this.svc));
      });
    }
    await checkCounters(m, r);
    const expected = predictGet(m, this.svc, this.n);
    expect(expected.hit).toBe(true);
    expect(await r.store.get(r.services[this.svc], argsOf(this.n, (this.form + 1) % FORMS))).toBe(expected.value);
    await checkCounters(m, r);
  }
  toString = (): string => `prefetch(${this.svc}, ${this.n}/${this.form}) + get`;
}

class ForgetCmd implements Cmd {
  constructor(
    readonly svc: Svc,
    readonly n: number,
    readonly form: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    m.cache.delete(key(this.svc, this.n));
    await r.store.forget(r.services[this.svc], argsOf(this.n, this.form));
    await checkCounters(m, r);
  }
  toString = (): string => `forget(${this.svc}, ${this.n}/${this.form})`;
}

class SaveCmd implements Cmd {
  constructor(
    readonly svc: Svc,
    readonly n: number,
    readonly form: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const value = `s${this.n}.${++m.saves}`;
    m.cache.set(key(this.svc, this.n), value);
    await r.store.save(r.services[this.svc], argsOf(this.n, this.form), value, { ttlSeconds: 3_600 });
    await checkCounters(m, r);
  }
  toString = (): string => `save(${this.svc}, ${this.n}/${this.form})`;
}

const svcArb = fc.constantFrom<Svc>(KEPT, PLAIN);
const nArb = fc.integer({ min: 0, max: KEYS - 1 });
const formArb = fc.integer({ min: 0, max: FORMS - 1 });

const commandsArb = fc.commands(
  [
    fc.tuple(svcArb, nArb, formArb).map(([s, n, f]) => new GetCmd(s, n, f)),
    fc.tuple(svcArb, nArb, fc.integer({ min: 2, max: 5 })).map(([s, n, c]) => new GetManyCmd(s, n, c)),
    fc.tuple(svcArb, nArb, formArb).map(([s, n, f]) => new PrefetchCmd(s, n, f)),
    fc.tuple(svcArb, nArb, formArb).map(([s, n, f]) => new ForgetCmd(s, n, f)),
    fc.tuple(svcArb, nArb, formArb).map(([s, n, f]) => new SaveCmd(s, n, f)),
  ],
  { maxCommands: 25 },
);

/**
 * Runs the model-based test against the stores `makeStore` makes. One store serves all
 * runs; each run has services of its own.
 */
export function storeModelSuite(name: string, makeStore: MakeStore, options: { readonly numRuns?: number } = {}): void {
  describe(name, () => {
    let fixture: StoreFixture;

    beforeAll(async () => {
      fixture = await makeStore();
    });

    afterAll(async () => {
      await fixture?.cleanup();
    });

    it('random get / prefetch / forget / save sequences agree with a map model', async () => {
      await fc.assert(
        fc.asyncProperty(commandsArb, async (cmds) => {
          const real = new Real(fixture.store);
          try {
            const model: Model = { cache: new Map(), calls: new Map(), hits: { min: 0, max: 0 }, misses: { min: 0, max: 0 }, saves: 0 };
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            // Nothing runs late (a prefetch that should have been a no-op, say).
            await new Promise((resolve) => setTimeout(resolve, 5));
            await checkCounters(model, real);
            const stats = await Promise.all(real.services.map((s) => fixture.store.stats(s)));
            const computations = stats.reduce((sum, s) => sum + s.computations, 0);
            expect(computations).toBe([...model.calls.values()].reduce((a, b) => a + b, 0));
            expect(stats.every((s) => s.errors === 0 && s.queued.gets === 0 && s.queued.prefetches === 0)).toBe(true);
          } finally {
            await real.stop();
          }
        }),
        { numRuns: options.numRuns ?? NUM_RUNS, endOnFailure: process.env.FC_END_ON_FAILURE === '1' },
      );
    });
  });
}

// Only when this file is the test being run: a Redis test file importing
// storeModelSuite should not run the embedded model again.
if (expect.getState().testPath === fileURLToPath(import.meta.url)) {
  storeModelSuite('embedded store model', async () => {
    const store = createEmbeddedStore();
    return { store, cleanup: () => store.close() };
  });
}
