import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cell, effect, input, type AsyncState } from '../../src/reactive/index.js';
import { deferred, type Deferred } from '../support/deferred.js';

/** Lets every pending microtask (promise continuation) run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A controllable async computation: each run waits on its own deferred, in order. */
function gated() {
  const gates: Array<Deferred<void>> = [];
  return {
    gates,
    wait(): Promise<void> {
      const g = deferred();
      gates.push(g);
      return g.promise;
    },
  };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  await drain();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('async cell: values', () => {
  it('state() is pending, then the value', async () => {
    const d = deferred<number>();
    let runs = 0;
    const c = cell(async () => {
      runs++;
      return d.promise;
    });
    expect(c.state()).toEqual({ status: 'pending', value: undefined, error: undefined });
    expect(runs).toBe(1);
    d.resolve(5);
    await drain();
    expect(c.state()).toEqual({ status: 'value', value: 5, error: undefined });
    expect(runs).toBe(1);
  });

  it('await c.get() gives the value, and the same Promise while nothing changed', async () => {
    const x = input(2);
    let runs = 0;
    const c = cell(async (ctx) => {
      runs++;
      return ctx.get(x) * 10;
    });
    const p = c.get();
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(20);
    expect(c.get()).toBe(p);
    expect(await c.get()).toBe(20);
    expect(runs).toBe(1);
  });

  it('settled() resolves with the value of the current run', async () => {
    const d = deferred<string>();
    const c = cell(async () => d.promise);
    const s = c.settled();
    d.resolve('done');
    await expect(s).resolves.toBe('done');
    await expect(c.settled()).resolves.toBe('done');
  });

  it('is lazy: nothing runs until read', () => {
    let runs = 0;
    cell(async () => {
      runs++;
      return 1;
    });
    expect(runs).toBe(0);
  });

  it('a dependency read before the first await is tracked', async () => {
    const x = input(1);
    let runs = 0;
    const c = cell(async (ctx) => {
      runs++;
      const v = ctx.get(x);
      await Promise.resolve();
      return v + 1;
    });
    expect(await c.get()).toBe(2);
    x.set(5);
    expect(await c.get()).toBe(6);
    expect(runs).toBe(2);
  });

  it('ctx.get(dep) after an await records the dependency: changing it later recomputes', async () => {
    const x = input(1);
    const unrelated = input(0);
    const gate = deferred();
    let runs = 0;
    const c = cell(async (ctx) => {
      runs++;
      await gate.promise;
      return ctx.get(x) * 10;
    });
    const p = c.get();
    gate.resolve();
    expect(await p).toBe(10);
    unrelated.set(1);
    expect(await c.get()).toBe(10);
    expect(runs).toBe(1);
    x.set(2);
    expect(await c.get()).toBe(20);
    expect(runs).toBe(2);
  });

  it('a dependency read after an await, while the cell is watched, re-runs it on change', async () => {
    const x = input(1);
    const c = cell(async (ctx) => {
      await Promise.resolve();
      return ctx.get(x) * 10;
    });
    const seen: AsyncState<number>[] = [];
    const stop = effect(() => {
      seen.push(c.state());
    });
    await drain();
    x.set(2);
    await drain();
    expect(seen.map((s) => `${s.status}:${String(s.value)}`)).toEqual([
      'pending:undefined',
      'value:10',
      'pending:10',
      'value:20',
    ]);
    stop();
  });

  it('an effect on c.state() sees pending, then the value, on each change', async () => {
    const x = input(1);
    const g = gated();
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      await g.wait();
      return v * 2;
    });
    const seen: string[] = [];
    const stop = effect(() => {
      const s = c.state();
      seen.push(`${s.status}:${String(s.value)}`);
    });
    expect(seen).toEqual(['pending:undefined']);
    g.gates[0]?.resolve();
    await drain();
    expect(seen).toEqual(['pending:undefined', 'value:2']);
    x.set(3);
    expect(seen).toEqual(['pending:undefined', 'value:2', 'pending:2']);
    g.gates[1]?.resolve();
    await drain();
    expect(seen).toEqual(['pending:undefined', 'value:2', 'pending:2', 'value:6']);
    stop();
  });

  it('an async cell reading another async cell via await ctx.get(other)', async () => {
    const x = input(1);
    let innerRuns = 0;
    let outerRuns = 0;
    const inner = cell(async (ctx) => {
      innerRuns++;
      const v = ctx.get(x);
      await Promise.resolve();
      return v * 2;
    });
    const outer = cell(async (ctx) => {
      outerRuns++;
      const v = await ctx.get(inner);
      return v + 1;
    });
    expect(await outer.get()).toBe(3);
    expect(await outer.get()).toBe(3);
    expect([innerRuns, outerRuns]).toEqual([1, 1]);
    x.set(10);
    expect(await outer.get()).toBe(21);
    expect([innerRuns, outerRuns]).toEqual([2, 2]);
  });

  it('an async cell reading another async cell after its own await', async () => {
    const x = input(1);
    const inner = cell(async (ctx) => ctx.get(x) * 2);
    const outer = cell(async (ctx) => {
      await Promise.resolve();
      return (await ctx.get(inner)) + 1;
    });
    expect(await outer.get()).toBe(3);
    x.set(5);
    expect(await outer.get()).toBe(11);
  });

  it('a sync cell can read an async cell state()', async () => {
    const d = deferred<number>();
    const a = cell(async () => d.promise);
    const label = cell(() => {
      const s = a.state();
      return s.status === 'value' ? `got ${s.value}` : s.status;
    });
    expect(label.get()).toBe('pending');
    d.resolve(7);
    await drain();
    expect(label.get()).toBe('got 7');
  });
});

