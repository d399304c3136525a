// A worker process of the demo: serves `mand.slice` from the Redis at REDIS_URL, one
// slice at a time (one process per core is where the parallelism comes from).
//
// It leaves when told (SIGTERM or SIGINT: finishes the slice in hand first) and when its
// parent goes away (the IPC channel closes), so a demo that dies leaves no worker behind.
// Its parent may also ask it, over IPC, to forget slices: "another process" forgetting.
import { connect } from 'memocell';
import { defineSlice } from './mand.mjs';

const url = process.env.REDIS_URL;
if (!url) {
  console.error('worker: REDIS_URL is not set (the worker shares slices through Redis)');
  process.exit(2);
}
const store = connect(url);
// The parent counts the slices each worker computes.
const slice = defineSlice(store, () => process.send?.({ type: 'computed' }));
store.serve(slice, { concurrency: 1, id: `mand-worker-${process.pid}` });

/** A parent that died may have taken a private Redis with it: closing then only retries. */
const CLOSE_DEADLINE_MS = 1_000;
let leaving = false;
async function leave() {
  if (leaving) return;
  leaving = true;
  const deadline = new Promise((resolve) => setTimeout(resolve, CLOSE_DEADLINE_MS).unref());
  await Promise.race([store.close().catch(() => {}), deadline]);
  process.exit(0);
}
process.on('SIGTERM', () => void leave());
process.on('SIGINT', () => void leave());
process.on('disconnect', () => void leave());

process.on('message', async (message) => {
  if (message?.type !== 'forget') return;
  const { view, bands } = message;
  await Promise.all(bands.map(([y0, y1]) => slice.forget(view, y0, y1)));
  process.send?.({ type: 'forgot', count: bands.length });
});
