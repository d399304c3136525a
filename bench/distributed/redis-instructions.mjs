// Redis's own instructions per miss, counted exactly: a redis-server under valgrind
// (cachegrind, no cache simulation) is driven through the scripts of one or more
// versions of src/distributed/lua by one client that plays a client and two servers of
// concurrency 16 with 128 requests outstanding: each server's `complete` answers the 16
// it ran and takes 16 more, and the client's `get` queues as many new ones. The count is
// the same to within about 0.2% from run to run, where CPU time on this shared machine
// swings by 20-50%: use it to compare changes to the scripts, not to time anything.
//
//   node bench/distributed/redis-instructions.mjs [--jobs=3000] [--one-at-a-time] [LUA_DIR ...]
//
// --one-at-a-time plays the path of a lone miss instead: one idle server that pops its
// own inbox, and per miss the client's `get` of one request (sent to that server's
// inbox), the server's pop of it, its `complete` (which finds nothing more to take and
// puts it back on the idle list) and the client's pop of the reply: every command of a
// one-at-a-time miss but the blocking ones' waiting.
//
// LUA_DIR defaults to src/distributed/lua; give two (say a worktree of the last commit
// and this one) to compare them. Each version runs in its own redis-server; a run
// with no jobs is subtracted, so what is left is the flow's own cost. Needs valgrind
// (apt-get install -y valgrind) and redis-server. About 15 s per version.
//
// To see where the instructions go: REDIS_SERVER=path runs another redis-server binary
// (Debian's is stripped: build one from `apt-get source redis` for function names),
// CALLGRIND=1 records with callgrind instead (inclusive costs, for callgrind_annotate),
// and KEEP_CG=1 keeps the output file and prints its directory.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.mjs';

const args = process.argv.slice(2);
const JOBS = Number(args.find((a) => a.startsWith('--jobs='))?.split('=')[1] ?? 3000);
const ONE_AT_A_TIME = args.includes('--one-at-a-time');
const dirs = args.filter((a) => !a.startsWith('--'));
if (dirs.length === 0) dirs.push('src/distributed/lua');
for (const tool of ['valgrind', 'redis-server']) {
  if (spawnSync(tool, ['--version']).error) {
    console.error(`redis-instructions: ${tool} is not installed (apt-get install -y ${tool === 'valgrind' ? 'valgrind' : 'redis-server'})`);
    process.exit(2);
  }
}

const BASE = 'bench:{s}';
const KEYS = [`${BASE}:pending`, `${BASE}:stats`, `${BASE}:q`, `${BASE}:p`];
// A fixed clock: the same arguments, so the same work, in every run.
const NOW = 1_800_000_000_000;
const OUTSTANDING = 128;
const SLOTS = 16;

