// memocell's main demo: DisTcl's Mandelbrot, done with memocell. The image is cut into
// slices (bands of rows); a `mand.slice` service computes them in worker processes and
// caches them in Redis; a reactive frame cell in this process reads the slices of the
// current view and re-renders when the zoom input changes or a slice is forgotten.
//
// Run: npm run demo  (or: node examples/mandelbrot/demo.mjs --help)
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, Store } from 'memocell';
import { openRedis } from '../support/redis.mjs';
import { frameCell, watchFrames } from './frame.mjs';
import { terminalPreview, toRgb } from './image.mjs';
import { bandsOf, defineSlice, SLICE_SERVICE, viewAt } from './mand.mjs';
import { parseOptions } from './options.mjs';
import { encodePng } from './png.mjs';
import { progressBar } from './progress.mjs';
import { WorkerPool } from './workers.mjs';

const options = parseOptions();
const out = console.log;
const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);

let cleanup = async () => {};
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  console.error('\ninterrupted: stopping the workers and Redis');
  void cleanup().finally(() => process.exit(130));
});

main().catch(async (error) => {
  // After Ctrl-C, calls in flight fail as the store closes: that is no news.
  if (interrupted) return;
  console.error(error);
  await cleanup();
  process.exitCode = 1;
});

async function main() {
  const size = { width: options.width, height: options.height, maxIter: options.maxIter };
  out(`memocell demo: the Mandelbrot set (${size.width}×${size.height}, up to ${size.maxIter} iterations), ` +
    `cut into slices of ${options.rowsPerSlice} rows and computed by a \`${SLICE_SERVICE}\` service`);

  const redis = await openRedis();
  const store = connect(redis?.url);
  const pool = redis ? new WorkerPool(redis.url) : undefined;
  process.once('exit', () => pool?.killAllNow());
  let cleaned;
  cleanup = () => (cleaned ??= (async () => {
    await pool?.stopAll();
    await store.close().catch(() => {});
    await redis?.stop();
  })());
  describeRedis(redis);

  const slice = defineSlice(store);
  // The zoom is a shared input: any process on the store may set it.
  const zoom = store.input('mand.zoom', 1);
  await zoom.set(1);
  const home = viewAt(1, size);
  const zoomed = viewAt(options.zoom, size);
  // Start cold even on a Redis that an earlier run filled.
  await forgetAll(slice, home);
  await forgetAll(slice, zoomed);

  const meter = sliceMeter(store, bandsOf(home, options.rowsPerSlice).length);
  const frame = frameCell({ slice, zoom, size, rowsPerSlice: options.rowsPerSlice, onSlice: meter.onSlice });
  const demo = { store, redis, pool, slice, zoom, frame, home, zoomed, meter };

  const first = await oneWorker(demo);
  const parallel = pool ? await severalWorkers(demo, first) : skipSeveralWorkers();
  const cached = await fromCache(demo, first);
  // A frame that never comes would mean a change that never reached it: give up then.
  const live = await liveFrame(demo, Math.max(60_000, 10 * first.ms));

  out('\nSummary');
  out(`  first render, ${pool ? 'one worker' : 'this process'}:`.padEnd(40) + seconds(first.ms));
  if (parallel) {
    out(`  cold render, ${options.workers} worker${options.workers === 1 ? '' : 's'}:`.padEnd(40) +
      `${seconds(parallel.ms)}  (${(first.ms / parallel.ms).toFixed(2)}× speed-up)`);
  }
  out('  cached re-render, fresh Store:'.padEnd(40) +
    `${seconds(cached.ms)}  (${(first.ms / cached.ms).toFixed(0)}× faster than the first)`);
  out(`  zoom ×${options.zoom}: ${live.zoomIn.computed} computed; forget ${live.forgotten}: ` +
    `${live.reRendered.computed} recomputed; zoom back: ${live.zoomOut.computed} computed`);
  out(`  images: ${first.file}, ${live.file}`);

  await cleanup();
  const stopped = pool ? `${options.workers} worker process${options.workers === 1 ? '' : 'es'}` : 'the store';
  out(`\nStopped ${stopped}${redis?.origin === 'private' ? ' and the private redis-server' : ''}.`);
}

function describeRedis(redis) {
  if (redis?.origin === 'REDIS_URL') out(`Redis: REDIS_URL (${redis.url})`);
  else if (redis) out(`Redis: a private redis-server on ${redis.url}, stopped at the end`);
  else {
    out('Redis: none (no REDIS_URL, no redis-server on the PATH): falling back to the embedded store.\n' +
      '  The embedded store lives in this process only, so there are no worker processes: this\n' +
      '  process computes the slices itself, one at a time, and there is no speed-up to measure.\n' +
      '  Install redis-server or set REDIS_URL to see the slices computed by several processes.');
  }
}

