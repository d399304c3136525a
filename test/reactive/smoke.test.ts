import { describe, expect, it } from 'vitest';
import { input, cell, effect, batch, memo, CycleError } from '../../src/reactive/index.js';

describe('smoke', () => {
  it('basic', async () => {
    const w = input(10);
    const area = cell(() => w.get() * 2);
    expect(area.get()).toBe(20);
    w.set(30);
    expect(area.get()).toBe(60);
    const seen: number[] = [];
    const stop = effect(() => { seen.push(area.get()); });
    w.set(1);
    batch(() => { w.set(2); w.set(3); });
    stop();
    w.set(4);
    expect(seen).toEqual([60, 2, 6]);
    const fib = memo((n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2)));
    expect(fib(80)).toBe(23416728348467685);
    const a: any = cell(() => b.get(), { name: 'a' });
    const b: any = cell(() => a.get(), { name: 'b' });
    expect(() => a.get()).toThrow(CycleError);
    const x = input(1);
    const ac = cell(async (ctx) => { await new Promise(r => setTimeout(r, 5)); return ctx.get(x) * 10; });
    expect(ac.state().status).toBe('pending');
    expect(await ac.get()).toBe(10);
    x.set(2);
    expect(await ac.get()).toBe(20);
  });
});
