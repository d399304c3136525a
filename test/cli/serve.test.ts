/**
 * `memocell serve` and the commands that talk to its servers, all as real processes
 * against a private, password-protected redis-server: a fixture module served by two
 * supervised workers, called from the shell (argument parsing, output, exit codes),
 * listed, counted, watched, stopped, killed and restarted, and stopped by a signal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../distributed/contract.js';
import { startNode, type Child } from '../support/processes.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { CLI, runCli, transcript } from './run-cli.js';

const PASSWORD = 'pw-Secret/42';
const MODULE = 'test/cli/fixtures/services.mjs';

let redis: RedisServerHandle;
let env: Record<string, string>;

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  env = { REDIS_URL: redis.url, MEMOCELL_PREFIX: '' };
});
afterAll(async () => {
  await redis?.stop();
});

interface ServerJson {
  id: string;
  service: string;
  pid: number;
  concurrency: number;
  inFlight: number;
}

async function serversJson(...args: string[]): Promise<ServerJson[]> {
  const { code, stdout, stderr } = await runCli(['servers', '--json', ...args], { env });
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as ServerJson[];
}

async function statsJson(...args: string[]): Promise<Array<Record<string, unknown>>> {
  const { code, stdout, stderr } = await runCli(['stats', '--json', ...args], { env });
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as Array<Record<string, unknown>>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The "serving SERVICE id=... pid=..." lines a serve process printed for a service. */
function servingLines(child: Child, service: string): Array<{ id: string; pid: number }> {
  const pattern = new RegExp(`^serving ${service.replace(/\./g, '\\.')} id=(\\S+) pid=(\\d+)`, 'gm');
  return [...child.output().matchAll(pattern)].map((m) => ({ id: m[1] as string, pid: Number(m[2]) }));
}

