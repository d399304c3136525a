/**
 * Runs an example (`node examples/NAME.mjs`) as a user would, and checks that nothing
 * it started outlives it: every process it starts inherits a marker in its environment,
 * and after the example exits no process may still carry it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

/** Exit code of an example that cannot run here; see examples/support/children.mjs. */
export const MISSING_PREREQUISITE = 3;

export interface ExampleRun {
  /** Exit code, or the signal that ended it. */
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
  /** Pids of processes the example started that were still running after it exited. */
  readonly leftovers: number[];
}

export interface RunExampleOptions {
  /** Variables set for the example (REDIS_URL, DISTCL_DIR, ...). */
  readonly env?: Record<string, string>;
  /** Variables removed from the example's environment. */
  readonly unset?: readonly string[];
  /** Run with a PATH on which only `node` is found: no redis-server, no tclsh. */
  readonly barePath?: boolean;
  /** Kill it after this long. Default 25 s. */
  readonly timeoutMs?: number;
}

const MARKER = 'MEMOCELL_EXAMPLE_RUN';

/**
 * Runs `examples/NAME.mjs` to its end.
 *
 * @example
 * const run = await runExample('girder', { env: { REDIS_URL: redis.url } });
 * expect(run.code).toBe(0);
 * expect(run.leftovers).toEqual([]);
 */
export async function runExample(name: string, options: RunExampleOptions = {}): Promise<ExampleRun> {
  if (!existsSync('dist/esm/index.js')) throw new Error('dist/ is missing: run `npm run build` before the tests');
  const marker = randomUUID();
  const env: Record<string, string | undefined> = { ...process.env, ...options.env, [MARKER]: marker };
  for (const key of options.unset ?? []) delete env[key];
  let bare: string | undefined;
  if (options.barePath === true) {
    bare = mkdtempSync(path.join(os.tmpdir(), 'memocell-bare-path-'));
    symlinkSync(process.execPath, path.join(bare, 'node'));
    env.PATH = bare;
  }
  try {
    const child = spawn(process.execPath, [`examples/${name}.mjs`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 25_000);
    const code = await new Promise<number | string>((resolve) =>
      child.on('close', (exitCode, signal) => resolve(exitCode ?? signal ?? -1)),
    );
    clearTimeout(timer);
    return { code, stdout, stderr, leftovers: await survivors(marker) };
  } finally {
    if (bare !== undefined) rmSync(bare, { recursive: true, force: true });
  }
}

/**
 * Processes whose environment carries the marker. A process killed a moment ago may
 * still be listed while it dies, so this waits a little for the list to empty; whatever
 * remains is killed, so that a failing test leaves nothing behind either.
 */
async function survivors(marker: string): Promise<number[]> {
  let found = withMarker(marker);
  for (let i = 0; i < 50 && found.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    found = withMarker(marker);
  }
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function withMarker(marker: string): number[] {
  if (!existsSync('/proc/self/environ')) return [];
  const needle = `${MARKER}=${marker}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // A zombie's environ reads empty: only processes still running are found.
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Whether leftovers can be checked here (they are found through /proc). */
export const canFindLeftovers = existsSync('/proc/self/environ');
