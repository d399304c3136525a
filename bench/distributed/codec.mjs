// What encoding and decoding a result cost: memocell's default codec (which refuses what
// JSON would silently change: NaN, undefined in arrays, class instances, cycles, and
// stores a string as it is) beside a bare JSON.stringify and JSON.parse, for a number, a
// small object, a report of 1,000 rows and a rendered page of about 160 KB. ns per call,
// median of 5 passes.
//
//   npm run build && node bench/distributed/codec.mjs
import { defaultCodec } from '../../dist/esm/distributed/codec.js';

const values = {
  'a number': 12345,
  'a small object': { id: 7, name: 'seven', tags: ['a', 'b'], ok: true },
  'a report of 1,000 rows': Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `row ${i}`, score: i / 7, flags: [i % 2 === 0, i % 3 === 0] })),
  'a rendered page (string)': Array.from(
    { length: 2000 },
    (_, i) => `<div class="row" data-i="${i}"><a href="/item?i=${i}&amp;q=1">Item "${i}"</a></div>\n`,
  ).join(''),
};

const rows = [];
for (const [label, value] of Object.entries(values)) {
  const n = label.startsWith('a report') || label.startsWith('a rendered') ? 2_000 : 500_000;
  const time = (fn, input) => {
    const passes = [];
    for (let p = 0; p < 5; p++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn(input);
      passes.push(((performance.now() - t0) * 1e6) / n);
    }
    return passes.sort((a, b) => a - b)[2];
  };
  // As a reply from Redis would be: a flat string, not a slice of the encoder's output.
  const stored = Buffer.from(defaultCodec.encode(value)).toString();
  const json = Buffer.from(JSON.stringify(value)).toString();
  const encode = time((v) => defaultCodec.encode(v), value);
  const stringify = time((v) => JSON.stringify(v), value);
  const decode = time((d) => defaultCodec.decode(d), stored);
  const parse = time((d) => JSON.parse(d), json);
  const size = typeof value === 'string' ? ` (${(Buffer.byteLength(json) / 1024).toFixed(0)} KB as JSON, ${(Buffer.byteLength(stored) / 1024).toFixed(0)} KB stored)` : '';
  const ratio = (x) => (x < 0.01 ? '< 0.01×' : `${x.toFixed(2)}×`);
  const ns = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(0)} µs` : `${x.toFixed(0)} ns`);
  rows.push(`| ${label}${size} | ${ns(encode)} | ${ns(stringify)} | ${ratio(encode / stringify)} | ${ns(decode)} | ${ns(parse)} | ${ratio(decode / parse)} |`);
}
console.log('| Value | encode: default codec | JSON.stringify | ratio | decode: default codec | JSON.parse | ratio |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) console.log(row);