describe('serve --workers 2, and the commands that use its servers', () => {
  let serve: Child;
  let workerPids: number[];

  beforeAll(async () => {
    serve = startNode(CLI, ['serve', MODULE, '--workers', '2', '--concurrency', '2'], env);
    await eventually(() => expect(servingLines(serve, 'cli.square')).toHaveLength(2), 30_000, 50);
    workerPids = [...serve.output().matchAll(/^worker \d started pid=(\d+)/gm)].map((m) => Number(m[1]));
    // Registered (the first heartbeat is on its way when "serving" is printed).
    await eventually(async () => expect(await serversJson('cli.square')).toHaveLength(2), 10_000, 100);
  }, 60_000);
  afterAll(() => {
    if (serve.process.exitCode === null) serve.kill('SIGKILL');
  });

  it('prints a line per worker and per server, and serves only store memos with a body', () => {
    expect(workerPids).toHaveLength(2);
    expect(workerPids).not.toContain(serve.pid);
    const served = new Set([...serve.output().matchAll(/^serving (\S+) /gm)].map((m) => m[1]));
    expect([...served].sort()).toEqual(['cli.bytes', 'cli.counted', 'cli.echo', 'cli.fails', 'cli.greet', 'cli.outer', 'cli.slow', 'cli.square']);
    expect(servingLines(serve, 'cli.square').map((l) => l.pid).sort()).toEqual([...workerPids].sort());
    // The Redis it serves on, password masked.
    expect(serve.output()).toContain(`serving ${MODULE} on redis://:***@127.0.0.1:${redis.port}, prefix memocell`);
    expect(serve.output()).not.toContain(PASSWORD);
    expect(serve.output()).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('servers lists the servers of both workers', async () => {
    const square = await serversJson('cli.square');
    expect(square.map((s) => s.pid).sort()).toEqual([...workerPids].sort());
    expect(square.every((s) => s.concurrency === 2 && s.service === 'cli.square')).toBe(true);
    expect(new Set(square.map((s) => s.id)).size).toBe(2);
    const all = await serversJson();
    expect(all).toHaveLength(16); // 8 services, 2 workers
    const table = await runCli(['servers', 'cli.square'], { env });
    expect(table.stdout).toMatch(/^SERVICE +ID +HOST +PID +CONCURRENCY +IN-FLIGHT +SERVED +UP$/m);
    for (const { id } of square) expect(table.stdout).toContain(id);
  });

  it('get prints the result as JSON', async () => {
    const { code, stdout, stderr } = await runCli(['get', 'cli.square', '12'], { env });
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('144\n');
  });

  it('arguments are JSON when they parse as JSON, strings otherwise', async () => {
    const { code, stdout } = await runCli(
      ['get', 'cli.echo', '12', '"12"', 'abc', '[1,2]', '{"a":1}', 'true', 'null', '-5', '1.5', '--', '-x'],
      { env },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      { type: 'number', value: 12 },
      { type: 'string', value: '12' },
      { type: 'string', value: 'abc' },
      { type: 'object', value: [1, 2] },
      { type: 'object', value: { a: 1 } },
      { type: 'boolean', value: true },
      { type: 'object', value: null },
      { type: 'number', value: -5 },
      { type: 'number', value: 1.5 },
      { type: 'string', value: '-x' },
    ]);
  });

  it('strings print quoted, or as they are with --raw; bytes as base64, or raw bytes', async () => {
    expect((await runCli(['get', 'cli.greet', 'Ada'], { env })).stdout).toBe('"hello, Ada"\n');
    expect((await runCli(['get', 'cli.greet', 'Ada', '--raw'], { env })).stdout).toBe('hello, Ada');
    expect((await runCli(['get', 'cli.bytes', '3'], { env })).stdout).toBe('{"base64":"AAEC"}\n');
    expect([...(await runCli(['get', 'cli.bytes', '3', '--raw'], { env })).stdoutBytes]).toEqual([0, 1, 2]);
  });

  it('a failed computation exits 1 with service, arguments, message and chain', async () => {
    const failed = await runCli(['get', 'cli.fails', 'x'], { env });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain('RangeError: cannot do x');
    expect(failed.stderr).toContain('service: cli.fails');
    expect(failed.stderr).toContain('arguments: ["x"]');
    const nested = await runCli(['get', 'cli.outer', 'y', '--stack'], { env });
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain('chain: cli.outer("y") -> cli.fails("y")');
    expect(nested.stderr).toContain('remote stack:');
  });

  it('a get that outlives --timeout exits 5', async () => {
    const { code, stdout, stderr } = await runCli(['get', 'cli.slow', '3000', '--timeout', '200'], { env });
    expect(code).toBe(5);
    expect(stdout).toBe('');
    expect(stderr).toContain('within 200 ms');
  });

  it('services live under their prefix: another prefix does not know them (exit 4)', async () => {
    const { code, stderr } = await runCli(['get', 'cli.square', '12', '--prefix', 'other'], { env });
    expect(code).toBe(4);
    expect(stderr).toContain("No service is known under prefix 'other'");
  });

  it('prefetch queues a computation without waiting; forget makes the next get compute again', async () => {
    const computations = async (): Promise<number> => (await statsJson('cli.square'))[0]?.computations as number;
    const before = await computations();
    const prefetched = await runCli(['prefetch', 'cli.square', '1001'], { env });
    expect(prefetched).toMatchObject({ code: 0, stdout: '' });
    await eventually(async () => expect(await computations()).toBe(before + 1), 10_000, 100);
    expect((await runCli(['get', 'cli.square', '1001'], { env })).stdout).toBe('1002001\n'); // cached: no computation
    expect(await computations()).toBe(before + 1);
    expect(await runCli(['forget', 'cli.square', '1001'], { env })).toMatchObject({ code: 0, stdout: '' });
    expect((await runCli(['get', 'cli.square', '1001'], { env })).stdout).toBe('1002001\n');
    expect(await computations()).toBe(before + 2);
  });

  it('stats --json has the counts the calls caused', async () => {
    for (const n of ['1', '1', '2']) expect((await runCli(['get', 'cli.counted', n], { env })).code).toBe(0);
    await eventually(
      async () =>
        expect(await statsJson('cli.counted')).toEqual([
          {
            service: 'cli.counted',
            servers: 2,
            inFlight: 0,
            queued: { gets: 0, prefetches: 0 },
            hits: 1,
            misses: 2,
            computations: 2,
            errors: 0,
            hitRatio: 1 / 3,
          },
        ]),
      10_000,
      100,
    );
    const table = await runCli(['stats', 'cli.counted'], { env });
    expect(table.stdout).toMatch(/^cli\.counted +2 +0 +0 +0 +1 +2 +2 +0 +33\.3%$/m);
    const all = await statsJson();
    expect(all.map((s) => s.service)).toContain('cli.fails');
    expect(all.find((s) => s.service === 'cli.fails')?.errors).toBeGreaterThanOrEqual(2);
  });

  it('top --iterations 2 prints two plain tables when stdout is not a terminal', async () => {
    const { code, stdout, stderr } = await runCli(['top', '--iterations', '2', '--interval', '200'], { env });
    expect(code, stderr).toBe(0);
    expect(stdout.match(/^memocell top /gm)).toHaveLength(2);
    expect(stdout.match(/^SERVICE +SERVERS +IN-FLIGHT +Q-GETS +Q-PREFETCHES +COMPUTED\/S +HITS\/S +MISSES\/S +HIT-RATIO$/gm)).toHaveLength(2);
    expect(stdout.match(/^cli\.square +2 /gm)).toHaveLength(2);
    expect(stdout).not.toContain('\x1b[');
  });

  it('stop ID stops a server; a worker whose servers have all stopped exits 0 and is not restarted', async () => {
    const [pid] = workerPids as [number, number];
    const ids = (await serversJson()).filter((s) => s.pid === pid);
    expect(ids).toHaveLength(8);
    for (const { id, service } of ids) {
      const { code, stdout, stderr } = await runCli(['stop', id], { env });
      expect(code, stderr).toBe(0);
      expect(stdout).toContain(`asked server ${id} of ${service} (pid ${pid}`);
    }
    await serve.waitFor(new RegExp(`^worker \\d exited pid=${pid} \\(code 0\\)`), 20_000);
    for (const { id, service } of ids) expect(serve.output()).toContain(`stopped ${service} id=${id} pid=${pid}`);
    await eventually(() => expect(isAlive(pid)).toBe(false), 10_000, 50);
    expect(serve.output()).not.toMatch(new RegExp(`died pid=${pid}`));
    expect(serve.process.exitCode).toBeNull(); // the other worker still serves
    await eventually(async () => expect((await serversJson('cli.square')).map((s) => s.pid)).toEqual([workerPids[1]]), 10_000, 100);
  });

  it('a SIGKILLed worker is restarted, and its replacement serves', async () => {
    const pid = workerPids[1] as number;
    process.kill(pid, 'SIGKILL');
    await serve.waitFor(new RegExp(`^worker \\d died pid=${pid} \\(signal SIGKILL\\); restarting in \\d+ ms`), 20_000);
    const replacement = await eventually(() => {
      const fresh = servingLines(serve, 'cli.square').filter((l) => l.pid !== workerPids[0] && l.pid !== pid);
      expect(fresh).toHaveLength(1);
      return (fresh[0] as { pid: number }).pid;
    }, 30_000, 50);
    await eventually(async () => expect((await serversJson('cli.square')).map((s) => s.pid)).toContain(replacement), 10_000, 100);
    expect((await runCli(['get', 'cli.square', '-3'], { env })).stdout).toBe('9\n');
    workerPids = [replacement];
  });

  it('SIGTERM stops the workers gracefully: in-flight work finishes, then everything exits 0', async () => {
    const slow = runCli(['get', 'cli.slow', '1500'], { env });
    await eventually(async () => expect((await statsJson('cli.slow'))[0]?.inFlight).toBe(1), 10_000, 50);
    serve.kill('SIGTERM');
    const result = await slow;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('1500\n');
    expect(await serve.exited).toBe(0);
    expect(serve.output()).toMatch(/^stopped cli\.slow id=\S+ pid=\d+/m);
    for (const pid of workerPids) expect(isAlive(pid)).toBe(false);
    await eventually(async () => expect(await serversJson()).toEqual([]), 10_000, 100);
  });
});

describe('serve in one process', () => {
  it('--only serves the named services; stop ID (from another process) ends it with exit 0', async () => {
    const serve = startNode(CLI, ['serve', MODULE, '--only', 'cli.square', '--prefix', 'solo'], env);
    try {
      const [, id] = (await serve.waitFor(/^serving cli\.square id=(\S+) pid=\d+ concurrency=1$/, 30_000)) as unknown as [string, string];
      expect(serve.output().match(/^serving /gm)).toHaveLength(1);
      expect((await runCli(['get', 'cli.square', '4', '--prefix', 'solo'], { env })).stdout).toBe('16\n');
      expect((await statsJson('--prefix', 'solo')).map((s) => s.service)).toEqual(['cli.square']);

      const stop = await runCli(['stop', id, '--prefix', 'solo', '--wait'], { env });
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout).toContain(`asked server ${id} of cli.square`);
      expect(stop.stdout).toContain(`server ${id} of cli.square stopped`);
      expect(await serve.exited).toBe(0);
      expect(serve.output()).toContain(`stopped cli.square id=${id}`);

      const again = await runCli(['stop', id, '--prefix', 'solo'], { env });
      expect(again.code).toBe(4);
      // Known, no server: a get of something cached still works, anything else fails at once...
      expect((await runCli(['get', 'cli.square', '4', '--prefix', 'solo'], { env })).stdout).toBe('16\n');
      const none = await runCli(['get', 'cli.square', '5', '--prefix', 'solo'], { env });
      expect(none.code).toBe(4);
      expect(none.stderr).toContain("no server is serving 'cli.square' under prefix 'solo'");
      // ...unless told to wait.
      expect((await runCli(['get', 'cli.square', '5', '--prefix', 'solo', '--wait', '--timeout', '300'], { env })).code).toBe(5);
    } finally {
      if (serve.process.exitCode === null) serve.kill('SIGKILL');
    }
  });

  it('SIGINT stops it gracefully with exit 0', async () => {
    const serve = startNode(CLI, ['serve', MODULE, '--only', 'cli.greet', '--prefix', 'solo2'], env);
    try {
      await serve.waitFor(/^serving cli\.greet /, 30_000);
      serve.kill('SIGINT');
      expect(await serve.exited).toBe(0);
      expect(serve.output()).toMatch(/^stopped cli\.greet id=/m);
    } finally {
      if (serve.process.exitCode === null) serve.kill('SIGKILL');
    }
  });

  it.each([
    ['memos on an embedded store', ['test/cli/fixtures/embedded.mjs'], 2, /on an embedded store/],
    ['a module without memos', ['test/cli/fixtures/nothing.mjs'], 2, /exports no memoised function/],
    ['a missing module', ['test/cli/fixtures/missing.mjs'], 2, /cannot find module/],
    ['--only naming a service the module lacks', [MODULE, '--only', 'cli.square,cli.nope'], 4, /no memo of service 'cli\.nope'\. It exports: cli\.bytes, /],
    ['the same, found by a worker', [MODULE, '--only', 'cli.nope', '--workers', '2'], 4, /no memo of service 'cli\.nope'/],
  ])('refuses %s', async (_what, args, exitCode, message) => {
    const { code, stderr } = await runCli(['serve', ...args, '--prefix', 'refused'], { env });
    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
  });
});

describe('--protocol distcl', () => {
  it('calls a DisTcl service: words are strings, the result a string', async () => {
    const server = startNode('test/cli/fixtures/distcl-server.mjs', [], env);
    try {
      await server.waitFor(/^ready$/, 20_000);
      const got = await runCli(['get', 'mand', '--protocol', 'distcl', 'square', '12'], { env });
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe('"144"\n');
      expect((await runCli(['get', 'mand', '--protocol', 'distcl', 'join', '[1]', 'a b', '--raw'], { env })).stdout).toBe('[1]|a b');
      const failed = await runCli(['get', 'mand', '--protocol', 'distcl', 'nope'], { env });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("Don't know how to 'nope'");
      expect((await runCli(['forget', 'mand', '--protocol', 'distcl', 'square', '12'], { env })).code).toBe(0);
      expect((await runCli(['prefetch', 'mand', '--protocol', 'distcl', 'square', '13'], { env })).code).toBe(0);
    } finally {
      server.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('secrets', () => {
  it('no output of any run above contained the password of the Redis URL', () => {
    expect(transcript.length).toBeGreaterThan(30);
    for (const output of transcript) {
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain(encodeURIComponent(PASSWORD));
    }
  });
});
