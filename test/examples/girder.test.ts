/**
 * examples/girder.mjs: a recursive DAG computed by two worker processes, each node once,
 * and an error deep in it surfacing with its chain of requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canFindLeftovers, MISSING_PREREQUISITE, runExample, type ExampleRun } from '../support/examples.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedis();
  if (!canFindLeftovers) console.warn('No /proc here: the examples tests cannot check for leftover processes.');
});
afterAll(async () => {
  await redis?.stop();
});

/** What every successful run prints, whichever Redis it used. */
function expectTheDag(run: ExampleRun): void {
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const lines = run.stdout.split('\n');
  expect(lines).toContain('paths(10, 10) = 184756');
  expect(lines).toContain('nodes: 120, computations: 120 (a plain recursion would make 369511 calls)');
  expect(lines).toContain('every node was computed once');
  // Both workers took part; together they computed each of the 120 nodes once.
  const perWorker = /^computed per worker: w1 (\d+), w2 (\d+)$/.exec(lines.find((l) => l.startsWith('computed per worker')) ?? '');
  expect(perWorker, run.stdout).not.toBeNull();
  const [w1, w2] = [Number(perWorker?.[1]), Number(perWorker?.[2])];
  expect(w1 + w2).toBe(120);
  expect(w1).toBeGreaterThan(0);
  expect(w2).toBeGreaterThan(0);
  // Re-entrancy: while paths(0,1) computes, the 19 bodies on a chain from paths(10,10)
  // down to paths(1,1) wait for their dependencies, so 20 are in progress at once on 4
  // slots, and the two workers' peaks add up to at least that.
  const peaks = /^most bodies in progress at once: w1 (\d+), w2 (\d+) \(2 slots each: a body waiting for a result lends its slot\)$/m.exec(
    run.stdout,
  );
  expect(peaks, run.stdout).not.toBeNull();
  expect(Number(peaks?.[1]) + Number(peaks?.[2])).toBeGreaterThanOrEqual(20);
  // The error from the damaged cell, with the chain the first failing dependency takes.
  expect(lines).toContain('  RemoteError: Error: cell (1,2) is damaged');
  expect(lines).toContain('  chain: paths(4,4) -> paths(3,4) -> paths(2,4) -> paths(1,4) -> paths(1,3) -> paths(1,2)');
  expect(run.leftovers).toEqual([]);
}

describe('examples/girder.mjs', () => {
  it('with REDIS_URL: two workers compute the 120-node DAG, each node once, and the error chain is printed', async () => {
    const run = await runExample('girder', { env: { REDIS_URL: redis.url } });
    expect(run.stdout).toMatch(/^Workers w1 and w2 \(REDIS_URL\), 2 slots each: 4 slots for a recursion 20 levels deep\.$/m);
    expectTheDag(run);
  });

  it('without REDIS_URL: the same on a private redis-server it starts and stops', async () => {
    const run = await runExample('girder', { unset: ['REDIS_URL'] });
    expect(run.stdout).toMatch(/^Workers w1 and w2 \(a private redis-server\)/m);
    expectTheDag(run);
  });

  it('with no Redis at all: says that it needs one and exits with code 3', async () => {
    const run = await runExample('girder', { unset: ['REDIS_URL'], barePath: true });
    expect(run.code).toBe(MISSING_PREREQUISITE);
    expect(run.stdout).toBe(
      'This example needs a Redis (its workers are separate processes), which is missing here: ' +
        'set REDIS_URL, or install redis-server (apt-get install -y redis-server).\n',
    );
    expect(run.leftovers).toEqual([]);
  });
});
