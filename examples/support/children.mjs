// Child processes for the examples (worker processes, a Tcl server): start one, wait
// for a line it prints, stop it. None outlives the example: children are killed when
// the example exits, also when it fails or is interrupted (Ctrl-C, SIGTERM).
import { spawn } from 'node:child_process';

/** Exit code of an example that cannot run here (no Redis, no tclsh, ...): it says what is missing. */
export const MISSING_PREREQUISITE = 3;

/**
 * Says what the example needs and is missing, and exits with MISSING_PREREQUISITE.
 *
 * @example
 * if (!redis) missing('a Redis', 'set REDIS_URL, or install redis-server (apt-get install -y redis-server)');
 */
export function missing(what, hint) {
  console.log(`This example needs ${what}, which is missing here: ${hint}.`);
  process.exit(MISSING_PREREQUISITE);
}

const live = new Set();
let guarded = false;

/** Kills what is still running when the example exits, and turns signals into an exit. */
function guardExit() {
  if (guarded) return;
  guarded = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  // A signal would end the process without 'exit'; exiting runs the cleanup above
  // (and the one of support/redis.mjs, which stops a private redis-server).
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

/**
 * Starts `command args...` with its stdin a pipe (a node worker stops when it closes).
 *
 * @returns `{ pid, line(pattern, timeoutMs), send(line), stop(), kill(), output() }`: `line`
 *   resolves with the match of the first line (stdout or stderr) matching `pattern`, `send`
 *   writes a line to its stdin; `stop` closes stdin,
 *   sends SIGTERM if it is still running after `graceMs`, and resolves once it exited.
 * @example
 * const worker = startChild(process.execPath, [file, '--worker']);
 * await worker.line(/^ready$/);
 * try { ... } finally { await worker.stop(); }
 */
export function startChild(command, args, options = {}) {
  guardExit();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
  live.add(child);
  let text = '';
  const watchers = new Set();
  let exitInfo;
  const exited = new Promise((resolve) => {
    child.once('error', (error) => {
      exitInfo = error.message;
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitInfo = signal ?? `exit code ${code}`;
      resolve();
    });
  });
  exited.then(() => {
    live.delete(child);
    for (const watcher of watchers) watcher.check(true);
  });
  const take = (chunk) => {
    text += chunk.toString();
    for (const watcher of watchers) watcher.check(false);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  child.stdin.on('error', () => {}); // it may be gone already when we close it

  return {
    pid: child.pid,
    output: () => text,
    line(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const watcher = {
          check(gone) {
            const match = text.split('\n').map((line) => pattern.exec(line)).find(Boolean);
            if (match) finish(() => resolve(match));
            else if (gone) finish(() => reject(new Error(`${command} ended (${exitInfo}) before printing ${pattern}:\n${text}`)));
          },
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${command} printed no line matching ${pattern} within ${timeoutMs} ms:\n${text}`))),
          timeoutMs,
        );
        const finish = (settle) => {
          clearTimeout(timer);
          watchers.delete(watcher);
          settle();
        };
        watchers.add(watcher);
        watcher.check(exitInfo !== undefined);
      });
    },
    /** Writes one line to its stdin. */
    send(line) {
      child.stdin.write(`${line}\n`);
    },
    async stop(graceMs = 5_000) {
      if (exitInfo === undefined) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGTERM'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
    kill(signal = 'SIGTERM') {
      if (exitInfo === undefined) child.kill(signal);
      return exited;
    },
  };
}
