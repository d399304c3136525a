import fc from 'fast-check';
import { it } from 'vitest';
import { connect, input, memo } from '../../src/index.js';
import { checkReferentialTransparency, ReferentialTransparencyError } from '../../src/testing/index.js';
async function histo(make: () => () => Promise<void>, n: number) {
  const hist: Record<number, number> = {};
  for (let seed = 1; seed <= n; seed++) {
    try { await make()(); hist[0] = (hist[0] ?? 0) + 1; }
    catch (e) { const k = (e as ReferentialTransparencyError).steps?.length ?? -1; hist[k] = (hist[k] ?? 0) + 1; if (k < 0) console.log(e); }
  }
  return hist;
}
it('dist', async () => {
  console.log('peek', await histo(() => { const discount = input(0); const price = memo((n: number) => n - discount.peek()); return () => checkReferentialTransparency(price, [fc.nat(9)], { inputs: [{ input: discount, values: fc.nat(9) }] }); }, 300));
  const store = connect();
  let i = 0;
  const t = Date.now();
  console.log('store', await histo(() => { let bonus = 0; const award = store.memo(`a${i++}`, async (n: number) => n + bonus); store.serve(award); return () => checkReferentialTransparency(award, [fc.nat(5)], { numRuns: 100, inputs: [{ input: { name: 'bonus', get: () => bonus, set: (v) => { bonus = v; } }, values: fc.integer({ min: -5, max: 5 }) }] }); }, 200), Date.now() - t);
  console.log('random', await histo(() => { const noisy = memo((n: number) => n + Math.random()); return () => checkReferentialTransparency(noisy, [fc.integer({min:0,max:100})], { numRuns: 50 }); }, 200));
  await store.close();
}, 120000);
