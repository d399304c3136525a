/**
 * Deadlines, the one timer behind a client's call deadlines: a call that has not
 * settled expires exactly once, as soon as its deadline passes and not before; a call
 * that settled never expires; once nothing is watched no timer keeps the process
 * alive (the one timer stays set, unref'd, for the next call); and the queues hold about as many calls as are outstanding. Checked
 * against a plain list of calls under fake time, with steps fast-check chooses.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type Deadline } from '../../src/distributed/deadlines.js';

interface Call extends Deadline {
  readonly id: number;
  expiredAt: number | undefined;
  settled: boolean;
}

type Step =
  | { readonly kind: 'add'; readonly timeoutMs: number; readonly lateStartMs: number }
  | { readonly kind: 'settle'; readonly pick: number }
  | { readonly kind: 'advance'; readonly ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), timeoutMs: fc.constantFrom(10, 50, 200), lateStartMs: fc.constantFrom(0, 0, 0, 5) }),
  fc.record({ kind: fc.constant('settle' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120 }) }),
);

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Deadlines', () => {
  it('expires each unsettled call once, when its deadline passes; never a settled one; no timer holds the process once nothing is watched', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        // A failed run leaves its timers behind: each run starts from none.
        vi.clearAllTimers();
        vi.setSystemTime(1_000_000);
        const deadlines = new Deadlines();
        const calls: Call[] = [];
        for (const s of steps) {
          if (s.kind === 'add') {
            // lateStartMs: a wait that follows a cache lookup keeps the lookup's start.
            const call: Call = {
              id: calls.length,
              at: performance.now() - s.lateStartMs + s.timeoutMs,
              timeoutMs: s.timeoutMs,
              done: false,
              settled: false,
              expiredAt: undefined,
              expire() {
                expect(call.expiredAt).toBeUndefined();
                call.expiredAt = performance.now();
              },
            };
            calls.push(call);
            deadlines.add(call);
          } else if (s.kind === 'settle') {
            const open = calls.filter((c) => !c.settled && c.expiredAt === undefined);
            const call = open[s.pick % Math.max(1, open.length)];
            if (call === undefined) continue;
            call.settled = true;
            deadlines.settle(call);
          } else {
            vi.advanceTimersByTime(s.ms);
          }
          for (const call of calls) {
            if (call.settled) expect(call.expiredAt).toBeUndefined();
            else if (call.at <= performance.now()) expect(call.expiredAt).toBe(call.at);
            else expect(call.expiredAt).toBeUndefined();
          }
          expect(deadlines.size).toBe(calls.filter((c) => !c.settled && c.expiredAt === undefined).length);
          // The timer may stay set for the next call, but must not keep the process alive.
          if (deadlines.size === 0) expect(deadlines.holdsProcess).toBe(false);
          else expect(deadlines.holdsProcess).toBe(true);
        }
        deadlines.clear();
        expect(vi.getTimerCount()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('a call added after another but due before it expires at its own deadline (the case fast-check found when order was not kept)', () => {
    const deadlines = new Deadlines();
    const expired: string[] = [];
    const t0 = performance.now();
    deadlines.add({ at: t0 + 10, timeoutMs: 10, done: false, expire: () => expired.push(`first at +${performance.now() - t0}`) });
    deadlines.add({ at: t0 + 5, timeoutMs: 10, done: false, expire: () => expired.push(`second at +${performance.now() - t0}`) });
    vi.advanceTimersByTime(5);
    expect(expired).toEqual(['second at +5']);
    vi.advanceTimersByTime(5);
    expect(expired).toEqual(['second at +5', 'first at +10']);
  });

  it('a wall clock stepped forward expires no call early, and one stepped back holds none late (found in CI: calls timed out 28-45 ms early)', () => {
    const deadlines = new Deadlines();
    const expired: string[] = [];
    const t0 = performance.now();
    const add = (name: string, ms: number): void =>
      deadlines.add({ at: t0 + ms, timeoutMs: ms, done: false, expire: () => expired.push(`${name} at +${performance.now() - t0}`) });
    add('quick', 5);
    add('slow', 1_000);
    // Forward a minute (NTP, a VM resumed): when the quick call's timer fires, the slow
    // call has 995 ms to go, whatever the wall clock says.
    vi.setSystemTime(Date.now() + 60_000);
    vi.advanceTimersByTime(5);
    expect(expired).toEqual(['quick at +5']);
    // Back a minute: the slow call still expires at its own deadline, not a minute late.
    vi.setSystemTime(Date.now() - 120_000);
    vi.advanceTimersByTime(995);
    expect(expired).toEqual(['quick at +5', 'slow at +1000']);
    expect(deadlines.size).toBe(0);
  });

  it('holds about as many calls as are outstanding when one slow call stays behind many quick ones', () => {
    vi.setSystemTime(1_000_000);
    const deadlines = new Deadlines();
    const slow: Deadline = { at: performance.now() + 30_000, timeoutMs: 30_000, done: false, expire: () => {} };
    deadlines.add(slow);
    for (let i = 0; i < 100_000; i++) {
      const quick: Deadline = { at: performance.now() + 30_000, timeoutMs: 30_000, done: false, expire: () => {} };
      deadlines.add(quick);
      deadlines.settle(quick);
    }
    expect(deadlines.size).toBe(1);
    // The queue behind the slow call is compacted, not 100,000 long.
    const queue = (deadlines as unknown as { queues: Map<number, { items: unknown[] }> }).queues.get(30_000);
    expect(queue?.items.length).toBeLessThan(200);
  });

  it('clear() forgets every call without expiring any and leaves no timer', () => {
    const deadlines = new Deadlines();
    let expired = 0;
    for (let i = 0; i < 10; i++) deadlines.add({ at: performance.now() + 10 * i, timeoutMs: 10 * i, done: false, expire: () => expired++ });
    deadlines.clear();
    vi.advanceTimersByTime(1_000);
    expect(expired).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with real timers: the timer holds the process only while a call is watched, and the timer left set still expires a later call on time', async () => {
    vi.useRealTimers();
    const deadlines = new Deadlines();
    // The real timer itself, not a count of the process's timers (others come and go).
    const timer = (): NodeJS.Timeout | undefined => (deadlines as unknown as { timer: NodeJS.Timeout | undefined }).timer;
    const first: Deadline = { at: performance.now() + 200, timeoutMs: 200, done: false, expire: () => {} };
    deadlines.add(first);
    expect(timer()?.hasRef()).toBe(true);
    const left = timer();
    deadlines.settle(first);
    // Still set (for the next call) but unref'd: the process could exit now.
    expect(timer()).toBe(left);
    expect(timer()?.hasRef()).toBe(false);
    expect(deadlines.holdsProcess).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Due after the timer left set: it must fire for the first, find this one, and set
    // itself again for it.
    let expiredAt: number | undefined;
    const second: Deadline = { at: performance.now() + 200, timeoutMs: 200, done: false, expire: () => (expiredAt = performance.now()) };
    deadlines.add(second);
    expect(timer()).toBe(left);
    expect(timer()?.hasRef()).toBe(true);
    for (let waited = 0; expiredAt === undefined && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(expiredAt).toBeGreaterThanOrEqual(second.at);
    expect(deadlines.holdsProcess).toBe(false);
    expect(timer()).toBeUndefined();
    deadlines.clear();
  });
});
