import { describe, expect, it } from 'vitest';
import { batch, cell, CycleError, effect, input, untracked, type Cell } from '../../src/reactive/index.js';

/** A cell that counts its computations. */
function counted<T>(fn: () => T, name?: string): { c: Cell<T>; runs: () => number } {
  let n = 0;
  const c = cell(
    () => {
      n++;
      return fn();
    },
    name === undefined ? undefined : { name },
  );
  return { c, runs: () => n };
}

describe('cell: laziness and memoisation', () => {
  it('is lazy: the computation does not run until the cell is read', () => {
    const x = input(1);
    const { c, runs } = counted(() => x.get() * 2);
    expect(runs()).toBe(0);
    x.set(2);
    expect(runs()).toBe(0);
    expect(c.get()).toBe(4);
    expect(runs()).toBe(1);
  });

  it('is memoised: a second read does not recompute', () => {
    const x = input(3);
    const { c, runs } = counted(() => x.get() + 1);
    expect(c.get()).toBe(4);
    expect(c.get()).toBe(4);
    expect(c.peek()).toBe(4);
    expect(runs()).toBe(1);
  });

  it('recomputes only when a dependency changes', () => {
    const x = input(1);
    const unrelated = input(0);
    const { c, runs } = counted(() => x.get() * 10);
    expect(c.get()).toBe(10);
    unrelated.set(1);
    unrelated.set(2);
    expect(c.get()).toBe(10);
    expect(runs()).toBe(1);
    x.set(2);
    expect(runs()).toBe(1); // still lazy
    expect(c.get()).toBe(20);
    expect(runs()).toBe(2);
    x.set(2); // equal: no change
    expect(c.get()).toBe(20);
    expect(runs()).toBe(2);
  });

  it('recomputes through a chain of cells only when the root changed', () => {
    const x = input(1);
    const a = counted(() => x.get() + 1);
    const b = counted(() => a.c.get() * 2);
    expect(b.c.get()).toBe(4);
    expect(b.c.get()).toBe(4);
    expect([a.runs(), b.runs()]).toEqual([1, 1]);
    x.set(5);
    expect(b.c.get()).toBe(12);
    expect([a.runs(), b.runs()]).toEqual([2, 2]);
  });

  it('tracks dynamic dependencies: a dependency no longer read no longer triggers recomputation', () => {
    const useA = input(true);
    const a = input('a1');
    const b = input('b1');
    const { c, runs } = counted(() => (useA.get() ? a.get() : b.get()));
    expect(c.get()).toBe('a1');
    b.set('b2'); // never read yet
    expect(c.get()).toBe('a1');
    expect(runs()).toBe(1);
    useA.set(false);
    expect(c.get()).toBe('b2');
    expect(runs()).toBe(2);
    a.set('a2'); // no longer read
    expect(c.get()).toBe('b2');
    expect(runs()).toBe(2);
    b.set('b3');
    expect(c.get()).toBe('b3');
    expect(runs()).toBe(3);
  });

  it('tracks dynamic dependencies while watched by an effect', () => {
    const useA = input(true);
    const a = input(1);
    const b = input(100);
    const { c, runs } = counted(() => (useA.get() ? a.get() : b.get()));
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(c.get());
    });
    useA.set(false);
    expect(seen).toEqual([1, 100]);
    const before = runs();
    a.set(2); // dropped dependency: nothing runs
    expect(runs()).toBe(before);
    expect(seen).toEqual([1, 100]);
    b.set(200);
    expect(seen).toEqual([1, 100, 200]);
    stop();
  });

  it('has a name, or undefined', () => {
    expect(cell(() => 1, { name: 'area' }).name).toBe('area');
    expect(cell(() => 1).name).toBeUndefined();
  });

  it('state() and settled() of a sync cell', async () => {
    const x = input(2);
    const c = cell(() => x.get() * 2);
    expect(c.state()).toEqual({ status: 'value', value: 4, error: undefined });
    await expect(c.settled()).resolves.toBe(4);
    const boom = new Error('boom');
    const bad = cell((): number => {
      throw boom;
    });
    expect(bad.state()).toEqual({ status: 'error', value: undefined, error: boom });
    await expect(bad.settled()).rejects.toBe(boom);
  });

  it('rejects a non-function and a non-function equals with a TypeError', () => {
    expect(() => cell(42 as never)).toThrow(new TypeError('Expected `fn` to be a function, got `42` (number)'));
    expect(() => cell(() => 1, { equals: {} as never })).toThrow(TypeError);
    expect(() => cell(() => 1, { equals: {} as never })).toThrow('Expected `equals` to be a function');
  });
});

