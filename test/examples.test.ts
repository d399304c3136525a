import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Examples import the built package (`memocell`), as a user would.
function runExample(file: string): string {
  if (!existsSync('dist/esm/index.js')) throw new Error('dist/ is missing: run `npm run build` before the tests');
  return execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
}

describe('examples', () => {
  it('spreadsheet: recomputes only what a change reaches', () => {
    const out = runExample('examples/spreadsheet.mjs');
    const steps = out.split('\n\n');
    const recomputedIn = (title: string) => {
      const step = steps.find((s) => s.startsWith(title));
      expect(step, `step "${title}" in output:\n${out}`).toBeDefined();
      return /recomputed: (.*)/.exec(step as string)?.[1];
    };
    expect(recomputedIn('gadgets qty 3 -> 4')?.split(', ').sort()).toEqual(
      ['D2', 'SUM(D)', 'SUM(C)', 'subtotal', 'tax', 'total', 'band'].sort(),
    );
    expect(recomputedIn('gadgets qty set to 4 again')).toBe('nothing');
    expect(recomputedIn('tax rate set to the same')).toBe('nothing');
    expect(recomputedIn('tax rate 20% -> 10%')?.split(', ').sort()).toEqual(['band', 'tax', 'total']);
    // The effect runs at creation and once when the band changes, never for other changes.
    expect(out.match(/\[effect\]/g)).toHaveLength(2);
    expect(out).toContain('total 307.20 (large order)');
    expect(out).toContain('total 281.60 (large order)');
  });
});
