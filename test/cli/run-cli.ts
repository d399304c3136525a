/**
 * Runs the built `memocell` command as a child process and collects what it printed,
 * for the CLI tests. Every run is recorded, so a test file can check afterwards that
 * no output of any run contained a secret.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CLI = 'dist/esm/cli/main.js';

export interface CliResult {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as bytes, for raw byte output. */
  readonly stdoutBytes: Buffer;
}

export interface RunOptions {
  /** Added to (and overriding) the test process's environment. */
  readonly env?: Record<string, string>;
  /** Kill the command after this long and fail. Default: 30 000 ms. */
  readonly timeoutMs?: number;
}

/** Everything any run printed (stdout and stderr; not its arguments), in order. */
export const transcript: string[] = [];

/**
 * Runs `node dist/esm/cli/main.js ...args` to completion.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runCli(['get', 'square', '12'], { env: { REDIS_URL: url } });
 * ```
 */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the tests`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`memocell ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      const result = { code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes };
      transcript.push(result.stdout + result.stderr);
      resolve(result);
    });
  });
}
