import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTarget, redactUrl } from '../../src/log/index.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

describe('redactUrl', () => {
  it('hides passwords, and a lone user name that may be a token', () => {
    expect(redactUrl('redis://app:s3cret@db:6379/0')).toBe('redis://app:***@db:6379/0');
    expect(redactUrl('rediss://:s3cret@db:6380')).toBe('rediss://:***@db:6380');
    expect(redactUrl('redis://tok3n@db:6379')).toBe('redis://***@db:6379');
    expect(redactUrl('redis://db:6379')).toBe('redis://db:6379');
  });

  it('cuts credentials out of text that no URL parser accepts', () => {
    expect(redactUrl('redis://us er:pa ss@host')).not.toContain('pa ss');
  });

  it('describes option objects by host and port only', () => {
    expect(describeTarget({ host: 'db', port: 6380, password: 'pw' })).toBe('db:6380');
    expect(describeTarget('redis://:pw@127.0.0.1:1')).toBe('redis://:***@127.0.0.1:1');
  });
});

describe('DEBUG=memocell:* logging', () => {
  const password = 'not-for-logs-4711';
  let redis: RedisServerHandle;
  beforeAll(async () => {
    redis = await startRedis({ password });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const run = (debug: string | undefined) => {
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url, DEBUG_COLORS: '0' };
    if (debug === undefined) delete env.DEBUG;
    else env.DEBUG = debug;
    const result = spawnSync(process.execPath, ['test/log/fixtures/logged.mjs'], { env, encoding: 'utf8', timeout: 20_000 });
    expect(result.stdout, result.stderr).toBe('done\n');
    return result.stderr;
  };

  it('logs connections, servers, clients and invalidations, and never the password', () => {
    const stderr = run('memocell:*');
    expect(stderr).toMatch(/memocell:connection main connection to redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? ?: ready/);
    expect(stderr).toMatch(/memocell:server log\.square \[[^\]]+\] serving with concurrency 1/);
    expect(stderr).toMatch(/memocell:server log\.square \[[^\]]+\] computing \[7\]/);
    expect(stderr).toMatch(/memocell:server log\.square \[[^\]]+\] stopped/);
    expect(stderr).toMatch(/memocell:client log\.square \[7\]: miss, waiting for a server/);
    expect(stderr).toMatch(/memocell:client log\.nobody \[1\]: no result within 200 ms/);
    expect(stderr).toMatch(/memocell:invalidate log\.square: forgot 1 result\(s\)/);
    expect(stderr).toMatch(/memocell:invalidate log\.square \[7\]: dropping the local copy/);
    expect(stderr).not.toContain(password);
  });

  it('picks namespaces as DEBUG names them', () => {
    const stderr = run('memocell:client');
    expect(stderr).toContain('memocell:client');
    expect(stderr).not.toContain('memocell:server');
    expect(stderr).not.toContain('memocell:connection');
  });

  it('prints nothing without DEBUG', () => {
    expect(run(undefined)).toBe('');
  });
});
