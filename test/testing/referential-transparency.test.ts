/**
 * checkReferentialTransparency: passes for memos that are safe (local, async, through a
 * store), and rejects with a small, readable counter-example those that are not.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cell, connect, input, memo, type Store } from '../../src/index.js';
import {
  checkReferentialTransparency,
  ReferentialTransparencyError,
  type Settable,
} from '../../src/testing/index.js';

const SAFE_ONLY_IF =
  'memoising is only safe for functions whose result depends only on their arguments and the reactive values they read';

function naiveFib(n: number): number {
  return n < 2 ? n : naiveFib(n - 1) + naiveFib(n - 2);
}

/** The rejection of a check, asserted to be a ReferentialTransparencyError. */
async function failureOf(check: Promise<void>): Promise<ReferentialTransparencyError> {
  const error = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReferentialTransparencyError);
  return error as ReferentialTransparencyError;
}

/** The numbered command lines of a message's counter-example. */
function stepLines(message: string): string[] {
  return message.split('\n').filter((line) => /^\s+\d+\. /.test(line));
}

describe('checkReferentialTransparency passes', () => {
  it('for a pure local memo (fib), against a naive fib and against its own body', async () => {
    const fib = memo((n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2)), { name: 'fib' });
    await checkReferentialTransparency(
      { memoised: fib, direct: (n) => naiveFib(n) },
      [fc.integer({ min: 0, max: 20 })],
      { numRuns: 100 },
    );
    await checkReferentialTransparency(fib, [fc.integer({ min: 0, max: 60 })], { numRuns: 50 });
  });

  it('for a memo reading reactive inputs, with sets among the commands; inputs are restored after', async () => {
    const offset = input(0, { name: 'offset' });
    const scale = input(1, { name: 'scale' });
    const shifted = memo((n: number, label: string) => ({ label, value: n * scale.get() + offset.get() }), { name: 'shifted' });
    await checkReferentialTransparency(shifted, [fc.integer({ min: -5, max: 5 }), fc.constantFrom('a', 'b')], {
      numRuns: 100,
      inputs: [
        { input: offset, values: fc.integer() },
        { input: scale, values: fc.integer({ min: -3, max: 3 }) },
      ],
    });
    expect([offset.get(), scale.get()]).toEqual([0, 1]);
  });

  it('for an async local memo (reading its input before the await)', async () => {
    const rate = input(2, { name: 'rate' });
    const priced = memo(async (qty: number): Promise<number> => {
      const r = rate.get();
      await Promise.resolve();
      return qty * r;
    });
    await checkReferentialTransparency(priced, [fc.nat(10)], {
      numRuns: 60,
      inputs: [{ input: rate, values: fc.integer({ min: 0, max: 5 }) }],
    });
  });

  it('for a memo whose errors are results too (memoised and fresh evaluation both throw)', async () => {
    const root = memo((n: number) => {
      if (n < 0) throw new RangeError(`no real root of ${n}`);
      return Math.sqrt(n);
    });
    await checkReferentialTransparency(root, [fc.integer({ min: -3, max: 3 })], { numRuns: 40 });
  });

  it("for the spreadsheet example's SUM family over row inputs and line-total cells", async () => {
    const rows = [
      { price: input(2.5, { name: 'A1.price' }), qty: input(40, { name: 'A1.qty' }) },
      { price: input(12, { name: 'A2.price' }), qty: input(3, { name: 'A2.qty' }) },
    ];
    const lineTotal = rows.map((row) => cell(() => row.price.get() * row.qty.get()));
    const sumColumn = memo(
      (column: 'C' | 'D') => (column === 'D' ? lineTotal : rows.map((row) => row.qty)).reduce((sum, c) => sum + c.get(), 0),
      { name: 'SUM' },
    );
    await checkReferentialTransparency(sumColumn, [fc.constantFrom('C' as const, 'D' as const)], {
      numRuns: 60,
      inputs: rows.flatMap((row) => [
        { input: row.price, values: fc.integer({ min: 0, max: 20 }) },
        { input: row.qty, values: fc.nat(50) },
      ]),
    });
  });
});

