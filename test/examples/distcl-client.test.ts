/**
 * examples/distcl-client.mjs: memocell calling DisTcl's own Tcl server (tclsh running
 * serve.tcl from DISTCL_DIR). Skips, saying why, when tclsh or DisTcl's code is missing;
 * that the example itself says what is missing is tested either way.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING_PREREQUISITE, runExample } from '../support/examples.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

// The example's default, relative to the repository root (the tests' working directory).
const distclDir = path.resolve(process.env.DISTCL_DIR ?? '../shared/peers/distcl');
const hasTclsh = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v tclsh'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
})();
const missing = !hasTclsh
  ? 'tclsh is not installed (apt-get install -y tcl)'
  : !existsSync(path.join(distclDir, 'serve.tcl'))
    ? `DisTcl's code is not at ${distclDir} (set DISTCL_DIR to the folder holding distcl.tcl and serve.tcl)`
    : undefined;
if (missing !== undefined) console.warn(`examples/distcl-client.mjs against a Tcl server: SKIPPED, ${missing}`);

let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('examples/distcl-client.mjs', () => {
  it.skipIf(missing !== undefined)('calls the Tcl server: values, Tcl quoting, a Tcl error, the cache, forget', async () => {
    const run = await runExample('distcl-client', { env: { REDIS_URL: redis.url, DISTCL_DIR: distclDir } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.replace(/tclsh [\d.]+, serve\.tcl from DISTCL_DIR, pid \d+/, 'tclsh V, serve.tcl from DISTCL_DIR, pid N')).toBe(
      [
        "A DisTcl server (tclsh V, serve.tcl from DISTCL_DIR, pid N) serves 'mand'.",
        'memocell calls it:',
        "  square 12                -> '144'",
        "  repeat 3 ab              -> 'ababab'",
        "  echo 'a b' '{x' 'naïve'  -> '{a b} \\{x naïve'",
        "  fizz                     -> RemoteError TclError: Don't know how to 'fizz'",
        "The Tcl server is stopped now. It kept square 12 for 600 s, in DisTcl's cache:",
        "  square 12                -> '144'",
        "After mand.forget('square', 12), nothing answers it: a DisTcl get waits for a server.",
        '  square 12                -> TimeoutError after 1000 ms',
        '',
      ].join('\n'),
    );
    expect(run.leftovers).toEqual([]);
  });

  it("says that DisTcl's code is missing, and exits with code 3, when DISTCL_DIR holds none", async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'memocell-no-distcl-'));
    try {
      const run = await runExample('distcl-client', { env: { REDIS_URL: redis.url, DISTCL_DIR: empty } });
      expect(run.code).toBe(MISSING_PREREQUISITE);
      expect(run.stdout).toBe(
        hasTclsh
          ? `This example needs DisTcl's code (distcl.tcl), which is missing here: it is not in ${empty}: ` +
              "set DISTCL_DIR to the folder holding DisTcl's Tcl files.\n"
          : 'This example needs tclsh, which is missing here: install Tcl 8.6 (apt-get install -y tcl).\n',
      );
      expect(run.leftovers).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('says that tclsh is missing, and exits with code 3, when there is none', async () => {
    const run = await runExample('distcl-client', { env: { REDIS_URL: redis.url }, barePath: true });
    expect(run.code).toBe(MISSING_PREREQUISITE);
    expect(run.stdout).toBe('This example needs tclsh, which is missing here: install Tcl 8.6 (apt-get install -y tcl).\n');
    expect(run.leftovers).toEqual([]);
  });
});
