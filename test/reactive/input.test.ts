import { describe, expect, it } from 'vitest';
import { cell, effect, input } from '../../src/reactive/index.js';

describe('input', () => {
  it('get returns the initial value and set replaces it', () => {
    const x = input(1);
    expect(x.get()).toBe(1);
    x.set(2);
    expect(x.get()).toBe(2);
    expect(x.peek()).toBe(2);
  });

  it('update applies a function to the current value', () => {
    const x = input(10);
    x.update((v) => v + 5);
    expect(x.get()).toBe(15);
    x.update((v) => v * 2);
    expect(x.peek()).toBe(30);
  });

  it('carries its name', () => {
    expect(input(0, { name: 'width' }).name).toBe('width');
    expect(input(0).name).toBeUndefined();
  });

  it('get inside a cell tracks; peek does not', () => {
    const tracked = input(1);
    const peeked = input(100);
    let runs = 0;
    const sum = cell(() => {
      runs++;
      return tracked.get() + peeked.peek();
    });
    expect(sum.get()).toBe(101);
    peeked.set(200);
    expect(sum.get()).toBe(101);
    expect(runs).toBe(1);
    tracked.set(2);
    expect(sum.get()).toBe(202);
    expect(runs).toBe(2);
  });

  it('setting an Object.is-equal value changes nothing: no effect re-run, no recomputation', () => {
    const x = input(1);
    let cellRuns = 0;
    const doubled = cell(() => {
      cellRuns++;
      return x.get() * 2;
    });
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(x.get());
    });
    expect(doubled.get()).toBe(2);
    x.set(1);
    x.update((v) => v);
    expect(seen).toEqual([1]);
    expect(doubled.get()).toBe(2);
    expect(cellRuns).toBe(1);
    x.set(2);
    expect(seen).toEqual([1, 2]);
    stop();
  });

  it('uses Object.is: NaN equals NaN, but -0 differs from 0', () => {
    const x = input(Number.NaN);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(x.get());
    });
    x.set(Number.NaN);
    expect(seen).toHaveLength(1);
    const z = input(0);
    const zs: number[] = [];
    const stop2 = effect(() => {
      zs.push(z.get());
    });
    z.set(-0);
    expect(zs).toEqual([0, -0]);
    stop();
    stop2();
  });

  it('a custom equals makes equal values a no-op', () => {
    const calls: Array<[unknown, unknown]> = [];
    const point = input(
      { x: 1, y: 2 },
      {
        equals: (a, b) => {
          calls.push([a, b]);
          return a.x === b.x && a.y === b.y;
        },
      },
    );
    const original = point.get();
    const seen: unknown[] = [];
    const stop = effect(() => {
      seen.push(point.get());
    });
    point.set({ x: 1, y: 2 });
    expect(point.get()).toBe(original); // the old object is kept
    expect(seen).toHaveLength(1);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls[0]?.[0]).toBe(original);
    point.set({ x: 1, y: 3 });
    expect(point.get()).toEqual({ x: 1, y: 3 });
    expect(seen).toHaveLength(2);
    stop();
  });

  it('a custom equals that never says equal makes every set a change', () => {
    const x = input(1, { equals: () => false });
    let runs = 0;
    const stop = effect(() => {
      x.get();
      runs++;
    });
    x.set(1);
    x.set(1);
    expect(runs).toBe(3);
    stop();
  });

  it('rejects an equals that is not a function with a TypeError', () => {
    expect(() => input(1, { equals: 'yes' as never })).toThrow(TypeError);
    expect(() => input(1, { equals: 'yes' as never })).toThrow(
      'Expected `equals` to be a function, got `yes` (string)',
    );
    expect(() => input(1, { equals: 42 as never })).toThrow('Expected `equals` to be a function, got `42` (number)');
  });

  it('accepts undefined options and an undefined equals (the default)', () => {
    expect(input(1, undefined).get()).toBe(1);
    expect(input(1, { equals: undefined }).get()).toBe(1);
  });
});
