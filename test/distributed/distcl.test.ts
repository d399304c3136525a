/**
 * memocell and DisTcl serving each other on one Redis: DisTcl's own Tcl code (from
 * DISTCL_DIR, default ../shared/peers/distcl) run by tclsh, against memocell's
 * `distcl` protocol mode. Skips, saying why, when tclsh or the DisTcl code is missing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, keep, RemoteError, type RedisStore } from '../../src/distributed/index.js';
import { renderTclList } from '../../src/distributed/distcl/tcl-list.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

const distclDir = resolve(process.env.DISTCL_DIR ?? '../shared/peers/distcl');
const tclsh = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v tclsh'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();
const missing =
  tclsh === undefined
    ? 'tclsh is not installed (apt-get install -y tcl)'
    : !existsSync(resolve(distclDir, 'distcl.tcl'))
      ? `DisTcl's code is not at ${distclDir} (set DISTCL_DIR to the folder holding distcl.tcl)`
      : undefined;
if (missing !== undefined) console.warn(`DisTcl interoperability tests skipped: ${missing}`);

let redis: RedisServerHandle;
let raw: Redis;
let store: RedisStore;
const tclProcesses: ChildProcess[] = [];

/** Runs a DisTcl peer script; resolves its stdout when it exits. */
function tcl(script: string, args: readonly string[]): { child: ChildProcess; done: Promise<string>; started: Promise<void> } {
  const child = spawn(tclsh as string, [resolve(distclDir, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  tclProcesses.push(child);
  let out = '';
  let markStarted!: () => void;
  const started = new Promise<void>((r) => (markStarted = r));
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // DisTcl's serve prints "Control queue is 'z:ID'" to stderr as it starts serving.
  child.stderr?.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('Control queue is')) markStarted();
  });
  const done = new Promise<string>((resolveDone) => child.on('exit', () => resolveDone(out)));
  return { child, done, started };
}

/** A Tcl DisTcl server of `service` (serve.tcl's demo handlers), started and serving. */
async function tclServer(service: string, id: string): Promise<{ child: ChildProcess; done: Promise<string> }> {
  const server = tcl('serve.tcl', [String(redis.port), service, id]);
  await server.started;
  return server;
}

