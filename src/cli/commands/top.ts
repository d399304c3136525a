/**
 * `memocell top`: a live view of the services of a store, redrawn every interval:
 * servers, work in flight and queued, rates of computations, hits and misses, and the
 * hit ratio over the interval. On a terminal the screen is redrawn in place; otherwise
 * each interval prints one plain frame, so it can be logged or read by a script.
 */
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { print } from '../output.js';
import { openStore, redisSettings, REDIS_OPTIONS, type OpenStore } from '../redis.js';
import { inFlightOf, snapshot, type ServiceSnapshot } from '../snapshot.js';
import { percent, renderTable, shortDuration } from '../table.js';

const spec: CommandSpec = {
  name: 'top',
  usage: 'top [NAME...] [options]',
  summary: 'a live view of services, servers, queues, rates and hit ratio',
  description: `Shows every known service under the prefix (or the named ones), redrawn every
interval: live servers, requests in flight, queued gets and prefetches,
computations, hits and misses per second and the hit ratio over the last
interval ('-' on the first frame), then the live servers.

On a terminal the view is redrawn in place; press q or Ctrl-C to quit. When
stdout is not a terminal, each interval prints one plain frame.`,
  positionals: { names: ['NAME'], min: 0, max: Number.POSITIVE_INFINITY },
  options: [
    { name: 'interval', type: 'integer', value: 'MS', min: 50, description: 'time between frames (default: 1000)' },
    { name: 'iterations', type: 'integer', value: 'N', description: 'stop after N frames (default: until q or Ctrl-C)' },
    ...REDIS_OPTIONS,
  ],
  examples: ['memocell top', 'memocell top square --interval 500', 'memocell top --iterations 2 > frames.txt'],
};

/** The counters of a service at one moment, to compute rates from the next reading. */
interface Sample {
  readonly at: number;
  readonly hits: number;
  readonly misses: number;
  readonly computations: number;
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export const top: Command = {
  spec,
  async run(parsed) {
    const intervalMs = parsed.integer('interval') ?? 1_000;
    const iterations = parsed.integer('iterations') ?? Number.POSITIVE_INFINITY;
    const open = await openStore(redisSettings(spec, parsed));
    const tty = process.stdout.isTTY === true;
    const quit = quitSignal(tty && process.stdin.isTTY === true);
    try {
      const previous = new Map<string, Sample>();
      for (let frame = 1; frame <= iterations && !quit.requested; frame++) {
        const started = Date.now();
        const snaps = await snapshot(open, parsed.positionals);
        const text = renderFrame(open, snaps, previous, intervalMs, started);
        print(tty ? CLEAR_SCREEN + text : `${text}\n`);
        if (frame < iterations) await quit.sleep(Math.max(0, intervalMs - (Date.now() - started)));
      }
      return ExitCode.Ok;
    } finally {
      quit.dispose();
      await open.close();
    }
  },
};

function renderFrame(
  open: OpenStore,
  snaps: readonly ServiceSnapshot[],
  previous: Map<string, Sample>,
  intervalMs: number,
  now: number,
): string {
  const { prefix, where } = open.settings;
  const clock = new Date(now).toISOString().slice(11, 19);
  const header = `memocell top  prefix ${prefix} on ${where}  ${clock} UTC  every ${intervalMs} ms`;
  const rows = snaps.map((snap) => {
    const s = snap.stats;
    const before = previous.get(s.service);
    previous.set(s.service, { at: now, hits: s.hits, misses: s.misses, computations: s.computations });
    const seconds = before === undefined ? 0 : (now - before.at) / 1_000;
    const rate = (current: number, last: number | undefined): string =>
      last === undefined || seconds <= 0 ? '-' : ((current - last) / seconds).toFixed(1);
    const hits = s.hits - (before?.hits ?? 0);
    const misses = s.misses - (before?.misses ?? 0);
    return [
      s.service,
      snap.servers.length,
      inFlightOf(snap),
      s.queued.gets,
      s.queued.prefetches,
      rate(s.computations, before?.computations),
      rate(s.hits, before?.hits),
      rate(s.misses, before?.misses),
      before === undefined ? '-' : percent(hits, hits + misses),
    ];
  });
  const services =
    rows.length === 0
      ? `no services under prefix '${prefix}'\n`
      : renderTable(
          ['SERVICE', 'SERVERS', 'IN-FLIGHT', 'Q-GETS', 'Q-PREFETCHES', 'COMPUTED/S', 'HITS/S', 'MISSES/S', 'HIT-RATIO'],
          rows,
        );
  const all = snaps.flatMap((snap) => snap.servers);
  const servers =
    all.length === 0
      ? 'no live servers\n'
      : renderTable(
          ['SERVER', 'SERVICE', 'HOST', 'PID', 'CONCURRENCY', 'IN-FLIGHT', 'SERVED', 'UP'],
          all.map((s) => [s.id, s.service, s.host, s.pid, s.concurrency, s.inFlight, s.served, shortDuration(now - s.started)]),
        );
  return `${header}\n\n${services}\n${servers}`;
}

/** How a user ends `top`: q or Ctrl-C on a terminal, SIGINT or SIGTERM anywhere. */
interface QuitSignal {
  readonly requested: boolean;
  /** Waits `ms`, or less if a quit comes first. */
  sleep(ms: number): Promise<void>;
  dispose(): void;
}

function quitSignal(keyboard: boolean): QuitSignal {
  let requested = false;
  let wake: (() => void) | undefined;
  const request = (): void => {
    requested = true;
    wake?.();
  };
  const onKey = (data: Buffer): void => {
    const key = data.toString('utf8');
    if (key === 'q' || key === 'Q' || key === '\u0003') request();
  };
  if (keyboard) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', onKey);
    process.stdin.resume();
  }
  process.on('SIGINT', request);
  process.on('SIGTERM', request);
  return {
    get requested() {
      return requested;
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (requested) return resolve();
        const timer = setTimeout(done, ms);
        function done(): void {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    dispose() {
      process.off('SIGINT', request);
      process.off('SIGTERM', request);
      if (keyboard) {
        process.stdin.off('data', onKey);
        process.stdin.setRawMode(false);
        process.stdin.pause();
      }
    },
  };
}