/** Instructions redis-server ran from start to shutdown, having served `jobs` misses. */
async function count(dir, jobs) {
  const port = await freePort();
  const out = mkdtempSync(path.join(os.tmpdir(), 'memocell-cg-'));
  const server = spawn(
    'valgrind',
    [
      ...(process.env.CALLGRIND
        ? ['--tool=callgrind', `--callgrind-out-file=${out}/cg.out`]
        : ['--tool=cachegrind', '--cache-sim=no', `--cachegrind-out-file=${out}/cg.out`]),
      process.env.REDIS_SERVER ?? 'redis-server',
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => server.on('exit', resolve));
  /** Stops redis-server; resolves the instructions it ran in all. */
  const shutdown = async () => {
    await redis.shutdown('NOSAVE').catch(() => {});
    await exited;
    const total = /summary: (\d+)/.exec(readFileSync(`${out}/cg.out`, 'utf8'));
    if (total === null) throw new Error(`no cachegrind summary in ${out}`);
    return Number(total[1]);
  };
  const redis = new Redis({ port, host: '127.0.0.1', retryStrategy: (n) => (n > 300 ? null : 100) });
  redis.on('error', () => {});
  try {
    await redis.ping();
    redis.defineCommand('get', { numberOfKeys: 1, lua: readFileSync(path.join(dir, 'get-1.lua'), 'utf8') });
    const completeLua = readFileSync(path.join(dir, 'complete-4.lua'), 'utf8');
    redis.defineCommand('complete', { numberOfKeys: 4, lua: completeLua });
    // Scripts before 2026-12-03 (afternoon) gave the i-th request taken the token PREFIX.i;
    // since then one call's requests share PREFIX.
    const tokenOf = completeLua.includes("ARGV[7] .. '.' .. taken") ? (prefix, i) => `${prefix}.${i + 1}` : (prefix) => prefix;
    let seq = 0;
    let tokens = 0;
    const get = (n) => {
      const argv = [BASE, 'client', NOW + 5_000, 100_000];
      for (let i = 0; i < n; i++) {
        const key = `[${++seq}]`;
        argv.push(key, `${key}\n`);
      }
      return redis.get(`${BASE}:v:x`, ...argv);
    };
    if (ONE_AT_A_TIME) {
      // The server is registered as popping its own inbox, and idle.
      await redis.sadd(`${BASE}:direct`, 'server-a');
      await redis.lpush(`${BASE}:idle`, 'server-a');
      let done = 0;
      while (done < jobs) {
        await get(1);
        const [, [payload]] = await redis.lmpop(3, `${BASE}:in:server-a`, `${BASE}:q`, `${BASE}:p`, 'LEFT', 'COUNT', 16);
        const key = payload.slice(0, payload.indexOf('\n'));
        await redis.complete(...KEYS, BASE, 'server-a', 1, NOW + 10_000, 100_000, 60_000, `t${++tokens}`, `t0\t0\t01\t${key}\nj${key}`);
        await redis.lmpop(1, `${BASE}:reply:client`, 'LEFT', 'COUNT', 512);
        done++;
      }
      return { instructions: await shutdown(), jobs: done };
    }
    if (jobs > 0) await get(OUTSTANDING - 2 * SLOTS);
    const servers = [{ id: 'server-a', running: [] }, { id: 'server-b', running: [] }];
    let done = 0;
    while (jobs > 0 && done < jobs) {
      for (const s of servers) {
        const prefix = `t${++tokens}`;
        const finished = s.running.map(([key, token]) => `${token}\t0\t00\t${key}\nj${key}`);
        const reply = await redis.complete(...KEYS, BASE, s.id, SLOTS, NOW + 10_000, 100_000, 60_000, prefix, ...finished);
        done += finished.length;
        s.running = reply.slice(finished.length).map((payload, i) => [payload.slice(0, payload.indexOf('\n')), tokenOf(prefix, i)]);
        if (finished.length > 0) await get(finished.length);
      }
      await redis.del(`${BASE}:reply:client`);
    }
    return { instructions: await shutdown(), jobs: done };
  } finally {
    redis.disconnect();
    server.kill('SIGKILL');
    if (process.env.KEEP_CG) console.log(`kept ${out}/cg.out`);
    else rmSync(out, { recursive: true, force: true });
  }
}

const idle = await count(dirs[0], 0);
console.log(
  ONE_AT_A_TIME
    ? 'Redis instructions per miss, one at a time, one idle server (valgrind cachegrind):'
    : `Redis instructions per miss, ${OUTSTANDING} outstanding, servers of ${SLOTS} slots (valgrind cachegrind):`,
);
let first;
for (const dir of dirs) {
  const run = await count(dir, JOBS);
  const perJob = (run.instructions - idle.instructions) / run.jobs;
  first ??= perJob;
  console.log(`  ${dir}: ${Math.round(perJob).toLocaleString('en-US')} over ${run.jobs} misses${dir === dirs[0] ? '' : ` (${(perJob / first).toFixed(3)}× the first)`}`);
}
