/**
 * Serving in this process: one server per memo, a line per server started and stopped,
 * a graceful stop on SIGINT/SIGTERM (in-flight work finishes), and the end of the
 * process once every server has stopped, whoever stopped it (a signal here, or
 * `memocell stop ID` from anywhere).
 */
import type { ServerHandle } from '../../distributed/types.js';
import { ExitCode } from '../exit-codes.js';
import { print, warn } from '../output.js';
import type { ServableMemo } from './load-module.js';

export interface RunOptions {
  readonly concurrency: number;
  readonly verbose: boolean;
  /** This process is a worker of `serve --workers`: its parent owns the escalation to SIGKILL. */
  readonly worker: boolean;
}

/** Message a worker sends its supervisor once its servers run. */
export interface ReadyMessage {
  readonly type: 'memocell-ready';
  readonly servers: ReadonlyArray<{ readonly service: string; readonly id: string }>;
}

/**
 * Serves the memos until all their servers have stopped; resolves with the exit code.
 *
 * @example
 * ```ts
 * const code = await runServers(await loadMemos(url, spec, []), { concurrency: 2, verbose: false, worker: false });
 * ```
 */
export async function runServers(memos: readonly ServableMemo[], options: RunOptions): Promise<ExitCode> {
  const handles: ServerHandle[] = [];
  let stopping = false;
  const stopAll = (why: string): void => {
    if (stopping) {
      // A second Ctrl-C means now. A worker leaves that call to its supervisor.
      if (!options.worker) {
        warn(`memocell: ${why} again: exiting without waiting for in-flight work`);
        process.exit(130);
      }
      return;
    }
    stopping = true;
    warn(`memocell: ${why}: stopping ${handles.length} server(s) once their in-flight work is done`);
    for (const handle of handles) void handle.stop();
  };
  // Listening before the first "serving" line: whoever reads it may signal at once.
  const onSignal = (signal: NodeJS.Signals): void => stopAll(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A worker whose supervisor is gone (even SIGKILLed) stops too, rather than linger.
  if (options.worker) process.on('disconnect', () => stopAll('supervisor gone'));

  for (const memo of memos) {
    const handle = memo.store.serve(memo, { concurrency: options.concurrency, verbose: options.verbose });
    handles.push(handle);
    void handle.stopped.then(() => print(`stopped ${handle.service} id=${handle.id} pid=${process.pid}\n`));
  }
  for (const handle of handles) {
    print(`serving ${handle.service} id=${handle.id} pid=${process.pid} concurrency=${options.concurrency}\n`);
  }
  if (process.send !== undefined) {
    const ready: ReadyMessage = { type: 'memocell-ready', servers: handles.map((h) => ({ service: h.service, id: h.id })) };
    process.send(ready);
  }

  await Promise.all(handles.map((handle) => handle.stopped));
  const stores = new Set(memos.map((memo) => memo.store));
  await Promise.allSettled([...stores].map((store) => store.close()));
  return ExitCode.Ok;
}
