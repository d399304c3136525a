// A private, throwaway redis-server for the distributed benchmark: a free port on
// 127.0.0.1 (never 6379), its own temporary dir, no persistence. A small copy of
// what test/support/redis.ts does for the tests, in plain JavaScript.
//
//   const server = await startRedis();   // { port, url, pid, version, stop() }
//   ...
//   await server.stop();
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const HOST = '127.0.0.1';
const FORBIDDEN_PORT = 6379;
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/** A port nothing listens on right now (racy by nature: callers retry on bind failure). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * INFO server over a fresh socket; resolves with the server's pid and version (so a different
 * redis that grabbed the port in between is not taken for ours), or rejects.
 */
function probePid(port, timeoutMs = 500) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST });
    let data = '';
    const done = (err, value) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new Error('ping timed out')), timeoutMs);
    socket.once('error', (err) => done(err));
    socket.once('connect', () => socket.write('*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.startsWith('-')) done(new Error(data.trim()));
      const pid = /process_id:(\d+)/.exec(data)?.[1];
      if (pid && data.endsWith('\r\n')) done(null, { pid: Number(pid), version: /redis_version:(\S+)/.exec(data)?.[1] });
    });
  });
}

let pdeathsig;
function withPdeathsig() {
  if (pdeathsig === undefined) {
    pdeathsig = process.platform === 'linux' && spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true']).status === 0;
  }
  return pdeathsig;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Resolves false after `ms`, without keeping the process alive (for races). */
const graceTimer = (ms) => new Promise((r) => setTimeout(() => r(false), ms).unref());

/**
 * Start redis-server and wait until it answers PING. Retries with another port
 * when the picked one was taken in between.
 */
export async function startRedis({ binary = 'redis-server', extraArgs = [] } = {}) {
  for (let attempt = 1; attempt <= 5; attempt++) {
    let port = await freePort();
    if (port === FORBIDDEN_PORT) port = await freePort();
    if (port === FORBIDDEN_PORT) continue;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'memocell-bench-redis-'));
    const args = [
      '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no',
      '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no', ...extraArgs,
    ];
    // With util-linux setpriv, redis-server also dies if this process is SIGKILLed.
    const child = withPdeathsig()
      ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exited = false;
    const exitPromise = new Promise((resolve) => {
      child.once('exit', () => {
        exited = true;
        resolve();
      });
      child.once('error', (err) => {
        output += `\nspawn error: ${err.message}`;
        exited = true;
        resolve();
      });
    });
    const collect = (d) => (output = (output + d.toString('utf8')).slice(-8192));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // Never outlive this process.
    const onExit = () => {
      try {
        child.kill('SIGKILL');
      } catch {}
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {}
    };
    process.once('exit', onExit);

    const stop = async () => {
      process.removeListener('exit', onExit);
      if (!exited) {
        child.kill('SIGTERM');
        const graceful = await Promise.race([exitPromise.then(() => true), graceTimer(STOP_GRACE_MS)]);
        if (!graceful) {
          child.kill('SIGKILL');
          await exitPromise;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    };

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let ready = false;
    let version;
    while (!exited && Date.now() < deadline) {
      try {
        const info = await probePid(port);
        if (info.pid === child.pid) {
          version = info.version;
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    if (ready && !exited) {
      return { host: HOST, port, url: `redis://${HOST}:${port}`, pid: child.pid, dir, version, stop, output: () => output };
    }
    await stop();
    if (/address already in use/i.test(output)) continue;
    throw new Error(`redis-server did not start on port ${port}:\n${output.slice(-2000)}`);
  }
  throw new Error('could not start redis-server after 5 attempts');
}
