/**
 * The Batcher behind cache lookups and get registrations: a lone call goes out at once
 * through `sendOne` when given, the calls made in one run of promise callbacks go as one
 * batch, calls made while `maxInFlight` batches are out wait and go together, and every
 * call gets its own output or its batch's error. Checked with
 * sends whose completion the test controls, in orders fast-check chooses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/distributed/batcher.js';

interface Sent {
  readonly items: number[];
  readonly lone: boolean;
  settle(fail: boolean): void;
}

function harness(maxInFlight: number, maxBatch: number, withSendOne: boolean) {
  const sent: Sent[] = [];
  let open = 0;
  let most = 0;
  /** Counts sends in flight around a send the test settles. */
  const track = <T>(send: Promise<T>): Promise<T> => {
    open++;
    most = Math.max(most, open);
    return send.finally(() => open--);
  };
  const batcher = new Batcher<number, string>(
    (items) =>
      track(
        new Promise<string[]>((resolve, reject) =>
          sent.push({ items, lone: false, settle: (fail) => (fail ? reject(new Error(`batch ${items.join(',')}`)) : resolve(items.map((i) => `out${i}`))) }),
        ),
      ),
    maxInFlight,
    maxBatch,
    withSendOne
      ? (item) =>
          track(
            new Promise<string>((resolve, reject) =>
              sent.push({ items: [item], lone: true, settle: (fail) => (fail ? reject(new Error(`batch ${item}`)) : resolve(`out${item}`)) }),
            ),
          )
      : undefined,
  );
  return { batcher, sent, inFlightMost: () => most };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('sends a lone call at once through sendOne, and batches the calls made meanwhile', async () => {
    const { batcher, sent } = harness(1, 256, true);
    const first = batcher.call(1);
    expect(sent.map((s) => [s.items, s.lone])).toEqual([[[1], true]]);
    const later = [batcher.call(2), batcher.call(3)];
    expect(sent).toHaveLength(1);
    sent[0]?.settle(false);
    expect(await first).toBe('out1');
    await flush();
    expect(sent.map((s) => [s.items, s.lone])).toEqual([
      [[1], true],
      [[2, 3], false],
    ]);
    sent[1]?.settle(false);
    expect(await Promise.all(later)).toEqual(['out2', 'out3']);
  });

  it('sends the calls made in one run of promise callbacks as one batch, however deep each chain', async () => {
    const { batcher, sent } = harness(2, 256, false);
    // Sixteen callers answered together, each reaching its next call a different number
    // of promise hops later (as handlers of different shapes do).
    const hops = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    const calls = Array.from({ length: 16 }, (_, i) => hops(i % 5).then(() => batcher.call(i)));
    await Promise.resolve();
    expect(sent).toHaveLength(0);
    await flush();
    expect(sent.map((s) => s.items)).toEqual([[0, 5, 10, 15, 1, 6, 11, 2, 7, 12, 3, 8, 13, 4, 9, 14]]);
    sent[0]?.settle(false);
    expect(await Promise.all(calls.map((c) => c.then((p) => p)))).toHaveLength(16);
  });

  it('sends a lone call without sendOne before the next turn of the event loop', async () => {
    const { batcher, sent } = harness(2, 256, false);
    const call = batcher.call(7);
    await flush();
    expect(sent.map((s) => s.items)).toEqual([[7]]);
    sent[0]?.settle(false);
    expect(await call).toBe('out7');
  });

  it('every call gets its own output or its batch error, never more than maxInFlight out, never more than maxBatch in one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.array(fc.oneof(fc.constant<'call'>('call'), fc.record({ settle: fc.nat(), fail: fc.boolean() })), { maxLength: 40 }),
        async (maxInFlight, maxBatch, withSendOne, steps) => {
          const { batcher, sent, inFlightMost } = harness(maxInFlight, maxBatch, withSendOne);
          const settledBatches = new Set<Sent>();
          const failedItems = new Set<number>();
          const results: Array<Promise<{ item: number; out?: string; error?: string }>> = [];
          let next = 0;
          const settleOne = async (pick: number, fail: boolean): Promise<void> => {
            const open = sent.filter((s) => !settledBatches.has(s));
            const target = open[pick % Math.max(1, open.length)];
            if (target === undefined) return;
            settledBatches.add(target);
            if (fail) for (const item of target.items) failedItems.add(item);
            target.settle(fail);
            await flush();
          };
          for (const step of steps) {
            if (step === 'call') {
              const item = next++;
              results.push(batcher.call(item).then((out) => ({ item, out }), (e: Error) => ({ item, error: e.message })));
            } else {
              await settleOne(step.settle, step.fail);
            }
          }
          // Calls made since the last step go out once this run of callbacks ends.
          await flush();
          // Drain: settle whatever is still out (successfully) until every call is answered.
          for (let guard = 0; sent.some((s) => !settledBatches.has(s)); guard++) {
            if (guard > 200) throw new Error('the batcher left calls unsent');
            await settleOne(0, false);
          }
          const answers = await Promise.all(results);
          for (const a of answers) {
            if (failedItems.has(a.item)) expect(a.error).toMatch(new RegExp(`^batch (.*,)?${a.item}(,.*)?$`));
            else expect(a.out).toBe(`out${a.item}`);
          }
          // Each call was sent exactly once, in the order made.
          expect(sent.flatMap((s) => s.items)).toEqual(answers.map((a) => a.item));
          expect(inFlightMost()).toBeLessThanOrEqual(maxInFlight);
          for (const s of sent) expect(s.items.length).toBeLessThanOrEqual(maxBatch);
          if (!withSendOne) expect(sent.every((s) => !s.lone)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
