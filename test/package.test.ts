/**
 * What ships: the built package (dist/), loaded by name through package.json "exports",
 * as ESM (in a plain `node` child process, not through the test runner's resolver) and
 * as CommonJS (Node's own `require`, through `createRequire`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
};

const REACTIVE_EXPORTS = [
  'batch',
  'canonicalKey',
  'cell',
  'CycleError',
  'effect',
  'fromObservable',
  'input',
  'memo',
  'untracked',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an ES module script with a plain `node`, from the package root. */
function runNode(script: string, nodeArgs: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeArgs, '--input-type=module', '-e', script],
      { cwd: root, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function lastJson<T>(run: Run): T {
  if (run.code !== 0) throw new Error(`node exited with ${run.code}:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as T;
}

let dir: string;
let hooksArgs: string[];
let redisRuns: Record<
  'esm' | 'cjs' | 'esmControl' | 'cjsControl' | 'indirectControl',
  Promise<{ detected: boolean; detail: string }>
>;
let esmRun: Promise<Run>;

const ESM_SCRIPT = `
      const main = await import('memocell');
      const reactive = await import('memocell/reactive');
      const x = reactive.input(2);
      const area = main.cell(() => x.get() * 10);
      const first = area.get();
      x.set(3);
      const fib = reactive.memo((n) => (n < 2 ? n : fib(n - 1) + fib(n - 2)));
      console.log(JSON.stringify({
        main: import.meta.resolve('memocell'),
        reactive: import.meta.resolve('memocell/reactive'),
        mainKeys: Object.keys(main).sort(),
        reactiveKeys: Object.keys(reactive).sort(),
        same: main.input === reactive.input && main.cell === reactive.cell,
        values: [first, area.get(), fib(30)],
        key: reactive.canonicalKey([{ b: 2, a: 1 }]),
        cycleIsError: new reactive.CycleError(['a', 'a']) instanceof Error,
      }));
`;

beforeAll(() => {
  if (!existsSync(join(root, 'dist/esm/index.js')) || !existsSync(join(root, 'dist/cjs/index.js'))) {
    throw new Error('dist/ is missing or incomplete: run `npm run build` before the tests');
  }
  // Every child process starts now, in parallel; each test awaits its own.
  esmRun = runNode(ESM_SCRIPT);
  dir = mkdtempSync(join(tmpdir(), 'memocell-pkg-'));
  // ESM: a resolve hook fails any import that resolves into ioredis.
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
       const result = await next(specifier, context);
       if (/[\\\\/]ioredis[\\\\/]/.test(result.url)) throw new Error('REDIS CODE LOADED: ' + result.url);
       return result;
     }\n`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  hooksArgs = ['--import', pathToFileURL(join(dir, 'register.mjs')).href];
  const indirect = join(dir, 'indirect.mjs');
  const req = createRequire(join(root, 'package.json'));
  writeFileSync(
    indirect,
    `import ${JSON.stringify(pathToFileURL(join(root, 'dist/esm/reactive/index.js')).href)};\n` +
      `import ${JSON.stringify(pathToFileURL(req.resolve('ioredis')).href)};\n`,
  );
  redisRuns = {
    esm: loadsRedis(
      "import('memocell/reactive').then((m) => { const c = m.cell(() => 1); c.get(); c.observe().subscribe().unsubscribe(); })",
    ),
    cjs: loadsRedis("Promise.resolve(require('memocell/reactive'))"),
    esmControl: loadsRedis("import('ioredis')"),
    cjsControl: loadsRedis("Promise.resolve(require('ioredis'))"),
    indirectControl: loadsRedis(`import(${JSON.stringify(pathToFileURL(indirect).href)})`),
  };
  // Keep a failed run from being reported as unhandled before its test awaits it.
  for (const run of Object.values(redisRuns)) run.catch(() => {});
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('package.json exports point at files that exist', () => {
  const targets: Array<[string, string, string]> = [];
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    if (typeof entry === 'string') targets.push([subpath, 'default', entry]);
    else for (const [condition, target] of Object.entries(entry)) targets.push([subpath, condition, target]);
  }

  it('has ".", "./reactive" with types/import/require', () => {
    for (const subpath of ['.', './reactive']) {
      expect(Object.keys(pkg.exports[subpath] as object).sort()).toEqual(['import', 'require', 'types']);
    }
  });

  it.each(targets)('%s (%s) -> %s', (_subpath, _condition, target) => {
    expect(existsSync(join(root, target))).toBe(true);
  });

  it('the CommonJS tree is marked as CommonJS', () => {
    expect(JSON.parse(readFileSync(join(root, 'dist/cjs/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it('the bin is an executable with a node shebang', () => {
    const bin = join(root, pkg.bin.memocell as string);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
  });
});

describe('ESM: import by package name (self-reference through "exports")', () => {
  it("import('memocell') and import('memocell/reactive') resolve to dist/esm and share one implementation", async () => {
    const run = await esmRun;
    const out = lastJson<{
      main: string;
      reactive: string;
      mainKeys: string[];
      reactiveKeys: string[];
      same: boolean;
      values: number[];
      key: string;
      cycleIsError: boolean;
    }>(run);
    expect(out.main).toBe(pathToFileURL(join(root, 'dist/esm/index.js')).href);
    expect(out.reactive).toBe(pathToFileURL(join(root, 'dist/esm/reactive/index.js')).href);
    for (const name of REACTIVE_EXPORTS) {
      expect(out.reactiveKeys).toContain(name);
      expect(out.mainKeys).toContain(name);
    }
    expect(out.same).toBe(true);
    expect(out.values).toEqual([20, 30, 832040]);
    expect(out.key).toBe('[{"a":1,"b":2}]');
    expect(out.cycleIsError).toBe(true);
  });
});

describe('CommonJS: require by package name', () => {
  const require = createRequire(import.meta.url);

  it("require.resolve('memocell/reactive') is the CJS build", () => {
    expect(require.resolve('memocell/reactive')).toBe(join(root, 'dist/cjs/reactive/index.js'));
    expect(require.resolve('memocell')).toBe(join(root, 'dist/cjs/index.js'));
  });

  it("require('memocell/reactive') exports the reactive API, and it works", () => {
    const reactive = require('memocell/reactive') as Record<string, unknown>;
    for (const name of REACTIVE_EXPORTS) expect(typeof reactive[name]).toBe('function');
    const { input, cell, effect, batch, memo, CycleError } = reactive as unknown as typeof import('../src/reactive/index.js');
    const x = input(1);
    const doubled = cell(() => x.get() * 2);
    const seen: number[] = [];
    const stop = effect(() => {
      seen.push(doubled.get());
    });
    batch(() => {
      x.set(2);
      x.set(3);
    });
    stop();
    expect(seen).toEqual([2, 6]);
    const sq = memo((n: number) => n * n);
    expect(sq(12)).toBe(144);
    const self: { get(): number } = cell((): number => self.get());
    expect(() => self.get()).toThrow(CycleError);
  });

  it("require('memocell') exports the reactive API too", () => {
    const main = require('memocell') as Record<string, unknown>;
    for (const name of REACTIVE_EXPORTS) expect(typeof main[name]).toBe('function');
  });
});

/**
 * Runs `load` (an async expression), then reports whether any ioredis module was loaded:
 * through ESM (the resolve hook throws) or CommonJS (a path in require.cache).
 */
async function loadsRedis(load: string): Promise<{ detected: boolean; detail: string }> {
  const run = await runNode(
    `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    await (${load});
    const loaded = Object.keys(require.cache).filter((path) => /[\\\\/]ioredis[\\\\/]/.test(path));
    console.log(JSON.stringify({ loaded, cached: Object.keys(require.cache).length }));
  `,
    hooksArgs,
  );
  if (run.code !== 0) {
    if (run.stderr.includes('REDIS CODE LOADED')) return { detected: true, detail: 'esm hook' };
    throw new Error(`node exited with ${run.code}:\n${run.stderr}`);
  }
  const { loaded, cached } = lastJson<{ loaded: string[]; cached: number }>(run);
  return { detected: loaded.length > 0, detail: `require.cache: ${loaded.length} of ${cached}` };
}

describe('memocell/reactive loads no Redis code', () => {
  it("import('memocell/reactive') loads no ioredis module", async () => {
    expect(await redisRuns.esm).toEqual({
      detected: false,
      detail: expect.stringMatching(/^require\.cache: 0 of \d+$/) as unknown,
    });
  });

  it("require('memocell/reactive') loads no ioredis module", async () => {
    expect((await redisRuns.cjs).detected).toBe(false);
  });

  it('control: the check catches an ESM import of ioredis', async () => {
    // caught by the resolve hook, so the ESM path of the check works on its own
    expect(await redisRuns.esmControl).toEqual({ detected: true, detail: 'esm hook' });
  });

  it('control: the check catches a require of ioredis', async () => {
    const result = await redisRuns.cjsControl;
    expect(result.detected).toBe(true);
    expect(result.detail).toMatch(/^require\.cache: [1-9]/);
  });

  it('control: the check catches ioredis imported next to memocell/reactive by another module', async () => {
    expect((await redisRuns.indirectControl).detected).toBe(true);
  });
});
