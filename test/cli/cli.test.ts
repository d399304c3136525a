/**
 * The `memocell` command without servers: help for every command, usage errors (exit
 * 2), an unreachable Redis (exit 3) and refused credentials, unknown services and
 * server ids (exit 4), and no password in any output.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFreePort, releasePort } from '../support/ports.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';
import { runCli, transcript } from './run-cli.js';

const PASSWORD = 'pw-Secret/42';
const COMMANDS = ['serve', 'get', 'prefetch', 'forget', 'servers', 'stop', 'stats', 'top'];

let redis: RedisServerHandle;
/** The environment of every run: our private Redis, and no prefix from outside. */
let env: Record<string, string>;

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  env = { REDIS_URL: redis.url, MEMOCELL_PREFIX: '' };
});
afterAll(async () => {
  await redis?.stop();
});

describe('memocell --help', () => {
  it('the command list and the exit codes, exit 0', async () => {
    for (const args of [['--help'], ['-h'], []]) {
      const { code, stdout } = await runCli(args, { env });
      expect(code).toBe(0);
      expect(stdout).toContain('Usage: memocell <command>');
      for (const name of COMMANDS) expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      expect(stdout).toMatch(/Exit codes:[\s\S]*3 {2}Redis unreachable/);
    }
  });

  it.each(COMMANDS)('memocell %s --help shows its usage, options and exit codes, exit 0', async (name) => {
    for (const args of [[name, '--help'], [name, '-h'], ['help', name]]) {
      const { code, stdout, stderr } = await runCli(args, { env });
      expect(code, stderr).toBe(0);
      expect(stdout).toContain(`Usage: memocell ${name}`);
      expect(stdout).toContain('--redis URL');
      expect(stdout).toContain('Exit codes:');
      expect(stdout).toContain('Examples:');
    }
  });

  it('--help wins over anything else on the line', async () => {
    const { code, stdout } = await runCli(['get', '--timeout', 'soon', '--help'], { env });
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: memocell get');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const { code, stdout } = await runCli(['--version'], { env });
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });
});

describe('usage errors exit 2 with a message naming the problem', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['an unknown option', ['get', 'cli.square', '--bogus'], /unknown option '--bogus'/],
    ['a non-numeric --concurrency', ['serve', 'x.mjs', '--concurrency', 'abc'], /--concurrency expects a whole number >= 1, got 'abc'/],
    ['a zero --timeout', ['get', 'cli.square', '1', '--timeout', '0'], /--timeout expects a whole number >= 1/],
    ['an option without its value', ['get', 'cli.square', '--timeout'], /--timeout needs a value/],
    ['a missing NAME', ['get'], /missing NAME/],
    ['a missing MODULE', ['serve'], /missing MODULE/],
    ['an extra argument', ['stop', 'a', 'b'], /unexpected argument 'b'/],
    ['an unknown --protocol', ['get', 'x', '--protocol', 'http'], /--protocol must be memocell or distcl/],
    ['a --redis that is not a Redis URL', ['stats', '--redis', 'http://u:pw-Secret%2F42@host'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
    ['a --redis that is not a URL at all', ['stats', '--redis', 'pw-Secret/42'], /--redis is not a URL/],
    ['a bad --prefix', ['stats', '--prefix', 'a{b}'], /prefix must be/],
    ['an option that starts with one dash', ['get', 'x', '-q'], /unknown option '-q'.*after '--'/],
  ];
  it.each(cases)('%s', async (_what, args, message) => {
    const { code, stderr, stdout } = await runCli(args, { env });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });
});

describe('an unreachable Redis exits 3, quickly and without the password', () => {
  let port: number;
  beforeAll(async () => {
    port = await getFreePort(); // nothing listens there
  });
  afterAll(() => releasePort(port));

  it.each([
    ['get', ['get', 'cli.square', '12']],
    ['stats', ['stats']],
    ['serve', ['serve', 'test/cli/fixtures/services.mjs']],
  ])('%s', async (_name, args) => {
    const url = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
    const { code, stdout, stderr } = await runCli([...args, '--redis', url, '--connect-timeout', '1000'], { env });
    expect(code).toBe(3);
    expect(stderr).toContain(`cannot reach Redis at 127.0.0.1:${port}`);
    expect(stdout + stderr).not.toContain(PASSWORD);
    expect(stdout + stderr).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('REDIS_URL is used when --redis is not given', async () => {
    const { code, stderr } = await runCli(['servers'], { env: { ...env, REDIS_URL: `redis://127.0.0.1:${port}` } });
    expect(code).toBe(3);
    expect(stderr).toContain(`cannot reach Redis at 127.0.0.1:${port}`);
  });

  it('a wrong password is refused with exit 3, and neither password is printed', async () => {
    const { code, stderr } = await runCli(['stats', '--redis', `redis://:${encodeURIComponent(`not-${PASSWORD}`)}@127.0.0.1:${redis.port}`], { env });
    expect(code).toBe(3);
    expect(stderr).toMatch(/cannot reach Redis at 127\.0\.0\.1:\d+: WRONGPASS/);
    expect(stderr).not.toContain('not-pw');
  });
});

describe('unknown names exit 4', () => {
  it('a get, prefetch or forget of a service nobody serves fails at once, listing the known ones', async () => {
    for (const command of ['get', 'prefetch', 'forget']) {
      const { code, stderr } = await runCli([command, 'no.such.service', '1'], { env });
      expect(code, stderr).toBe(4);
      expect(stderr).toContain("unknown service 'no.such.service'");
      expect(stderr).toContain("No service is known under prefix 'memocell'");
    }
  });

  it('stats and servers of an unknown service', async () => {
    for (const command of ['stats', 'servers']) {
      const { code, stderr } = await runCli([command, 'no.such.service'], { env });
      expect(code).toBe(4);
      expect(stderr).toContain("unknown service 'no.such.service'");
    }
  });

  it('stop of a server id no live server has', async () => {
    const { code, stderr } = await runCli(['stop', 'no-such-server'], { env });
    expect(code).toBe(4);
    expect(stderr).toContain("no live server 'no-such-server'");
  });

  it('forget --force forgets even an unknown service', async () => {
    const { code, stdout } = await runCli(['forget', 'no.such.service', '1', '--force'], { env });
    expect(code).toBe(0);
    expect(stdout).toBe('');
  });

  it('with no service at all, listings say so and exit 0', async () => {
    const stats = await runCli(['stats', '--prefix', 'empty'], { env });
    expect(stats.code).toBe(0);
    expect(stats.stdout).toBe("no services under prefix 'empty'\n");
    const json = await runCli(['stats', '--json', '--prefix', 'empty'], { env });
    expect(JSON.parse(json.stdout)).toEqual([]);
    const servers = await runCli(['servers', '--prefix', 'empty'], { env });
    expect(servers.stdout).toBe("no live servers under prefix 'empty'\n");
  });
});

describe('secrets', () => {
  it('no output of any run above contained the password', () => {
    expect(transcript.length).toBeGreaterThan(20);
    for (const output of transcript) {
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain(encodeURIComponent(PASSWORD));
    }
  });
});
