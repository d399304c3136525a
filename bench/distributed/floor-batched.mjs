// The floor under misses with many outstanding: what a batched design with a client,
// Redis and two server processes costs when it does nothing but move requests and
// replies. The client RPUSHes the requests made in one run of promise callbacks in one
// call and takes replies with BLMPOP; each server (concurrency 16) pops up to 16, and
// answers them and takes the next 16 in one Lua call (RPUSH per reply, LMPOP). No
// deduplication, leases, cache, waiter sets or recovery: the part of memocell's cost
// that is not bookkeeping. Beside it, in the same run on the same Redis, memocell's misses
// with the same number outstanding (bench/distributed/memocell-server.mjs).
//
//   npm run build && node bench/distributed/floor-batched.mjs [--jobs=20000] [--window=128] [--rounds=3]
//
// Prints calls/s and CPU µs per call of the client, the servers and redis-server.
// Compare ratios, not absolute figures (shared, noisy machines).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { childCpuUs, redisCpuUs } from './cpu.mjs';
import { startRedis } from './redis-server.mjs';

const ANSWER_AND_TAKE = `
for i = 2, #ARGV do
  local bar = string.find(ARGV[i], '|', 1, true)
  redis.call('RPUSH', 'fb:reply:' .. string.sub(ARGV[i], 1, bar - 1), string.sub(ARGV[i], bar + 1))
end
local want = tonumber(ARGV[1])
if want > 0 then
  local popped = redis.call('LMPOP', 1, 'fb:q', 'LEFT', 'COUNT', want)
  if popped then return popped[2] end
end
return {}`;

const role = process.argv[2];
if (role === 'raw-server') {
  // A server of the floor: its reply to a request is the request ("client|id").
  const url = process.argv[3];
  const blocking = new Redis(url);
  const commands = new Redis(url);
  commands.defineCommand('answerAndTake', { numberOfKeys: 0, lua: ANSWER_AND_TAKE });
  let served = 0;
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => m?.type === 'cpu' && process.send?.({ type: 'cpu', usage: process.cpuUsage(), served }));
  process.send?.({ type: 'ready' });
  for (;;) {
    const popped = await blocking.blmpop(1, 1, 'fb:q', 'LEFT', 'COUNT', 16);
    let batch = popped?.[1] ?? [];
    while (batch.length > 0) {
      served += batch.length;
      batch = await commands.answerAndTake(batch.length, ...batch);
    }
  }
}

const option = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const JOBS = option('jobs', 20000);
const WINDOW = option('window', 128);
const ROUNDS = option('rounds', 3);
const here = (file) => fileURLToPath(new URL(file, import.meta.url));
setTimeout(() => {
  console.error('floor-batched: still running after 5 minutes, giving up');
  process.exit(3);
}, 5 * 60 * 1000).unref();

function startChild(file, args) {
  const child = fork(here(file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m) => m?.type === 'ready' && resolve(child));
  });
}

/** `count` calls with WINDOW outstanding: calls/s and CPU µs per call of each part. */
async function measure(admin, servers, call) {
  let made = 0;
  const run = async (count) => {
    const target = made + count;
    const worker = async () => {
      while (made < target) {
        made++;
        await call();
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
  };
  await run(2000);
  const servers0 = await Promise.all(servers.map(childCpuUs));
  const redis0 = await redisCpuUs(admin);
  const client0 = process.cpuUsage();
  const began = performance.now();
  await run(JOBS);
  const seconds = (performance.now() - began) / 1000;
  const client = process.cpuUsage(client0);
  const servers1 = await Promise.all(servers.map(childCpuUs));
  const redis1 = await redisCpuUs(admin);
  return {
    perSecond: JOBS / seconds,
    client: (client.user + client.system) / JOBS,
    servers: servers1.reduce((sum, cpu, i) => sum + cpu - servers0[i], 0) / JOBS,
    redis: (redis1 - redis0) / JOBS,
  };
}

async function floorRound(url, admin) {
  const servers = await Promise.all([startChild('floor-batched.mjs', ['raw-server', url]), startChild('floor-batched.mjs', ['raw-server', url])]);
  const commands = new Redis(url);
  const replies = new Redis(url);
  const waiting = new Map();
  let queued = [];
  let seq = 0;
  let open = true;
  const send = () => {
    const batch = queued;
    queued = [];
    void commands.rpush('fb:q', ...batch);
  };
  const receive = (async () => {
    while (open) {
      const popped = await replies.blmpop(1, 1, 'fb:reply:c', 'LEFT', 'COUNT', 512);
      for (const id of popped?.[1] ?? []) {
        waiting.get(id)?.();
        waiting.delete(id);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  try {
    return await measure(admin, servers, () =>
      new Promise((resolve) => {
        const id = String(++seq);
        waiting.set(id, resolve);
        if (queued.push(`c|${id}`) === 1) process.nextTick(send);
      }),
    );
  } finally {
    open = false;
    for (const server of servers) server.kill('SIGKILL');
    commands.disconnect();
    replies.disconnect();
    void receive.catch(() => {});
  }
}

async function memocellRound(url, admin, round) {
  const { createRedisStore } = await import('memocell/distributed');
  const service = `floor-batched-${round}`;
  const servers = await Promise.all([
    startChild('memocell-server.mjs', [url, 'fb', service, '16']),
    startChild('memocell-server.mjs', [url, 'fb', service, '16']),
  ]);
  const store = createRedisStore({ redis: url, prefix: 'fb' });
  let seq = 0;
  try {
    return await measure(admin, servers, () => store.get(service, [round, ++seq]));
  } finally {
    await store.close();
    for (const server of servers) server.kill('SIGKILL');
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const redis = await startRedis();
const admin = new Redis(redis.url);
try {
  const floor = [];
  const memocell = [];
  for (let round = 0; round < ROUNDS; round++) {
    floor.push(await floorRound(redis.url, admin));
    memocell.push(await memocellRound(redis.url, admin, round));
  }
  const row = (name, results) => ({
    name,
    perSecond: median(results.map((r) => r.perSecond)),
    client: median(results.map((r) => r.client)),
    servers: median(results.map((r) => r.servers)),
    redis: median(results.map((r) => r.redis)),
  });
  const rows = [row('batched floor: RPUSH / LMPOP + RPUSH, 2 server processes', floor), row('memocell get, not cached (2 servers)', memocell)];
  console.log(`\n${JOBS} calls with ${WINDOW} outstanding per round, servers of concurrency 16, median of ${ROUNDS} rounds in alternating order\n`);
  console.log('| Many outstanding | calls/s | CPU µs per call: client | servers | redis-server |\n| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.client.toFixed(1)} | ${r.servers.toFixed(1)} | ${r.redis.toFixed(1)} |`);
  }
  const [f, m] = rows;
  console.log(
    `| memocell / floor | ${(m.perSecond / f.perSecond).toFixed(2)}× | ${(m.client / f.client).toFixed(2)}× | ${(m.servers / f.servers).toFixed(2)}× | ${(m.redis / f.redis).toFixed(2)}× |`,
  );
} finally {
  admin.disconnect();
  await redis.stop();
}
