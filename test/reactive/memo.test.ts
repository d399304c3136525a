import { afterEach, describe, expect, it, vi } from 'vitest';
import { firstValueFrom } from 'rxjs';
import { cell, effect, input, memo } from '../../src/reactive/index.js';

describe('memo: entries', () => {
  it('one entry per structurally equal argument list', () => {
    let runs = 0;
    const f = memo((o: { a: number; b: number }) => {
      runs++;
      return o.a + o.b;
    });
    expect(f({ a: 1, b: 2 })).toBe(3);
    expect(f({ b: 2, a: 1 })).toBe(3);
    expect(runs).toBe(1);
    expect(f.size).toBe(1);
  });

  it('different arguments get different entries', () => {
    const calls: string[] = [];
    const f = memo((a: unknown, b?: unknown) => {
      calls.push(JSON.stringify([a, b ?? null]));
      return calls.length;
    });
    f(1);
    f('1');
    f(1, 2);
    f([1]);
    f({ x: 1 });
    f(1);
    expect(calls).toHaveLength(5);
    expect(f.size).toBe(5);
  });

  it('recursion: fib(90) is correct and each n is computed once', () => {
    const computed = new Map<number, number>();
    const fib = memo(
      (n: number): bigint => {
        computed.set(n, (computed.get(n) ?? 0) + 1);
        return n < 2 ? BigInt(n) : fib(n - 1) + fib(n - 2);
      },
      { name: 'fib' },
    );
    expect(fib(90)).toBe(2880067194370816120n);
    expect(computed.size).toBe(91);
    for (const [, count] of computed) expect(count).toBe(1);
    expect(fib(50)).toBe(12586269025n);
    expect(computed.get(50)).toBe(1);
  });

  it('entries track their own dependencies', () => {
    const inputs = [input(10), input(20)];
    const runs = [0, 0];
    const f = memo((i: number) => {
      runs[i]!++;
      return inputs[i]!.get() * 2;
    });
    expect(f(0)).toBe(20);
    expect(f(1)).toBe(40);
    inputs[0]!.set(11);
    expect(f(1)).toBe(40);
    expect(f(0)).toBe(22);
    expect(runs).toEqual([2, 1]);
  });

  it('an entry read by a cell is a dependency of that cell', () => {
    const x = input(1);
    const f = memo((k: number) => x.get() * k);
    let runs = 0;
    const c = cell(() => {
      runs++;
      return f(3) + 1;
    });
    expect(c.get()).toBe(4);
    expect(c.get()).toBe(4);
    expect(runs).toBe(1);
    x.set(2);
    expect(c.get()).toBe(7);
    expect(runs).toBe(2);
  });

  it('number and string arguments: -0 is 0, NaN is NaN, 1 is not "1"', () => {
    let runs = 0;
    const f = memo((k: unknown) => {
      runs++;
      return String(k);
    });
    f(0);
    f(-0);
    f(Number.NaN);
    f(Number.NaN);
    f('0');
    f([0]);
    f(['0']);
    expect(runs).toBe(5);
    expect(f.size).toBe(5);
  });

  it('equals: an entry recomputing an equal value does not recompute its readers', () => {
    const x = input(1);
    const f = memo((k: number) => ({ big: x.get() * k > 10 }), { equals: (a, b) => a.big === b.big });
    let runs = 0;
    const c = cell(() => {
      runs++;
      return f(2).big ? 'big' : 'small';
    });
    expect(c.get()).toBe('small');
    x.set(2);
    x.set(3);
    expect(c.get()).toBe('small');
    expect(runs).toBe(1);
    x.set(6);
    expect(c.get()).toBe('big');
    expect(runs).toBe(2);
  });

  it('memoises errors per entry', () => {
    let runs = 0;
    const f = memo((n: number) => {
      runs++;
      if (n < 0) throw new RangeError(`negative ${n}`);
      return n;
    });
    let e1: unknown;
    let e2: unknown;
    try {
      f(-1);
    } catch (e) {
      e1 = e;
    }
    try {
      f(-1);
    } catch (e) {
      e2 = e;
    }
    expect(e1).toBeInstanceOf(RangeError);
    expect(e2).toBe(e1);
    expect(runs).toBe(1);
    expect(f.peek(-1)).toBeUndefined();
  });

  it('refuses arguments that cannot be encoded with a TypeError naming the argument', () => {
    const f = memo((..._args: unknown[]) => 1);
    expect(() => f(() => 1)).toThrow(TypeError);
    expect(() => f(() => 1)).toThrow(/argument 0\b/);
    expect(() => f(1, { cb: () => 1 })).toThrow(/argument 1 \(at `\.cb`\)/);
    expect(() => f(1, 2, Symbol('s'))).toThrow(/argument 2\b/);
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => f(cyclic)).toThrow(TypeError);
    expect(() => f(cyclic)).toThrow(/argument 0/);
    expect(f.size).toBe(0);
  });

  it('rejects bad options with TypeErrors', () => {
    expect(() => memo(5 as never)).toThrow(new TypeError('Expected `fn` to be a function, got `5` (number)'));
    expect(() => memo(() => 1, { max: 0 })).toThrow('Expected `max` to be an integer >= 1, got `0` (number)');
    expect(() => memo(() => 1, { max: 1.5 })).toThrow(TypeError);
    expect(() => memo(() => 1, { ttlMs: -1 })).toThrow('Expected `ttlMs` to be a finite number > 0, got `-1` (number)');
    expect(() => memo(() => 1, { ttlMs: Number.POSITIVE_INFINITY })).toThrow(TypeError);
  });

  it('names entries family(args): used in CycleError', () => {
    const f = memo((n: number): number => f(n), { name: 'loop' });
    expect(f.familyName).toBe('loop');
    expect(() => f(1)).toThrow(/loop\(1\) -> loop\(1\)/);
    function namedFn(n: number): number {
      return n;
    }
    expect(memo(namedFn).familyName).toBe('namedFn');
    expect(f.cell(2).name).toBe('loop(2)');
  });

  it('cell(...args) is the entry behind those arguments', () => {
    const x = input(1);
    const f = memo((k: number) => x.get() + k);
    const c = f.cell(5);
    expect(c.get()).toBe(6);
    expect(f.has(5)).toBe(true);
    x.set(2);
    expect(f(5)).toBe(7);
    expect(c.get()).toBe(7);
  });
});

