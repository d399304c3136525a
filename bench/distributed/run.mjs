// Distributed benchmark: memocell's Redis store beside raw ioredis and BullMQ 6,
// on one private redis-server started for the run (never the one on 6379).
//
//   npm run bench:distributed            (builds, then runs this)
//   node bench/distributed/run.mjs [--quick] [--only=hits,jobs,commands]
//                                  [--concurrency=N] [--window=N] [--warm-window-jobs=N] [--warm-jobs=N]
//
// 1. hits:     memocell `get` of a cached result vs a raw ioredis GET of a string of
//              the same size, 1 and 32 requests outstanding: ops/s and the ratio.
// 2. jobs:     two server processes with a no-op handler: memocell `get` of distinct
//              (never cached) arguments vs BullMQ jobs (Queue.add + waitUntilFinished,
//              two Worker processes): one at a time (p50/p99 latency, jobs/s) and with
//              many outstanding (jobs/s), in passes; then one at a time with both
//              systems up together, the clients taking turns in blocks (the p50 target).
// 3. commands: Redis commands per get (hit, miss) and per served request, counted by a
//              proxy in front of each process (commands sent, round trips, blocking
//              waits) and by INFO commandstats deltas (everything Redis ran, including
//              the commands inside Lua scripts).
//
// Prints a table and a Markdown block for BENCHMARKS.md and writes
// bench/distributed/results.json. Every loop is bounded in count and in time.
import { fork, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { Queue, QueueEvents } from 'bullmq';
import { redisCpuUs } from './cpu.mjs';
import { startRedis } from './redis-server.mjs';
import { startCountingProxy, diff, sum } from './count-proxy.mjs';

const require = createRequire(import.meta.url);
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const resultsPath = here('./results.json');

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
};
const quick = argv.includes('--quick');
const SECTIONS = ['hits', 'jobs', 'commands'];
const only = opt('only', SECTIONS.join(',')).split(',');
const SERVER_CONCURRENCY = Number(opt('concurrency', '16'));
const WINDOW = Number(opt('window', '128'));
const WARM_WINDOW_JOBS_ARG = opt('warm-window-jobs', undefined);
const WARM_JOBS_ARG = opt('warm-jobs', undefined);
// Low-priority busy loops kept running beside the benchmark: on a VM whose idle vCPUs
// halt, every wake-up of a sleeping process then costs far less (BENCHMARKS.md,
// 2026-12-04, "idle CPUs"). Off by default.
const BUSY_CPUS_ARG = opt('busy-cpus', '0');
const known = ['--quick', '--only=', '--concurrency=', '--window=', '--warm-window-jobs=', '--warm-jobs=', '--busy-cpus='];
const unknown = argv.filter((a) => !known.some((k) => (k.endsWith('=') ? a.startsWith(k) : a === k)));
const countOk = (arg) => arg === undefined || (Number.isInteger(Number(arg)) && Number(arg) >= 0);
if (
  unknown.length ||
  only.some((s) => !SECTIONS.includes(s)) ||
  !(SERVER_CONCURRENCY >= 1) ||
  !(WINDOW >= 1) ||
  !countOk(WARM_WINDOW_JOBS_ARG) ||
  !countOk(WARM_JOBS_ARG) ||
  !countOk(BUSY_CPUS_ARG)
) {
  console.error(`usage: node bench/distributed/run.mjs [--quick] [--only=${SECTIONS.join(',')}] [--concurrency=N] [--window=N] [--warm-window-jobs=N] [--warm-jobs=N] [--busy-cpus=N]`);
  process.exit(2);
}

const CFG = {
  hitConcurrencies: [1, 32],
  // Many short windows in turns (ABBA order), not three of 1 s: this machine's speed
  // drifts within seconds, and windows a second apart compare the two on different
  // machines. Equal windows, so the mean of their rates is total ops over total time.
  // It did not narrow the spread between runs much (1 outstanding, 2026-12-07: 0.88-0.95x
  // in four runs with 3 x 1 s, 0.90-1.08x in four with 24 x 125 ms; BENCHMARKS.md).
  hitRounds: quick ? 6 : 24,
  hitMs: quick ? 100 : 125,
  hitWarmMs: quick ? 200 : 300,
  latencyJobs: quick ? 300 : 1000,
  // 6,000 took memocell 0.15 s, short enough for one scheduler hiccup to move a pass by
  // a third (passes of one run gave 3.8-6.4x BullMQ); 30,000 take it about 0.8 s.
  throughputJobs: quick ? 4000 : 30000,
  // Jobs one at a time right before the one-at-a-time measurement, after the window
  // warm-up: that path has code of its own (a lone call, a blocking pop per reply) that V8
  // compiles only after thousands of calls. With 300, a memocell client ran at 2,300
  // misses/s and 220 µs of CPU per miss; with 5,000, at 4,900/s and 60 µs (2026-12-04).
  warmJobs: WARM_JOBS_ARG !== undefined ? Number(WARM_JOBS_ARG) : quick ? 1000 : 5000,
  // Jobs with many outstanding before anything is measured, in each fresh pair of server
  // processes (and the client), the same number for BullMQ and memocell: enough for V8 to
  // have compiled the hot paths of both, so that what is measured is long-lived servers.
  // With 1,200, memocell's servers were still compiling theirs in the measured window
  // (V8's --trace-opt: 50-150 ms of compilation per server, in a window of 100 ms of
  // their CPU; BENCHMARKS.md, 2026-12-04). --warm-window-jobs=1200 measures fresh ones.
  warmWindowJobs: WARM_WINDOW_JOBS_ARG !== undefined ? Number(WARM_WINDOW_JOBS_ARG) : quick ? 4000 : 30000,
  countOps: 100, // operations per command-count window, one at a time
  countWindowOps: 1000, // operations per command-count window with many outstanding
  idleMs: 1000, // idle window of the command count (background traffic)
  jobPasses: quick ? 1 : 3, // whole jobs section, alternating BullMQ / memocell order, median taken
  // One-at-a-time latency, both systems up at once and taking turns in blocks of this
  // many jobs (ABBA order): the passes above run BullMQ and memocell a minute apart, on
  // a machine whose speed drifts within a minute. On 2026-12-07 the passes' p50 ratio
  // went 0.24-0.36x over eight runs, this one 0.31-0.33x over four (BENCHMARKS.md).
  latencyBlocks: quick ? 6 : 30,
  latencyBlockJobs: quick ? 50 : 100,
  phaseMaxMs: 10_000, // no timed loop runs longer than this
  opTimeoutMs: 10_000,
};
const WATCHDOG_MS = 5 * 60 * 1000;