/** Runs DisTcl calls in a Tcl script of our own (DisTcl's peer folder has a get client only). */
function tclScript(body: string): Promise<string> {
  const child = spawn(tclsh as string, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  tclProcesses.push(child);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise<string>((resolveDone) => child.on('exit', () => resolveDone(out)));
  child.stdin?.end(
    [
      `source {${resolve(distclDir, 'retcl-shim.tcl')}}`,
      `set ::retcl::port ${redis.port}`,
      `source {${resolve(distclDir, 'distcl.tcl')}}`,
      'retcl::create redis',
      body,
      'exit 0',
    ].join('\n'),
  );
  return done;
}

/** One `distcl::get` from a Tcl client; resolves its `STATUS:VALUE` line. */
async function tclGet(service: string, words: readonly string[]): Promise<string> {
  return (await tcl('client.tcl', [String(redis.port), service, ...words]).done).trim();
}

let slowRuns = 0;

/** The same commands as serve.tcl, so either kind of server can answer. */
function memocellHandler(words: string[]): unknown {
  const [what, ...rest] = words;
  switch (what) {
    case 'square':
      return keep(Number(rest[0]) ** 2, { ttlSeconds: 600 });
    case 'repeat':
      return keep(rest.slice(1).join(' ').repeat(Number(rest[0])), { ttlSeconds: 300 });
    case 'echo':
      return renderTclList(rest);
    case 'up':
      // Slower than Tcl's, so the Tcl server sharing the queue gets its share too.
      return new Promise((r) => setTimeout(() => r(`up memocell ${process.pid}`), 20));
    case 'slow':
      slowRuns++;
      return new Promise((r) => setTimeout(() => r(`slow ${rest.join(' ')}`), 300));
    default:
      throw new Error(`Don't know how to '${what ?? ''}'`);
  }
}

describe.skipIf(missing !== undefined)('DisTcl interoperability (tclsh running DisTcl)', () => {
  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    store = createRedisStore({ redis: redis.url });
  });
  afterEach(() => {
    for (const child of tclProcesses.splice(0)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await store?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  it('a memocell client calls a Tcl server: values, words needing quotes, errors, caching', async () => {
    await tclServer('tcl1', 'tcl1-server');
    const tclService = store.remote('tcl1', { protocol: 'distcl' });
    expect(await tclService('square', 7)).toBe('49');
    // Tcl's `return $args` renders the words as a Tcl list: it must equal ours.
    const words = ['a b', '{x', 'c"d', '', 'back\\slash', '$x[y]', 'naïve ✓'];
    expect(await tclService('echo', ...words)).toBe(renderTclList(words));
    const error = (await tclService('fizz').catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remoteName).toBe('TclError');
    expect(error.remoteMessage).toBe("Don't know how to 'fizz'");
    // square is kept 600 s by the Tcl server (-secs2keep), under DisTcl's own key.
    expect(await raw.get('v:tcl1:square 7')).toBe('0:49');
    expect(await raw.ttl('v:tcl1:square 7')).toBeGreaterThan(590);
    await tclService.forget('square', 7);
    expect(await raw.exists('v:tcl1:square 7')).toBe(0);
    await tclService.prefetch('square', 9);
    for (let i = 0; i < 100 && (await raw.exists('v:tcl1:square 9')) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await raw.get('v:tcl1:square 9')).toBe('0:81');
  });

  it('a Tcl client calls a memocell server', async () => {
    store.serve('mc1', memocellHandler, { protocol: 'distcl' });
    expect(await tclGet('mc1', ['square', '12'])).toBe('0:144');
    expect(await raw.get('v:mc1:square 12')).toBe('0:144');
    expect(await tclGet('mc1', ['echo', 'a b', 'c'])).toBe(`0:${renderTclList(['a b', 'c'])}`);
    expect(await tclGet('mc1', ['repeat', '3', 'ab', 'c'])).toBe('0:ab cab cab c');
    expect(await tclGet('mc1', ['nope'])).toBe("1:Don't know how to 'nope'");
    // Errors are not cached.
    expect(await raw.exists('v:mc1:nope')).toBe(0);
    // distcl::prefetch and distcl::forget from Tcl, served by memocell.
    await tclScript('distcl::prefetch redis mc1 square 11');
    for (let i = 0; i < 100 && (await raw.exists('v:mc1:square 11')) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await raw.get('v:mc1:square 11')).toBe('0:121');
    await tclScript('distcl::forget redis mc1 square 11');
    expect(await raw.exists('v:mc1:square 11')).toBe(0);
  });

  it('Tcl and memocell servers serve one service together, and concurrent gets are computed once', async () => {
    store.serve('both', memocellHandler, { protocol: 'distcl', concurrency: 2 });
    await tclServer('both', 'both-tcl'); // by then memocell's server is connected too
    const both = store.remote('both', { protocol: 'distcl' });
    // Which server takes which request depends on timing; rounds of 40 until both took
    // some (a busy machine can starve one of them for a round).
    let byTcl = 0;
    let byMemocell = 0;
    for (let round = 0; round < 10 && (byTcl === 0 || byMemocell === 0); round++) {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => both('up', `${round}.${i}`)));
      const tcl = answers.filter((a) => /^up \d+$/.test(a)).length;
      const ours = answers.filter((a) => a === `up memocell ${process.pid}`).length;
      expect(tcl + ours).toBe(40);
      byTcl += tcl;
      byMemocell += ours;
    }
    expect(byTcl).toBeGreaterThan(0);
    expect(byMemocell).toBeGreaterThan(0);
  });

  it('concurrent identical gets are computed once, by DisTcl\'s run-list rule', async () => {
    store.serve('dedup', memocellHandler, { protocol: 'distcl', concurrency: 4 });
    store.serve('dedup', memocellHandler, { protocol: 'distcl', concurrency: 4 });
    const remote = store.remote('dedup', { protocol: 'distcl' });
    const before = slowRuns;
    const answers = await Promise.all(Array.from({ length: 5 }, () => remote('slow', 'x')));
    expect(answers).toEqual(Array(5).fill('slow x'));
    expect(slowRuns - before).toBe(1);
    // And a Tcl client joining while it runs gets the same answer.
    const [tclAnswer, ours] = await Promise.all([tclGet('dedup', ['slow', 'y']), remote('slow', 'y')]);
    expect(tclAnswer).toBe('0:slow y');
    expect(ours).toBe('slow y');
  });

  it('a memocell server in distcl mode obeys stop and verbose on its z: control queue', async () => {
    const handle = store.serve('mc2', memocellHandler, { protocol: 'distcl', id: 'mc2-server' });
    await raw.rpush('z:mc2-server', 'verbose');
    await raw.rpush('z:mc2-server', 'quiet');
    expect(await tclGet('mc2', ['square', '3'])).toBe('0:9');
    await raw.rpush('z:mc2-server', 'stop');
    await handle.stopped;
    // Nobody serves mc2 now: a Tcl client times out after DisTcl's 10 s; ours is configurable.
    const quick = store.remote('mc2', { protocol: 'distcl', timeoutMs: 300 });
    await expect(quick('square', '4')).rejects.toThrow(/within 300 ms/);
  });

  it('a Tcl server obeys stop sent by memocell through its control queue', async () => {
    const server = await tclServer('tcl2', 'tcl2-server');
    const remote = store.remote('tcl2', { protocol: 'distcl' });
    expect(await remote('square', 5)).toBe('25');
    await raw.rpush('z:tcl2-server', 'stop');
    await server.done;
    expect(server.child.exitCode).toBe(0);
  });
});