describe('memo: forget, peek, has, size, clear', () => {
  it('forget(...args) recomputes on the next call', () => {
    let external = 1;
    let runs = 0;
    const f = memo((k: number) => {
      runs++;
      return external * k;
    });
    expect(f(2)).toBe(2);
    external = 10;
    expect(f(2)).toBe(2); // still cached
    f.forget(2);
    expect(f.has(2)).toBe(false);
    expect(f(2)).toBe(20);
    expect(runs).toBe(2);
    f.forget(99); // absent: a no-op
  });

  it('forget invalidates cells that read the entry', () => {
    let external = 1;
    const f = memo((k: number) => external * k);
    const c = cell(() => f(2) + 1);
    expect(c.get()).toBe(3);
    external = 10;
    f.forget(2);
    expect(c.get()).toBe(21);
  });

  it('forget re-runs effects that read the entry', () => {
    let external = 1;
    const f = memo((k: number) => external * k);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(f(3));
    });
    external = 2;
    f.forget(3);
    expect(seen).toEqual([3, 6]);
    stop();
  });

  it('forget reaches a cell that read the entry before it was evicted, once the arguments are called again', () => {
    let external = 1;
    const f = memo((k: number) => external * k, { max: 2 });
    const c = cell(() => f(1) + 1000);
    expect(c.get()).toBe(1001);
    f(2);
    f(3); // evicts f(1)
    expect(f.has(1)).toBe(false);
    f(1); // a new entry for the same arguments
    external = 5;
    f.forget(1);
    expect(c.get()).toBe(1005);
  });

  // Regression: after f(1)'s entry was evicted, forget(1) finds no entry; the unwatched
  // cell that read the evicted entry must still not serve the value from before the forget.
  it('forget reaches a cell that read the entry before it was evicted', () => {
    let external = 1;
    const f = memo((k: number) => external * k, { max: 2 });
    const c = cell(() => f(1) + 1000);
    expect(c.get()).toBe(1001);
    f(2);
    f(3); // evicts f(1)
    expect(f.has(1)).toBe(false);
    external = 5;
    f.forget(1);
    expect(c.get()).toBe(1005);
  });

  it('peek(...args): the cached value, undefined when absent; computes and tracks nothing', () => {
    const x = input(1);
    let runs = 0;
    const f = memo((k: number) => {
      runs++;
      return x.get() + k;
    });
    expect(f.peek(1)).toBeUndefined();
    expect(runs).toBe(0);
    expect(f.size).toBe(0);
    f(1);
    expect(f.peek(1)).toBe(2);
    x.set(5); // the entry is now out of date
    expect(f.peek(1)).toBeUndefined();
    expect(runs).toBe(1);
    let cellRuns = 0;
    const c = cell(() => {
      cellRuns++;
      return f.peek(1);
    });
    f(1);
    expect(c.get()).toBe(6);
    x.set(6);
    f(1);
    expect(c.get()).toBe(6); // peek was not tracked
    expect(cellRuns).toBe(1);
  });

  it('has(...args): whether a current value is cached', () => {
    const x = input(1);
    const f = memo((k: number) => x.get() + k);
    expect(f.has(1)).toBe(false);
    f(1);
    expect(f.has(1)).toBe(true);
    expect(f.has(2)).toBe(false);
    x.set(2);
    expect(f.has(1)).toBe(false);
    f(1);
    expect(f.has(1)).toBe(true);
  });

  it('size counts the held entries; clear forgets them all', () => {
    let external = 1;
    let runs = 0;
    const f = memo((k: number) => {
      runs++;
      return external + k;
    });
    f(1);
    f(2);
    f(3);
    expect(f.size).toBe(3);
    const c = cell(() => f(1));
    expect(c.get()).toBe(2);
    external = 100;
    f.clear();
    expect(f.size).toBe(0);
    expect(f.has(1)).toBe(false);
    expect(c.get()).toBe(101);
    expect(f(2)).toBe(102);
    expect(runs).toBe(5);
  });

  it('clear keeps watched entries but recomputes them', () => {
    let external = 1;
    const f = memo((k: number) => external + k);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(f(1));
    });
    f(2);
    external = 10;
    f.clear();
    expect(seen).toEqual([2, 11]);
    expect(f.peek(1)).toBe(11);
    expect(f.has(2)).toBe(false);
    stop();
  });
});