/** (1) A cold render by one worker process (or by this process, on the embedded store). */
async function oneWorker({ store, pool, slice, frame, meter }) {
  out(`\n(1) Cold render with ${pool ? 'one worker process' : 'this process (embedded store)'}`);
  if (pool) {
    pool.start(1);
    await pool.waitServing(store, SLICE_SERVICE, 1);
    out(`  worker pid ${pool.pids[0]} serves ${SLICE_SERVICE}`);
  } else {
    store.serve(slice, { concurrency: 1 });
  }
  const first = await meter.measure(() => frame.get());
  out(`  ${meter.total} slices in ${seconds(first.ms)} (${first.computed} computed)`);
  return { ...first, file: writeImage(first.value, options.out) };
}

/** (2) The same slices forgotten, then a cold render by all the workers. */
async function severalWorkers({ store, pool, slice, frame, home, meter }, first) {
  const workers = options.workers === 1 ? 'the same single worker (--workers 1)' : `${options.workers} worker processes`;
  out(`\n(2) Forget those slices, cold render again with ${workers}`);
  const forgetting = performance.now();
  await forgetAll(slice, home);
  out(`  forgot ${meter.total} slices in ${seconds(performance.now() - forgetting)}`);
  pool.start(options.workers - 1);
  await pool.waitServing(store, SLICE_SERVICE, options.workers);
  const one = pool.pids.length === 1;
  out(`  worker pid${one ? '' : 's'} ${pool.pids.join(', ')} serve${one ? 's' : ''} ${SLICE_SERVICE}`);
  const before = pool.computedByPid();
  const parallel = await meter.measure(() => frame.get());
  const shares = [...pool.computedByPid()].map(([pid, n]) => `pid ${pid}: ${n - (before.get(pid) ?? 0)}`);
  out(`  ${meter.total} slices in ${seconds(parallel.ms)} (${parallel.computed} computed; ${shares.join(', ')})`);
  out(`  speed-up over one worker: ${(first.ms / parallel.ms).toFixed(2)}× with ${options.workers} ` +
    `worker${options.workers === 1 ? '' : 's'} on ${os.availableParallelism()} cores`);
  return parallel;
}

function skipSeveralWorkers() {
  out('\n(2) Skipped: the embedded store cannot share work between processes, so there are no\n' +
    '  workers to add and no speed-up to measure.');
  return undefined;
}

/** (3) A fresh Store has an empty L1: every slice comes from the store's cache. */
async function fromCache({ store, redis, frame, home, meter }, first) {
  out(`\n(3) Second run, from a fresh Store (${redis ? 'new connections' : 'on the same embedded store'}, ` +
    'empty L1): served from the cache');
  const fresh = redis ? connect(redis.url) : new Store(store.distributed);
  const freshSlice = defineSlice(fresh);
  const before = await store.distributed.stats(SLICE_SERVICE);
  await fresh.distributed.stats(SLICE_SERVICE); // connected before the clock starts, as the first Store was
  const bands = bandsOf(home, options.rowsPerSlice);
  const cached = await meter.measure(() =>
    Promise.all(bands.map(([y0, y1]) => freshSlice(home, y0, y1).then(() => meter.onSlice(home, y0)))),
  );
  // Closing writes the hits the client counted. On the embedded store the fresh Store
  // shares this process's only store, so it is not closed.
  if (redis) await fresh.close();
  const after = await store.distributed.stats(SLICE_SERVICE);
  out(`  ${meter.total} slices in ${seconds(cached.ms)}: ${after.hits - before.hits} cache hits, ` +
    `${after.computations - before.computations} computed`);
  out(`  ${(first.ms / cached.ms).toFixed(0)}× faster than the first render`);
  const again = performance.now();
  await frame.get();
  out(`  the frame again in this process: ${seconds(performance.now() - again)} (the cell is current: nothing to fetch)`);
  return cached;
}

