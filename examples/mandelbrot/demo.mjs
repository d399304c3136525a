// memocell's main demo: DisTcl's Mandelbrot, done with memocell. The image is cut into
// slices (bands of rows); a `mand.slice` service computes them in worker processes and
// caches them in Redis; a reactive frame cell in this process reads the slices of the
// current view and re-renders when the zoom input changes or a slice is forgotten.
//
// Run: npm run demo  (or: node examples/mandelbrot/demo.mjs --help)
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cell, connect, Store } from 'memocell';
import { openRedis } from '../support/redis.mjs';
import { bandsOf, defineSlice, SLICE_SERVICE, viewAt } from './mand.mjs';
import { terminalPreview, toRgb } from './image.mjs';
import { encodePng } from './png.mjs';
import { progressBar } from './progress.mjs';
import { WorkerPool } from './workers.mjs';

const HELP = `Usage: node examples/mandelbrot/demo.mjs [options]

  --workers N         worker processes (default: the number of cores, ${os.availableParallelism()})
  --width W           image width in pixels (default 1500)
  --height H          image height in pixels (default 1000)
  --max-iter N        iteration limit (default 2000)
  --rows-per-slice N  rows in one slice (default 8)
  --zoom Z            the zoom the demo changes to (default 100)
  --out FILE          the image at zoom 1 (default mandelbrot.png); the zoomed one is
                      written beside it as FILE-zoomZ.png
  --no-progress       no progress bar
  --no-preview        no picture in the terminal
Redis: REDIS_URL when set, else a private redis-server if one is installed, else the
embedded store (one process, no workers).`;

const options = parseOptions();
const out = console.log;
const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);

let cleanup = async () => {};
let exiting = false;
process.once('SIGINT', () => {
  exiting = true;
  console.error('\ninterrupted: stopping the workers and Redis');
  void cleanup().finally(() => process.exit(130));
});

