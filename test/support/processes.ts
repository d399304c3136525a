/**
 * Child processes for multi-process tests: start a node script, wait for a line it
 * prints, collect its output, and make sure none outlives the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern` (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts `node script ...args` with `env` added; the built package must exist. */
export function startNode(script: string, args: readonly string[], env: Record<string, string>): Child {
  if (!existsSync('dist/esm/index.js')) throw new Error('dist/ is missing: run `npm run build` before the tests');
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  // Lines are matched per stream and only once complete: a long line arrives in several
  // chunks, and what the other stream writes meanwhile must not land inside it (seen: a
  // 36 KB result line cut short, its JSON unreadable).
  const streams = { stdout: '', stderr: '' };
  const lineWaiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const completeLines = (text: string): string[] => text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
  const scan = (): void => {
    const lines = [...completeLines(streams.stdout), ...completeLines(streams.stderr)];
    for (const waiter of [...lineWaiters]) {
      for (const line of lines) {
        const match = waiter.pattern.exec(line);
        if (match) {
          lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
          waiter.resolve(match);
          break;
        }
      }
    }
  };
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = child[name];
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      out += chunk;
      streams[name] += chunk;
      scan();
    });
    // A last line without a newline still counts once the stream ends.
    stream?.on('end', () => {
      if (streams[name] !== '' && !streams[name].endsWith('\n')) {
        streams[name] += '\n';
        scan();
      }
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    process: child,
    pid: child.pid ?? -1,
    output: () => out,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${out}`)),
          timeoutMs,
        );
        lineWaiters.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        scan();
      });
    },
    exited,
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
  };
}
