/**
 * `serve --workers N`: N child processes each serve the module; this process watches
 * them. A worker that dies unexpectedly is started again after a backoff; one that
 * exits 0 (its servers were stopped with `memocell stop`) is not. SIGINT/SIGTERM are
 * passed on as a graceful stop (a second one kills the workers), and this process
 * exits once every worker is gone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../exit-codes.js';
import { print, warn } from '../output.js';
import type { ReadyMessage } from './run-servers.js';

/** Environment variable telling a process it is worker number N of a supervisor. */
export const WORKER_ENV = 'MEMOCELL_SERVE_WORKER';

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** A worker that ran this long before dying starts its backoff afresh. */
const HEALTHY_AFTER_MS = 30_000;

interface Slot {
  readonly index: number;
  child: ChildProcess | undefined;
  /** When it was last started, on the monotonic clock (performance.now()): for how long it ran. */
  startedAt: number;
  /** Unexpected deaths in a row, for the backoff. */
  failures: number;
  restart: NodeJS.Timeout | undefined;
  /** It has served at least once: a death later is a crash to recover from, not a bad setup. */
  everReady: boolean;
}

/**
 * Runs `count` workers of `memocell serve` with `args` until all are gone; resolves
 * with the exit code: 0, the code of a worker that could not start at all, or 130
 * if a second signal killed them.
 *
 * @example
 * ```ts
 * const code = await superviseWorkers(2, ['serve', '/srv/services.mjs', '--concurrency', '4']);
 * ```
 */
export function superviseWorkers(count: number, args: readonly string[]): Promise<number> {
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    child: undefined,
    startedAt: 0,
    failures: 0,
    restart: undefined,
    everReady: false,
  }));
  let stopping = false;
  let exitCode: number = ExitCode.Ok;

  return new Promise<number>((resolveAll) => {
    const finishIfAllGone = (): void => {
      if (slots.every((slot) => slot.child === undefined && slot.restart === undefined)) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolveAll(exitCode);
      }
    };

    const start = (slot: Slot): void => {
      slot.restart = undefined;
      slot.startedAt = performance.now();
      // A process group of its own: a Ctrl-C at the terminal reaches this process only,
      // which passes it on once, as a graceful stop.
      const child = fork(main, args, {
        env: { ...process.env, [WORKER_ENV]: String(slot.index) },
        stdio: 'inherit',
        detached: true,
      });
      slot.child = child;
      print(`worker ${slot.index} started pid=${child.pid ?? '?'}\n`);
      child.on('message', (message: Partial<ReadyMessage>) => {
        if (message?.type === 'memocell-ready') slot.everReady = true;
      });
      child.on('exit', (code, signal) => {
        slot.child = undefined;
        const how = signal !== null ? `signal ${signal}` : `code ${code ?? '?'}`;
        if (stopping || code === 0) {
          print(`worker ${slot.index} exited pid=${child.pid ?? '?'} (${how})\n`);
        } else if (!slot.everReady) {
          // It never got as far as serving (a bad module, no Redis): restarting would
          // fail the same way, so give up, with its exit code.
          warn(`memocell: worker ${slot.index} could not start (${how}); stopping the other workers`);
          exitCode = code !== null && code >= 1 && code <= 5 ? code : ExitCode.Failed;
          stopAll();
        } else {
          if (performance.now() - slot.startedAt >= HEALTHY_AFTER_MS) slot.failures = 0;
          slot.failures++;
          const delay = Math.min(FIRST_BACKOFF_MS * 2 ** (slot.failures - 1), MAX_BACKOFF_MS);
          print(`worker ${slot.index} died pid=${child.pid ?? '?'} (${how}); restarting in ${delay} ms\n`);
          slot.restart = setTimeout(() => start(slot), delay);
        }
        finishIfAllGone();
      });
    };

    const stopAll = (): void => {
      stopping = true;
      for (const slot of slots) {
        if (slot.restart !== undefined) {
          clearTimeout(slot.restart);
          slot.restart = undefined;
        }
        slot.child?.kill('SIGTERM');
      }
    };

    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        warn(`memocell: ${signal} again: killing the workers`);
        for (const slot of slots) slot.child?.kill('SIGKILL');
        exitCode = 130;
        return;
      }
      warn(`memocell: ${signal}: stopping the workers once their in-flight work is done`);
      stopAll();
      finishIfAllGone();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    for (const slot of slots) start(slot);
  });
}
