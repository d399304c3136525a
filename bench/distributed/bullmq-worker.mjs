// A BullMQ worker process for the distributed benchmark: one Worker with a no-op
// processor (returns the job's number), until the parent says stop.
//
//   node bullmq-worker.mjs <redis-url> <queue> <concurrency>
//
// Talks to the parent over IPC: answers { type: 'cpu' } with its CPU usage, sends { type: 'ready' } once connected, answers
// { type: 'stop' } with { type: 'stopped', served } and exits. Exits by itself when
// the parent goes away or after MAX_LIFE_MS.
import { Worker } from 'bullmq';

const MAX_LIFE_MS = 5 * 60 * 1000;
const [url, queueName, concurrencyArg] = process.argv.slice(2);
const { hostname, port } = new URL(url);

setTimeout(() => {
  console.error(`[bullmq-worker ${process.pid}] still running after ${MAX_LIFE_MS / 1000} s, exiting`);
  process.exit(3);
}, MAX_LIFE_MS).unref();
process.on('disconnect', () => process.exit(0));

let served = 0;
const worker = new Worker(
  queueName,
  async (job) => {
    served++;
    return job.data.i;
  },
  {
    connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
    concurrency: Number(concurrencyArg) || 1,
  },
);
worker.on('error', (err) => console.error(`[bullmq-worker ${process.pid}] ${err.message}`));

process.on('message', async (msg) => {
  if (msg?.type === 'cpu') {
    process.send?.({ type: 'cpu', usage: process.cpuUsage(), served });
    return;
  }
  if (msg?.type !== 'stop') return;
  try {
    await worker.close();
  } finally {
    process.send?.({ type: 'stopped', served });
    process.disconnect?.();
    setTimeout(() => process.exit(0), 50);
  }
});

await worker.waitUntilReady();
process.send?.({ type: 'ready', pid: process.pid });