describe('cell: equality cutoff', () => {
  it('a recomputation that yields an equal value (custom equals) does not recompute downstream cells', () => {
    const x = input(2);
    const parity = cell(() => ({ even: x.get() % 2 === 0 }), { equals: (a, b) => a.even === b.even });
    const down = counted(() => (parity.get().even ? 'even' : 'odd'));
    expect(down.c.get()).toBe('even');
    const first = parity.get();
    x.set(4);
    expect(down.c.get()).toBe('even');
    expect(down.runs()).toBe(1);
    expect(parity.get()).toBe(first); // the old value is kept
    x.set(5);
    expect(down.c.get()).toBe('odd');
    expect(down.runs()).toBe(2);
  });

  it('a recomputation that yields an equal value (custom equals) does not re-run a downstream effect', () => {
    const x = input(1);
    const sign = cell(() => Math.sign(x.get()));
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(sign.get());
    });
    x.set(5);
    x.set(10);
    expect(seen).toEqual([1]);
    x.set(-1);
    expect(seen).toEqual([1, -1]);
    stop();
  });

  it('default Object.is cutoff: a cell recomputing the same primitive invalidates nothing downstream', () => {
    const x = input(1);
    const clamp = cell(() => Math.min(x.get(), 10));
    const down = counted(() => clamp.get() + 1);
    x.set(20);
    expect(down.c.get()).toBe(11);
    expect(down.runs()).toBe(1);
    x.set(30);
    expect(down.c.get()).toBe(11);
    expect(down.runs()).toBe(1);
  });
});

describe('cell: glitch-free propagation', () => {
  it('an effect on a diamond sees only consistent values and runs once per change', () => {
    const x = input(1);
    const a = counted(() => x.get() * 1);
    const b = counted(() => x.get() * 2);
    const sum = counted(() => a.c.get() + b.c.get());
    const seen: Array<[number, number, number]> = [];
    const stop = effect(() => {
      seen.push([a.c.get(), b.c.get(), sum.c.get()]);
    });
    for (let i = 2; i <= 5; i++) x.set(i);
    expect(seen).toEqual([
      [1, 2, 3],
      [2, 4, 6],
      [3, 6, 9],
      [4, 8, 12],
      [5, 10, 15],
    ]);
    for (const [va, vb, vs] of seen) {
      expect(vb).toBe(2 * va);
      expect(vs).toBe(va + vb);
    }
    // each cell computes at most once per change
    expect([a.runs(), b.runs(), sum.runs()]).toEqual([5, 5, 5]);
    stop();
  });

  it('a deep diamond (two paths of different lengths) computes each cell once per change', () => {
    const x = input(1);
    const a = counted(() => x.get() + 1);
    const b1 = counted(() => x.get() * 2);
    const b2 = counted(() => b1.c.get() * 2);
    const b3 = counted(() => b2.c.get() * 2);
    const join = counted(() => [a.c.get(), b3.c.get()] as const);
    const seen: Array<readonly [number, number]> = [];
    const stop = effect(() => {
      seen.push(join.c.get());
    });
    x.set(2);
    x.set(3);
    expect(seen).toEqual([
      [2, 8],
      [3, 16],
      [4, 24],
    ]);
    for (const k of [a, b1, b2, b3, join]) expect(k.runs()).toBe(3);
    stop();
  });

  it('unwatched diamond: each cell computes once per change when pulled', () => {
    const x = input(1);
    const a = counted(() => x.get() + 1);
    const b = counted(() => x.get() + 2);
    const c = counted(() => a.c.get() + b.c.get());
    const d = counted(() => a.c.get() * c.c.get());
    expect(d.c.get()).toBe(2 * 5);
    x.set(10);
    expect(d.c.get()).toBe(11 * 23);
    expect([a.runs(), b.runs(), c.runs(), d.runs()]).toEqual([2, 2, 2, 2]);
  });

  it('a batch of writes to two inputs: the effect never sees one changed and the other not', () => {
    const first = input('Ada');
    const last = input('Byron');
    const full = cell(() => `${first.get()} ${last.get()}`);
    const seen: string[] = [];
    const stop = effect(() => {
      seen.push(full.get());
    });
    batch(() => {
      first.set('Ada');
      last.set('Lovelace');
      first.set('Augusta Ada');
    });
    expect(seen).toEqual(['Ada Byron', 'Augusta Ada Lovelace']);
    stop();
  });
});