describe('async cell: superseded runs', () => {
  it('ctx.signal is aborted when the run is superseded by a read after a dependency change', async () => {
    const x = input(1);
    const g = gated();
    const signals: AbortSignal[] = [];
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      signals.push(ctx.signal);
      await g.wait();
      return v;
    });
    const p1 = c.get();
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    x.set(2);
    const p2 = c.get();
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect((signals[0]?.reason as DOMException).name).toBe('AbortError');
    expect(signals[1]?.aborted).toBe(false);
    g.gates[1]?.resolve();
    g.gates[0]?.resolve();
    expect(await p2).toBe(2);
    expect(await p1).toBe(2); // the superseded run's readers follow the newer run
  });

  it('ctx.signal is aborted when the run is superseded while the cell is observed', async () => {
    const x = input(1);
    const g = gated();
    const signals: AbortSignal[] = [];
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      signals.push(ctx.signal);
      await g.wait();
      return v;
    });
    const values: number[] = [];
    const sub = c.observe().subscribe((v) => values.push(v));
    expect(signals).toHaveLength(1);
    x.set(2); // the observer re-reads at once: a new run supersedes the first
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
    g.gates[1]?.resolve();
    await drain();
    g.gates[0]?.resolve();
    await drain();
    expect(values).toEqual([2]);
    sub.unsubscribe();
  });

  it('ctx.signal read after an await of a superseded run is already aborted', async () => {
    const x = input(1);
    const g = gated();
    const late: AbortSignal[] = [];
    const c = cell(async (ctx) => {
      ctx.get(x);
      await g.wait();
      late.push(ctx.signal);
      return 0;
    });
    void c.get();
    x.set(2);
    void c.get();
    g.gates[0]?.resolve();
    await drain();
    expect(late[0]?.aborted).toBe(true);
    g.gates[1]?.resolve();
    await drain();
    expect(late[1]?.aborted).toBe(false);
  });

  it('a superseded run that resolves late never overwrites the newer value', async () => {
    const x = input(1);
    const g = gated();
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      await g.wait();
      return `run for ${v}`;
    });
    void c.get();
    x.set(2);
    const p2 = c.get();
    g.gates[1]?.resolve(); // the newer run finishes first
    expect(await p2).toBe('run for 2');
    g.gates[0]?.resolve(); // then the old one
    await drain();
    expect(c.state()).toEqual({ status: 'value', value: 'run for 2', error: undefined });
    expect(await c.get()).toBe('run for 2');
  });

  it('a superseded run that resolves first is ignored: the state stays pending until the newer run settles', async () => {
    const x = input(1);
    const g = gated();
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      await g.wait();
      return v;
    });
    const p1 = c.get();
    x.set(2);
    const p2 = c.get();
    g.gates[0]?.resolve();
    await drain();
    expect(c.state().status).toBe('pending');
    expect(c.state().value).toBeUndefined();
    g.gates[1]?.resolve();
    expect(await p1).toBe(2);
    expect(await p2).toBe(2);
    expect(c.state()).toEqual({ status: 'value', value: 2, error: undefined });
  });

  it('a superseded run that rejects late does not turn the state into an error', async () => {
    const x = input(1);
    const g = gated();
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      await g.wait();
      if (v === 1) throw new Error('stale failure');
      return v;
    });
    void c.get();
    x.set(2);
    const p2 = c.get();
    g.gates[1]?.resolve();
    expect(await p2).toBe(2);
    g.gates[0]?.resolve();
    await drain();
    expect(c.state()).toEqual({ status: 'value', value: 2, error: undefined });
  });

  it('a dependency that changed while the only run was in flight restarts it when it settles', async () => {
    const x = input(1);
    const g = gated();
    let runs = 0;
    const c = cell(async (ctx) => {
      runs++;
      const v = ctx.get(x);
      await g.wait();
      return v;
    });
    const p1 = c.get();
    x.set(2); // nobody reads c again
    g.gates[0]?.resolve();
    await drain();
    expect(runs).toBe(2);
    g.gates[1]?.resolve();
    expect(await p1).toBe(2); // never the stale 1
    expect(c.state().value).toBe(2);
  });

  it('a dependency read after an await by a superseded run is not recorded', async () => {
    const x = input(1);
    const y = input(100);
    const g = gated();
    let runs = 0;
    const c = cell(async (ctx) => {
      runs++;
      const v = ctx.get(x);
      await g.wait();
      return v === 1 ? v + ctx.get(y) : v;
    });
    void c.get();
    x.set(2);
    const p2 = c.get();
    g.gates[1]?.resolve();
    expect(await p2).toBe(2);
    g.gates[0]?.resolve(); // the stale run now reads y
    await drain();
    y.set(200);
    expect(await c.get()).toBe(2);
    expect(runs).toBe(2);
  });
});

