import { describe, expect, it } from 'vitest';
import { batch, cell, effect, input } from '../../src/reactive/index.js';

describe('effect: running', () => {
  it('runs immediately, once', () => {
    const x = input(1);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(x.get());
    });
    expect(seen).toEqual([1]);
    stop();
  });

  it('re-runs synchronously after each change of what it read', () => {
    const x = input(1);
    const doubled = cell(() => x.get() * 2);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(doubled.get());
    });
    x.set(2);
    expect(seen).toEqual([2, 4]);
    x.set(3);
    expect(seen).toEqual([2, 4, 6]);
    stop();
  });

  it('does not re-run for changes of things it did not read', () => {
    const x = input(1);
    const y = input(1);
    let runs = 0;
    const stop = effect(() => {
      x.get();
      runs++;
    });
    y.set(2);
    expect(runs).toBe(1);
    stop();
  });

  it('the disposer stops it', () => {
    const x = input(1);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(x.get());
    });
    stop();
    x.set(2);
    x.set(3);
    expect(seen).toEqual([1]);
    stop(); // idempotent
  });

  it('rejects a non-function with a TypeError', () => {
    expect(() => effect('nope' as never)).toThrow(new TypeError('Expected `fn` to be a function, got `nope` (string)'));
  });
});

describe('effect: cleanup', () => {
  it('runs the cleanup before each re-run, with the values of its run', () => {
    const x = input(1);
    const log: string[] = [];
    const stop = effect(() => {
      const v = x.get();
      log.push(`run ${v}`);
      return () => log.push(`cleanup ${v}`);
    });
    x.set(2);
    x.set(3);
    expect(log).toEqual(['run 1', 'cleanup 1', 'run 2', 'cleanup 2', 'run 3']);
    stop();
    expect(log).toEqual(['run 1', 'cleanup 1', 'run 2', 'cleanup 2', 'run 3', 'cleanup 3']);
    stop();
    expect(log).toHaveLength(6); // the cleanup runs once
  });

  it('what a cleanup reads is not tracked', () => {
    const x = input(1);
    const y = input(1);
    let runs = 0;
    const stop = effect(() => {
      x.get();
      runs++;
      return () => {
        y.get();
      };
    });
    x.set(2); // runs the cleanup, which reads y
    y.set(2);
    expect(runs).toBe(2);
    stop();
  });

  it('an effect may dispose itself during its run', () => {
    const x = input(1);
    const log: string[] = [];
    const stop: () => void = effect(() => {
      const v = x.get();
      log.push(`run ${v}`);
      if (v === 2) stop();
      return () => log.push(`cleanup ${v}`);
    });
    x.set(2);
    x.set(3);
    expect(log).toEqual(['run 1', 'cleanup 1', 'run 2', 'cleanup 2']);
  });
});

describe('effect: disposal during a flush', () => {
  it('an effect disposed by another effect in the same flush does not run', () => {
    const x = input(0);
    const log: string[] = [];
    let stopB: () => void = () => {};
    const stopA = effect(() => {
      if (x.get() === 1) stopB();
      log.push(`A${x.get()}`);
    });
    stopB = effect(() => {
      log.push(`B${x.get()}`);
    });
    x.set(1);
    x.set(2);
    expect(log).toEqual(['A0', 'B0', 'A1', 'A2']);
    stopA();
  });
});

describe('effect: nesting', () => {
  it('effects created inside an effect are disposed when the parent re-runs', () => {
    const outer = input('a');
    const inner = input(0);
    const log: string[] = [];
    const stop = effect(() => {
      const o = outer.get();
      effect(() => {
        const i = inner.get();
        log.push(`${o}${i}`);
        return () => log.push(`-${o}${i}`);
      });
    });
    expect(log).toEqual(['a0']);
    inner.set(1);
    expect(log).toEqual(['a0', '-a0', 'a1']);
    outer.set('b');
    expect(log).toEqual(['a0', '-a0', 'a1', '-a1', 'b1']);
    log.length = 0;
    inner.set(2); // only the child of the latest run remains
    expect(log).toEqual(['-b1', 'b2']);
    log.length = 0;
    stop(); // disposing the parent disposes the child
    expect(log).toEqual(['-b2']);
    inner.set(3);
    expect(log).toEqual(['-b2']);
  });

  it('an inner effect re-running does not re-run its parent', () => {
    const outer = input(0);
    const inner = input(0);
    let parentRuns = 0;
    let childRuns = 0;
    const stop = effect(() => {
      outer.get();
      parentRuns++;
      effect(() => {
        inner.get();
        childRuns++;
      });
    });
    inner.set(1);
    inner.set(2);
    expect([parentRuns, childRuns]).toEqual([1, 3]);
    stop();
  });
});

