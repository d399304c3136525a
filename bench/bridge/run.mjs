// The bridge's figures: an L1 hit against a local memo hit, and how long a forget in
// one process takes to re-emit in another (through a private redis-server).
//   npm run bench:bridge
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { connect, memo } from '../../dist/esm/index.js';
import { startRedis } from '../distributed/redis-server.mjs';

const KEYS = 10_000;
const PASSES = 20;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

async function hits() {
  const local = memo((k) => k * 2, { max: 1 << 20 });
  const store = connect();
  const remote = store.memo('bench.double', (k) => k * 2, { l1Max: 1 << 20 });
  store.serve(remote, { concurrency: 8 });
  for (let k = 0; k < KEYS; k++) local(k);
  await Promise.all(Array.from({ length: KEYS }, (_, k) => remote(k)));
  const localNs = [];
  const l1Ns = [];
  const l1AwaitNs = [];
  for (let p = 0; p < PASSES; p++) {
    let t = process.hrtime.bigint();
    let acc = 0;
    for (let k = 0; k < KEYS; k++) acc += local(k);
    localNs.push(Number(process.hrtime.bigint() - t) / KEYS);
    t = process.hrtime.bigint();
    let last;
    for (let k = 0; k < KEYS; k++) last = remote(k);
    l1Ns.push(Number(process.hrtime.bigint() - t) / KEYS);
    t = process.hrtime.bigint();
    for (let k = 0; k < KEYS; k++) acc += await remote(k);
    l1AwaitNs.push(Number(process.hrtime.bigint() - t) / KEYS);
    if (acc === -1 || last === undefined) console.log('');
  }
  await store.close();
  return { local: median(localNs), l1: median(l1Ns), l1Await: median(l1AwaitNs) };
}

async function invalidation() {
  const redis = await startRedis();
  const child = spawn(process.execPath, [new URL('./observer.mjs', import.meta.url).pathname, redis.url], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const store = connect(redis.url);
  const live = store.remote('bench.live', { ttlSeconds: 600 });
  let waiting;
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('value ')) waiting?.(line);
    }
  });
  const next = () => new Promise((resolve) => (waiting = resolve));
  await next(); // the first value
  const ms = [];
  for (let i = 0; i < 200; i++) {
    const seen = next();
    const t = process.hrtime.bigint();
    await live.forget('x');
    await seen;
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  child.kill();
  await store.close();
  await redis.stop();
  return { p50: pct(ms, 50), p99: pct(ms, 99), n: ms.length };
}

async function dependents() {
  const redis = await startRedis();
  const store = connect(redis.url);
  const rate = store.input('bench.rate', 1);
  const node = store.memo('bench.node', async (i) => i * (await rate.get()), { ttlSeconds: 600 });
  store.serve(node, { concurrency: 64 });
  const N = 10_000;
  // Compute all 10,000 once: each records that it read the rate.
  for (let from = 0; from < N; from += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, i) => node(from + i)));
  }
  const t = process.hrtime.bigint();
  await rate.set(2);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  // Check it worked: a node recomputes with the new rate.
  const check = await node(7);
  await store.close();
  await redis.stop();
  if (check !== 14) throw new Error(`dependents: node(7) = ${check} after the set, expected 14`);
  return { ms, n: N };
}

const h = await hits();
const inv = await invalidation();
const dep = await dependents();
const lines = [
  '### Bridge (`npm run bench:bridge`)',
  '',
  `${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus()[0]?.model.trim() ?? ''} (${cpus().length} cores)`,
  '',
  '| Figure | memocell | target |',
  '| --- | ---: | --- |',
  `| local \`memo\` hit | ${h.local.toFixed(0)} ns | |`,
  `| store memo L1 hit (the call, returning its Promise) | ${h.l1.toFixed(0)} ns (${(h.l1 / h.local).toFixed(2)}× local) | within 2× of a local hit |`,
  `| store memo L1 hit, awaited | ${h.l1Await.toFixed(0)} ns (${(h.l1Await / h.local).toFixed(2)}× local) | |`,
  `| forget in one process → re-emission in another, p50 / p99 (${inv.n} forgets) | ${inv.p50.toFixed(2)} / ${inv.p99.toFixed(2)} ms | |`,
  `| invalidate ${dep.n.toLocaleString('en-US')} dependents of a shared input (\`set\` until done) | ${dep.ms.toFixed(1)} ms | |`,
];
console.log(lines.join('\n'));
