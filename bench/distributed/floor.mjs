// The floor under a one-at-a-time miss: what any design with a client, Redis and separate
// server processes pays for four wake-ups in a row (client -> Redis -> server -> Redis ->
// client), measured with raw ioredis commands and no work at all: the client RPUSHes a
// request and waits on its reply list with BLPOP; two server processes BLPOP the queue
// and RPUSH the reply. Beside it, in the same run on the same Redis, memocell's
// one-at-a-time miss with two server processes (bench/distributed/memocell-server.mjs),
// and the floor again with one write per side instead of two: the client's request and
// its reply wait, and the server's reply and its next pop, each corked into one write on
// one connection (what a design that waits on the connection it sends on would pay).
//
//   npm run build && node bench/distributed/floor.mjs [--jobs=3000] [--rounds=3] [--warm=5000]
//
// Compare the ratio memocell / floor, not absolute times (shared, noisy machines).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.mjs';

const role = process.argv[2];

if (role === 'raw-server') {
  // A server of the floor: pop a request, push its reply, forever. With `corked`, the
  // reply and the next pop go out in one write on one connection (the socket corked
  // around both): one write per request instead of two.
  const url = process.argv[3];
  const corked = process.argv[4] === 'corked';
  const blocking = new Redis(url);
  const commands = new Redis(url);
  await Promise.all([blocking.ping(), commands.ping()]);
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready' });
  let [, request] = await blocking.blpop('floor:q', 0);
  for (;;) {
    const bar = request.indexOf('|');
    const replies = `floor:reply:${request.slice(0, bar)}`;
    if (corked) {
      blocking.stream.cork();
      void blocking.rpush(replies, request.slice(bar + 1));
      const next = blocking.blpop('floor:q', 0);
      blocking.stream.uncork();
      [, request] = await next;
    } else {
      await commands.rpush(replies, request.slice(bar + 1));
      [, request] = await blocking.blpop('floor:q', 0);
    }
  }
}

const option = (name, fallback) => {
  const value = Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`floor.mjs: --${name} must be a whole number of calls`);
    console.error('usage: node bench/distributed/floor.mjs [--jobs=3000] [--rounds=3] [--warm=5000]');
    process.exit(2);
  }
  return value;
};
const JOBS = option('jobs', 3000);
const ROUNDS = option('rounds', 3);
// Calls before the timed ones in each round, for the floor and memocell alike: V8 compiles
// a one-at-a-time path only after thousands of calls (see run.mjs, warmJobs).
const WARM = option('warm', 5000);
const here = (file) => fileURLToPath(new URL(file, import.meta.url));

function startChild(file, args) {
  const child = fork(here(file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m) => m?.type === 'ready' && resolve(child));
  });
}

function stopChildren(children) {
  return Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          child.once('exit', resolve);
          child.send?.({ type: 'stop' });
          setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
        }),
    ),
  );
}

/** p50 and jobs/s of `JOBS` calls one at a time, after `WARM` untimed ones. */
async function measure(call) {
  for (let i = 0; i < WARM; i++) await call(-1 - i);
  const latencies = [];
  const began = process.hrtime.bigint();
  for (let i = 0; i < JOBS; i++) {
    const t = process.hrtime.bigint();
    await call(i);
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  latencies.sort((a, b) => a - b);
  return { p50: latencies[Math.floor(JOBS / 2)], p99: latencies[Math.floor(JOBS * 0.99)], perSecond: JOBS / seconds };
}

async function floorRound(url, corked = false) {
  const mode = corked ? 'corked' : 'plain';
  const servers = await Promise.all([startChild('floor.mjs', ['raw-server', url, mode]), startChild('floor.mjs', ['raw-server', url, mode])]);
  const commands = new Redis(url);
  const replies = new Redis(url);
  await Promise.all([commands.ping(), replies.ping()]);
  try {
    let seq = 0;
    if (corked) {
      // The request and the wait for its reply in one write, on the reply connection.
      return await measure(async () => {
        replies.stream.cork();
        void replies.rpush('floor:q', `c|${++seq}`);
        const reply = replies.blpop('floor:reply:c', 0);
        replies.stream.uncork();
        await reply;
      });
    }
    return await measure(async () => {
      // The reply wait is on its own connection, like memocell's reply loop.
      const reply = replies.blpop('floor:reply:c', 0);
      await commands.rpush('floor:q', `c|${++seq}`);
      await reply;
    });
  } finally {
    commands.disconnect();
    replies.disconnect();
    for (const server of servers) server.kill('SIGKILL');
  }
}

async function memocellRound(url, round) {
  const { createRedisStore } = await import('memocell/distributed');
  const service = `floor-noop-${round}`;
  const servers = await Promise.all([
    startChild('memocell-server.mjs', [url, 'floor', service, '16']),
    startChild('memocell-server.mjs', [url, 'floor', service, '16']),
  ]);
  const store = createRedisStore({ redis: url, prefix: 'floor' });
  try {
    return await measure((i) => store.get(service, [round, i]));
  } finally {
    await store.close();
    await stopChildren(servers);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const redis = await startRedis();
try {
  const floor = [];
  const corked = [];
  const memocell = [];
  for (let round = 0; round < ROUNDS; round++) {
    floor.push(await floorRound(redis.url));
    corked.push(await floorRound(redis.url, true));
    memocell.push(await memocellRound(redis.url, round));
  }
  const row = (name, results) => {
    const p50 = median(results.map((r) => r.p50));
    const p99 = median(results.map((r) => r.p99));
    const perSecond = median(results.map((r) => r.perSecond));
    return { name, p50, p99, perSecond };
  };
  const rows = [
    row('raw floor: RPUSH + BLPOP through 2 server processes', floor),
    row('memocell get, not cached (2 servers)', memocell),
    row('raw floor, one write per side (push and pop corked together)', corked),
  ];
  console.log(`\n${JOBS} one-at-a-time calls per round after ${WARM} untimed ones, median of ${ROUNDS} rounds in alternating order\n`);
  console.log('| One at a time | p50 ms | p99 ms | calls/s |\n| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.name} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(2)} | ${Math.round(r.perSecond).toLocaleString('en-US')} |`);
  const [f, m, c] = rows;
  console.log(`| memocell / floor | ${(m.p50 / f.p50).toFixed(2)}× | | ${(m.perSecond / f.perSecond).toFixed(2)}× |`);
  console.log(`| corked floor / floor | ${(c.p50 / f.p50).toFixed(2)}× | | ${(c.perSecond / f.perSecond).toFixed(2)}× |`);
} finally {
  await redis.stop();
}
