// Where the examples find a Redis: REDIS_URL when given, else a private redis-server
// started on a free port (and stopped when the example ends), else none, in which case
// an example falls back to the embedded store and says so.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Finds or starts a Redis for an example.
 *
 * @returns `{ url, origin, stop }`, where origin is 'REDIS_URL' or 'private', or
 *   `undefined` when there is no REDIS_URL and no redis-server on the PATH.
 * @example
 * const redis = await openRedis();
 * const store = connect(redis?.url);   // undefined: the embedded store
 * try { ... } finally { await store.close(); await redis?.stop(); }
 */
export async function openRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, origin: 'REDIS_URL', stop: async () => {} };
  if (!hasRedisServer()) return undefined;
  return startPrivateRedis();
}

/** Whether `redis-server` can be run from the PATH. */
export function hasRedisServer() {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** Starts a throwaway redis-server (no persistence) on a free port of 127.0.0.1. */
export async function startPrivateRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'memocell-example-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn(...dyingWithParent('redis-server', args), { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // Stop the server, and remove its directory, even when the example is interrupted or
  // fails (each suite run left one directory behind in the temp folder before).
  const kill = () => {
    if (!exited) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', kill);
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (exited || Date.now() > deadline) {
      kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`could not start a private redis-server on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    origin: 'private',
    async stop() {
      process.off('exit', kill);
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The command and arguments that run `command` so it is killed when this process dies,
 * even by SIGKILL (where no exit handler runs): on Linux, util-linux `setpriv` sets the
 * parent-death signal and then execs it. Elsewhere, the command as it is.
 */
function dyingWithParent(command, args) {
  if (process.platform === 'linux' && spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true']).status === 0) {
    return ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]];
  }
  return [command, args];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function answersPing(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