describe('cell: untracked and peek', () => {
  it('untracked() reads without recording a dependency', () => {
    const price = input(10);
    const rate = input(2);
    const { c, runs } = counted(() => price.get() * untracked(() => rate.get()));
    expect(c.get()).toBe(20);
    rate.set(3);
    expect(c.get()).toBe(20);
    expect(runs()).toBe(1);
    price.set(11);
    expect(c.get()).toBe(33);
  });

  it('untracked() returns the function result and restores tracking afterwards', () => {
    const a = input(1);
    const b = input(2);
    const { c, runs } = counted(() => untracked(() => a.get()) + b.get());
    expect(c.get()).toBe(3);
    b.set(5); // still tracked after untracked() returned
    expect(c.get()).toBe(6);
    expect(runs()).toBe(2);
  });

  it('peek() of a cell does not track, but still computes the current value', () => {
    const x = input(1);
    const inner = cell(() => x.get() * 100);
    const trigger = input(0);
    const { c, runs } = counted(() => trigger.get() + inner.peek());
    expect(c.get()).toBe(100);
    x.set(2);
    expect(c.get()).toBe(100); // inner is not a dependency of c
    expect(runs()).toBe(1);
    expect(inner.peek()).toBe(200);
    trigger.set(1);
    expect(c.get()).toBe(201);
  });

  it('peek() inside an effect does not make the effect re-run', () => {
    const x = input(1);
    const c = cell(() => x.get());
    let runs = 0;
    const stop = effect(() => {
      c.peek();
      runs++;
    });
    x.set(2);
    expect(runs).toBe(1);
    stop();
  });
});

describe('cell: errors are memoised', () => {
  it('rethrows the same error object on repeated reads without recomputing', () => {
    const x = input(-1);
    let runs = 0;
    const c = cell(() => {
      runs++;
      if (x.get() < 0) throw new Error(`negative: ${x.get()}`);
      return Math.sqrt(x.get());
    });
    let first: unknown;
    try {
      c.get();
    } catch (e) {
      first = e;
    }
    expect(first).toBeInstanceOf(Error);
    expect((first as Error).message).toBe('negative: -1');
    let second: unknown;
    try {
      c.get();
    } catch (e) {
      second = e;
    }
    expect(second).toBe(first);
    expect(runs).toBe(1);
  });

  it('recomputes after a dependency changes, and recovers', () => {
    const x = input(-1);
    let runs = 0;
    const c = cell(() => {
      runs++;
      if (x.get() < 0) throw new Error('negative');
      return x.get() * 2;
    });
    expect(() => c.get()).toThrow('negative');
    x.set(-2);
    expect(() => c.get()).toThrow('negative');
    expect(runs).toBe(2);
    x.set(4);
    expect(c.get()).toBe(8);
    expect(runs).toBe(3);
  });

  it('downstream cells see the error and recover when it goes away', () => {
    const x = input(0);
    const inverse = cell(() => {
      if (x.get() === 0) throw new RangeError('division by zero');
      return 1 / x.get();
    });
    const label = counted(() => `1/x = ${inverse.get()}`);
    const safe = cell(() => {
      try {
        return inverse.get();
      } catch {
        return Number.NaN;
      }
    });
    expect(() => label.c.get()).toThrow(RangeError);
    let e1: unknown;
    let e2: unknown;
    try {
      inverse.get();
    } catch (e) {
      e1 = e;
    }
    try {
      label.c.get();
    } catch (e) {
      e2 = e;
    }
    expect(e2).toBe(e1); // the same error object flows downstream
    expect(label.runs()).toBe(1);
    expect(safe.get()).toBeNaN();
    x.set(4);
    expect(label.c.get()).toBe('1/x = 0.25');
    expect(safe.get()).toBe(0.25);
    x.set(0);
    expect(() => label.c.get()).toThrow('division by zero');
    expect(safe.get()).toBeNaN();
  });

  it('an effect downstream of a failing cell keeps following it after the error goes away', () => {
    const x = input(1);
    const c = cell(() => {
      if (x.get() === 0) throw new Error('zero');
      return x.get();
    });
    const seen: Array<number | string> = [];
    const stop = effect(() => {
      try {
        seen.push(c.get());
      } catch (e) {
        seen.push((e as Error).message);
      }
    });
    x.set(0);
    x.set(2);
    expect(seen).toEqual([1, 'zero', 2]);
    stop();
  });

  it('non-Error throwables are memoised too', () => {
    const x = input(1);
    const c = cell(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw { code: x.get() };
    });
    let first: unknown;
    try {
      c.get();
    } catch (e) {
      first = e;
    }
    expect(first).toEqual({ code: 1 });
    expect(() => c.get()).toThrow();
    try {
      c.get();
    } catch (e) {
      expect(e).toBe(first);
    }
  });
});