describe('effect: batch', () => {
  it('coalesces several sets into one run', () => {
    const a = input(1);
    const b = input(10);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(a.get() + b.get());
    });
    batch(() => {
      a.set(2);
      b.set(20);
      a.set(3);
    });
    expect(seen).toEqual([11, 23]);
    stop();
  });

  it('returns what its function returns', () => {
    expect(batch(() => 42)).toBe(42);
  });

  it('nested batches run effects only when the outermost ends', () => {
    const x = input(0);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(x.get());
    });
    batch(() => {
      x.set(1);
      batch(() => {
        x.set(2);
      });
      expect(seen).toEqual([0]);
      x.set(3);
    });
    expect(seen).toEqual([0, 3]);
    stop();
  });

  it('reads inside a batch see the new values (cells are pulled)', () => {
    const x = input(1);
    const doubled = cell(() => x.get() * 2);
    let inside = 0;
    batch(() => {
      x.set(5);
      inside = doubled.get();
    });
    expect(inside).toBe(10);
  });

  it('a batch whose function throws still applies its writes and runs effects, then rethrows', () => {
    const x = input(0);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(x.get());
    });
    const err = new Error('inside');
    expect(() =>
      batch(() => {
        x.set(7);
        throw err;
      }),
    ).toThrow(err);
    expect(seen).toEqual([0, 7]);
    x.set(8); // batching ended: effects run at once again
    expect(seen).toEqual([0, 7, 8]);
    stop();
  });

  it('a batch that leaves a cell the effect reads at an equal value does not re-run the effect', () => {
    const x = input(1);
    const c = cell(() => x.get() > 0);
    let runs = 0;
    const stop = effect(() => {
      c.get();
      runs++;
    });
    batch(() => {
      x.set(2);
      x.set(3);
    });
    expect(runs).toBe(1);
    stop();
  });
});

describe('effect: errors', () => {
  it('an effect that throws on its first run is disposed and the error rethrown', () => {
    const x = input(1);
    let runs = 0;
    const err = new Error('first run');
    expect(() =>
      effect(() => {
        x.get();
        runs++;
        throw err;
      }),
    ).toThrow(err);
    x.set(2);
    expect(runs).toBe(1);
  });

  it('an effect that throws on a later run: the write rethrows it and the effect stays alive', () => {
    const x = input(1);
    const seen: number[] = [];
    const stop = effect(() => {
      const v = x.get();
      seen.push(v);
      if (v === 2) throw new Error('two');
    });
    expect(() => x.set(2)).toThrow('two');
    x.set(3);
    expect(seen).toEqual([1, 2, 3]);
    stop();
  });

  it('errors in effects during a batch: every effect still runs and the first error is rethrown', () => {
    const x = input(0);
    const log: string[] = [];
    const stops = [
      effect(() => {
        const v = x.get();
        log.push(`e1 ${v}`);
        if (v) throw new Error('e1 failed');
      }),
      effect(() => {
        const v = x.get();
        log.push(`e2 ${v}`);
        if (v) throw new Error('e2 failed');
      }),
      effect(() => {
        log.push(`e3 ${x.get()}`);
      }),
    ];
    log.length = 0;
    expect(() =>
      batch(() => {
        x.set(1);
      }),
    ).toThrow('e1 failed');
    expect(log).toEqual(['e1 1', 'e2 1', 'e3 1']);
    // and the graph is still live afterwards
    log.length = 0;
    x.set(0);
    expect(log).toEqual(['e1 0', 'e2 0', 'e3 0']);
    for (const stop of stops) stop();
  });
});

describe('effect: writing inputs', () => {
  it('an effect that writes an input it reads converges', () => {
    const x = input(0);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(x.get());
      if (x.get() < 5) x.set(x.get() + 1);
    });
    expect(x.get()).toBe(5);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    x.set(3);
    expect(x.get()).toBe(5);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 3, 4, 5]);
    stop();
  });

  it('an effect that writes an input it reads through a cell converges', () => {
    const x = input(0);
    const c = cell(() => x.get() * 2);
    const seen: number[] = [];
    const stop = effect(() => {
      const v = c.get();
      seen.push(v);
      if (v < 10) x.set(x.peek() + 1);
    });
    expect(c.get()).toBe(10);
    expect(seen).toEqual([0, 2, 4, 6, 8, 10]);
    stop();
  });

  it('an effect writing another input that another effect reads', () => {
    const celsius = input(0);
    const fahrenheit = input(32);
    const shown: number[] = [];
    const stop1 = effect(() => {
      fahrenheit.set((celsius.get() * 9) / 5 + 32);
    });
    const stop2 = effect(() => {
      shown.push(fahrenheit.get());
    });
    celsius.set(100);
    celsius.set(-40);
    expect(shown).toEqual([32, 212, -40]);
    stop1();
    stop2();
  });

  it('an effect writing an input read by a cell that an earlier effect reads', () => {
    const source = input(1);
    const target = input(0);
    const view = cell(() => target.get() * 10);
    const shown: number[] = [];
    const stop1 = effect(() => {
      shown.push(view.get());
    });
    const stop2 = effect(() => {
      target.set(source.get());
    });
    source.set(2);
    expect(shown).toEqual([0, 10, 20]);
    stop1();
    stop2();
  });
});
