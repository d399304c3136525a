// A progress bar for slices as they arrive: redrawn in place on a terminal, silent
// otherwise (a pipe or a log file gets the phase's result line only).

const REDRAW_MS = 50;
const WIDTH = 30;

/**
 * Starts a bar for `total` items on `stream` (drawn only if it is a TTY and `enabled`).
 *
 * @example
 * const bar = progressBar(process.stdout, 125, 'slices');
 * for (...) bar.tick();
 * bar.done();
 */
export function progressBar(stream, total, label, enabled = true) {
  const draw = enabled && stream.isTTY === true;
  const started = performance.now();
  let count = 0;
  let drawnAt = 0;
  const render = () => {
    const filled = Math.min(WIDTH, Math.round((count / total) * WIDTH));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    stream.write(`\r  [${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}] ${count}/${total} ${label}  ${seconds} s`);
  };
  return {
    tick() {
      count++;
      if (!draw) return;
      const now = performance.now();
      if (now - drawnAt < REDRAW_MS && count < total) return;
      drawnAt = now;
      render();
    },
    /** Clears the bar, leaving the line for the phase's result. */
    done() {
      if (draw && drawnAt > 0) stream.write('\r\x1b[2K');
    },
  };
}