// ---------------------------------------------------------------------------
// Process bookkeeping: nothing we start outlives this process.
// ---------------------------------------------------------------------------

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
});
const watchdog = setTimeout(() => {
  console.error(`benchmark still running after ${WATCHDOG_MS / 1000} s: giving up`);
  process.exit(1); // the exit hooks kill the children and redis-server
}, WATCHDOG_MS);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Resolves false after `ms`, without keeping the process alive (for races). */
const graceTimer = (ms) => new Promise((r) => setTimeout(() => r(false), ms).unref());
const log = (...a) => console.error(...a);

/** Starts `file` as a child process with IPC; resolves once it says ready. */
async function startChild(file, args, label) {
  const child = fork(here(file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  let stoppedMsg;
  const cpuWaiters = [];
  /** The child's CPU time so far (µs, user + system), or NaN if it does not answer in 2 s. */
  const cpu = () =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(NaN), 2000);
      cpuWaiters.push((m) => {
        clearTimeout(timer);
        resolve(m.usage.user + m.usage.system);
      });
      try {
        child.send({ type: 'cpu' });
      } catch {
        resolve(NaN);
      }
    });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not ready within 15 s`)), 15_000);
    child.on('message', (m) => {
      if (m?.type === 'ready') {
        clearTimeout(timer);
        resolve(m);
      } else if (m?.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`${label}: ${m.message}`));
      } else if (m?.type === 'stopped') {
        stoppedMsg = m;
      } else if (m?.type === 'cpu') {
        cpuWaiters.shift()?.(m);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${label}: exited (${signal ?? `code ${code}`}) before it was ready`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.send({ type: 'stop' });
      } catch {}
      const done = await Promise.race([exited.then(() => true), graceTimer(5000)]);
      if (!done) {
        log(`${label}: did not stop within 5 s, killing pid ${child.pid}`);
        child.kill('SIGKILL');
        await exited;
      }
    }
    return stoppedMsg ?? {};
  };
  try {
    const info = await ready;
    return { label, pid: child.pid, info, stop, cpu };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startChildren(file, argsFor, count, label) {
  const started = [];
  try {
    for (let i = 0; i < count; i++) started.push(await startChild(file, argsFor(i), `${label} ${i + 1}`));
  } catch (error) {
    await Promise.all(started.map((c) => c.stop()));
    throw error;
  }
  return started;
}

// ---------------------------------------------------------------------------
// Measurement helpers (all bounded in count and time)
// ---------------------------------------------------------------------------

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
const median = (xs) => quantile([...xs].sort((a, b) => a - b), 0.5);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** ops/s of `fn` with `concurrency` calls outstanding, for `ms`. */
async function rate(fn, concurrency, ms) {
  return (await rateDetailed(fn, concurrency, ms)).opsPerSec;
}

/**
 * ops/s of `fn` with `concurrency` calls outstanding for `ms`, with the CPU time per op
 * of this process and of redis-server.
 */
async function rateDetailed(fn, concurrency, ms) {
  const r0 = await redisCpuUs(admin);
  const cpu0 = process.cpuUsage();
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  const loop = async () => {
    while (performance.now() < end) {
      await fn();
      n++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const r1 = await redisCpuUs(admin);
  return {
    opsPerSec: n / seconds,
    clientCpuUsPerOp: (cpu.user + cpu.system) / n,
    redisCpuUsPerOp: (r1 - r0) / n,
  };
}

/** One at a time: latency percentiles (ms) and jobs/s. `fn(i)` for i = start.. */
async function oneAtATime(fn, count, start = 0) {
  const times = [];
  const t0 = performance.now();
  const end = t0 + CFG.phaseMaxMs;
  for (let i = 0; i < count && performance.now() < end; i++) {
    const s = performance.now();
    await fn(start + i);
    times.push(performance.now() - s);
  }
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return {
    jobs: times.length,
    seconds,
    perSecond: times.length / seconds,
    p50Ms: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
  };
}

/** `window` calls outstanding until `count` are done: jobs/s and per-job latency. */
async function windowed(fn, count, window, start = 0) {
  let next = 0;
  const times = [];
  const t0 = performance.now();
  const end = t0 + CFG.phaseMaxMs;
  const loop = async () => {
    while (next < count && performance.now() < end) {
      const i = start + next++;
      const s = performance.now();
      await fn(i);
      times.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, loop));
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return {
    jobs: times.length,
    window,
    seconds,
    perSecond: times.length / seconds,
    p50Ms: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
  };
}

/** Calls per command from INFO commandstats. */
function parseCommandStats(info) {
  const out = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}
/** Calls per command between two INFO commandstats, without our own INFO calls. */
function statsDelta(a, b) {
  const out = {};
  let total = 0;
  for (const [k, v] of Object.entries(b)) {
    if (k === 'info') continue;
    const d = v - (a[k] ?? 0);
    if (d) {
      out[k] = d;
      total += d;
    }
  }
  return { total, byName: out };
}

// ---------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------

const pkg = JSON.parse(readFileSync(here('../../package.json'), 'utf8'));
const bullmqVersion = JSON.parse(readFileSync(require.resolve('bullmq/package.json'), 'utf8')).version;
const ioredisVersion = JSON.parse(readFileSync(require.resolve('ioredis/package.json'), 'utf8')).version;

let memocell = { available: false, reason: '' };
try {
  const mod = await import('memocell/distributed');
  if (typeof mod.createRedisStore === 'function') memocell = { available: true, mod };
  else memocell.reason = 'createRedisStore is not in the build yet (dist/esm/distributed)';
} catch (error) {
  memocell.reason = `memocell/distributed did not load: ${error.message}`;
}
const NA = memocell.available ? undefined : `not available: ${memocell.reason}`;
if (NA) log(`memocell: ${NA}; measuring raw ioredis and BullMQ only`);

const BUSY_CPUS = Number(BUSY_CPUS_ARG);
const busyLoops = [];
for (let i = 0; i < BUSY_CPUS; i++) {
  const loop = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  busyLoops.push(loop);
  // The lowest priority: they take only what the benchmark's processes leave idle.
  loop.once('spawn', () => os.setPriority(loop.pid, 19));
}
if (BUSY_CPUS > 0) log(`-- ${BUSY_CPUS} busy loop(s) at nice 19 beside the benchmark`);
process.on('exit', () => {
  for (const loop of busyLoops) loop.kill('SIGKILL');
});

const startedAt = new Date();
const t0 = performance.now();
log('-- starting a private redis-server');
const redis = await startRedis();
log(`   redis ${redis.version} on ${redis.url} (pid ${redis.pid})`);
const admin = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
await admin.connect();

const meta = {
  date: startedAt.toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
  cores: os.cpus().length,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  redis: redis.version,
  memocell: pkg.version,
  memocellAvailable: memocell.available,
  bullmq: bullmqVersion,
  ioredis: ioredisVersion,
  quick,
  serverConcurrency: SERVER_CONCURRENCY,
  window: WINDOW,
  config: CFG,
};

const results = { meta, hits: null, jobs: null, commands: null, targets: null };
const MC_PREFIX = 'mcbench';
const HIT_VALUE = { id: 12345, name: 'memocell benchmark value', tags: ['alpha', 'beta', 'gamma'], score: 0.75, pad: 'x'.repeat(40) };
const HIT_ARGS = ['hit-key', 1];
// Distinct cached requests cycled through, so the requests outstanding at once are
// never identical (memocell shares one Redis call among identical concurrent gets).
const HIT_KEYS = 1024;
const hitArgs = (i) => ['hit-key', i];

function mcStore(url, options = {}) {
  return memocell.mod.createRedisStore({ redis: url, prefix: MC_PREFIX, timeoutMs: CFG.opTimeoutMs, ...options });
}

/** The Redis keys memocell cached results under (`:v:` keys of its prefix). */
async function memocellValueKeys() {
  const keys = [];
  let cursor = '0';
  let rounds = 0;
  do {
    const [c, batch] = await admin.scan(cursor, 'MATCH', `${MC_PREFIX}:*:v:*`, 'COUNT', 1000);
    cursor = c;
    keys.push(...batch);
  } while (cursor !== '0' && ++rounds < 1000);
  return keys;
}

// ---------------------------------------------------------------------------
// 1. Cache hits
// ---------------------------------------------------------------------------

async function benchHits() {
  log(`-- 1. cache hits: memocell get (cached) vs raw ioredis GET, ${HIT_KEYS} distinct keys`);
  await admin.flushall();
  const raw = new Redis({ host: redis.host, port: redis.port });
  const out = { valueBytes: null, keys: HIT_KEYS, memocellKeyExample: null, rows: [], note: undefined };
  let store;
  let storeNoLane;
  try {
    // The strings to GET: what memocell stored, else what its default codec would store.
    let stored = Array.from({ length: HIT_KEYS }, () => 'j' + JSON.stringify(HIT_VALUE));
    let keyLength = 60;
    if (!NA) {
      store = mcStore(redis.url);
      for (let i = 0; i < HIT_KEYS; i++) await store.save('hit', hitArgs(i), HIT_VALUE, { ttlSeconds: 3600 });
      const got = await store.get('hit', hitArgs(7));
      if (!isDeepStrictEqual(got, HIT_VALUE)) throw new Error(`memocell get returned ${JSON.stringify(got)}`);
      const keys = await memocellValueKeys();
      if (keys.length === HIT_KEYS) {
        out.memocellKeyExample = keys[0];
        keyLength = keys[0].length;
        stored = await admin.mget(keys);
      } else {
        out.note = `found ${keys.length} value keys, expected ${HIT_KEYS}; raw GET uses strings of the codec's size`;
      }
    }
    out.valueBytes = Buffer.byteLength(stored[0]);
    // The same bytes under key names of the same length.
    const rawKeys = stored.map((_, i) => `raw:${String(i).padStart(Math.max(1, keyLength - 4), '0')}`);
    await admin.mset(rawKeys.flatMap((k, i) => [k, stored[i]]));
    if ((await raw.get(rawKeys[5])) !== stored[5]) throw new Error('raw GET returned something else');

    let nextRaw = 0;
    let nextRawDecoded = 0;
    let nextMc = 0;
    // For information: a GET plus the JSON.parse any get returning a value needs, as
    // hand-written caching code would do it (the stored bytes are a tag, then JSON).
    const jsonStart = stored[0].indexOf('{');
    const decodeStored = (text) => JSON.parse(text.slice(jsonStart));
    const fns = {
      raw: () => raw.get(rawKeys[nextRaw++ & (HIT_KEYS - 1)]),
      rawDecoded: () => raw.get(rawKeys[nextRawDecoded++ & (HIT_KEYS - 1)]).then(decodeStored),
    };
    if (store) {
      fns.memocell = () => store.get('hit', hitArgs(nextMc++ & (HIT_KEYS - 1)));
      // For information: every outstanding get asks for the same arguments.
      fns.memocellSame = () => store.get('hit', HIT_ARGS);
      // For information: every lookup through ioredis, as before the lookup connection.
      storeNoLane = mcStore(redis.url, { lookupConnection: false });
      let nextNoLane = 0;
      fns.memocellNoLane = () => storeNoLane.get('hit', hitArgs(nextNoLane++ & (HIT_KEYS - 1)));
    }
    // Warm everything up once.
    for (const fn of Object.values(fns)) await rate(fn, 32, CFG.hitWarmMs);
    for (const concurrency of CFG.hitConcurrencies) {
      const names = Object.keys(fns).filter((n) => n !== 'memocellSame' || concurrency > 1);
      const samples = Object.fromEntries(names.map((n) => [n, []]));
      for (let r = 0; r < CFG.hitRounds; r++) {
        const order = r % 2 === 0 ? names : [...names].reverse();
        for (const name of order) samples[name].push(await rateDetailed(fns[name], concurrency, CFG.hitMs));
      }
      const m = (n, field = 'opsPerSec') => (samples[n] ? mean(samples[n].map((x) => x[field])) : null);
      const row = {
        concurrency,
        rawOpsPerSec: m('raw'),
        rawDecodedOpsPerSec: m('rawDecoded'),
        memocellOpsPerSec: m('memocell'),
        memocellSameArgsOpsPerSec: m('memocellSame'),
        memocellNoLaneOpsPerSec: m('memocellNoLane'),
        // Where the time goes: this process's CPU and Redis' command time, per get.
        rawClientCpuUs: m('raw', 'clientCpuUsPerOp'),
        memocellClientCpuUs: m('memocell', 'clientCpuUsPerOp'),
        rawRedisCpuUs: m('raw', 'redisCpuUsPerOp'),
        memocellRedisCpuUs: m('memocell', 'redisCpuUsPerOp'),
        samples,
      };
      row.ratio = row.memocellOpsPerSec == null ? null : row.memocellOpsPerSec / row.rawOpsPerSec;
      row.ratioToDecoded = row.memocellOpsPerSec == null ? null : row.memocellOpsPerSec / row.rawDecodedOpsPerSec;
      out.rows.push(row);
      log(
        `   ${concurrency} outstanding: raw ${fmtInt(row.rawOpsPerSec)}/s` +
          `, raw + JSON.parse ${fmtInt(row.rawDecodedOpsPerSec)}/s` +
          (store ? `, memocell ${fmtInt(row.memocellOpsPerSec)}/s (${row.ratio.toFixed(2)}×; ${row.ratioToDecoded.toFixed(2)}× of raw + JSON.parse)` : '') +
          (row.memocellSameArgsOpsPerSec ? `, memocell same args ${fmtInt(row.memocellSameArgsOpsPerSec)}/s` : ''),
      );
    }
    if (store) out.memocellStats = await store.stats('hit');
  } finally {
    raw.disconnect();
    if (store) await store.close();
    if (storeNoLane) await storeNoLane.close();
  }
  return out;
}

// ---------------------------------------------------------------------------
// 2. Jobs through two server processes
// ---------------------------------------------------------------------------

const QUEUE = 'bench';
const SERVICE = 'noop';

async function bullmqClient(url) {
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queue = new Queue(QUEUE, { connection });
  queue.setMaxListeners(0); // one 'closing' listener per outstanding waitUntilFinished
  // From the start of the (flushed) event stream, not from '$': waitUntilReady resolves
  // before the first XREAD is sent, and the first jobs of a burst of 128 could finish in
  // between, their events never seen (a warm-up that began with a window timed out so).
  const events = new QueueEvents(QUEUE, { connection, lastEventId: '0-0' });
  await queue.waitUntilReady();
  await events.waitUntilReady();
  const job = async (i) => {
    const j = await queue.add('noop', { i });
    const r = await j.waitUntilFinished(events, CFG.opTimeoutMs);
    if (r !== i) throw new Error(`BullMQ job ${i} returned ${JSON.stringify(r)}`);
  };
  const close = async () => {
    await events.close();
    await queue.close();
  };
  return { job, close };
}

function memocellClient(url) {
  const store = mcStore(url);
  const job = async (i) => {
    const r = await store.get(SERVICE, [i], { timeoutMs: CFG.opTimeoutMs });
    if (r !== i) throw new Error(`memocell get(${i}) returned ${JSON.stringify(r)}`);
  };
  return { job, store, close: () => store.close() };
}

async function startServers(kind, urls) {
  if (kind === 'bullmq') {
    return startChildren('./bullmq-worker.mjs', (i) => [urls[i], QUEUE, String(SERVER_CONCURRENCY)], urls.length, 'BullMQ worker');
  }
  return startChildren('./memocell-server.mjs', (i) => [urls[i], MC_PREFIX, SERVICE, String(SERVER_CONCURRENCY)], urls.length, 'memocell server');
}

/**
 * Runs `phase` (which resolves to { jobs, ... }) and adds the CPU time per job of this
 * process, of the server processes together, and of redis-server, in µs.
 */
async function withCpu(servers, phase) {
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const s0 = sum(await Promise.all(servers.map((s) => s.cpu())));
  const r0 = await redisCpuUs(admin);
  const c0 = process.cpuUsage();
  const result = await phase();
  const c = process.cpuUsage(c0);
  const r1 = await redisCpuUs(admin);
  const s1 = sum(await Promise.all(servers.map((s) => s.cpu())));
  return {
    ...result,
    clientCpuUsPerJob: (c.user + c.system) / result.jobs,
    serversCpuUsPerJob: (s1 - s0) / result.jobs,
    redisCpuUsPerJob: (r1 - r0) / result.jobs,
  };
}

async function benchJobsOf(kind) {
  log(`-- 2. jobs: ${kind}, two server processes (concurrency ${SERVER_CONCURRENCY} each)`);
  await admin.flushall();
  const servers = await startServers(kind, [redis.url, redis.url]);
  let client;
  const out = {};
  try {
    client = kind === 'bullmq' ? await bullmqClient(redis.url) : memocellClient(redis.url);
    // Warm-up: a window, then one at a time right before that is measured, on arguments
    // never used again.
    let next = 1_000_000;
    await windowed(client.job, CFG.warmWindowJobs, WINDOW, next);
    next += CFG.warmWindowJobs;
    await oneAtATime(client.job, CFG.warmJobs, next);
    next += CFG.warmJobs;
    out.oneAtATime = await withCpu(servers, () => oneAtATime(client.job, CFG.latencyJobs, next));
    next += CFG.latencyJobs;
    log(
      `   one at a time: p50 ${out.oneAtATime.p50Ms.toFixed(3)} ms, p99 ${out.oneAtATime.p99Ms.toFixed(3)} ms, ` +
        `${fmtInt(out.oneAtATime.perSecond)} jobs/s (${out.oneAtATime.jobs} jobs)`,
    );
    out.throughput = await withCpu(servers, () => windowed(client.job, CFG.throughputJobs, WINDOW, next));
    log(`   ${WINDOW} outstanding: ${fmtInt(out.throughput.perSecond)} jobs/s (${out.throughput.jobs} jobs)`);
  } finally {
    if (client) await client.close();
    const stopped = await Promise.all(servers.map((s) => s.stop()));
    out.servedPerProcess = stopped.map((s) => s.served ?? null);
  }
  return out;
}

/** One result from several passes: each figure the median of the passes' figures. */
function mergePasses(passes) {
  const failed = passes.find((p) => p.error);
  if (failed) return failed;
  const out = { passes: passes.length };
  for (const part of ['oneAtATime', 'throughput']) {
    out[part] = {};
    for (const [k, v] of Object.entries(passes[0][part])) {
      out[part][k] = typeof v === 'number' ? median(passes.map((p) => p[part][k])) : v;
    }
    out[part].perPass = passes.map((p) => p[part].perSecond);
  }
  out.servedPerProcess = passes.map((p) => p.servedPerProcess);
  return out;
}

/**
 * One-at-a-time latency with BullMQ's workers and memocell's servers up together, the two
 * clients taking turns in blocks (ABBA order, each block after 20 untimed jobs): what the
 * p50 target is checked on. Each side is warmed up as in a pass first.
 */
async function benchLatencyInTurns() {
  log(`-- 2b. one at a time in turns: ${CFG.latencyBlocks} blocks of ${CFG.latencyBlockJobs} jobs each, BullMQ and memocell up together`);
  await admin.flushall();
  const kinds = ['bullmq', 'memocell'];
  const servers = [];
  const clients = {};
  try {
    for (const kind of kinds) servers.push(...(await startServers(kind, [redis.url, redis.url])));
    clients.bullmq = await bullmqClient(redis.url);
    clients.memocell = memocellClient(redis.url);
    let next = 10_000_000;
    for (const kind of kinds) {
      await windowed(clients[kind].job, CFG.warmWindowJobs, WINDOW, next);
      next += CFG.warmWindowJobs;
      await oneAtATime(clients[kind].job, CFG.warmJobs, next);
      next += CFG.warmJobs;
    }
    const times = { bullmq: [], memocell: [] };
    const end = performance.now() + 6 * CFG.phaseMaxMs;
    for (let b = 0; b < CFG.latencyBlocks && performance.now() < end; b++) {
      for (const kind of b % 2 === 0 ? kinds : [...kinds].reverse()) {
        const job = clients[kind].job;
        for (let i = 0; i < 20; i++) await job(next++);
        for (let i = 0; i < CFG.latencyBlockJobs; i++) {
          const s = performance.now();
          await job(next++);
          times[kind].push(performance.now() - s);
        }
      }
    }
    const out = { blocks: times.bullmq.length / CFG.latencyBlockJobs, blockJobs: CFG.latencyBlockJobs };
    for (const kind of kinds) {
      const sorted = [...times[kind]].sort((a, b) => a - b);
      out[kind] = { jobs: sorted.length, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
    }
    out.ratios = { p50: out.memocell.p50Ms / out.bullmq.p50Ms, p99: out.memocell.p99Ms / out.bullmq.p99Ms };
    log(
      `   p50 BullMQ ${out.bullmq.p50Ms.toFixed(3)} ms, memocell ${out.memocell.p50Ms.toFixed(3)} ms (${out.ratios.p50.toFixed(2)}×); ` +
        `p99 ${out.bullmq.p99Ms.toFixed(3)} / ${out.memocell.p99Ms.toFixed(3)} ms`,
    );
    return out;
  } finally {
    for (const client of Object.values(clients)) await client.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function benchJobs() {
  const out = { passes: CFG.jobPasses, bullmq: null, memocell: null, ratios: null };
  const kinds = NA ? ['bullmq'] : ['bullmq', 'memocell'];
  const passes = { bullmq: [], memocell: [] };
  for (let p = 0; p < CFG.jobPasses; p++) {
    if (CFG.jobPasses > 1) log(`   pass ${p + 1} of ${CFG.jobPasses}`);
    const order = p % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      if (passes[kind].some((r) => r.error)) continue; // failed once: do not retry
      try {
        passes[kind].push(await benchJobsOf(kind));
      } catch (error) {
        log(`   ${kind} failed: ${error.stack ?? error}`);
        passes[kind].push({ error: String(error.message ?? error) });
      }
    }
  }
  out.bullmq = mergePasses(passes.bullmq);
  out.memocell = NA ? { error: NA } : mergePasses(passes.memocell);
  const b = out.bullmq;
  const m = out.memocell;
  if (!NA && !b?.error && !m?.error) {
    try {
      out.inTurns = await benchLatencyInTurns();
    } catch (error) {
      log(`   one at a time in turns failed: ${error.stack ?? error}`);
      out.inTurns = { error: String(error.message ?? error) };
    }
  }
  if (b?.oneAtATime && m?.oneAtATime) {
    out.ratios = {
      oneAtATimeThroughput: m.oneAtATime.perSecond / b.oneAtATime.perSecond,
      windowThroughput: m.throughput.perSecond / b.throughput.perSecond,
      p50: m.oneAtATime.p50Ms / b.oneAtATime.p50Ms,
      p99: m.oneAtATime.p99Ms / b.oneAtATime.p99Ms,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------
// 3. Redis commands per operation
// ---------------------------------------------------------------------------

/**
 * Runs `op` `count` times one at a time while every process talks to Redis through its
 * own counting proxy; returns per-operation figures for each proxy and the
 * commandstats delta, plus an idle window's traffic (background polling).
 */
async function countWindow(proxies, op, count, { idle = false, window = 1 } = {}) {
  let idleOut;
  if (idle) {
    const before = proxies.map((p) => p.snapshot());
    const s0 = parseCommandStats(await admin.info('commandstats'));
    const i0 = performance.now();
    await sleep(CFG.idleMs);
    const seconds = (performance.now() - i0) / 1000;
    const s1 = parseCommandStats(await admin.info('commandstats'));
    idleOut = {
      seconds,
      perProcess: Object.fromEntries(proxies.map((p, k) => [p.label, diff(before[k], p.snapshot())])),
      redis: statsDelta(s0, s1),
    };
  }
  const before = proxies.map((p) => p.snapshot());
  const s0 = parseCommandStats(await admin.info('commandstats'));
  const w0 = performance.now();
  if (window > 1) await windowed(op, count, window);
  else for (let i = 0; i < count; i++) await op(i);
  const seconds = (performance.now() - w0) / 1000;
  const s1 = parseCommandStats(await admin.info('commandstats'));
  const perProcess = Object.fromEntries(proxies.map((p, k) => [p.label, diff(before[k], p.snapshot())]));
  return { ops: count, seconds, perProcess, redis: statsDelta(s0, s1), idle: idleOut };
}

/** Per-operation figures of one role (one or more processes) in a window. */
function perOp(window, labels) {
  const d = sum(labels.map((l) => window.perProcess[l]));
  const n = window.ops;
  const byName = Object.fromEntries(
    Object.entries(d.byName)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, v / n]),
  );
  return {
    commands: d.commands / n,
    roundTrips: d.exchanges / n,
    blockingWaits: d.blockingWaits / n,
    replies: d.replies / n,
    bytesOut: d.bytesOut / n,
    bytesIn: d.bytesIn / n,
    byName,
  };
}
function redisPerOp(window) {
  const n = window.ops;
  return {
    executed: window.redis.total / n,
    byName: Object.fromEntries(
      Object.entries(window.redis.byName)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, v / n]),
    ),
  };
}
function idlePerSecond(window, labels) {
  if (!window.idle) return null;
  const d = sum(labels.map((l) => window.idle.perProcess[l]));
  return { commandsPerSec: d.commands / window.idle.seconds, byName: d.byName };
}

async function benchCommands() {
  log('-- 3. Redis commands per operation (through counting proxies; not timed)');
  const out = {};
  const target = { host: redis.host, port: redis.port };
  const N = CFG.countOps;

  // Raw GET: checks the counting (1 command, 1 round trip per GET).
  {
    await admin.flushall();
    const proxy = await startCountingProxy({ ...target, label: 'client' });
    const raw = new Redis(proxy.url);
    try {
      await admin.set('raw:k', 'j' + JSON.stringify(HIT_VALUE));
      for (let i = 0; i < 10; i++) await raw.get('raw:k');
      const w = await countWindow([proxy], () => raw.get('raw:k'), N);
      out.rawGet = { client: perOp(w, ['client']), redis: redisPerOp(w) };
    } finally {
      raw.disconnect();
      await proxy.close();
    }
  }

  // memocell: a hit, then a miss served by one of two server processes.
  if (NA) out.memocell = { error: NA };
  else {
    try {
      await admin.flushall();
      const pc = await startCountingProxy({ ...target, label: 'client' });
      const ps = [
        await startCountingProxy({ ...target, label: 'server1' }),
        await startCountingProxy({ ...target, label: 'server2' }),
      ];
      const client = memocellClient(pc.url);
      let servers = [];
      try {
        await client.store.save('hit', HIT_ARGS, HIT_VALUE, { ttlSeconds: 3600 });
        for (let i = 0; i < 10; i++) await client.store.get('hit', HIT_ARGS);
        const hit = await countWindow([pc], () => client.store.get('hit', HIT_ARGS), N);
        servers = await startServers('memocell', ps.map((p) => p.url));
        for (let i = 0; i < 20; i++) await client.job(2_000_000 + i);
        const miss = await countWindow([pc, ...ps], (i) => client.job(3_000_000 + i), N, { idle: true });
        const many = await countWindow([pc, ...ps], (i) => client.job(4_000_000 + i), CFG.countWindowOps, { window: WINDOW });
        out.memocell = {
          hit: { client: perOp(hit, ['client']), redis: redisPerOp(hit) },
          miss: {
            client: perOp(miss, ['client']),
            servers: perOp(miss, ['server1', 'server2']),
            redis: redisPerOp(miss),
            idle: {
              client: idlePerSecond(miss, ['client']),
              servers: idlePerSecond(miss, ['server1', 'server2']),
              redisPerSec: miss.idle.redis.total / miss.idle.seconds,
            },
          },
          missWindow: {
            window: WINDOW,
            client: perOp(many, ['client']),
            servers: perOp(many, ['server1', 'server2']),
            redis: redisPerOp(many),
          },
        };
      } finally {
        await client.close();
        await Promise.all(servers.map((s) => s.stop()));
        await pc.close();
        await Promise.all(ps.map((p) => p.close()));
      }
    } catch (error) {
      log(`   memocell failed: ${error.stack ?? error}`);
      out.memocell = { error: String(error.message ?? error) };
    }
  }

  // BullMQ: one job added and awaited, run by one of two worker processes.
  try {
    await admin.flushall();
    const pc = await startCountingProxy({ ...target, label: 'client' });
    const ps = [
      await startCountingProxy({ ...target, label: 'server1' }),
      await startCountingProxy({ ...target, label: 'server2' }),
    ];
    let client;
    let servers = [];
    try {
      servers = await startServers('bullmq', ps.map((p) => p.url));
      client = await bullmqClient(pc.url);
      for (let i = 0; i < 20; i++) await client.job(2_000_000 + i);
      const w = await countWindow([pc, ...ps], (i) => client.job(3_000_000 + i), N, { idle: true });
      const many = await countWindow([pc, ...ps], (i) => client.job(4_000_000 + i), CFG.countWindowOps, { window: WINDOW });
      out.bullmq = {
        job: {
          client: perOp(w, ['client']),
          servers: perOp(w, ['server1', 'server2']),
          redis: redisPerOp(w),
          idle: {
            client: idlePerSecond(w, ['client']),
            servers: idlePerSecond(w, ['server1', 'server2']),
            redisPerSec: w.idle.redis.total / w.idle.seconds,
          },
        },
        jobWindow: {
          window: WINDOW,
          client: perOp(many, ['client']),
          servers: perOp(many, ['server1', 'server2']),
          redis: redisPerOp(many),
        },
      };
    } finally {
      if (client) await client.close();
      await Promise.all(servers.map((s) => s.stop()));
      await pc.close();
      await Promise.all(ps.map((p) => p.close()));
    }
  } catch (error) {
    log(`   BullMQ failed: ${error.stack ?? error}`);
    out.bullmq = { error: String(error.message ?? error) };
  }
  return out;
}

// ---------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------

async function section(name, fn) {
  if (!only.includes(name)) return null;
  try {
    return await fn();
  } catch (error) {
    log(`   ${name} failed: ${error.stack ?? error}`);
    return { error: String(error.message ?? error) };
  }
}

let exitCode = 0;
try {
  results.hits = await section('hits', benchHits);
  results.jobs = await section('jobs', benchJobs);
  results.commands = await section('commands', benchCommands);
} catch (error) {
  log(error.stack ?? error);
  exitCode = 1;
} finally {
  admin.disconnect();
  await redis.stop();
  log('-- redis-server stopped');
  for (const loop of busyLoops) loop.kill('SIGKILL');
}
meta.seconds = (performance.now() - t0) / 1000;

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

const TARGETS = { hitRatio: 0.9, throughputRatio: 5, p50Ratio: 1 / 3 };
{
  const t = { checks: [] };
  // A check whose goal is null is reported for information only.
  const check = (what, value, ok, goal) => t.checks.push({ what, value, goal, pass: value == null || goal == null ? null : ok });
  for (const row of results.hits?.rows ?? []) {
    check(`hit ops/s vs raw GET, ${row.concurrency} outstanding`, row.ratio, row.ratio >= TARGETS.hitRatio, `≥ ${TARGETS.hitRatio}×`);
  }
  const r = results.jobs?.ratios;
  if (results.jobs) {
    // Measured, not a target: the issue's 5x is of BullMQ's throughput with two workers
    // ("about 4,300 jobs/s", which one job at a time at a 1 ms p50 cannot be).
    check('miss throughput vs BullMQ, one at a time', r?.oneAtATimeThroughput ?? null, null, null);
    check(`miss throughput vs BullMQ, ${WINDOW} outstanding`, r?.windowThroughput ?? null, r?.windowThroughput >= TARGETS.throughputRatio, `≥ ${TARGETS.throughputRatio}×`);
    // Checked on the run in turns (benchLatencyInTurns); the passes' figure is shown too.
    const turns = results.jobs.inTurns?.ratios;
    check('miss p50 latency vs BullMQ, in turns', turns?.p50 ?? null, turns?.p50 <= TARGETS.p50Ratio, '≤ 0.33×');
    check('miss p50 latency vs BullMQ, median of the passes', r?.p50 ?? null, null, null);
  }
  results.targets = t;
}

writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

function fmtInt(v) {
  return v == null || !Number.isFinite(v) ? '—' : Math.round(v).toLocaleString('en-US');
}
function fmtMs(v) {
  if (v == null || !Number.isFinite(v)) return '—';
  return v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1);
}
function fmtRatio(v) {
  return v == null || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}×`;
}
function fmtN1(v) {
  return v == null || !Number.isFinite(v) ? '—' : v.toFixed(1);
}
function fmtN(v) {
  if (v == null || !Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
function topNames(byName, max = 6) {
  const e = Object.entries(byName ?? {});
  const s = e.slice(0, max).map(([k, v]) => `${k} ${fmtN(v)}`).join(', ');
  return e.length > max ? `${s}, …` : s;
}
const cell = (x, fallback) => (x == null ? fallback : x);

/** Plain-text table: rows of cells, first column left-aligned. */
function textTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c ?? '').padEnd(widths[i]) : String(c ?? '').padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
function mdTable(header, rows, align) {
  const a = align ?? header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [`| ${header.join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const mcLabel = `memocell ${meta.memocell}`;
const bqLabel = `BullMQ ${meta.bullmq}`;
const naCell = NA ? 'n/a' : '—';

// 1. hits
const hitHeader = ['Cache hit (ops/s)', ...CFG.hitConcurrencies.map((c) => `${c} outstanding`)];
const hitRows = results.hits?.rows
  ? [
      [`raw ioredis ${meta.ioredis} GET`, ...results.hits.rows.map((r) => fmtInt(r.rawOpsPerSec))],
      [`${mcLabel} get (cached)`, ...results.hits.rows.map((r) => cell(r.memocellOpsPerSec == null ? null : fmtInt(r.memocellOpsPerSec), naCell))],
      ['memocell / raw (target ≥ 0.90×)', ...results.hits.rows.map((r) => fmtRatio(r.ratio))],
      ['raw GET + JSON.parse of the value', ...results.hits.rows.map((r) => fmtInt(r.rawDecodedOpsPerSec))],
      ['memocell / (raw GET + JSON.parse)', ...results.hits.rows.map((r) => fmtRatio(r.ratioToDecoded))],
      ...(results.hits.rows.some((r) => r.memocellNoLaneOpsPerSec)
        ? [
            ['memocell get, lookupConnection: false', ...results.hits.rows.map((r) => fmtInt(r.memocellNoLaneOpsPerSec))],
            ['lookupConnection: false / raw', ...results.hits.rows.map((r) => fmtRatio(r.memocellNoLaneOpsPerSec / r.rawOpsPerSec))],
          ]
        : []),
      ...(results.hits.rows.some((r) => r.memocellSameArgsOpsPerSec)
        ? [['memocell get, all outstanding gets identical', ...results.hits.rows.map((r) => fmtInt(r.memocellSameArgsOpsPerSec))]]
        : []),
      ['client CPU µs per op: raw / memocell', ...results.hits.rows.map((r) => `${fmtN1(r.rawClientCpuUs)} / ${fmtN1(r.memocellClientCpuUs)}`)],
      ['redis-server CPU µs per op: raw / memocell', ...results.hits.rows.map((r) => `${fmtN1(r.rawRedisCpuUs)} / ${fmtN1(r.memocellRedisCpuUs)}`)],
    ]
  : null;

// 2. jobs
const jobHeader = ['One-at-a-time miss / job', 'p50 ms, in turns', 'p99 ms, in turns', 'p50 ms, passes', 'jobs/s one at a time', `jobs/s, ${WINDOW} outstanding`];
const turns = results.jobs?.inTurns;
const jobRow = (label, r, t) =>
  r?.oneAtATime
    ? [label, fmtMs(t?.p50Ms), fmtMs(t?.p99Ms), fmtMs(r.oneAtATime.p50Ms), fmtInt(r.oneAtATime.perSecond), fmtInt(r.throughput?.perSecond)]
    : [label, r?.error?.startsWith('not available') ? 'n/a' : 'error', '', '', '', ''];
const jr = results.jobs?.ratios;
const jobRows = results.jobs
  ? [
      jobRow(`${bqLabel} (Queue.add + waitUntilFinished)`, results.jobs.bullmq, turns?.bullmq),
      jobRow(`${mcLabel} get, not cached`, results.jobs.memocell, turns?.memocell),
      ['memocell / BullMQ', fmtRatio(turns?.ratios?.p50), fmtRatio(turns?.ratios?.p99), fmtRatio(jr?.p50), fmtRatio(jr?.oneAtATimeThroughput), fmtRatio(jr?.windowThroughput)],
      ['target', '≤ 0.33×', '', '', '—', '≥ 5×'],
    ]
  : null;
const cpuHeader = ['CPU µs per job: client / servers / redis-server', 'one at a time', `${WINDOW} outstanding`];
const cpuCell = (x) =>
  x && Number.isFinite(x.clientCpuUsPerJob)
    ? `${fmtInt(x.clientCpuUsPerJob)} / ${fmtInt(x.serversCpuUsPerJob)} / ${fmtInt(x.redisCpuUsPerJob)}`
    : '—';
const cpuRows = results.jobs
  ? [
      [bqLabel, cpuCell(results.jobs.bullmq?.oneAtATime), cpuCell(results.jobs.bullmq?.throughput)],
      [mcLabel, cpuCell(results.jobs.memocell?.oneAtATime), cpuCell(results.jobs.memocell?.throughput)],
    ]
  : null;

// 3. commands
const cmdHeader = ['Redis commands per operation', 'sent', 'round trips', 'blocking waits', 'executed by Redis', 'bytes out / in', 'sent, by command'];
const cmdRow = (label, role, redisSide) =>
  role
    ? [
        label,
        fmtN(role.commands),
        fmtN(role.roundTrips),
        fmtN(role.blockingWaits),
        redisSide == null ? '' : fmtN(redisSide.executed),
        `${fmtInt(role.bytesOut)} / ${fmtInt(role.bytesIn)}`,
        topNames(role.byName),
      ]
    : [label, 'n/a', '', '', '', '', ''];
const c = results.commands;
const cmdRows = c
  ? [
      cmdRow('raw GET (check of the counting)', c.rawGet?.client, c.rawGet?.redis),
      cmdRow('memocell get, hit', c.memocell?.hit?.client, c.memocell?.hit?.redis),
      cmdRow('memocell get, miss: client', c.memocell?.miss?.client, c.memocell?.miss?.redis),
      cmdRow('memocell served request: servers', c.memocell?.miss?.servers, null),
      cmdRow('BullMQ job: client (add + wait)', c.bullmq?.job?.client, c.bullmq?.job?.redis),
      cmdRow('BullMQ job: workers', c.bullmq?.job?.servers, null),
      cmdRow(`memocell miss, ${WINDOW} outstanding: client`, c.memocell?.missWindow?.client, c.memocell?.missWindow?.redis),
      cmdRow(`memocell served, ${WINDOW} outstanding: servers`, c.memocell?.missWindow?.servers, null),
      cmdRow(`BullMQ job, ${WINDOW} outstanding: client`, c.bullmq?.jobWindow?.client, c.bullmq?.jobWindow?.redis),
      cmdRow(`BullMQ job, ${WINDOW} outstanding: workers`, c.bullmq?.jobWindow?.servers, null),
    ]
  : null;
const executedRows = c
  ? [
      ['raw GET', c.rawGet?.redis],
      ['memocell get, hit', c.memocell?.hit?.redis],
      ['memocell get, miss (client + server)', c.memocell?.miss?.redis],
      ['BullMQ job (client + worker)', c.bullmq?.job?.redis],
      [`memocell get, miss, ${WINDOW} outstanding`, c.memocell?.missWindow?.redis],
      [`BullMQ job, ${WINDOW} outstanding`, c.bullmq?.jobWindow?.redis],
    ].map(([l, r]) => [l, r ? fmtN(r.executed) : 'n/a', r ? topNames(r.byName, 10) : ''])
  : null;
const idleRows = c
  ? [
      ['memocell (client + 2 servers)', c.memocell?.miss?.idle],
      ['BullMQ (client + 2 workers)', c.bullmq?.job?.idle],
    ].map(([l, i]) => [l, i ? fmtN(i.client.commandsPerSec + i.servers.commandsPerSec) : 'n/a', i ? fmtN(i.redisPerSec) : ''])
  : null;

const heading = `${meta.date.slice(0, 10)} · Node ${meta.node} · ${meta.cpu} (${meta.cores} cores) · ${meta.platform} · Redis ${meta.redis} · ${bqLabel} · ioredis ${meta.ioredis}`;
const text = [];
text.push('', `Distributed benchmark — ${heading}`, `servers/workers: 2 processes, concurrency ${SERVER_CONCURRENCY} each; ${meta.seconds.toFixed(0)} s`);
if (NA) text.push(`memocell: ${NA}`);
if (hitRows) text.push('', textTable(hitHeader, hitRows));
if (results.hits?.valueBytes) text.push(`(value: ${results.hits.valueBytes} bytes as stored; mean of ${CFG.hitRounds} × ${CFG.hitMs} ms windows each, in turns)`);
if (results.hits?.error) text.push('', `cache hits: error: ${results.hits.error}`);
if (jobRows) text.push('', textTable(jobHeader, jobRows), '', textTable(cpuHeader, cpuRows));
if (results.jobs?.error) text.push('', `jobs: error: ${results.jobs.error}`);
if (turns?.error) text.push('', `one at a time in turns: error: ${turns.error}`);
if (cmdRows) {
  text.push('', textTable(cmdHeader, cmdRows));
  text.push('', textTable(['Executed by Redis per operation (INFO commandstats, Lua included)', 'commands', 'by command'], executedRows));
  text.push('', textTable(['Idle background traffic', 'commands/s sent', 'executed/s'], idleRows));
}
if (c?.error) text.push('', `commands: error: ${c.error}`);
if (results.targets.checks.length) {
  text.push('', 'Targets:');
  for (const k of results.targets.checks) {
    const status = k.goal == null ? 'for information' : k.pass == null ? 'not measured' : k.pass ? 'met' : 'NOT met';
    text.push(`  ${k.what}: ${k.value == null ? '—' : fmtRatio(k.value)}${k.goal == null ? '' : ` (goal ${k.goal})`}: ${status}`);
  }
}
console.log(text.join('\n'));

const md = [];
md.push('### Distributed store (`npm run bench:distributed`)', '', heading, '');
md.push(
  `One private \`redis-server\` on 127.0.0.1, no persistence; servers are 2 Node processes (memocell \`serve\` / BullMQ \`Worker\`, ` +
    `concurrency ${SERVER_CONCURRENCY} each) with a no-op handler that returns its argument; the client is one more process.` +
    (BUSY_CPUS > 0 ? ` Beside them, ${BUSY_CPUS} busy loop(s) at nice 19 (\`--busy-cpus\`): the CPUs never go idle.` : ''),
);
if (NA) md.push('', `memocell: ${NA}.`);
if (hitRows) {
  md.push('', mdTable(hitHeader, hitRows));
  md.push(
    '',
    `Cache hit: \`store.get\` of results saved with \`save\` vs \`GET\` of ${results.hits.valueBytes}-byte strings (the bytes memocell stores), ` +
      `cycling through ${HIT_KEYS} keys so no two outstanding requests are identical; one ioredis connection each for commands ` +
      "(memocell's lone lookups go over its lookup connection, a second one that sends only GET and is read without ioredis); " +
      `${CFG.hitRounds} windows of ${CFG.hitMs} ms each, taking turns (ABBA order), and the mean of their rates. "All outstanding gets identical", for ` +
      'information: every outstanding get asks for the same arguments, which memocell answers with one Redis call per batch. ' +
      '"Raw GET + JSON.parse", for information: the same GET followed by the JSON.parse that any get returning a value needs ' +
      '(a raw GET returns the stored string; memocell returns the decoded value); the target stays against the raw GET. ' +
      '"lookupConnection: false", for information: a store with every lookup through ioredis, taking turns with the rest. ' +
      "CPU µs per op: the client process's CPU time (process.cpuUsage) and redis-server's (INFO cpu, user + sys) per get.",
  );
}
if (jobRows) {
  md.push('', mdTable(jobHeader, jobRows));
  md.push(
    '',
    `Miss: memocell \`get\` of distinct arguments (the handler does not \`keep\`, so nothing is cached); BullMQ: \`queue.add\` then ` +
      `\`job.waitUntilFinished(queueEvents)\`. ${CFG.latencyJobs} jobs one at a time, then ${CFG.throughputJobs} with ${WINDOW} outstanding, after a warm-up of ` +
      `${CFG.warmWindowJobs.toLocaleString('en-US')} jobs with ${WINDOW} outstanding, then ${CFG.warmJobs.toLocaleString('en-US')} one at a time, in each pass; ` +
      `median of ${CFG.jobPasses} passes in alternating order, each with new server processes. *In turns*: after the passes, both ` +
      `systems' servers up together and, after the same warm-ups, the two clients taking turns in ${turns?.blocks ?? CFG.latencyBlocks} blocks of ` +
      `${CFG.latencyBlockJobs} jobs one at a time (ABBA order, 20 untimed jobs before each); p50 and p99 of all the jobs of each. ` +
      'The p50 target is checked on this run: the passes measure the two a minute apart, on a machine whose speed drifts within a minute.',
  );
  md.push('', mdTable(cpuHeader, cpuRows));
}
if (cmdRows) {
  md.push('', mdTable(cmdHeader, cmdRows, ['---', '---:', '---:', '---:', '---:', '---:', '---']));
  md.push(
    '',
    `Counted over ${CFG.countOps} operations one at a time (and ${CFG.countWindowOps} with ${WINDOW} outstanding) by a proxy in front of each process: *sent* = commands the process sent; ` +
      '*round trips* = exchanges (one or more commands sent, then a reply before the next send on that connection), blocking pops ' +
      'excluded; *blocking waits* = exchanges holding a blocking command (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, …); *executed by Redis* = ' +
      'INFO commandstats delta per operation, commands run inside Lua scripts included (client and servers together); ' +
      '*bytes out / in* = bytes the process sent to Redis / received from it.',
  );
  md.push('', mdTable(['Executed by Redis per operation', 'commands', 'by command'], executedRows, ['---', '---:', '---']));
  md.push('', mdTable([`Idle background traffic (${CFG.idleMs / 1000} s, servers running)`, 'commands/s sent', 'executed/s'], idleRows));
}
if (results.targets.checks.length) {
  md.push('', '**Against the targets:**', '');
  for (const k of results.targets.checks) {
    const status = k.goal == null ? 'for information (not a target)' : k.pass == null ? 'not measured' : k.pass ? 'met' : 'not met';
    md.push(`- ${k.what}: ${k.value == null ? '—' : fmtRatio(k.value)}${k.goal == null ? '' : ` (goal ${k.goal})`}: ${status}`);
  }
}
console.log('\n--- Markdown for BENCHMARKS.md ---\n');
console.log(md.join('\n'));
console.log(`\nresults written to ${resultsPath}`);
process.exitCode = exitCode;
