// What encoding a result costs: memocell's default codec (which refuses what JSON would
// silently change: NaN, undefined in arrays, class instances, cycles) beside a bare
// JSON.stringify, for a number, a small object and a report of 1,000 rows. ns per
// encode, median of 5 passes.
//
//   npm run build && node bench/distributed/codec.mjs
import { defaultCodec } from '../../dist/esm/distributed/codec.js';

const values = {
  'a number': 12345,
  'a small object': { id: 7, name: 'seven', tags: ['a', 'b'], ok: true },
  'a report of 1,000 rows': Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `row ${i}`, score: i / 7, flags: [i % 2 === 0, i % 3 === 0] })),
};

const rows = [];
for (const [label, value] of Object.entries(values)) {
  const n = label.startsWith('a report') ? 2_000 : 500_000;
  const time = (fn) => {
    const passes = [];
    for (let p = 0; p < 5; p++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn(value);
      passes.push(((performance.now() - t0) * 1e6) / n);
    }
    return passes.sort((a, b) => a - b)[2];
  };
  const codec = time((v) => defaultCodec.encode(v));
  const json = time((v) => JSON.stringify(v));
  rows.push(`| ${label} | ${codec.toFixed(0)} | ${json.toFixed(0)} | ${(codec / json).toFixed(2)}× |`);
}
console.log('| Encoding | default codec (ns) | JSON.stringify (ns) | ratio |\n| --- | ---: | ---: | ---: |');
for (const row of rows) console.log(row);
