import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findExecutable, startRedis } from '../support/redis.js';
import { decodePng, pixelAt } from './png-file.js';

const DEMO = 'examples/mandelbrot/demo.mjs';
// Small enough for a loaded machine: 20 slices of 8 rows.
const WIDTH = 240;
const HEIGHT = 160;
const SLICES = HEIGHT / 8;
const FORGOTTEN = 2; // the demo forgets a twelfth of the slices, at least two
const SIZE_ARGS = ['--width', String(WIDTH), '--height', String(HEIGHT), '--max-iter', '300', '--rows-per-slice', '8'];

const dir = mkdtempSync(path.join(os.tmpdir(), 'memocell-mandelbrot-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the demo to its end; resolves with its output, rejects (with the output) if it fails. */
async function runDemo(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  if (!existsSync('dist/esm/index.js')) throw new Error('dist/ is missing: run `npm run build` before the tests');
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [DEMO, ...SIZE_ARGS, ...args], {
      env,
      encoding: 'utf8',
      timeout: 25_000,
    });
    return stdout + stderr;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`the demo failed: ${(error as Error).message}\n${stdout}${stderr}`);
  }
}

/** The environment of the test process without REDIS_URL (so the demo finds its own Redis). */
function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  return env;
}

/** The line of the output that contains `text`. */
function lineWith(output: string, text: string): string {
  const line = output.split('\n').find((l) => l.includes(text));
  expect(line, `a line with "${text}" in:\n${output}`).toBeDefined();
  return line as string;
}

