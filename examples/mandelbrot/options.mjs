// The demo's command line.
import os from 'node:os';
import { parseArgs } from 'node:util';

export const HELP = `Usage: node examples/mandelbrot/demo.mjs [options]

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

const OPTIONS = {
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
};

/**
 * The demo's options from the command line; prints the help or an error and exits when
 * asked for help or given a bad value.
 *
 * @example
 * const { workers, width, height } = parseOptions();
 */
export function parseOptions() {
  let parsed;
  try {
    parsed = parseArgs({ options: OPTIONS });
  } catch (error) {
    console.error(`${error.message}\n\n${HELP}`);
    process.exit(2);
  }
  const { values } = parsed;
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