describe('checkReferentialTransparency through a store (embedded)', () => {
  const store: Store = connect();
  afterAll(async () => {
    await store.close();
  });

  it('passes for a served store memo, its body as the fresh evaluation', async () => {
    const square = store.memo('rt.square', async (n: number) => ({ n, square: n * n }));
    store.serve(square);
    await checkReferentialTransparency(square, [fc.integer({ min: -10, max: 10 })], { numRuns: 40 });
  });

  it('passes for a recursive store memo against a naive fib', async () => {
    const fib = store.memo('rt.fib', async (n: number): Promise<number> =>
      n < 2 ? n : (await fib(n - 1)) + (await fib(n - 2)),
    );
    store.serve(fib, { concurrency: 4 });
    await checkReferentialTransparency({ memoised: fib, direct: naiveFib }, [fc.integer({ min: 0, max: 15 })], {
      numRuns: 30,
    });
  });

  it('passes for a store memo reading a shared store.input(), with sets among the commands', async () => {
    const zoom = store.input('rt.zoom', 1);
    const tile = store.memo('rt.tile', async (x: number) => ({ x, zoom: await zoom.get() }));
    store.serve(tile);
    await checkReferentialTransparency(tile, [fc.nat(4)], {
      numRuns: 40,
      inputs: [{ input: zoom, values: fc.integer({ min: 1, max: 4 }) }],
    });
    expect(await zoom.get()).toBe(1);
  });

  it('fails for a store memo reading a plain variable: the store keeps the stale result', async () => {
    let bonus = 0;
    const bonusVar: Settable<number> = { name: 'bonus', get: () => bonus, set: (v) => void (bonus = v) };
    const award = store.memo('rt.award', async (n: number) => n + bonus);
    store.serve(award);
    const error = await failureOf(
      checkReferentialTransparency(award, [fc.nat(5)], {
        numRuns: 100,
        inputs: [{ input: bonusVar, values: fc.integer({ min: -5, max: 5 }) }],
      }),
    );
    expect(error.kind).toBe('differs');
    expect(error.message).toContain(SAFE_ONLY_IF);
    expect(error.steps.length).toBeLessThanOrEqual(4);
    expect(error.steps.at(-1)).toMatch(/^rt\.award\(\d\) → memoised -?\d, fresh -?\d +✗$/);
  });

  it('says which function has no body to evaluate afresh', async () => {
    const stub = store.remote<[number], number>('rt.elsewhere');
    await expect(checkReferentialTransparency(stub, [fc.nat()])).rejects.toThrow(
      /Cannot evaluate rt\.elsewhere afresh.*\{ memoised, direct \}/,
    );
  });
});

