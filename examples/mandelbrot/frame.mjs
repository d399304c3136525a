// The demo's frame: a reactive cell that reads the zoom input, then every slice of the
// view at that zoom. It computes again only when one of those changes (the zoom is set,
// or a slice is forgotten in any process), and it can be observed live.
import { cell } from 'memocell';
import { bandsOf, viewAt } from './mand.mjs';

/**
 * Makes the frame cell. Its value is `{ view, bands, slices }`; `onSlice(view, y0)` is
 * called as each slice arrives (a run that is re-run reads its slices again).
 *
 * @example
 * const frame = frameCell({ slice, zoom, size, rowsPerSlice: 8, onSlice: () => bar.tick() });
 * const { view, slices } = await frame.get();
 */
export function frameCell({ slice, zoom, size, rowsPerSlice, onSlice = () => {} }) {
  return cell(async (ctx) => {
    const view = viewAt(await ctx.get(zoom.cell()), size);
    const bands = bandsOf(view, rowsPerSlice);
    // All slices are asked for at once, so every free worker takes one.
    const slices = await Promise.all(
      bands.map(([y0, y1]) => ctx.get(slice.cell(view, y0, y1)).then((rows) => (onSlice(view, y0), rows))),
    );
    return { view, bands, slices };
  }, { name: 'mand.frame' });
}

/**
 * Observes a frame cell and keeps what it emits, so one can wait for the first frame
 * (from now on) that satisfies a test.
 *
 * @example
 * const watch = watchFrames(frame);
 * await zoom.set(8);
 * const zoomed = await watch.next((f) => f.view.span === viewAt(8, size).span, 'the zoomed frame');
 * watch.stop();
 */
export function watchFrames(frame) {
  let frames = [];
  let check = () => {};
  const subscription = frame.observe().subscribe((value) => {
    frames.push(value);
    check();
  });
  return {
    /**
     * The first frame emitted since the last `next` that satisfies `test`; rejects after
     * `timeoutMs` rather than wait forever for a change that never reaches the frame.
     */
    next(test, what = 'the frame', timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          check = () => {};
          reject(new Error(`${what} did not arrive within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        check = () => {
          const found = frames.find(test);
          if (found === undefined) return;
          clearTimeout(timer);
          check = () => {};
          frames = [];
          resolve(found);
        };
        check();
      });
    },
    stop: () => subscription.unsubscribe(),
  };
}
