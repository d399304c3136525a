/**
 * No leaks: what nobody reads or observes any more can be garbage-collected. Runs
 * test/reactive/fixtures/gc-check.mjs in a child `node --expose-gc` against the built
 * package (dist/esm), since the test runner's own process has no `gc()`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/gc-check.mjs', import.meta.url));
const built = fileURLToPath(new URL('../../dist/esm/reactive/index.js', import.meta.url));

let results: Record<string, boolean>;

function runFixture(): Promise<Record<string, boolean>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', fixture],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`gc-check.mjs failed: ${error.message}\n${stderr}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, boolean>);
        } catch {
          reject(new Error(`gc-check.mjs printed no JSON:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

beforeAll(async () => {
  if (!existsSync(built)) {
    throw new Error(`${built} is missing: run \`npm run build\` before the tests`);
  }
  results = await runFixture();
}, 60_000);

describe('garbage collection (node --expose-gc on dist/esm)', () => {
  it('ran every case', () => {
    expect(Object.keys(results).sort()).toEqual(
      [
        'cell read once then dropped',
        'chain of cells dropped',
        'cell observed then unsubscribed',
        'cell still subscribed',
        'memo entry forgotten',
        'memo entry evicted',
        'memo entry with ttlMs evicted',
        'memo entry held',
        'effect dependencies after dispose',
        'effect dependencies while live',
        'async cell settled then dropped',
        'stream input disposed',
        'stream input still subscribed',
      ].sort(),
    );
  });

  it.each([
    'cell read once then dropped',
    'chain of cells dropped',
    'cell observed then unsubscribed',
    'memo entry forgotten',
    'memo entry evicted',
    'effect dependencies after dispose',
    'async cell settled then dropped',
    'stream input disposed',
  ])('collects: %s', (name) => {
    expect(results[name]).toBe(true);
  });

  // Regression: an expiry timer per computation held the entry until the ttl ended (an
  // hour here), after eviction by `max`, so `max` did not bound memory.
  it('collects: memo entry with ttlMs evicted (no expiry timer holds it)', () => {
    expect(results['memo entry with ttlMs evicted']).toBe(true);
  });

  // Negative controls: what is still in use must not be collected (and they show the
  // check above can fail).
  it.each(['cell still subscribed', 'memo entry held', 'effect dependencies while live', 'stream input still subscribed'])(
    'keeps: %s',
    (name) => {
      expect(results[name]).toBe(false);
    },
  );
});