describe('memo: bounded by max', () => {
  it('evicts the least recently called unwatched entries first', () => {
    const f = memo((k: number) => k * 2, { max: 10 });
    for (let k = 0; k < 10; k++) f(k);
    expect(f.size).toBe(10);
    f(0); // 0 is now the most recently called; 1 and 2 are the oldest
    f(3);
    f(10); // the 11th entry: evicts down to 9 (a tenth at a time)
    expect(f.size).toBeLessThanOrEqual(10);
    expect(f.has(1)).toBe(false);
    expect(f.has(2)).toBe(false);
    expect(f.has(0)).toBe(true);
    expect(f.has(3)).toBe(true);
    expect(f.has(10)).toBe(true);
    for (const k of [4, 5, 6, 7, 8, 9]) expect(f.has(k)).toBe(true);
  });

  it('never holds more than max entries', () => {
    const f = memo((k: number) => k, { max: 5 });
    for (let k = 0; k < 100; k++) {
      f(k);
      expect(f.size).toBeLessThanOrEqual(5);
    }
    expect(f.has(99)).toBe(true);
  });

  it('an evicted entry is recomputed when called again', () => {
    let runs = 0;
    const f = memo(
      (k: number) => {
        runs++;
        return k;
      },
      { max: 1 },
    );
    f(1);
    f(2);
    expect(f.has(1)).toBe(false);
    expect(f(1)).toBe(1);
    expect(runs).toBe(3);
  });

  it('never evicts entries read by an effect', () => {
    const x = input(1);
    const f = memo((k: number) => x.get() + k, { max: 3 });
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(f(0));
    });
    for (let k = 1; k < 50; k++) f(k);
    expect(f.has(0)).toBe(true);
    x.set(2);
    expect(seen).toEqual([1, 2]);
    stop();
    for (let k = 100; k < 110; k++) f(k);
    expect(f.has(0)).toBe(false); // unwatched now: evictable
  });

  it('never evicts observed entries', async () => {
    const x = input(1);
    const f = memo((k: number) => x.get() * k, { max: 2 });
    const seen: number[] = [];
    const sub = f.observe(7).subscribe((v) => seen.push(v));
    for (let k = 1; k < 20; k++) f(k);
    expect(f.has(7)).toBe(true);
    x.set(2);
    expect(seen).toEqual([7, 14]);
    sub.unsubscribe();
    expect(await firstValueFrom(f.observe(7))).toBe(14);
  });

  it('an entry watched through a cell is never evicted', () => {
    const x = input(1);
    const f = memo((k: number) => x.get() + k, { max: 2 });
    const c = cell(() => f(0) * 10);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(c.get());
    });
    for (let k = 1; k < 20; k++) f(k);
    expect(f.has(0)).toBe(true);
    x.set(2);
    expect(seen).toEqual([10, 20]);
    stop();
  });
});

