/**
 * Throwaway `redis-server` processes for tests.
 *
 * Every server gets its own free port on 127.0.0.1 and its own temporary
 * directory, so tests never share state with each other or with the Redis
 * that may already be running on 6379. This module deliberately talks to
 * Redis through a tiny raw RESP client rather than ioredis: readiness probes
 * must not reconnect, queue or log behind our back.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FORBIDDEN_PORT, getFreePort, releasePort } from './ports.js';

export interface StartRedisOptions {
  /** Extra `redis-server` arguments, appended last so they override ours. */
  args?: string[];
  /** Append-only file with fsync on every write, so data survives restart(). */
  persistence?: boolean;
  /** Sets `requirepass`; the handle's url carries it. */
  password?: string;
  /** Start as a cluster node (used by startCluster); also reserves the bus port. */
  cluster?: boolean;
  /** How long to wait for the server to answer PING. Default 10 000 ms. */
  readyTimeoutMs?: number;
}

export interface RedisServerHandle {
  readonly port: number;
  readonly host: '127.0.0.1';
  /** `redis://127.0.0.1:PORT`, with the password when one is set. */
  readonly url: string;
  readonly password: string | undefined;
  /** Pid of the current process; changes after restart(). */
  readonly pid: number;
  /** The current child process; changes after restart(). */
  readonly process: ChildProcess;
  /** Working directory (AOF, nodes.conf); kept across restart(), removed by stop(). */
  readonly dir: string;
  /** The last lines the server wrote to stdout/stderr, for diagnostics. */
  output(): string;
  /** Terminate the server (SIGTERM, SIGKILL after 3 s) and remove its dir. Idempotent. */
  stop(): Promise<void>;
  /** Send a signal to the server process (default SIGKILL, i.e. simulate a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGSTOP: the server keeps its sockets open but answers nothing. */
  pause(): void;
  /** SIGCONT: undo pause(). */
  resume(): void;
  /** Stop the process (keeping dir) and start it again on the same port and dir. */
  restart(): Promise<void>;
}

const HOST = '127.0.0.1';
const STOP_GRACE_MS = 3_000;
const PORT_ATTEMPTS = 5;
const OUTPUT_LIMIT = 16_384;

/**
 * Start a fresh `redis-server` on a free port with its own temporary dir and
 * wait until it answers PING.
 *
 * @example
 * const server = await startRedis();
 * const client = new Redis(server.port, server.host);
 * try { await client.set('k', 'v'); } finally { client.disconnect(); await server.stop(); }
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const binary = requireExecutable('redis-server');
  for (let attempt = 1; ; attempt++) {
    const port = await getFreePort({ busPort: options.cluster === true });
    // A fresh dir per attempt: a failed cluster node may have written a nodes.conf.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'memocell-redis-'));
    const server = new RedisServer(binary, port, dir, options);
    try {
      await server.launch();
      return server;
    } catch (error) {
      await server.stop();
      // Another process grabbed the port between our probe and redis' bind.
      if (error instanceof PortInUseError && attempt < PORT_ATTEMPTS) continue;
      throw error;
    }
  }
}

/**
 * Absolute path of an executable found on PATH, or undefined.
 *
 * @example
 * findExecutable('redis-cli'); // '/usr/bin/redis-cli'
 */
