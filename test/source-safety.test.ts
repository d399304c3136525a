/**
 * What the shipped code must never do, checked on its source: evaluate text as code.
 * Request arguments, results and messages come from Redis, which other tools (and
 * attackers who reach it) can write; none of it may ever become code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return filesUnder(file, pattern);
    return pattern.test(name) && !name.endsWith('.generated.ts') ? [file] : [];
  });
}

/** The source without comments, so a comment that mentions eval does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

describe('source safety', () => {
  const sources = filesUnder('src', /\.ts$/);

  it('finds the sources it checks', () => {
    expect(sources.length).toBeGreaterThan(30);
  });

  it('no eval, new Function, or string timers anywhere in src/', () => {
    const offenders: string[] = [];
    for (const file of sources) {
      const text = code(readFileSync(file, 'utf8'));
      if (/\beval\s*\(/.test(text)) offenders.push(`${file}: eval(`);
      if (/\bnew\s+Function\s*\(/.test(text) || /[^.\w]Function\s*\(/.test(text)) offenders.push(`${file}: Function(`);
      if (/\bset(Timeout|Interval|Immediate)\s*\(\s*['"`]/.test(text)) offenders.push(`${file}: string timer`);
      if (/\bvm\.(runIn|compile)|from 'node:vm'/.test(text)) offenders.push(`${file}: node:vm`);
    }
    expect(offenders).toEqual([]);
  });

  it('no Lua script evaluates text as code (loadstring, load, dofile)', () => {
    const scripts = filesUnder('src/distributed/lua', /\.lua$/);
    expect(scripts.length).toBeGreaterThan(5);
    for (const file of scripts) {
      const text = readFileSync(file, 'utf8').replace(/--.*$/gm, '');
      expect(text, file).not.toMatch(/\b(loadstring|load|dofile|loadfile)\s*\(/);
    }
  });

  it('the check itself catches what it looks for', () => {
    expect(/\beval\s*\(/.test(code('const x = eval("1")'))).toBe(true);
    expect(/\beval\s*\(/.test(code('// eval(x) in a comment'))).toBe(false);
    expect(/\bnew\s+Function\s*\(/.test(code('new Function("return 1")'))).toBe(true);
  });
});
