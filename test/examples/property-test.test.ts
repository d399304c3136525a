/**
 * examples/property-test.mjs: checkReferentialTransparency passes pure memos (local and
 * store) and catches an impure one with a shrunk counter-example.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExample } from '../support/examples.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** The whole output, given where the store memo ran. */
function expectedOutput(where: string): string {
  return [
    'cost(n) = n * rate, rate an input():',
    '  passed: referentially transparent',
    `gross(net) = net plus vat %, a store memo on ${where}, vat a store.input():`,
    '  passed: referentially transparent',
    'price(n) = n * 10 - discount, discount a plain variable:',
    '  caught (differs): price(0) returned 0 from the memo, but a fresh evaluation returns -1.',
    '  shrunk counter-example:',
    '    1. price(0) → 0',
    '    2. set discount = 1',
    '    3. price(0) → memoised 0, fresh -1   ✗',
    '',
    'As expected: the pure memos pass, the impure one is caught.',
    '',
  ].join('\n');
}

describe('examples/property-test.mjs', () => {
  it('with REDIS_URL: the pure memos pass, the impure one is caught with its shrunk counter-example', async () => {
    const run = await runExample('property-test', { env: { REDIS_URL: redis.url } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe(expectedOutput('REDIS_URL'));
    expect(run.leftovers).toEqual([]);
  });

  it('with no Redis at all: the store memo is checked on the embedded store, with the same outcome', async () => {
    const run = await runExample('property-test', { unset: ['REDIS_URL'], barePath: true });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe(expectedOutput('the embedded store (no Redis here)'));
    expect(run.leftovers).toEqual([]);
  });
});
