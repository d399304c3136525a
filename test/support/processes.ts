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
  const lineWaiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const scan = (): void => {
    for (const waiter of [...lineWaiters]) {
      for (const line of out.split('\n')) {
        const match = waiter.pattern.exec(line);
        if (match) {
          lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
          waiter.resolve(match);
          break;
        }
      }
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    scan();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
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
