// Reads a dependency's version from its package.json without importing it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export function versionOf(pkg) {
  try {
    const file = pkg === '.' ? `${root}package.json` : `${root}node_modules/${pkg}/package.json`;
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}
