/**
 * examples/live-remote.mjs: a result observed in one process is recomputed and re-emitted
 * when another process forgets it, and when it sets a shared input it depends on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING_PREREQUISITE, runExample } from '../support/examples.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('examples/live-remote.mjs', () => {
  it('with REDIS_URL: the observer prints the value recomputed after a forget and after a set in the writer process', async () => {
    const run = await runExample('live-remote', { env: { REDIS_URL: redis.url } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.replace(/\(pid \d+\)/, '(pid N)')).toBe(
      [
        "Observing forecast('Oslo') in this process, which serves it too.",
        '  observed: Oslo: 12°C (edition 1)',
        'Writer process started (pid N).',
        "writer: the station now reads 14°C for Oslo; forecast.forget('Oslo')",
        '  observed: Oslo: 14°C (edition 1)',
        'writer: edition.set(2)',
        '  observed: Oslo: 14°C (edition 2)',
        '',
      ].join('\n'),
    );
    expect(run.leftovers).toEqual([]);
  });

  it('with no Redis at all: says that it needs one and exits with code 3', async () => {
    const run = await runExample('live-remote', { unset: ['REDIS_URL'], barePath: true });
    expect(run.code).toBe(MISSING_PREREQUISITE);
    expect(run.stdout).toBe(
      'This example needs a Redis (the writer is a separate process), which is missing here: ' +
        'set REDIS_URL, or install redis-server (apt-get install -y redis-server).\n',
    );
    expect(run.leftovers).toEqual([]);
  });
});
