// One-at-a-time misses through 1 or 2 memocell server processes: p50, p99, misses/s,
// the client's CPU per miss, and each server's CPU per job it served. Showed what a
// lone request cost when two idle servers alternated, and that with the idle list one
// server takes them all (BENCHMARKS.md, 2026-12-02).
//
//   npm run build && node bench/distributed/servers.mjs [servers=2] [misses=3000]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedis } from './redis-server.mjs';

const { createRedisStore } = await import('memocell/distributed');
const servers = Number(process.argv[2] ?? 2);
const N = Number(process.argv[3] ?? 3000);
const redis = await startRedis();
const children = [];
try {
  for (let i = 0; i < servers; i++) {
    const child = fork(fileURLToPath(new URL('./memocell-server.mjs', import.meta.url)), [redis.url, 'srv', 'noop', '16']);
    await new Promise((resolve) => child.on('message', (m) => m.type === 'ready' && resolve()));
    children.push(child);
  }
  const store = createRedisStore({ redis: redis.url, prefix: 'srv' });
  let next = 0;
  for (let k = 0; k < 300; k++) await store.get('noop', [next++]);
  const usage = (c) =>
    new Promise((resolve) => {
      c.once('message', (m) => resolve({ cpu: m.usage.user + m.usage.system, served: m.served }));
      c.send({ type: 'cpu' });
    });
  const before = await Promise.all(children.map(usage));
  const cpu0 = process.cpuUsage();
  const times = [];
  const t0 = performance.now();
  for (let k = 0; k < N; k++) {
    const s = performance.now();
    await store.get('noop', [next++]);
    times.push(performance.now() - s);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = await Promise.all(children.map(usage));
  times.sort((a, b) => a - b);
  console.log(
    `${servers} server(s): p50 ${times[N >> 1].toFixed(3)} ms, p99 ${times[Math.floor(N * 0.99)].toFixed(3)} ms, ` +
      `${(N / seconds).toFixed(0)} misses/s, client ${((cpu.user + cpu.system) / N).toFixed(0)} µs CPU per miss`,
  );
  for (const [i, a] of after.entries()) {
    const served = a.served - before[i].served;
    const perJob = served > 0 ? `${((a.cpu - before[i].cpu) / served).toFixed(0)} µs CPU per job` : `${((a.cpu - before[i].cpu) / 1000).toFixed(0)} ms CPU idle`;
    console.log(`  server ${i + 1}: served ${served}, ${perJob}`);
  }
  await store.close();
} finally {
  for (const c of children) c.kill();
  await redis.stop();
}
