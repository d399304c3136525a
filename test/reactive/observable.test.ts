import { describe, expect, it } from 'vitest';
import { BehaviorSubject, firstValueFrom, from, Observable, Subject, take, toArray, type InteropObservable } from 'rxjs';
import { batch, cell, effect, fromObservable, input, type AsyncCell, type Readable } from '../../src/reactive/index.js';
import { deferred } from '../support/deferred.js';

function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}


describe('observe(): cells and inputs as Observables', () => {
  it('input.observe() emits the current value on subscribe and each distinct later value', () => {
    const x = input(1);
    const obs = x.observe();
    expect(obs).toBeInstanceOf(Observable);
    const seen: number[] = [];
    const sub = obs.subscribe((v) => seen.push(v));
    expect(seen).toEqual([1]);
    x.set(2);
    x.set(2);
    x.set(3);
    expect(seen).toEqual([1, 2, 3]);
    sub.unsubscribe();
    x.set(4);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('cell.observe() emits the current value on subscribe and each distinct later value', () => {
    const x = input(1);
    const parity = cell(() => (x.get() % 2 === 0 ? 'even' : 'odd'));
    const seen: string[] = [];
    const sub = parity.observe().subscribe((v) => seen.push(v));
    expect(seen).toEqual(['odd']);
    x.set(3); // recomputes to an equal value: not emitted
    x.set(4);
    x.set(6);
    x.set(7);
    expect(seen).toEqual(['odd', 'even', 'odd']);
    sub.unsubscribe();
  });

  it('cell.observe() respects a custom equals', () => {
    const x = input(1);
    const c = cell(() => ({ bucket: Math.floor(x.get() / 10) }), { equals: (a, b) => a.bucket === b.bucket });
    const seen: number[] = [];
    const sub = c.observe().subscribe((v) => seen.push(v.bucket));
    x.set(5);
    x.set(15);
    x.set(19);
    expect(seen).toEqual([0, 1]);
    sub.unsubscribe();
  });

  it('each subscriber gets the current value at its own subscribe time', () => {
    const x = input('a');
    const c = cell(() => x.get().toUpperCase());
    const first: string[] = [];
    const second: string[] = [];
    const s1 = c.observe().subscribe((v) => first.push(v));
    x.set('b');
    const s2 = c.observe().subscribe((v) => second.push(v));
    x.set('c');
    expect(first).toEqual(['A', 'B', 'C']);
    expect(second).toEqual(['B', 'C']);
    s1.unsubscribe();
    s2.unsubscribe();
  });

  it('a batch emits once with the final value', () => {
    const a = input(1);
    const b = input(2);
    const sum = cell(() => a.get() + b.get());
    const seen: number[] = [];
    const sub = sum.observe().subscribe((v) => seen.push(v));
    batch(() => {
      a.set(10);
      b.set(20);
    });
    expect(seen).toEqual([3, 30]);
    sub.unsubscribe();
  });

  it('a cell error becomes an Observable error, and the subscription ends', () => {
    const x = input(1);
    const c = cell(() => {
      if (x.get() < 0) throw new Error('negative');
      return x.get();
    });
    const seen: number[] = [];
    const errors: unknown[] = [];
    let runs = 0;
    const counting = cell(() => {
      runs++;
      return c.get();
    });
    const sub = counting.observe().subscribe({ next: (v) => seen.push(v), error: (e) => errors.push(e) });
    x.set(-1);
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('negative');
    expect(sub.closed).toBe(true);
    const before = runs;
    x.set(2); // the errored subscription released the cell
    expect(runs).toBe(before);
  });

  it('a cell that fails at once errors the Observable on subscribe', async () => {
    const err = new Error('at once');
    const c = cell((): number => {
      throw err;
    });
    await expect(firstValueFrom(c.observe())).rejects.toBe(err);
  });

  it('unsubscribing releases the cell: later changes do not recompute it', () => {
    const x = input(1);
    let runs = 0;
    const c = cell(() => {
      runs++;
      return x.get() * 2;
    });
    const seen: number[] = [];
    const sub = c.observe().subscribe((v) => seen.push(v));
    x.set(2);
    expect(runs).toBe(2); // watched: recomputed eagerly for its observer
    sub.unsubscribe();
    x.set(3);
    x.set(4);
    expect(runs).toBe(2);
    expect(c.get()).toBe(8); // still correct, lazily, when read
    expect(runs).toBe(3);
    expect(seen).toEqual([2, 4]);
  });

  it('subscribing again after changes made while unobserved emits the current value', () => {
    const x = input(1);
    const c = cell(() => x.get() * 2);
    const seen: number[] = [];
    c.observe()
      .subscribe((v) => seen.push(v))
      .unsubscribe();
    x.set(5);
    const sub = c.observe().subscribe((v) => seen.push(v));
    x.set(6);
    expect(seen).toEqual([2, 10, 12]);
    sub.unsubscribe();
  });

  it('unsubscribing one of two observers keeps the other one live', () => {
    const x = input(1);
    const c = cell(() => x.get());
    const a: number[] = [];
    const b: number[] = [];
    const sa = c.observe().subscribe((v) => a.push(v));
    const sb = c.observe().subscribe((v) => b.push(v));
    sa.unsubscribe();
    x.set(2);
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
    sb.unsubscribe();
  });
});

/** The public types are interop Observables: this compiles without a cast. */
function interop<T>(source: Readable<T> | AsyncCell<T>): InteropObservable<T> {
  return source;
}

describe('rxjs interop', () => {
  // `npm run typecheck` checks this: the public types declare `[Symbol.observable]`.
  it('rxjs from() accepts a cell, an input and an async cell without a cast (types)', () => {
    const fromCell: Observable<number> = from(cell(() => 1));
    const fromInput: Observable<string> = from(input('a'));
    const fromAsync: Observable<boolean> = from(cell(async () => true));
    expect(fromCell).toBeInstanceOf(Observable);
    expect(fromInput).toBeInstanceOf(Observable);
    expect(fromAsync).toBeInstanceOf(Observable);
  });

  it('from(cell) works through Symbol.observable / @@observable', () => {
    const x = input(1);
    const c = cell(() => x.get() * 10);
    const key = (Symbol as unknown as { observable?: symbol }).observable ?? '@@observable';
    expect(typeof (c as unknown as Record<PropertyKey, unknown>)[key]).toBe('function');
    const seen: number[] = [];
    const sub = from(interop(c)).subscribe((v) => seen.push(v));
    x.set(2);
    expect(seen).toEqual([10, 20]);
    sub.unsubscribe();
  });

  it('from(input) works too', () => {
    const x = input('a');
    const seen: string[] = [];
    const sub = from(interop(x)).subscribe((v) => seen.push(v));
    x.set('b');
    expect(seen).toEqual(['a', 'b']);
    sub.unsubscribe();
  });

  it('firstValueFrom gives the current value and unsubscribes', async () => {
    const x = input(5);
    let runs = 0;
    const c = cell(() => {
      runs++;
      return x.get() + 1;
    });
    expect(await firstValueFrom(c.observe())).toBe(6);
    expect(await firstValueFrom(from(interop(c)))).toBe(6);
    const before = runs;
    x.set(10); // nobody watches it any more
    expect(runs).toBe(before);
  });

  it('rxjs operators see later values', async () => {
    const x = input(0);
    const c = cell(() => x.get() * 2);
    const all = firstValueFrom(c.observe().pipe(take(3), toArray()));
    x.set(1);
    x.set(2);
    expect(await all).toEqual([0, 2, 4]);
  });
});

describe('async cell Observables', () => {
  it('emits settled values only, never pending states or Promises', async () => {
    const x = input(1);
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      const g = deferred<void>();
      gates.push(g);
      await g.promise;
      return v * 100;
    });
    const seen: unknown[] = [];
    const sub = c.observe().subscribe((v) => seen.push(v));
    expect(seen).toEqual([]);
    gates[0]?.resolve();
    await drain();
    expect(seen).toEqual([100]);
    x.set(2);
    await drain();
    expect(seen).toEqual([100]);
    gates[1]?.resolve();
    await drain();
    expect(seen).toEqual([100, 200]);
    sub.unsubscribe();
  });

  it('does not re-emit an equal settled value', async () => {
    const x = input(1);
    const c = cell(async (ctx) => {
      const v = ctx.get(x);
      await Promise.resolve();
      return v > 0;
    });
    const seen: boolean[] = [];
    const sub = c.observe().subscribe((v) => seen.push(v));
    await drain();
    x.set(2);
    await drain();
    x.set(-1);
    await drain();
    expect(seen).toEqual([true, false]);
    sub.unsubscribe();
  });

  it('an async failure errors the Observable', async () => {
    const c = cell(async () => {
      await Promise.resolve();
      throw new Error('async failure');
    });
    await expect(firstValueFrom(c.observe())).rejects.toThrow('async failure');
  });

  it('firstValueFrom of an async cell gives its first settled value', async () => {
    const c = cell(async () => {
      await Promise.resolve();
      return 'ready';
    });
    expect(await firstValueFrom(from(interop(c)))).toBe('ready');
  });
});

