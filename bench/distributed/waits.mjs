// Where a run of many outstanding misses waits: one client keeps WINDOW memocell gets
// outstanding through two server processes, and this prints, for the timed part, the
// misses per second; the CPU per miss of the client, the servers and redis-server; how
// busy the machine's CPUs were (/proc/stat); how long each process was runnable but not
// running (/proc/PID/task/*/schedstat); and, sampled by a separate process, how many
// requests were queued, pending (queued or computing) and answered but not yet read.
// Linux only (the /proc figures); the rest runs anywhere.
//
//   npm run build && node bench/distributed/waits.mjs [--jobs=30000] [--warm=30000]
//                                                    [--window=128] [--concurrency=16]
//
// Compare figures within one run or between runs close in time (shared, noisy machines).
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { childCpuUs, redisCpuUs } from './cpu.mjs';
import { startRedis } from './redis-server.mjs';

const PREFIX = 'waits';
const SERVICE = 'noop';

if (process.argv[2] === 'sampler') {
  // LLEN / ZCARD of the service's queue, pending set and reply lists, until told to stop.
  const [url, base] = process.argv.slice(3);
  const redis = new Redis(url);
  const sums = { queued: 0, pending: 0, answered: 0 };
  let samples = 0;
  let running = true;
  process.on('message', (m) => m === 'stop' && (running = false));
  process.send('ready');
  while (running) {
    const replyKeys = await redis.keys(`${base}:reply:*`);
    const [queued, pending, ...answered] = await Promise.all([
      redis.llen(`${base}:q`),
      redis.zcard(`${base}:pending`),
      ...replyKeys.map((k) => redis.llen(k)),
    ]);
    sums.queued += queued;
    sums.pending += pending;
    sums.answered += answered.reduce((a, b) => a + b, 0);
    samples++;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  process.send({ samples, ...Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, samples)])) });
  redis.disconnect();
  process.exit(0);
}

const option = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const JOBS = option('jobs', 30_000);
const WARM = option('warm', 30_000);
const WINDOW = option('window', 128);
const CONCURRENCY = option('concurrency', 16);
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const linux = existsSync('/proc/stat');

/** Total, idle and softirq jiffies of all CPUs. */
function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), idle: f[3] + f[4], softirq: f[6] };
}

/** ns a process's threads have run and have waited runnable. */
function schedOf(pid) {
  let run = 0;
  let wait = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [r, w] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').trim().split(' ').map(Number);
      run += r;
      wait += w;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { run, wait };
}

function startServer(url) {
  const child = fork(here('./memocell-server.mjs'), [url, PREFIX, SERVICE, String(CONCURRENCY)]);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`memocell server exited with ${code} before it was ready`)));
    child.on('message', (m) => m?.type === 'ready' && resolve(child));
  });
}

const { createRedisStore } = await import('memocell/distributed');
const redis = await startRedis();
const children = [];
let sampler;
try {
  children.push(await startServer(redis.url), await startServer(redis.url));
  const store = createRedisStore({ redis: redis.url, prefix: PREFIX });
  const admin = new Redis(redis.url);
  let next = 0;
  const misses = async (count) => {
    const end = next + count;
    const worker = async () => {
      while (next < end) {
        const i = next++;
        const r = await store.get(SERVICE, [i]);
        if (r !== i) throw new Error(`get(${i}) returned ${JSON.stringify(r)}`);
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
  };
  await misses(WARM);

  const base = `${PREFIX}:{${createHash('sha1').update(SERVICE).digest('hex').slice(0, 16)}}`;
  sampler = fork(here('./waits.mjs'), ['sampler', redis.url, base]);
  await new Promise((resolve) => sampler.once('message', resolve));
  const pids = { client: process.pid, 'server 1': children[0].pid, 'server 2': children[1].pid, 'redis-server': redis.pid };
  const sched0 = linux ? Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, schedOf(pid)])) : undefined;
  const cpu0 = linux ? cpuTimes() : undefined;
  const servers0 = await Promise.all(children.map(childCpuUs));
  const redis0 = await redisCpuUs(admin);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await misses(JOBS);
  const seconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const redisUs = (await redisCpuUs(admin)) - redis0;
  const serversUs = (await Promise.all(children.map(childCpuUs))).reduce((a, c, i) => a + c - servers0[i], 0);
  const cpu1 = linux ? cpuTimes() : undefined;
  const sched1 = linux ? Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, schedOf(pid)])) : undefined;
  sampler.send('stop');
  const census = await new Promise((resolve) => sampler.once('message', resolve));

  const clientUs = client.user + client.system;
  console.log(`${JOBS} misses with ${WINDOW} outstanding after ${WARM} untimed, two servers of ${CONCURRENCY} slots`);
  console.log(`  ${Math.round(JOBS / seconds).toLocaleString('en-US')} misses/s`);
  console.log(
    `  CPU µs per miss: client ${(clientUs / JOBS).toFixed(1)}, servers ${(serversUs / JOBS).toFixed(1)}, ` +
      `redis-server ${(redisUs / JOBS).toFixed(1)}; these processes kept ${((clientUs + serversUs + redisUs) / 1e6 / seconds).toFixed(2)} CPUs busy`,
  );
  if (linux) {
    const total = cpu1.total - cpu0.total;
    console.log(
      `  all CPUs: ${((100 * (cpu1.idle - cpu0.idle)) / total).toFixed(0)}% idle, ${((100 * (cpu1.softirq - cpu0.softirq)) / total).toFixed(0)}% in softirq`,
    );
    for (const name of Object.keys(pids)) {
      const run = (sched1[name].run - sched0[name].run) / 1e6;
      const wait = (sched1[name].wait - sched0[name].wait) / 1e6;
      console.log(`  ${name}: ran ${run.toFixed(0)} ms, runnable but waiting ${wait.toFixed(0)} ms (of ${(seconds * 1000).toFixed(0)} ms)`);
    }
  } else {
    console.log('  (no /proc here: CPU idle and runnable waits not measured)');
  }
  console.log(
    `  sampled ${census.samples} times: ${census.queued.toFixed(1)} requests queued, ${census.pending.toFixed(1)} pending ` +
      `(queued or computing), ${census.answered.toFixed(1)} answers not yet read, on average`,
  );
  admin.disconnect();
  await store.close();
} finally {
  sampler?.kill();
  for (const child of children) child.kill();
  await redis.stop();
}
