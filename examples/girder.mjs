// Girder's recursive DAG, computed by worker processes. A memoised function whose body
// calls the service again for the nodes it depends on: the number of paths through a
// grid, paths(row, col) = paths(row - 1, col) + paths(row, col - 1). Every node is asked
// for by two others, so the calls form a DAG, and each node is computed once, by
// whichever worker takes it. The recursion is 20 levels deep, deeper than the 4 slots
// of the two workers together: a body waiting for a remote result lends its slot to
// other requests (Girder's re-entrancy), so the workers never starve, and each reports
// how many bodies it had in progress at once on its 2 slots. Then a damaged
// cell deep in the grid makes the top request fail with a RemoteError that carries the
// chain of requests down to the one that failed (Girder's error chains).
//
// Run: npm run build && node examples/girder.mjs
// Needs Redis, since the workers are processes of their own: REDIS_URL, else a private
// redis-server it starts and stops. With neither it says so and exits with code 3.
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, RemoteError } from 'memocell';
import { openRedis } from './support/redis.mjs';
import { missing, startChild } from './support/children.mjs';

const SERVICE = 'girder.paths';
const SIZE = 10;
const WORKERS = ['w1', 'w2'];
const SLOTS_PER_WORKER = 2;

/**
 * The memoised function, the same in the workers (which serve it) and here (which calls
 * it). `watch` wraps the body, for a worker to count what it runs.
 */
function definePaths(store, watch = (body) => body) {
  const paths = store.memo(
    SERVICE,
    watch(async (row, col, damaged) => {
      if (damaged !== null && row === damaged[0] && col === damaged[1]) {
        throw new Error(`cell (${row},${col}) is damaged`);
      }
      await sleep(10); // stands for the expensive part of a node: it holds the slot
      if (row === 0 || col === 0) return 1;
      // Both dependencies at once. The first failure in this fixed order is passed on,
      // so which chain an error reports does not depend on which worker was faster.
      const [up, left] = await Promise.allSettled([paths(row - 1, col, damaged), paths(row, col - 1, damaged)]);
      for (const dependency of [up, left]) if (dependency.status === 'rejected') throw dependency.reason;
      return up.value + left.value;
    }),
    { ttlSeconds: 60 },
  );
  return paths;
}

/**
 * A worker: serves the function with a few slots until its parent closes its stdin.
 * Asked `peak`, it says how many bodies it had in progress at most at once.
 */
async function worker(name) {
  const store = connect({ redis: process.env.GIRDER_REDIS_URL, prefix: process.env.GIRDER_PREFIX });
  let inProgress = 0;
  let peak = 0;
  const counted = (body) => async (...args) => {
    peak = Math.max(peak, ++inProgress);
    try {
      return await body(...args);
    } finally {
      inProgress--;
    }
  };
  store.serve(definePaths(store, counted), { concurrency: SLOTS_PER_WORKER, id: name });
  // Ready once the registry lists it, so the main process finds every worker there.
  while (!(await store.distributed.servers(SERVICE)).some((server) => server.id === name)) await sleep(20);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text) => {
    if (text.includes('peak')) console.log(`peak ${peak}`);
  });
  process.stdin.on('end', async () => {
    await store.close();
    process.exit(0);
  });
  console.log('ready');
}

/** How many computations each worker answered, once their heartbeats (one a second) report all of them. */
async function servedByWorker(store, computations) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const servers = await store.distributed.servers(SERVICE);
    const served = Object.fromEntries(WORKERS.map((id) => [id, servers.find((s) => s.id === id)?.served ?? 0]));
    const total = Object.values(served).reduce((a, b) => a + b, 0);
    if (total >= computations || Date.now() > deadline) return served;
    await sleep(100);
  }
}

/** Calls a plain recursion would make: every path through the DAG walked separately. */
function plainCalls(row, col) {
  return row === 0 || col === 0 ? 1 : 1 + plainCalls(row - 1, col) + plainCalls(row, col - 1);
}

async function main() {
  const redis = await openRedis();
  if (redis === undefined) {
    missing('a Redis (its workers are separate processes)', 'set REDIS_URL, or install redis-server (apt-get install -y redis-server)');
  }
  // Keys of this run under a prefix of their own: on a shared REDIS_URL, a second run
  // computes everything again instead of finding this run's results, and counts afresh.
  const prefix = `girder-example-${process.pid}-${Date.now().toString(36)}`;
  const store = connect({ redis: redis.url, prefix });
  const workers = [];
  try {
    for (const name of WORKERS) {
      const env = { ...process.env, GIRDER_REDIS_URL: redis.url, GIRDER_PREFIX: prefix };
      workers.push(startChild(process.execPath, [fileURLToPath(import.meta.url), '--worker', name], { env }));
    }
    await Promise.all(workers.map((w) => w.line(/^ready$/)));
    const paths = definePaths(store); // this process only calls it
    console.log(
      `Workers ${WORKERS.join(' and ')} (${redis.origin === 'private' ? 'a private redis-server' : 'REDIS_URL'}), ` +
        `${SLOTS_PER_WORKER} slots each: ${WORKERS.length * SLOTS_PER_WORKER} slots for a recursion ${2 * SIZE} levels deep.`,
    );

    const count = await paths(SIZE, SIZE, null);
    const nodes = (SIZE + 1) ** 2 - 1; // every cell of the grid but the corner (0,0), which no node asks for
    const stats = await store.distributed.stats(SERVICE);
    console.log(`paths(${SIZE}, ${SIZE}) = ${count}`);
    console.log(`nodes: ${nodes}, computations: ${stats.computations} (a plain recursion would make ${plainCalls(SIZE, SIZE)} calls)`);
    console.log(stats.computations === nodes ? 'every node was computed once' : 'some nodes were computed more than once!');
    const served = await servedByWorker(store, stats.computations);
    console.log(`computed per worker: ${WORKERS.map((id) => `${id} ${served[id]}`).join(', ')}`);
    const peaks = await Promise.all(
      workers.map(async (w) => {
        w.send('peak');
        return (await w.line(/^peak (\d+)$/))[1];
      }),
    );
    console.log(
      `most bodies in progress at once: ${WORKERS.map((id, i) => `${id} ${peaks[i]}`).join(', ')} ` +
        `(${SLOTS_PER_WORKER} slots each: a body waiting for a result lends its slot)`,
    );

    const damaged = [1, 2];
    console.log(`\npaths(4, 4) on a grid whose cell (${damaged.join(',')}) is damaged:`);
    try {
      console.log(`  unexpectedly gave ${await paths(4, 4, damaged)}`);
    } catch (error) {
      if (!(error instanceof RemoteError)) throw error;
      console.log(`  ${error.name}: ${error.remoteName}: ${error.remoteMessage}`);
      console.log(`  chain: ${error.chain.map((r) => `paths(${r.args[0]},${r.args[1]})`).join(' -> ')}`);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await store.close();
    await redis.stop();
  }
}

if (process.argv[2] === '--worker') await worker(process.argv[3]);
else await main();