describe('fromObservable', () => {
  it('holds the initial value until the stream emits, then follows a Subject', () => {
    const subject = new Subject<number>();
    const s = fromObservable(subject, -1);
    const doubled = cell(() => s.get() * 2);
    expect(s.get()).toBe(-1);
    expect(doubled.get()).toBe(-2);
    subject.next(5);
    expect(s.get()).toBe(5);
    expect(doubled.get()).toBe(10);
    subject.next(6);
    expect(doubled.get()).toBe(12);
    s.dispose();
  });

  it('a BehaviorSubject gives its current value at once', () => {
    const subject = new BehaviorSubject('now');
    const s = fromObservable(subject, 'initial');
    expect(s.get()).toBe('now');
    subject.next('later');
    expect(s.get()).toBe('later');
    s.dispose();
  });

  it('effects follow it, and repeated equal emissions change nothing', () => {
    const subject = new Subject<number>();
    const s = fromObservable(subject, 0);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(s.get());
    });
    subject.next(1);
    subject.next(1);
    subject.next(2);
    expect(seen).toEqual([0, 1, 2]);
    stop();
    s.dispose();
  });

  it('a stream error is rethrown by get() and by cells that read it', () => {
    const subject = new Subject<number>();
    const s = fromObservable(subject, 0, { name: 'ticks' });
    expect(s.name).toBe('ticks');
    const c = cell(() => s.get() + 1);
    expect(c.get()).toBe(1);
    const err = new Error('stream broke');
    subject.error(err);
    expect(() => s.get()).toThrow(err);
    expect(() => c.get()).toThrow(err);
    expect(s.closed).toBe(true);
  });

  it('dispose() unsubscribes from the stream and keeps the last value', () => {
    const subject = new Subject<number>();
    const s = fromObservable(subject, 0);
    expect(subject.observed).toBe(true);
    expect(s.closed).toBe(false);
    subject.next(3);
    s.dispose();
    expect(subject.observed).toBe(false);
    expect(s.closed).toBe(true);
    subject.next(4);
    expect(s.get()).toBe(3);
  });

  it('completion ends it but keeps the last value', () => {
    const subject = new Subject<string>();
    const s = fromObservable(subject, 'init');
    subject.next('last');
    subject.complete();
    expect(s.closed).toBe(true);
    expect(s.get()).toBe('last');
  });

  it('works with a Promise source', async () => {
    const d = deferred<string>();
    const s = fromObservable(d.promise, 'waiting');
    const seen: string[] = [];
    const stop = effect(() => {
      seen.push(s.get());
    });
    expect(s.get()).toBe('waiting');
    d.resolve('resolved');
    await drain();
    expect(s.get()).toBe('resolved');
    expect(seen).toEqual(['waiting', 'resolved']);
    expect(s.closed).toBe(true);
    stop();
  });

  it('a rejected Promise source stores the error', async () => {
    const err = new Error('rejected');
    const s = fromObservable(Promise.reject(err), 0);
    await drain();
    expect(() => s.get()).toThrow(err);
  });

  it('a stream error reaches observers of the stream input and of cells reading it', () => {
    const subject = new Subject<number>();
    const s = fromObservable(subject, 0);
    const c = cell(() => s.get() * 2);
    const errors: unknown[] = [];
    const values: number[] = [];
    s.observe().subscribe({ next: (v) => values.push(v), error: (e) => errors.push(e) });
    c.observe().subscribe({ next: (v) => values.push(v), error: (e) => errors.push(e) });
    const err = new Error('broken');
    subject.error(err);
    expect(values).toEqual([0, 0]);
    expect(errors).toEqual([err, err]);
  });

  it('observe() of a stream input re-emits what the stream emits', () => {
    const subject = new Subject<number>();
    const s = fromObservable(subject, 0);
    const seen: number[] = [];
    const sub = s.observe().subscribe((v) => seen.push(v));
    subject.next(1);
    subject.next(2);
    expect(seen).toEqual([0, 1, 2]);
    sub.unsubscribe();
    s.dispose();
  });
});