describe('async cell: errors', () => {
  it('state() is error, get() rejects, and the error is memoised until a dependency changes', async () => {
    const x = input(-1);
    let runs = 0;
    const c = cell(async (ctx) => {
      runs++;
      const v = ctx.get(x);
      await Promise.resolve();
      if (v < 0) throw new Error(`bad ${v}`);
      return v;
    });
    const p = c.get();
    await expect(p).rejects.toThrow('bad -1');
    const s = c.state();
    expect(s.status).toBe('error');
    expect((s.error as Error).message).toBe('bad -1');
    expect(s.value).toBeUndefined();
    let e1: unknown;
    let e2: unknown;
    await c.get().catch((e: unknown) => (e1 = e));
    await c.get().catch((e: unknown) => (e2 = e));
    expect(e1).toBe(e2);
    expect(e1).toBe(s.error);
    expect(runs).toBe(1);
    await expect(c.settled()).rejects.toBe(e1);
    x.set(-2);
    await expect(c.get()).rejects.toThrow('bad -2');
    expect(runs).toBe(2);
    x.set(3);
    expect(await c.get()).toBe(3);
    expect(c.state()).toEqual({ status: 'value', value: 3, error: undefined });
  });

  it('an error state keeps the last settled value', async () => {
    const x = input(1);
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      if (v < 0) throw new Error('negative');
      return v;
    });
    expect(await c.get()).toBe(1);
    x.set(-1);
    await c.get().catch(() => {});
    const s = c.state();
    expect(s.status).toBe('error');
    expect(s.value).toBe(1);
  });

  it('a computation that throws synchronously before returning a Promise', async () => {
    const x = input(0);
    const c = cell((ctx) => {
      if (ctx.get(x) === 0) throw new Error('sync');
      return Promise.resolve(ctx.get(x));
    });
    expect(() => c.get()).toThrow('sync');
    x.set(4);
    expect(await c.get()).toBe(4);
  });

  it('an awaited async dependency that fails makes the reader fail, and both recover', async () => {
    const fail = input(true);
    const inner = cell(async (ctx) => {
      const f = ctx.get(fail);
      await Promise.resolve();
      if (f) throw new Error('inner failed');
      return 1;
    });
    const outer = cell(async (ctx) => (await ctx.get(inner)) + 1);
    await expect(outer.get()).rejects.toThrow('inner failed');
    expect(outer.state().status).toBe('error');
    fail.set(false);
    expect(await outer.get()).toBe(2);
    expect(outer.state()).toEqual({ status: 'value', value: 2, error: undefined });
  });

  it('rejections nobody awaits are not unhandled', async () => {
    const x = input(0);
    const g = gated();
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      await g.wait();
      throw new Error(`fail ${v}`);
    });
    void c.get(); // never awaited
    x.set(1);
    void c.get(); // supersedes the first
    c.state();
    g.gates[0]?.reject(new Error('gate 0'));
    g.gates[1]?.resolve();
    await drain();
    expect(c.state().status).toBe('error');
    expect((c.state().error as Error).message).toBe('fail 1');
    // afterEach checks that no unhandledRejection was reported
  });

  it('an effect on state() sees the error state', async () => {
    const fail = input(false);
    const c = cell(async (ctx) => {
      const f = ctx.get(fail);
      await Promise.resolve();
      if (f) throw new Error('failed');
      return 'ok';
    });
    const seen: string[] = [];
    const stop = effect(() => {
      const s = c.state();
      seen.push(s.status === 'error' ? `error:${(s.error as Error).message}` : `${s.status}:${String(s.value)}`);
    });
    await drain();
    fail.set(true);
    await drain();
    fail.set(false);
    await drain();
    expect(seen).toEqual(['pending:undefined', 'value:ok', 'pending:ok', 'error:failed', 'pending:ok', 'value:ok']);
    stop();
  });
});