/** (4) A live frame: the zoom input changes, slices are forgotten elsewhere, the zoom goes back. */
async function liveFrame({ pool, slice, zoom, frame, home, zoomed, meter }, timeoutMs) {
  out('\n(4) A live frame: it re-renders by itself when the zoom input changes or a slice is forgotten');
  const frames = watchFrames(frame);
  await frames.next((f) => f.view.span === home.span, 'the first live frame', timeoutMs);

  const zoomIn = await meter.measure(async () => {
    await zoom.set(options.zoom);
    return frames.next((f) => f.view.span === zoomed.span, 'the zoomed frame', timeoutMs);
  });
  out(`  zoom input 1 -> ${options.zoom}: the frame re-rendered in ${seconds(zoomIn.ms)}: ` +
    `${zoomIn.computed} slices computed, ${meter.total - zoomIn.computed} from cache (a view never seen before)`);
  const file = writeImage(zoomIn.value, zoomedFileName(options.out, options.zoom));

  const forgotten = middleBands(zoomIn.value.bands);
  const rows = `rows ${forgotten[0][0]}-${forgotten[forgotten.length - 1][1] - 1}`;
  const old = new Map(zoomIn.value.bands.map(([y0], i) => [y0, zoomIn.value.slices[i]]));
  const reRendered = await meter.measure(async () => {
    if (pool) await pool.forgetIn(0, zoomed, forgotten);
    else await Promise.all(forgotten.map(([y0, y1]) => slice.forget(zoomed, y0, y1)));
    // The frame is current again once every forgotten slice in it is a new one.
    return frames.next((f) => f.view.span === zoomed.span &&
      forgotten.every(([y0]) => f.slices[f.bands.findIndex(([b]) => b === y0)] !== old.get(y0)),
    'the frame with the forgotten slices recomputed', timeoutMs);
  });
  const identical = reRendered.value.slices.every((s, i) => s.equals(zoomIn.value.slices[i]));
  out(`  ${pool ? `worker ${pool.pids[0]} (another process)` : 'this process'} forgot the ${forgotten.length} slices ` +
    `of ${rows}: the frame re-rendered in ${seconds(reRendered.ms)}: ${reRendered.computed} slices recomputed, ` +
    `${meter.total - reRendered.computed} from cache; image identical: ${identical ? 'yes' : 'NO'}`);

  const zoomOut = await meter.measure(async () => {
    await zoom.set(1);
    return frames.next((f) => f.view.span === home.span, 'the frame zoomed back', timeoutMs);
  });
  out(`  zoom input ${options.zoom} -> 1: the frame re-rendered in ${seconds(zoomOut.ms)}: ` +
    `${zoomOut.computed} slices computed, ${meter.total - zoomOut.computed} from cache`);
  frames.stop();
  return { zoomIn, reRendered, zoomOut, forgotten: forgotten.length, file };
}

/**
 * Times a render with a progress bar, and counts the slices computed meanwhile (from the
 * store's counters, so it counts work done in any process).
 */
function sliceMeter(store, total) {
  let arrived;
  let bar;
  return {
    total,
    /** Called as each slice reaches the frame; a frame that is re-run reads its slices again. */
    onSlice(view, y0) {
      const key = `${view.span}/${y0}`;
      if (arrived === undefined || arrived.has(key)) return;
      arrived.add(key);
      bar.tick();
    },
    async measure(render) {
      const before = await store.distributed.stats(SLICE_SERVICE);
      arrived = new Set();
      bar = progressBar(process.stdout, total, 'slices', options.progress);
      const started = performance.now();
      const value = await render();
      const ms = performance.now() - started;
      arrived = undefined;
      bar.done();
      const computed = (await store.distributed.stats(SLICE_SERVICE)).computations - before.computations;
      return { value, ms, computed };
    },
  };
}

/** Forgets every slice of a view (from the store and from every process's L1). */
function forgetAll(slice, view) {
  return Promise.all(bandsOf(view, options.rowsPerSlice).map(([y0, y1]) => slice.forget(view, y0, y1)));
}

/** About a twelfth of the bands (at least two), from the middle of the image. */
function middleBands(bands) {
  const count = Math.min(bands.length, Math.max(2, Math.round(bands.length / 12)));
  const start = Math.max(0, Math.floor(bands.length / 2 - count / 2));
  return bands.slice(start, start + count);
}

/** Writes a frame as a PNG (and a preview on a terminal); returns the file name. */
function writeImage(frame, file) {
  const { width, height } = frame.view;
  const started = performance.now();
  const rgb = toRgb(frame.slices);
  const png = encodePng(width, height, rgb);
  writeFileSync(file, png);
  out(`  wrote ${file} (${width}×${height}, ${Math.round(png.length / 1024)} KiB, ${seconds(performance.now() - started)})`);
  if (options.preview && process.stdout.isTTY) {
    const columns = Math.max(16, Math.min(72, (process.stdout.columns || 80) - 4));
    process.stdout.write(terminalPreview(rgb, width, height, columns));
  }
  return file;
}

function zoomedFileName(file, zoom) {
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}-zoom${zoom}${ext || '.png'}`;
}
