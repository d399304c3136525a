// Builds the ESM and CommonJS trees from one source. The CJS tree gets its own
// package.json so Node reads its .js files as CommonJS despite "type": "module".
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['scripts/gen-lua.mjs'], { stdio: 'inherit' });
// The CLI is ESM only (it is a bin, never required), so the CJS project leaves it out.
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  } catch {
    console.error(`build: tsc -p ${project} failed (errors above)`);
    process.exit(1);
  }
}
mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
if (existsSync('dist/esm/cli/main.js')) chmodSync('dist/esm/cli/main.js', 0o755);