describe('cell: cycles', () => {
  function caught(fn: () => unknown): unknown {
    try {
      fn();
    } catch (e) {
      return e;
    }
    throw new Error('expected a throw');
  }

  it('a cell that reads itself throws a CycleError naming it', () => {
    const self: Cell<number> = cell((): number => self.get() + 1, { name: 'self' });
    const e = caught(() => self.get());
    expect(e).toBeInstanceOf(CycleError);
    expect(e).toBeInstanceOf(Error);
    expect((e as CycleError).cells).toEqual(['self', 'self']);
    expect((e as CycleError).name).toBe('CycleError');
    expect((e as CycleError).message).toContain('self -> self');
  });

  it('anonymous cells on a cycle are named cell#<id>', () => {
    const c: Cell<number> = cell((): number => c.get());
    const e = caught(() => c.get()) as CycleError;
    expect(e).toBeInstanceOf(CycleError);
    expect(e.cells).toHaveLength(2);
    expect(e.cells[0]).toMatch(/^cell#\d+$/);
    expect(e.cells[1]).toBe(e.cells[0]);
  });

  it('a 3-cell cycle: e.cells names the cells in reading order and every cell on it throws', () => {
    const a: Cell<number> = cell((): number => b.get() + 1, { name: 'a' });
    const b: Cell<number> = cell((): number => c.get() + 1, { name: 'b' });
    const c: Cell<number> = cell((): number => a.get() + 1, { name: 'c' });
    const ea = caught(() => a.get()) as CycleError;
    expect(ea).toBeInstanceOf(CycleError);
    expect(ea.cells).toEqual(['a', 'b', 'c', 'a']);
    expect(caught(() => b.get())).toBeInstanceOf(CycleError);
    expect(caught(() => c.get())).toBeInstanceOf(CycleError);
    // memoised: the same error, not a fresh computation
    expect(caught(() => a.get())).toBe(ea);
  });

  it('a 3-cell cycle read first from its middle names the cells from there', () => {
    const a: Cell<number> = cell((): number => b.get() + 1, { name: 'a' });
    const b: Cell<number> = cell((): number => c.get() + 1, { name: 'b' });
    const c: Cell<number> = cell((): number => a.get() + 1, { name: 'c' });
    const eb = caught(() => b.get()) as CycleError;
    expect(eb.cells).toEqual(['b', 'c', 'a', 'b']);
    expect(caught(() => a.get())).toBeInstanceOf(CycleError);
    expect(caught(() => c.get())).toBeInstanceOf(CycleError);
  });

  it('a cell downstream of a cycle gets the CycleError too', () => {
    const a: Cell<number> = cell((): number => b.get(), { name: 'a' });
    const b: Cell<number> = cell((): number => a.get(), { name: 'b' });
    const down = cell(() => a.get() * 2, { name: 'down' });
    const e = caught(() => down.get()) as CycleError;
    expect(e).toBeInstanceOf(CycleError);
    expect(e.cells).toEqual(['a', 'b', 'a']);
  });

  it('a self-cycle broken by an input computes again', () => {
    const loop = input(true);
    const self: Cell<number> = cell((): number => (loop.get() ? self.get() + 1 : 42), { name: 'self' });
    expect(caught(() => self.get())).toBeInstanceOf(CycleError);
    loop.set(false);
    expect(self.get()).toBe(42);
    loop.set(true);
    expect(caught(() => self.get())).toBeInstanceOf(CycleError);
  });

  it('a 3-cell cycle broken by an input read in the cell that closes it computes again', () => {
    const closed = input(true);
    const a: Cell<number> = cell((): number => b.get() + 1, { name: 'a' });
    const b: Cell<number> = cell((): number => c.get() + 1, { name: 'b' });
    const c: Cell<number> = cell((): number => (closed.get() ? a.get() + 1 : 0), { name: 'c' });
    expect(caught(() => a.get())).toBeInstanceOf(CycleError);
    closed.set(false);
    expect(a.get()).toBe(2);
    expect(b.get()).toBe(1);
    expect(c.get()).toBe(0);
    closed.set(true);
    expect(caught(() => b.get())).toBeInstanceOf(CycleError);
  });

  // Regression: the cell that closes a cycle (here `b`) fails while reading `a`; it must still
  // depend on `a`, or it memoises the CycleError for ever after `a` stops reading `b`.
  it('a cycle broken by an input read in the first cell lets the cell that closed it compute again', () => {
    const closed = input(true);
    const a: Cell<number> = cell((): number => (closed.get() ? b.get() + 1 : 100), { name: 'a' });
    const b: Cell<number> = cell((): number => a.get() + 1, { name: 'b' });
    expect(caught(() => a.get())).toBeInstanceOf(CycleError);
    closed.set(false);
    expect(a.get()).toBe(100);
    expect(b.get()).toBe(101);
  });

  it('a 3-cell cycle broken by an input read in the first cell makes every cell on it compute again', () => {
    const closed = input(true);
    const a: Cell<number> = cell((): number => (closed.get() ? b.get() + 1 : 100), { name: 'a' });
    const b: Cell<number> = cell((): number => c.get() + 1, { name: 'b' });
    const c: Cell<number> = cell((): number => a.get() + 1, { name: 'c' });
    expect(caught(() => a.get())).toBeInstanceOf(CycleError);
    expect(caught(() => b.get())).toBeInstanceOf(CycleError);
    expect(caught(() => c.get())).toBeInstanceOf(CycleError);
    closed.set(false);
    expect(a.get()).toBe(100);
    expect(c.get()).toBe(101);
    expect(b.get()).toBe(102);
    closed.set(true);
    expect(caught(() => b.get())).toBeInstanceOf(CycleError);
  });

  it('a cycle watched by an effect and broken in its first cell: the effect follows', () => {
    const closed = input(true);
    const a: Cell<number> = cell((): number => (closed.get() ? b.get() + 1 : 100), { name: 'a' });
    const b: Cell<number> = cell((): number => a.get() + 1, { name: 'b' });
    const seen: unknown[] = [];
    const stop = effect(() => {
      try {
        seen.push(b.get());
      } catch (e) {
        seen.push(e instanceof CycleError ? 'cycle' : e);
      }
    });
    closed.set(false);
    closed.set(true);
    closed.set(false);
    expect(seen).toEqual(['cycle', 101, 'cycle', 101]);
    stop();
  });

  // Regression: a cycle that appears in cells that already computed is found while `b` is
  // only being checked for freshness (b checks a, a recomputes and reads b). The error must
  // still name both cells, not claim that `a` reads itself (['a', 'a']).
  it('a cycle closed after the cells computed names every cell on it', () => {
    const closed = input(false);
    const a: Cell<number> = cell((): number => (closed.get() ? b.get() + 1 : 100), { name: 'a' });
    const b: Cell<number> = cell((): number => a.get() + 1, { name: 'b' });
    expect(b.get()).toBe(101);
    closed.set(true);
    const e = caught(() => b.get()) as CycleError;
    expect(e).toBeInstanceOf(CycleError);
    expect([...e.cells].sort()).toEqual(['a', 'b', e.cells[0]].sort());
    expect(e.cells[0]).toBe(e.cells[e.cells.length - 1]);
  });

  it('a cycle watched by an effect: the effect sees the CycleError, then the values once broken', () => {
    const closed = input(true);
    const a: Cell<number> = cell((): number => b.get() + 1, { name: 'a' });
    const b: Cell<number> = cell((): number => (closed.get() ? a.get() + 1 : 0), { name: 'b' });
    const seen: unknown[] = [];
    const stop = effect(() => {
      try {
        seen.push(a.get());
      } catch (e) {
        seen.push(e instanceof CycleError ? e.cells.join('>') : e);
      }
    });
    closed.set(false);
    expect(seen).toEqual(['a>b>a', 1]);
    stop();
  });
});

describe('cell: long chains', () => {
  // Pull evaluation recurses once per level the first time a chain computes, so depth is
  // bounded by the JavaScript stack (README); this pins the benchmark's 1,000 levels
  // under vitest, whose workers have less stack to spare than a plain node process.
  it('a chain of 1,000 cells computes in one read, then updates through an effect', () => {
    const x = input(0);
    let last: Cell<number> = cell(() => x.get());
    for (let i = 0; i < 1000; i++) {
      const previous = last;
      last = cell(() => previous.get() + 1);
    }
    expect(last.get()).toBe(1000);
    const seen: number[] = [];
    const stop = effect(() => void seen.push(last.get()));
    x.set(10);
    expect(seen).toEqual([1000, 1010]);
    stop();
  });
});
