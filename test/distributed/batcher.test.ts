/**
 * The Batcher behind cache lookups and get registrations: a lone call goes out at once
 * (through `sendOne` when given), calls made while `maxInFlight` batches are out wait and
 * go together, and every call gets its own output or its batch's error. Checked with
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
