// Where a one-at-a-time miss spends its time, leg by leg. The monotonic clock
// (process.hrtime, CLOCK_MONOTONIC) is one clock for every process on a machine, so a
// server can stamp when a request reached it and the client can split each call into
// the way there (call made -> request in the server's hands) and the way back (-> answer
// in the caller's hands).
//
//   npm run build && node bench/distributed/legs.mjs [--blocks=40] [--calls=200] [--warm=3000]
//   node bench/distributed/legs.mjs BEFORE_ROOT AFTER_ROOT [MORE_ROOTS ...] [--blocks=40] ...
//
// Without roots it sets memocell's miss beside the raw floor of floor.mjs (RPUSH + BLPOP
// through two server processes of its own) and beside the floor with memocell's own
// get and complete scripts in place of the RPUSHes, sent by raw ioredis calls: what the
// scripts cost apart from memocell's JavaScript. With two or more roots (each a built
// checkout, say a `git worktree` of the last commit and this one) it sets the builds'
// misses side by side instead.
//
// Every variant has its two server processes up from the start, each on its own keys,
// and the variants take turns in blocks of `--calls` timed calls (20 untimed first):
// this machine's speed drifts by tens of percent within minutes, and blocks a second
// apart see the same machine, where rounds a minute apart do not.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.mjs';

const role = process.argv[2];
const now = () => process.hrtime.bigint();
const here = path.dirname(fileURLToPath(import.meta.url));
const LUA_DIR = path.join(here, '../../src/distributed/lua');
const SERVER_ROLES = ['raw-server', 'scripts-server', 'memocell-server'];

/** Keys of a raw variant: a queue, the servers' inboxes, a reply list per client. */
const keysOf = (name) => {
  const base = `legs-${name}:{s}`;
  return { base, gets: `${base}:q`, prefetches: `${base}:p`, pending: `${base}:pending`, stats: `${base}:stats` };
};

/** memocell's get and complete scripts, by SHA-1, loaded into Redis. */
async function loadScripts(redis) {
  const shas = {};
  for (const [name, file] of [['get', 'get-1.lua'], ['complete', 'complete-4.lua']]) {
    const lua = readFileSync(path.join(LUA_DIR, file), 'utf8');
    shas[name] = createHash('sha1').update(lua).digest('hex');
    await redis.script('LOAD', lua);
  }
  return shas;
}

if (role === 'raw-server' || role === 'scripts-server') {
  // A raw server: pops a request (its inbox first, as memocell's servers do), stamps
  // it, and answers with RPUSH, or with memocell's `complete` script.
  const [url, name] = process.argv.slice(3);
  const k = keysOf(name);
  const id = `s${process.pid}`;
  const blocking = new Redis(url);
  const commands = new Redis(url);
  const shas = role === 'scripts-server' ? await loadScripts(commands) : undefined;
  if (shas) {
    await commands.sadd(`${k.base}:direct`, id);
    await commands.lpush(`${k.base}:idle`, id);
  }
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready' });
  let token = 0;
  for (;;) {
    const [, payloads] = await blocking.blmpop(0, 3, `${k.base}:in:${id}`, k.gets, k.prefetches, 'LEFT', 'COUNT', 16);
    for (const payload of payloads) {
      const reached = now();
      const key = payload.slice(0, payload.indexOf('\n'));
      if (shas === undefined) {
        await commands.rpush(`${k.base}:reply:c`, `${key}\n${reached}`);
      } else {
        const finished = `t\t0\t01\t${key}\n${reached}`;
        await commands.evalsha(shas.complete, 4, k.pending, k.stats, k.gets, k.prefetches, k.base, id, 1, Date.now() + 5000, 60000, 60000, `t${++token}`, finished);
      }
    }
  }
}

const load = (root) => (root ? import(pathToFileURL(path.join(root, 'dist/esm/distributed/index.js')).href) : import('memocell/distributed'));

