// A memocell server process for the distributed benchmark: serves one service with a
// no-op handler (returns its first argument, not cached), until the parent says stop.
//
//   node memocell-server.mjs <redis-url> <prefix> <service> <concurrency>
//
// Talks to the parent over IPC: answers { type: 'cpu' } with its CPU usage, sends { type: 'ready' } once it serves, answers
// { type: 'stop' } with { type: 'stopped', served } and exits. Exits by itself when
// the parent goes away or after MAX_LIFE_MS.
const MAX_LIFE_MS = 5 * 60 * 1000;
const [url, prefix, service, concurrencyArg] = process.argv.slice(2);

setTimeout(() => {
  console.error(`[memocell-server ${process.pid}] still running after ${MAX_LIFE_MS / 1000} s, exiting`);
  process.exit(3);
}, MAX_LIFE_MS).unref();
process.on('disconnect', () => process.exit(0));

const { createRedisStore } = await import('memocell/distributed');
if (typeof createRedisStore !== 'function') {
  process.send?.({ type: 'error', message: 'createRedisStore is not in the build (dist/esm/distributed)' });
  process.exit(2);
}

let served = 0;
const store = createRedisStore({ redis: url, prefix });
const handle = store.serve(
  service,
  (args) => {
    served++;
    return args[0];
  },
  { concurrency: Number(concurrencyArg) || 1 },
);

process.on('message', async (msg) => {
  if (msg?.type === 'cpu') {
    process.send?.({ type: 'cpu', usage: process.cpuUsage(), served });
    return;
  }
  if (msg?.type !== 'stop') return;
  try {
    await handle.stop();
    await store.close();
  } finally {
    process.send?.({ type: 'stopped', served });
    process.disconnect?.();
    setTimeout(() => process.exit(0), 50);
  }
});

// Ready once the registry lists this server (bounded), so no request waits for a
// server that is still connecting.
const deadline = Date.now() + 5000;
for (;;) {
  let listed = false;
  try {
    listed = (await store.servers(service)).some((s) => s.id === handle.id);
  } catch {
    // not connected yet
  }
  if (listed || Date.now() > deadline) break;
  await new Promise((r) => setTimeout(r, 20));
}
process.send?.({ type: 'ready', pid: process.pid, id: handle.id });