describe('checkReferentialTransparency rejects', () => {
  it('a function reading Math.random(): not deterministic, shrunk to one call', async () => {
    const noisy = memo((n: number) => n + Math.random(), { name: 'noisy' });
    const error = await failureOf(checkReferentialTransparency(noisy, [fc.integer({ min: 0, max: 100 })], { numRuns: 50 }));
    expect(error.kind).toBe('nondeterministic');
    expect(error.message).toContain('noisy(0) is not deterministic');
    expect(error.message).toContain('same arguments');
    expect(error.message).toContain(SAFE_ONLY_IF);
    expect(error.args).toEqual([0]);
    expect(stepLines(error.message)).toHaveLength(1);
  });

  it('a function reading a module-level counter that each evaluation increments', async () => {
    let evaluations = 0;
    const stamp = memo((id: string) => `${id}#${++evaluations}`, { name: 'stamp' });
    const error = await failureOf(checkReferentialTransparency(stamp, [fc.string({ maxLength: 3 })], { numRuns: 50 }));
    expect(error.kind).toBe('nondeterministic');
    expect(error.message).toMatch(/stamp\(""\) is not deterministic/);
    expect(error.message).toMatch(/first fresh evaluation: +"#\d+"/);
    expect(error.message).toContain(SAFE_ONLY_IF);
    expect(error.steps).toHaveLength(1);
  });

  it('a function reading a plain mutable variable, not through an input: the memo returns a stale value', async () => {
    let rate = 1;
    const rateVar: Settable<number> = { name: 'rate', get: () => rate, set: (v) => void (rate = v) };
    const cost = memo((n: number) => n * rate, { name: 'cost' });
    const error = await failureOf(
      checkReferentialTransparency(cost, [fc.integer({ min: 0, max: 20 })], {
        numRuns: 200,
        inputs: [{ input: rateVar, values: fc.integer({ min: 0, max: 10 }) }],
      }),
    );
    expect(error.kind).toBe('differs');
    const { message } = error;
    expect(message).toMatch(/cost\((\d+)\) returned (\d+) from the memo, but a fresh evaluation returns (\d+)\./);
    expect(message).toMatch(/memoised, it returned: +\d+/);
    expect(message).toMatch(/a fresh evaluation returned: +\d+/);
    expect(message).toMatch(/with rate = \d+/);
    expect(message).toContain(SAFE_ONLY_IF);
    expect(message).toContain('a plain variable instead of an input()');
    // Shrunk to the essence: call, set, call again (fast-check's greedy shrinking
    // sometimes keeps one extra set in front: "set rate = 0" before the first call).
    const steps = stepLines(message);
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(steps.length).toBeLessThanOrEqual(4);
    expect(steps.at(-3)).toMatch(/\d\. cost\(\d+\) → \d+$/);
    expect(steps.at(-2)).toMatch(/\d\. set rate = \d+$/);
    expect(steps.at(-1)).toMatch(/\d\. cost\(\d+\) → memoised \d+, fresh \d+ +✗$/);
    expect(error.steps).toHaveLength(steps.length);
    expect(message).toMatch(/Replay it with the options \{ seed: -?\d+, path: "[\d:]+" \}/);
    // Restored after the check, as it found it.
    expect(rate).toBe(1);

    // The seed and path replay the shrunk failure.
    const again = await failureOf(
      checkReferentialTransparency(cost, [fc.integer({ min: 0, max: 20 })], {
        numRuns: 200,
        inputs: [{ input: rateVar, values: fc.integer({ min: 0, max: 10 }) }],
        seed: error.seed,
        ...(error.path === undefined ? {} : { path: error.path }),
      }),
    );
    expect(again.steps).toEqual(error.steps);
  });

  it('a memo reading an input untracked (peek): the set is invisible to it', async () => {
    const discount = input(0, { name: 'discount' });
    const price = memo((n: number) => n - discount.peek(), { name: 'price' });
    const error = await failureOf(
      checkReferentialTransparency(price, [fc.nat(9)], { inputs: [{ input: discount, values: fc.nat(9) }] }),
    );
    expect(error.kind).toBe('differs');
    expect(error.steps.length).toBeLessThanOrEqual(4);
    expect(error.steps.at(-2)).toMatch(/^set discount = \d$/);
    expect(error.steps.at(-1)).toMatch(/^price\(\d\) → memoised -?\d, fresh -?\d +✗$/);
    expect(discount.get()).toBe(0);
  });

  it('a local memo with a custom equals, and bad options, with clear TypeErrors', async () => {
    const half = memo((n: number) => n / 2);
    // Within a tolerance: a memo whose results are compared by a user's equality.
    await checkReferentialTransparency(half, [fc.nat(100)], { numRuns: 20, equals: (a, b) => Math.abs(a - b) < 1e-9 });
    await expect(checkReferentialTransparency(half, [fc.nat()], { numRuns: 0 })).rejects.toThrow(/`numRuns`/);
    await expect(checkReferentialTransparency(half, [42 as never])).rejects.toThrow(
      /argument 0 to be a fast-check arbitrary/,
    );
    await expect(checkReferentialTransparency(((n: number) => n) as never, [fc.nat()])).rejects.toThrow(
      /Expected a memoised function/,
    );
  });
});
