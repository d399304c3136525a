// What watching a call's deadline costs: memocell's Deadlines (one timer for all of a
// client's calls) beside a timer per call (setTimeout + clearTimeout), one call at a
// time and with 128 outstanding. ns per call, median of 5 passes of 1,000,000 calls.
//
//   npm run build && node bench/distributed/deadlines.mjs
import { Deadlines } from '../../dist/esm/distributed/deadlines.js';

const N = 1_000_000;
const TIMEOUT = 30_000;
const noop = () => {};
const call = () => ({ at: performance.now() + TIMEOUT, timeoutMs: TIMEOUT, done: false, expire: noop });

const ways = {
  'Deadlines, one at a time': () => {
    const d = new Deadlines();
    for (let i = 0; i < N; i++) {
      const c = call();
      d.add(c);
      d.settle(c);
    }
    d.clear();
  },
  'timer per call, one at a time': () => {
    for (let i = 0; i < N; i++) clearTimeout(setTimeout(noop, TIMEOUT));
  },
  'Deadlines, 128 outstanding': () => {
    const d = new Deadlines();
    const ring = Array.from({ length: 128 }, () => {
      const c = call();
      d.add(c);
      return c;
    });
    for (let i = 0; i < N; i++) {
      d.settle(ring[i & 127]);
      const c = call();
      d.add(c);
      ring[i & 127] = c;
    }
    d.clear();
  },
  'timer per call, 128 outstanding': () => {
    const ring = Array.from({ length: 128 }, () => setTimeout(noop, TIMEOUT));
    for (let i = 0; i < N; i++) {
      clearTimeout(ring[i & 127]);
      ring[i & 127] = setTimeout(noop, TIMEOUT);
    }
    for (const t of ring) clearTimeout(t);
  },
};

const results = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
for (let pass = 0; pass < 5; pass++) {
  for (const [name, run] of Object.entries(ways)) {
    const t0 = performance.now();
    run();
    results[name].push(((performance.now() - t0) * 1e6) / N);
  }
}
console.log('| Deadline of a call | ns per call (median of 5) |\n| --- | ---: |');
for (const [name, times] of Object.entries(results)) {
  times.sort((a, b) => a - b);
  console.log(`| ${name} | ${times[2].toFixed(0)} |`);
}