main().catch(async (error) => {
  // After Ctrl-C, calls in flight fail as the store closes: that is no news.
  if (exiting) return;
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

  if (redis?.origin === 'REDIS_URL') out(`Redis: REDIS_URL (${redis.url})`);
  else if (redis) out(`Redis: a private redis-server on ${redis.url}, stopped at the end`);
  else {
    out('Redis: none (no REDIS_URL, no redis-server on the PATH): falling back to the embedded store.\n' +
      '  The embedded store lives in this process only, so there are no worker processes: this\n' +
      '  process computes the slices itself, one at a time, and there is no speed-up to measure.\n' +
      '  Install redis-server or set REDIS_URL to see the slices computed by several processes.');
  }

  const slice = defineSlice(store);
  // The zoom is a shared input: any process on the store may set it.
  const zoom = store.input('mand.zoom', 1);
  await zoom.set(1);
  const home = viewAt(1, size);
  const zoomed = viewAt(options.zoom, size);

  // Start cold even on a Redis that an earlier run filled.
  await forgetAll(slice, home);
  await forgetAll(slice, zoomed);

  let onSlice = () => {};
  // The frame: reads the zoom, then the slices of that view, in parallel. A cell, so it
  // computes again only when one of those changes, and can be observed live.
  const frame = cell(async (ctx) => {
    const view = viewAt(await ctx.get(zoom.cell()), size);
    const bands = bandsOf(view, options.rowsPerSlice);
    const slices = await Promise.all(
      bands.map(([y0, y1]) => ctx.get(slice.cell(view, y0, y1)).then((rows) => (onSlice(view, y0), rows))),
    );
    return { view, bands, slices };
  }, { name: 'mand.frame' });
  const bandCount = bandsOf(home, options.rowsPerSlice).length;
  const stats = () => store.distributed.stats(SLICE_SERVICE);

  /** Renders (or waits for) a frame with a progress bar; returns it with how long and how many computed. */
  async function timed(render) {
    const before = await stats();
    const bar = progressBar(process.stdout, bandCount, 'slices', options.progress);
    // A frame that re-runs (a second invalidation arrived while it ran) reads its slices
    // again: the bar counts each slice of a view once.
    const arrived = new Set();
    onSlice = (view, y0) => {
      const key = `${view.span}/${y0}`;
      if (arrived.has(key)) return;
      arrived.add(key);
      bar.tick();
    };
    const started = performance.now();
    const value = await render();
    const ms = performance.now() - started;
    onSlice = () => {};
    bar.done();
    const computed = (await stats()).computations - before.computations;
    return { value, ms, computed };
  }

  // (1) One worker.
  const workerCount = pool ? options.workers : 0;
  out(`\n(1) Cold render with ${pool ? 'one worker process' : 'this process (embedded store)'}`);
  if (pool) {
    pool.start(1);
    await pool.waitServing(store, SLICE_SERVICE, 1);
    out(`  worker pid ${pool.pids[0]} serves ${SLICE_SERVICE}`);
  } else {
    store.serve(slice, { concurrency: 1 });
  }
  const first = await timed(() => frame.get());
  out(`  ${bandCount} slices in ${seconds(first.ms)} (${first.computed} computed)`);
  const homeFile = writeImage(first.value, options.out);

  // (2) N workers.
  let parallel;
  if (pool) {
    out(`\n(2) Forget those slices, cold render again with ${workerCount} worker processes`);
    const forgot = performance.now();
    await forgetAll(slice, home);
    out(`  forgot ${bandCount} slices in ${seconds(performance.now() - forgot)}`);
    pool.start(workerCount - 1);
    await pool.waitServing(store, SLICE_SERVICE, workerCount);
    out(`  worker pids ${pool.pids.join(', ')} serve ${SLICE_SERVICE}`);
    const computedBefore = pool.computedByPid();
    parallel = await timed(() => frame.get());
    const shares = [...pool.computedByPid()].map(([pid, n]) => `pid ${pid}: ${n - (computedBefore.get(pid) ?? 0)}`);
    out(`  ${bandCount} slices in ${seconds(parallel.ms)} (${parallel.computed} computed; ${shares.join(', ')})`);
    out(`  speed-up over one worker: ${(first.ms / parallel.ms).toFixed(2)}× with ${workerCount} workers on ` +
      `${os.availableParallelism()} cores`);
  } else {
    out('\n(2) Skipped: the embedded store cannot share work between processes, so there are no\n' +
      '  workers to add and no speed-up to measure.');
  }

  // (3) A fresh Store: its L1 is empty, so every slice comes from the store's cache.
  out(`\n(3) Second run, from a fresh Store (${redis ? 'new connections' : 'on the same embedded store'}, empty L1): ` +
    'served from the cache');
  const fresh = redis ? connect(redis.url) : new Store(store.distributed);
  const freshSlice = defineSlice(fresh);
  const beforeCached = await stats();
  await fresh.distributed.stats(SLICE_SERVICE); // connected before the clock starts, as the first Store was
  const bar = progressBar(process.stdout, bandCount, 'slices', options.progress);
  const cachedStart = performance.now();
  await Promise.all(bandsOf(home, options.rowsPerSlice).map(([y0, y1]) => freshSlice(home, y0, y1).then(() => bar.tick())));
  const cachedMs = performance.now() - cachedStart;
  bar.done();
  // Closing writes the hits the client counted. The embedded store is this process's
  // only store: the fresh Store shares it, so it is not closed here.
  if (redis) await fresh.close();
  const afterCached = await stats();
  out(`  ${bandCount} slices in ${seconds(cachedMs)}: ${afterCached.hits - beforeCached.hits} cache hits, ` +
    `${afterCached.computations - beforeCached.computations} computed`);
  out(`  ${(first.ms / cachedMs).toFixed(0)}× faster than the first render`);
  const again = performance.now();
  await frame.get();
  out(`  the frame again in this process: ${seconds(performance.now() - again)} (the cell is current: nothing to fetch)`);

  // (4) A live frame: change the zoom input, forget some slices elsewhere, zoom back.
  out(`\n(4) A live frame: it re-renders by itself when the zoom input changes or a slice is forgotten`);
  const frames = [];
  let frameArrived = () => {};
  const subscription = frame.observe().subscribe((value) => {
    frames.push(value);
    frameArrived();
  });
  /** The first frame emitted from now on that satisfies `test`. */
  const frameWhere = (test) =>
    new Promise((resolve) => {
      const check = () => {
        const found = frames.find(test);
        if (found) resolve(found);
      };
      frameArrived = check;
      check();
    });
  await frameWhere((f) => f.view.span === home.span);
  frames.length = 0;

  const zoomIn = await timed(async () => {
    await zoom.set(options.zoom);
    return frameWhere((f) => f.view.span === zoomed.span);
  });
  out(`  zoom input 1 -> ${options.zoom}: the frame re-rendered in ${seconds(zoomIn.ms)}: ` +
    `${zoomIn.computed} slices computed, ${bandCount - zoomIn.computed} from cache (a view never seen before)`);
  const zoomFile = writeImage(zoomIn.value, zoomedFileName(options.out, options.zoom));

  const forgotten = middleBands(zoomIn.value.bands);
  const [firstForgotten] = forgotten;
  const lastForgotten = forgotten[forgotten.length - 1];
  const rows = `rows ${firstForgotten[0]}-${lastForgotten[1] - 1}`;
  const old = new Map(zoomIn.value.bands.map((band, i) => [band[0], zoomIn.value.slices[i]]));
  const reRendered = await timed(async () => {
    if (pool) await pool.forgetIn(0, zoomed, forgotten);
    else await Promise.all(forgotten.map(([y0, y1]) => slice.forget(zoomed, y0, y1)));
    // The frame is current again once every forgotten slice in it is a new one.
    return frameWhere((f) => f.view.span === zoomed.span &&
      forgotten.every(([y0]) => f.slices[f.bands.findIndex((b) => b[0] === y0)] !== old.get(y0)));
  });
  const identical = reRendered.value.slices.every((s, i) => s.equals(zoomIn.value.slices[i]));
  out(`  ${pool ? `worker ${pool.pids[0]} (another process)` : 'this process'} forgot the ${forgotten.length} slices ` +
    `of ${rows}: the frame re-rendered in ${seconds(reRendered.ms)}: ${reRendered.computed} slices recomputed, ` +
    `${bandCount - reRendered.computed} from cache; image identical: ${identical ? 'yes' : 'NO'}`);

  const zoomOut = await timed(async () => {
    await zoom.set(1);
    return frameWhere((f) => f.view.span === home.span);
  });
  out(`  zoom input ${options.zoom} -> 1: the frame re-rendered in ${seconds(zoomOut.ms)}: ` +
    `${zoomOut.computed} slices computed, ${bandCount - zoomOut.computed} from cache`);
  subscription.unsubscribe();

  out('\nSummary');
  out(`  first render, ${pool ? 'one worker' : 'this process'}:`.padEnd(40) + seconds(first.ms));
  if (parallel) {
    out(`  cold render, ${workerCount} workers:`.padEnd(40) + `${seconds(parallel.ms)}  (${(first.ms / parallel.ms).toFixed(2)}× speed-up)`);
  }
  out('  cached re-render, fresh Store:'.padEnd(40) + `${seconds(cachedMs)}  (${(first.ms / cachedMs).toFixed(0)}× faster than the first)`);
  out(`  zoom ×${options.zoom}: ${zoomIn.computed} computed; forget ${forgotten.length}: ${reRendered.computed} recomputed; ` +
    `zoom back: ${zoomOut.computed} computed`);
  out(`  images: ${homeFile}, ${zoomFile}`);

  await cleanup();
  if (!exiting) out(`\nStopped ${pool ? `${workerCount} worker processes` : 'the store'}${redis?.origin === 'private' ? ' and the private redis-server' : ''}.`);
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

function parseOptions() {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string' },
      width: { type: 'string', default: '1500' },
      height: { type: 'string', default: '1000' },
      'max-iter': { type: 'string', default: '2000' },
      'rows-per-slice': { type: 'string', default: '8' },
      zoom: { type: 'string', default: '100' },
      out: { type: 'string', default: 'mandelbrot.png' },
      'no-progress': { type: 'boolean', default: false },
      'no-preview': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const positive = (name, value, max = Infinity) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      console.error(`--${name} must be a whole number from 1 to ${max}, got ${value}\n\n${HELP}`);
      process.exit(2);
    }
    return n;
  };
  const zoom = Number(values.zoom);
  if (!(zoom > 0) || zoom === 1) {
    console.error(`--zoom must be a positive number other than 1, got ${values.zoom}`);
    process.exit(2);
  }
  return {
    workers: positive('workers', values.workers ?? os.availableParallelism(), 64),
    width: positive('width', values.width, 20_000),
    height: positive('height', values.height, 20_000),
    maxIter: positive('max-iter', values['max-iter'], 1_000_000),
    rowsPerSlice: positive('rows-per-slice', values['rows-per-slice'], 20_000),
    zoom,
    out: values.out,
    progress: !values['no-progress'],
    preview: !values['no-preview'],
  };
}
