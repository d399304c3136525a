// Two builds of memocell side by side, in alternating order, on one private Redis each
// round: misses with 128 outstanding (two server processes of 16 slots, one client)
// and misses one at a time (the same servers), with the CPU each process spent per
// miss. For judging a change against the last commit on a noisy machine, where runs
// minutes apart differ by more than most changes: give a `git worktree` of the last
// commit (built) and this checkout.
//
//   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && npm ci && npm run build)
//   npm run build && node bench/distributed/builds.mjs /tmp/before . [--rounds=3] [--jobs=30000]
//
// Each round starts fresh servers for each build, warms them up (30,000 misses with 128
// outstanding, then 2,000 one at a time, as run.mjs does), then times `--jobs` misses
// with 128 outstanding and 3,000 one at a time. Prints every round and the medians.
// Compare the builds within this run, not with another run.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const raw = argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const value = Number(raw ?? fallback);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`builds.mjs: --${name} must be a positive whole number, got ${raw}`);
    process.exit(2);
  }
  return value;
};
const ROUNDS = option('rounds', 3);
const JOBS = option('jobs', 30_000);
const ONE_AT_A_TIME = 3_000;
const OUTSTANDING = 128;
const roots = argv.filter((a) => !a.startsWith('--')).map((r) => path.resolve(r));
if (roots.length !== 2) {
  console.error('usage: node bench/distributed/builds.mjs BEFORE_ROOT AFTER_ROOT [--rounds=3] [--jobs=30000]');
  process.exit(2);
}
for (const root of roots) {
  if (!existsSync(path.join(root, 'dist/esm/distributed/index.js'))) {
    console.error(`builds.mjs: ${root} has no build (run npm ci && npm run build there)`);
    process.exit(2);
  }
}

/** One round of one build: its figures with 128 outstanding and one at a time. */
async function round(root, n) {
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  const { createRedisStore } = await import(path.join(root, 'dist/esm/distributed/index.js'));
  const service = `builds-${n}`;
  const servers = [];
  const store = createRedisStore({ redis: redis.url, prefix: 'builds' });
  try {
    for (let i = 0; i < 2; i++) {
      const child = fork(path.join(root, 'bench/distributed/memocell-server.mjs'), [redis.url, 'builds', service, '16']);
      await new Promise((resolve, reject) => {
        child.once('error', reject);
        child.on('message', (m) => m?.type === 'ready' && resolve());
      });
      servers.push(child);
    }
    let next = 0;
    const windowOf = async (jobs) => {
      let left = jobs;
      const caller = async () => {
        while (left-- > 0) await store.get(service, [next++]);
      };
      await Promise.all(Array.from({ length: OUTSTANDING }, caller));
    };
    const serverCpu = () =>
      Promise.all(
        servers.map(
          (child) =>
            new Promise((resolve) => {
              child.once('message', (m) => resolve(m.usage.user + m.usage.system));
              child.send({ type: 'cpu' });
            }),
        ),
      ).then((values) => values.reduce((a, b) => a + b, 0));
    const redisCpu = async () => {
      const info = await admin.info('cpu');
      const field = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)[1]);
      return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
    };
    /** Runs `work` of `jobs` misses: misses/s and CPU µs per miss of each process. */
    const measure = async (jobs, work) => {
      const [s0, r0] = [await serverCpu(), await redisCpu()];
      const c0 = process.cpuUsage();
      const began = performance.now();
      await work();
      const seconds = (performance.now() - began) / 1000;
      const c = process.cpuUsage(c0);
      const [s1, r1] = [await serverCpu(), await redisCpu()];
      return {
        perSecond: jobs / seconds,
        client: (c.user + c.system) / jobs,
        servers: (s1 - s0) / jobs,
        redis: (r1 - r0) / jobs,
      };
    };
    await windowOf(30_000);
    for (let i = 0; i < 2_000; i++) await store.get(service, [next++]);
    const windowed = await measure(JOBS, () => windowOf(JOBS));
    const single = await measure(ONE_AT_A_TIME, async () => {
      for (let i = 0; i < ONE_AT_A_TIME; i++) await store.get(service, [next++]);
    });
    return { windowed, single };
  } finally {
    await store.close();
    for (const child of servers) child.kill('SIGKILL');
    admin.disconnect();
    await redis.stop();
  }
}

const results = roots.map(() => []);
for (let n = 0; n < ROUNDS; n++) {
  // Alternating order: the build that goes first changes every round.
  const order = n % 2 === 0 ? [0, 1] : [1, 0];
  for (const b of order) {
    const r = await round(roots[b], n);
    results[b].push(r);
    const f = (m) => `${Math.round(m.perSecond).toLocaleString('en-US')}/s, CPU µs per miss ${m.client.toFixed(1)} / ${m.servers.toFixed(1)} / ${m.redis.toFixed(1)}`;
    console.log(`round ${n + 1}, ${roots[b]}: ${OUTSTANDING} outstanding ${f(r.windowed)}; one at a time ${f(r.single)}`);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`\nMedians of ${ROUNDS} rounds (CPU µs per miss: client / servers / redis-server)\n`);
console.log('| Build | misses/s, 128 outstanding | CPU µs per miss | misses/s one at a time | CPU µs per miss |');
console.log('| --- | ---: | --- | ---: | --- |');
for (const [b, root] of roots.entries()) {
  const cells = ['windowed', 'single'].flatMap((kind) => {
    const of = (field) => median(results[b].map((r) => r[kind][field]));
    return [Math.round(of('perSecond')).toLocaleString('en-US'), `${of('client').toFixed(1)} / ${of('servers').toFixed(1)} / ${of('redis').toFixed(1)}`];
  });
  console.log(`| ${root} | ${cells.join(' | ')} |`);
}
const ratio = (kind) => median(results[1].map((r) => r[kind].perSecond)) / median(results[0].map((r) => r[kind].perSecond));
console.log(`\nsecond / first: ${ratio('windowed').toFixed(2)}× with ${OUTSTANDING} outstanding, ${ratio('single').toFixed(2)}× one at a time`);
