// The `mand` service: what the demo and its worker processes share. A slice is a band of
// rows of one view of the Mandelbrot set, as one palette index per pixel; it is pure (the
// same view and rows give the same bytes), so it can be memoised and computed anywhere.
//
// DisTcl's demo served `slice {Cheight Rmin Rscale Imax Iscale start stop col_ver}`
// under `-secs2keep 300`; this is the same service with memocell's store.memo.

/** The service name under which every process knows the slices. */
export const SLICE_SERVICE = 'mand.slice';
/** How long a computed slice stays in the store, as DisTcl's `-secs2keep 300`. */
export const SLICE_TTL_SECONDS = 300;
/** Palette index of points inside the set (drawn black). */
export const INSIDE = 255;
/** Palette indices 0..254 cycle through the palette as the escape time grows. */
const CYCLE = 255;

/** The whole set fits in this view at zoom 1. */
const HOME = { x: -0.65, y: 0, span: 3.2 };
/** A zoom closes in on this point, which stays where it is on screen (Seahorse Valley). */
const TARGET = { x: -0.743643887037151, y: 0.13182590420533 };

/**
 * The view at a zoom level: centre, width in the complex plane, size in pixels and the
 * iteration limit. Views are plain objects so they can be arguments of a memo.
 *
 * @example
 * viewAt(8, { width: 1500, height: 1000, maxIter: 2000 });
 */
export function viewAt(zoom, { width, height, maxIter }) {
  return {
    cx: TARGET.x + (HOME.x - TARGET.x) / zoom,
    cy: TARGET.y + (HOME.y - TARGET.y) / zoom,
    span: HOME.span / zoom,
    width,
    height,
    maxIter,
  };
}

/**
 * The bands of rows a view is cut into, as `[firstRow, endRow]` pairs.
 *
 * @example
 * bandsOf({ height: 20 }, 8); // [[0, 8], [8, 16], [16, 20]]
 */
export function bandsOf(view, rowsPerSlice) {
  const bands = [];
  for (let y0 = 0; y0 < view.height; y0 += rowsPerSlice) bands.push([y0, Math.min(view.height, y0 + rowsPerSlice)]);
  return bands;
}

/**
 * Computes rows `y0` to `y1` (excluded) of a view: one byte per pixel, INSIDE for points
 * that did not escape within maxIter, else a palette index from the smoothed escape time.
 *
 * @example
 * computeSlice(viewAt(1, { width: 300, height: 200, maxIter: 500 }), 96, 104); // Buffer(2400)
 */
export function computeSlice(view, y0, y1) {
  const { cx, cy, span, width, height, maxIter } = view;
  const step = span / width;
  const out = Buffer.allocUnsafe(width * (y1 - y0));
  let i = 0;
  for (let py = y0; py < y1; py++) {
    const ci = cy + (height / 2 - py - 0.5) * step;
    for (let px = 0; px < width; px++) {
      const cr = cx + (px + 0.5 - width / 2) * step;
      let zr = 0;
      let zi = 0;
      let zr2 = 0;
      let zi2 = 0;
      let n = 0;
      // Escape radius 16 (not 2) makes the smoothed count below continuous.
      while (n < maxIter && zr2 + zi2 <= 256) {
        zi = 2 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        zr2 = zr * zr;
        zi2 = zi * zi;
        n++;
      }
      out[i++] = n >= maxIter ? INSIDE : paletteIndex(n + 1 - Math.log2(Math.log(zr2 + zi2) / 2));
    }
  }
  return out;
}

/** Colours cycle with the logarithm of the escape time, so bands look alike at every zoom. */
function paletteIndex(smoothCount) {
  const t = Math.log2(Math.max(1, smoothCount)) * 0.45;
  return Math.floor((t - Math.floor(t)) * CYCLE) % CYCLE;
}

/**
 * Defines the `mand.slice` memo on a store (from `connect`): the same definition in the
 * demo, which calls it, and in the workers, which serve it. `onComputed` is told of each
 * slice this process computes (the workers count them for the demo).
 *
 * @example
 * const store = connect(process.env.REDIS_URL);
 * const slice = defineSlice(store);
 * store.serve(slice, { concurrency: 1 });           // in a worker
 * const rows = await slice(view, 0, 8);              // in any process
 */
export function defineSlice(store, onComputed = () => {}) {
  const body = (view, y0, y1) => {
    const rows = computeSlice(view, y0, y1);
    onComputed();
    return rows;
  };
  return store.memo(SLICE_SERVICE, body, {
    ttlSeconds: SLICE_TTL_SECONDS,
    // Room in each process's L1 for several whole frames at the default size.
    l1Max: 4_096,
  });
}