/** Checks a file is a PNG of the demo's size whose data inflates to the right length; returns it. */
function expectPng(file: string): ReturnType<typeof decodePng> {
  expect(existsSync(file), `${file} exists`).toBe(true);
  const png = decodePng(readFileSync(file));
  expect(png).toMatchObject({ width: WIDTH, height: HEIGHT, bitDepth: 8, colourType: 2 });
  expect(png.raw.length).toBe((WIDTH * 3 + 1) * HEIGHT);
  return png;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const hasRedis = findExecutable('redis-server') !== undefined;
if (!hasRedis) console.warn('mandelbrot demo tests with Redis skipped: redis-server is not on the PATH');

describe('the Mandelbrot demo', () => {
  it.skipIf(!hasRedis)(
    'runs every phase over two workers and a private redis-server, writes the PNGs and leaves no process behind',
    async () => {
      const out = path.join(dir, 'private.png');
      const output = await runDemo(['--workers', '2', '--out', out], envWithout('REDIS_URL'));

      const redisPort = Number(/Redis: a private redis-server on redis:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
      expect(redisPort, output).toBeGreaterThan(0);
      expect(lineWith(output, '(1) Cold render with one worker process')).toBeTruthy();
      expect(lineWith(output, `${SLICES} slices in`)).toContain(`(${SLICES} computed)`);
      expect(lineWith(output, '(2) Forget those slices, cold render again with 2 worker processes')).toBeTruthy();
      expect(lineWith(output, 'speed-up over one worker:')).toMatch(/\d+\.\d\d× with 2 workers/);
      expect(lineWith(output, '(3) Second run, from a fresh Store')).toBeTruthy();
      expect(lineWith(output, 'cache hits')).toContain(`${SLICES} cache hits, 0 computed`);
      expect(lineWith(output, '(4) A live frame')).toBeTruthy();
      expect(lineWith(output, 'zoom input 1 -> 100')).toContain(`${SLICES} slices computed, 0 from cache`);
      const forget = lineWith(output, 'forgot the');
      expect(forget).toMatch(/worker \d+ \(another process\)/);
      expect(forget).toContain(
        `forgot the ${FORGOTTEN} slices of rows 72-87: the frame re-rendered in`,
      );
      expect(forget).toContain(`${FORGOTTEN} slices recomputed, ${SLICES - FORGOTTEN} from cache; image identical: yes`);
      expect(lineWith(output, 'zoom input 100 -> 1')).toContain(`0 slices computed, ${SLICES} from cache`);
      expect(lineWith(output, 'Stopped 2 worker processes and the private redis-server.')).toBeTruthy();

      // The images: valid PNGs of the asked size, and the set where it should be.
      const home = expectPng(out);
      expect(pixelAt(home, WIDTH / 2, HEIGHT / 2)).toEqual([0, 0, 0]); // (-0.65, 0): inside the set
      expect(pixelAt(home, 0, 0)).not.toEqual([0, 0, 0]); // (-2.25, 1.07): far outside
      expectPng(path.join(dir, 'private-zoom100.png'));

      // No worker and no redis-server outlives the demo.
      const workers = /worker pids (\d+), (\d+) serve/.exec(output)?.slice(1).map(Number) ?? [];
      expect(workers).toHaveLength(2);
      for (const pid of workers) expect(isRunning(pid), `worker ${pid} still running`).toBe(false);
      expect(await acceptsConnections(redisPort), `redis-server on ${redisPort} still up`).toBe(false);
    },
  );

  it.skipIf(!hasRedis)('uses REDIS_URL when given, and starts cold even on a Redis an earlier run filled', async () => {
    const redis = await startRedis();
    try {
      const env = { ...process.env, REDIS_URL: redis.url };
      const args = ['--workers', '2', '--out', path.join(dir, 'shared.png')];
      await runDemo(args, env);
      const second = await runDemo(args, env);
      expect(lineWith(second, 'Redis: REDIS_URL')).toContain(redis.url);
      // The first run left its slices in Redis; the second forgets them before measuring.
      expect(lineWith(second, `${SLICES} slices in`)).toContain(`(${SLICES} computed)`);
      expect(lineWith(second, 'zoom input 1 -> 100')).toContain(`${SLICES} slices computed`);
      expect(lineWith(second, 'Stopped 2 worker processes.')).toBeTruthy();
      expectPng(path.join(dir, 'shared.png'));
    } finally {
      await redis.stop();
    }
  });

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it.skipIf(!hasRedis)(`leaves no worker and no redis-server behind when it gets ${signal} mid-render`, async () => {
      // Big enough to be still rendering when the signal comes.
      const child = spawn(process.execPath, [DEMO, '--workers', '2', '--width', '1500', '--height', '1000',
        // TMPDIR: the private Redis's directory, which a SIGKILLed demo cannot remove, goes
        // in this test's own directory, removed after the tests.
        '--out', path.join(dir, `${signal}.png`)], { env: { ...envWithout('REDIS_URL'), TMPDIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const exited = new Promise<number | string>((resolve) => {
        child.once('exit', (code, name) => resolve(code ?? name ?? -1));
      });
      const serving = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (/worker pid \d+ serves/.test(output)) resolve();
        });
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      try {
        await Promise.race([serving, exited.then(() => { throw new Error(`the demo ended early:\n${output}`); })]);
      } catch (error) {
        child.kill('SIGKILL');
        throw error;
      }
      const worker = Number(/worker pid (\d+) serves/.exec(output)?.[1]);
      const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
      child.kill(signal);
      expect(await exited).toBe(signal === 'SIGINT' ? 130 : 'SIGKILL');
      if (signal === 'SIGINT') expect(output).toContain('interrupted: stopping the workers and Redis');
      // After SIGKILL the worker sees its parent's channel close and leaves within a second;
      // the redis-server gets the parent-death signal at once.
      const deadline = Date.now() + 5_000;
      while ((isRunning(worker) || (await acceptsConnections(redisPort))) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(isRunning(worker), `worker ${worker} still running`).toBe(false);
      expect(await acceptsConnections(redisPort), `redis-server on ${redisPort} still up`).toBe(false);
    });
  }

  it('falls back to the embedded store, and says so, without REDIS_URL or redis-server', async () => {
    const out = path.join(dir, 'embedded.png');
    // A PATH with no redis-server on it (node itself is run by its absolute path).
    const output = await runDemo(['--out', out], { ...envWithout('REDIS_URL'), PATH: dir });
    expect(output).toContain('falling back to the embedded store');
    expect(lineWith(output, '(1) Cold render with this process (embedded store)')).toBeTruthy();
    expect(lineWith(output, '(2) Skipped: the embedded store cannot share work between processes')).toBeTruthy();
    expect(lineWith(output, 'cache hits')).toContain(`${SLICES} cache hits, 0 computed`);
    expect(lineWith(output, 'this process forgot the')).toContain(
      `${FORGOTTEN} slices recomputed, ${SLICES - FORGOTTEN} from cache; image identical: yes`,
    );
    expect(output).not.toContain('worker pid');
    const home = expectPng(out);
    expect(pixelAt(home, WIDTH / 2, HEIGHT / 2)).toEqual([0, 0, 0]);
    expectPng(path.join(dir, 'embedded-zoom100.png'));
  });
});