export function findExecutable(name: string, pathEnv: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Like findExecutable, but throws the install hint CI needs when it is missing.
 *
 * @example
 * const cli = requireExecutable('redis-cli');
 */
export function requireExecutable(name: 'redis-server' | 'redis-cli'): string {
  const found = findExecutable(name);
  if (found) return found;
  // redis-cli ships in redis-tools, which the redis-server package depends on.
  throw new Error(
    `${name} not found on PATH: install it (apt-get install -y redis-server) — ` +
      'the tests that need Redis cannot run without it',
  );
}

/** Thrown by startup when redis-server could not bind its port(s). */
class PortInUseError extends Error {}

class RedisServer implements RedisServerHandle {
  readonly host = HOST;
  readonly password: string | undefined;
  private readonly args: string[];
  private readonly readyTimeoutMs: number;
  private readonly cluster: boolean;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private alive = false;
  private outputText = '';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly binary: string,
    readonly port: number,
    readonly dir: string,
    options: StartRedisOptions,
  ) {
    if (port === FORBIDDEN_PORT) throw new Error(`refusing to start a test redis on ${FORBIDDEN_PORT}`);
    this.password = options.password;
    this.cluster = options.cluster === true;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    this.args = [
      '--port', String(port),
      '--bind', HOST,
      '--save', '',
      '--dir', dir,
      '--daemonize', 'no',
      '--protected-mode', 'no',
      ...(options.persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ...(options.password !== undefined ? ['--requirepass', options.password] : []),
      ...(this.cluster
        ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']
        : []),
      ...(options.args ?? []),
    ];
  }

  get url(): string {
    const auth = this.password !== undefined ? `:${encodeURIComponent(this.password)}@` : '';
    return `redis://${auth}${HOST}:${this.port}`;
  }

  get process(): ChildProcess {
    if (!this.child) throw new Error('redis-server has not been started');
    return this.child;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('redis-server has no pid (not started or failed to spawn)');
    return pid;
  }

  output(): string {
    return this.outputText.split('\n').slice(-40).join('\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.signal(signal);
  }

  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new Error(`redis-server on port ${this.port} was stopped; start a new one`);
    await this.terminate();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launch();
        return;
      } catch (error) {
        // We must keep the port; if something grabbed it, give it a moment.
        if (error instanceof PortInUseError && attempt < PORT_ATTEMPTS) {
          await sleep(200);
          continue;
        }
        throw error;
      }
    }
  }

  /** Spawn the process and wait until it is ready; kills it again on failure. */
  async launch(): Promise<void> {
    const child = spawnDying(this.binary, this.args);
    this.child = child;
    this.alive = true;
    this.outputText = '';
    let spawnError: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => {
        // 'error' also reports failed kills; only a failed spawn means "gone".
        if (child.pid === undefined) {
          spawnError = error;
          resolve();
        }
      });
    }).then(() => {
      this.alive = false;
    });
    const collect = (chunk: Buffer): void => {
      this.outputText = (this.outputText + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    // A server a test forgot to stop must not keep the test process alive;
    // the exit hook below kills it when the process ends.
    child.unref();
    (child.stdout as net.Socket | null)?.unref();
    (child.stderr as net.Socket | null)?.unref();
    liveServers().add(this);

    try {
      await this.waitUntilReady(() => spawnError);
    } catch (error) {
      await this.terminate();
      throw error;
    }
  }

  private async waitUntilReady(getSpawnError: () => Error | undefined): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    const expectedPid = this.child?.pid;
    let delay = 20;
    for (;;) {
      if (!this.alive) {
        const spawnError = getSpawnError();
        if (spawnError) throw new Error(`could not spawn ${this.binary}: ${spawnError.message}`);
        const message = `redis-server on port ${this.port} exited during startup ` +
          `(code ${this.child?.exitCode}, signal ${this.child?.signalCode})`;
        if (/address already in use/i.test(this.outputText)) throw new PortInUseError(message);
        throw new Error(`${message}\n${this.describeOutput()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `redis-server on port ${this.port} did not answer PING within ${this.readyTimeoutMs} ms\n${this.describeOutput()}`,
        );
      }
      try {
        const [pong, info] = await sendCommands(this.port, [['PING'], ['INFO', 'server']], {
          password: this.password,
          timeoutMs: 1000,
        });
        // Checking the pid guards against a port race where a *different*
        // redis (another test worker's) answers on the port we picked.
        const pid = typeof info === 'string' ? /^process_id:(\d+)/m.exec(info)?.[1] : undefined;
        if (pong === 'PONG' && pid !== undefined && Number(pid) === expectedPid) return;
      } catch {
        // not listening yet, or still loading: poll again
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  }

  /** Stop the current process but keep the dir (used by stop and restart). */
  private async terminate(): Promise<void> {
    if (this.alive) {
      // A paused (SIGSTOPped) process would hold SIGTERM pending forever.
      this.signal('SIGCONT');
      this.signal('SIGTERM');
      const graceful = await Promise.race([this.exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
      if (!graceful) {
        this.signal('SIGKILL');
        await this.exited;
      }
    }
    await this.exited;
  }

  private async shutdown(): Promise<void> {
    try {
      await this.terminate();
    } finally {
      liveServers().delete(this);
      releasePort(this.port, { busPort: this.cluster });
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  /** Synchronous last resort used from process.on('exit'). */
  killSync(): void {
    if (this.alive) this.signal('SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort while the process is exiting
    }
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.alive) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone (ESRCH): nothing to signal
    }
  }

  private describeOutput(): string {
    return `--- redis-server output (last lines) ---\n${this.output() || '(none)'}\n--- args: ${this.args.join(' ')}`;
  }
}

// ---------------------------------------------------------------------------
// Process lifetime: make sure servers do not outlive the test process.

interface Killable {
  killSync(): void;
}

const REGISTRY_KEY = Symbol.for('memocell.test-support.redis-servers');

/**
 * All servers this process has started and not stopped. Kept on globalThis
 * because vitest may evaluate this module once per test file in the same
 * process, and we want a single exit hook, not one per evaluation.
 */
function liveServers(): Set<Killable> {
  const store = globalThis as unknown as Record<symbol, Set<Killable> | undefined>;
  let servers = store[REGISTRY_KEY];
  if (!servers) {
    const created = new Set<Killable>();
    servers = created;
    store[REGISTRY_KEY] = created;
    // 'exit' handlers must be synchronous: SIGKILL everything still running.
    process.once('exit', () => {
      for (const server of created) server.killSync();
    });
  }
  return servers;
}

let pdeathsigPrefix: string[] | null | undefined;

/**
 * Spawn so the child also dies when this process is SIGKILLed (where no exit
 * hook runs): on Linux, util-linux `setpriv --pdeathsig KILL` sets the parent-
 * death signal and then execs, so the pid is redis-server's own.
 */
function spawnDying(binary: string, args: string[]): ChildProcess {
  if (pdeathsigPrefix === undefined) {
    pdeathsigPrefix = null;
    const setpriv = process.platform === 'linux' ? findExecutable('setpriv') : undefined;
    if (setpriv && spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true']).status === 0) {
      pdeathsigPrefix = [setpriv, '--pdeathsig', 'KILL', '--'];
    }
  }
  const [command, ...prefix] = pdeathsigPrefix ?? [binary];
  const fullArgs = pdeathsigPrefix ? [...prefix, binary, ...args] : args;
  return spawn(command ?? binary, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
}

// ---------------------------------------------------------------------------
// Minimal RESP2 client for probes (no reconnects, no queues, one shot).

/** An error reply (`-ERR ...`) from Redis. */
export class RespError extends Error {}

export type RespValue = string | number | null | RespError | RespValue[];

export interface SendCommandsOptions {
  host?: string;
  password?: string | undefined;
  timeoutMs?: number;
}

/**
 * Open a connection, send the commands, return their replies (error replies
 * as RespError values), close. Rejects on connection errors and timeouts.
 *
 * @example
 * const [info] = await sendCommands(server.port, [['CLUSTER', 'INFO']]);
 */
export function sendCommands(port: number, commands: string[][], options: SendCommandsOptions = {}): Promise<RespValue[]> {
  const all = options.password !== undefined ? [['AUTH', options.password], ...commands] : commands;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: options.host ?? HOST });
    let buffer = Buffer.alloc(0);
    const replies: RespValue[] = [];
    let done = false;
    const finish = (error: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(options.password !== undefined ? replies.slice(1) : replies);
    };
    const timer = setTimeout(
      () => finish(new Error(`no reply from 127.0.0.1:${port} within ${options.timeoutMs ?? 2000} ms`)),
      options.timeoutMs ?? 2000,
    );
    socket.once('error', finish);
    socket.once('close', () => finish(new Error(`connection to port ${port} closed before all replies`)));
    socket.once('connect', () => socket.write(all.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        for (;;) {
          const parsed = parseReply(buffer, 0);
          if (!parsed) break;
          replies.push(parsed.value);
          buffer = buffer.subarray(parsed.next);
        }
      } catch (error) {
        finish(error as Error);
        return;
      }
      if (replies.length >= all.length) finish(undefined);
    });
  });
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n` + args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('');
}

/** Parse one reply at `pos`; undefined when the buffer does not hold it all yet. */
function parseReply(buffer: Buffer, pos: number): { value: RespValue; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', pos);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[pos] ?? 0);
  const line = buffer.toString('utf8', pos + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new RespError(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      if (buffer.length < afterLine + length + 2) return undefined;
      return { value: buffer.toString('utf8', afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: afterLine };
      const items: RespValue[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