if (role === 'memocell-server') {
  const [url, service, root] = process.argv.slice(3);
  process.on('disconnect', () => process.exit(0));
  const { createRedisStore } = await load(root || undefined);
  const store = createRedisStore({ redis: url, prefix: 'legs' });
  const handle = store.serve(service, () => String(now()), { concurrency: 16 });
  for (let i = 0; i < 250; i++) {
    const listed = await store.servers(service).then((s) => s.some((x) => x.id === handle.id), () => false);
    if (listed) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  process.send?.({ type: 'ready' });
}

if (!SERVER_ROLES.includes(role)) {
  // Bounded in time as well as in calls: a lost server would leave a blocking wait
  // open. The children exit when this process goes away.
  const MAX_RUN_MS = 10 * 60 * 1000;
  setTimeout(() => {
    console.error(`legs.mjs: still running after ${MAX_RUN_MS / 60000} min, stopping`);
    process.exit(3);
  }, MAX_RUN_MS).unref();
  const usage = 'usage: node bench/distributed/legs.mjs [ROOT ROOT ...] [--blocks=40] [--calls=200] [--warm=3000]';
  const option = (name, fallback) => {
    const value = Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
    if (!Number.isInteger(value) || value <= 0) {
      console.error(`legs.mjs: --${name} must be a positive whole number\n${usage}`);
      process.exit(2);
    }
    return value;
  };
  const BLOCKS = option('blocks', 40);
  const CALLS = option('calls', 200);
  const WARM = option('warm', 3000);
  const roots = process.argv.slice(2).filter((a) => !a.startsWith('--')).map((r) => path.resolve(r));
  if (roots.length === 1) {
    console.error(usage);
    process.exit(2);
  }
  const self = fileURLToPath(import.meta.url);
  const startChild = (args) =>
    new Promise((resolve, reject) => {
      const child = fork(self, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.once('error', reject);
      child.on('message', (m) => m?.type === 'ready' && resolve(child));
    });
  const closers = [];

  /** A raw client of a raw variant: the call, and the stamp the server sent back. */
  async function rawVariant(label, url, name, scripts) {
    const servers = await Promise.all([0, 1].map(() => startChild([scripts ? 'scripts-server' : 'raw-server', url, name])));
    const k = keysOf(name);
    const commands = new Redis(url);
    const replies = new Redis(url);
    const shas = scripts ? await loadScripts(commands) : undefined;
    closers.push(() => {
      commands.disconnect();
      replies.disconnect();
      for (const s of servers) s.kill('SIGKILL');
    });
    let seq = 0;
    const call = async () => {
      const key = `[${++seq}]`;
      const reply = replies.blmpop(0, 1, `${k.base}:reply:c`, 'LEFT', 'COUNT', 512);
      if (shas === undefined) await commands.rpush(k.gets, `${key}\n`);
      else await commands.evalsha(shas.get, 1, `${k.base}:v:${key}`, k.base, 'c', Date.now() + 5000, 60000, key, `${key}\n`);
      const [, [message]] = await reply;
      return message.slice(message.indexOf('\n') + 1);
    };
    return { label, call };
  }

  async function memocellVariant(label, url, service, root) {
    const { createRedisStore } = await load(root);
    const servers = await Promise.all([0, 1].map(() => startChild(['memocell-server', url, service, root ?? ''])));
    const store = createRedisStore({ redis: url, prefix: 'legs' });
    closers.push(async () => {
      await store.close();
      for (const s of servers) s.kill('SIGKILL');
    });
    let seq = 0;
    return { label, call: () => store.get(service, [++seq]) };
  }

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const redis = await startRedis();
  try {
    const variants =
      roots.length >= 2
        ? await Promise.all(roots.map((root, i) => memocellVariant(root, redis.url, `build${i}`, root)))
        : [
            await rawVariant('raw floor: RPUSH + BLMPOP', redis.url, 'raw', false),
            await rawVariant("the floor with memocell's get and complete scripts", redis.url, 'scripts', true),
            await memocellVariant('memocell get, not cached', redis.url, 'memocell'),
          ];
    for (const v of variants) {
      v.total = [];
      v.there = [];
      v.back = [];
      for (let i = 0; i < WARM; i++) await v.call();
    }
    for (let block = 0; block < BLOCKS; block++) {
      for (const v of block % 2 === 0 ? variants : [...variants].reverse()) {
        for (let i = 0; i < 20; i++) await v.call();
        for (let i = 0; i < CALLS; i++) {
          const t0 = now();
          const reached = BigInt(await v.call());
          const t1 = now();
          v.total.push(Number(t1 - t0) / 1e3);
          v.there.push(Number(reached - t0) / 1e3);
          v.back.push(Number(t1 - reached) / 1e3);
        }
      }
    }
    console.log(`\n${BLOCKS} blocks of ${CALLS} one-at-a-time calls per variant, in turns, after ${WARM} untimed calls each; p50 of each\n`);
    console.log('| One at a time (µs) | call | there: call -> server has it | back: server has it -> caller has it | call / first row |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    const first = median(variants[0].total);
    for (const v of variants) {
      const cells = [median(v.total), median(v.there), median(v.back)].map((x) => x.toFixed(0));
      console.log(`| ${v.label} | ${cells.join(' | ')} | ${(median(v.total) / first).toFixed(2)}× |`);
    }
  } finally {
    for (const close of closers) await close();
    await redis.stop();
  }
}