describe('memo: ttlMs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an expired entry is recomputed on the next call', () => {
    vi.useFakeTimers();
    let runs = 0;
    const f = memo(
      (k: number) => {
        runs++;
        return `${k}:${runs}`;
      },
      { ttlMs: 1000 },
    );
    expect(f(1)).toBe('1:1');
    vi.advanceTimersByTime(999);
    expect(f(1)).toBe('1:1');
    vi.advanceTimersByTime(1);
    expect(f(1)).toBe('1:2');
    expect(runs).toBe(2);
  });

  it('a wall clock stepped forward expires no entry early, and one stepped back keeps none late', () => {
    vi.useFakeTimers();
    let runs = 0;
    const f = memo(() => ++runs, { ttlMs: 1000 });
    expect(f()).toBe(1);
    // A minute forward (NTP, a VM resumed): the entry has 1,000 ms to live, not none.
    vi.setSystemTime(Date.now() + 60_000);
    vi.advanceTimersByTime(500);
    expect(f()).toBe(1);
    // Two minutes back: it still expires 1,000 ms after it was computed.
    vi.setSystemTime(Date.now() - 120_000);
    vi.advanceTimersByTime(500);
    expect(f()).toBe(2);
  });

  it('a cell reading an expired entry recomputes when the entry is next called', () => {
    vi.useFakeTimers();
    let runs = 0;
    const f = memo(() => ++runs, { ttlMs: 50 });
    const c = cell(() => f() * 10);
    expect(c.get()).toBe(10);
    vi.advanceTimersByTime(60);
    expect(f()).toBe(2);
    expect(c.get()).toBe(20);
  });

  // Regression: `ttlMs` is how long a computed entry may be served, also through a cell
  // that read it, without the family being called again.
  it('a cell that read an entry does not serve it past ttlMs', () => {
    vi.useFakeTimers();
    let runs = 0;
    const f = memo(() => ++runs, { ttlMs: 50 });
    const c = cell(() => f() * 10);
    expect(c.get()).toBe(10);
    vi.advanceTimersByTime(60);
    expect(c.get()).toBe(20);
  });

  // Regression: an expiry timer per computation, never cleared, piled up (101 timers here),
  // each holding its entry past eviction (see also the gc test).
  it('an entry recomputed many times within its ttl does not pile up expiry timers', () => {
    vi.useFakeTimers();
    const x = input(0);
    const f = memo((k: number) => x.get() + k, { ttlMs: 60_000 });
    f(1);
    for (let i = 1; i <= 100; i++) {
      x.set(i);
      expect(f(1)).toBe(i + 1);
    }
    expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
  });

  it('an observed entry re-emits after expiry', () => {
    vi.useFakeTimers();
    let runs = 0;
    const f = memo((k: number) => k + 100 * runs++, { ttlMs: 1000 });
    const seen: number[] = [];
    const sub = f.observe(1).subscribe((v) => seen.push(v));
    expect(seen).toEqual([1]);
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([1, 101]);
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([1, 101, 201]);
    sub.unsubscribe();
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(3); // unobserved: no more recomputation by timer
  });
});

describe('memo: observe and async functions', () => {
  it('observe(...args) emits the value now and after every change', () => {
    const x = input(1);
    const f = memo((k: number) => x.get() * k);
    const seen: number[] = [];
    const sub = f.observe(3).subscribe((v) => seen.push(v));
    x.set(2);
    x.set(2);
    x.set(3);
    expect(seen).toEqual([3, 6, 9]);
    sub.unsubscribe();
    x.set(4);
    expect(seen).toEqual([3, 6, 9]);
  });

  it('async memo functions return a Promise, memoised per arguments', async () => {
    let runs = 0;
    const f = memo(async (n: number) => {
      runs++;
      await Promise.resolve();
      return n * 2;
    });
    const p = f(21);
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(42);
    expect(f(21)).toBe(p);
    expect(await f(4)).toBe(8);
    expect(runs).toBe(2);
  });

  it('async memo entries follow their dependencies', async () => {
    const x = input(1);
    const f = memo(async (n: number) => {
      await Promise.resolve();
      return x.peek() * n;
    });
    // reads through a plain get() before the await are tracked too
    const g = memo(async (n: number) => {
      const v = x.get();
      await Promise.resolve();
      return v * n;
    });
    expect(await f(2)).toBe(2);
    expect(await g(2)).toBe(2);
    x.set(5);
    expect(await f(2)).toBe(2); // peek: not a dependency
    expect(await g(2)).toBe(10);
  });

  it('observe of an async memo emits settled values', async () => {
    const x = input(1);
    const f = memo(async (n: number) => {
      const v = x.get();
      await Promise.resolve();
      return v + n;
    });
    const seen: number[] = [];
    const sub = f.observe(10).subscribe((v) => seen.push(v));
    await new Promise((r) => setImmediate(r));
    x.set(2);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([11, 12]);
    sub.unsubscribe();
  });
});
