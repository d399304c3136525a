/** The CLI's parts that need no process: argument parsing, values in and out, tables, secrets. */
import { describe, expect, it } from 'vitest';
import { parseArgs, type CommandSpec } from '../../src/cli/args.js';
import { CliError } from '../../src/cli/exit-codes.js';
import { addSecret, redact } from '../../src/cli/output.js';
import { redactUrl } from '../../src/cli/redis.js';
import { percent, renderTable, shortDuration } from '../../src/cli/table.js';
import { formatValue, parseArgument } from '../../src/cli/values.js';

const spec: CommandSpec = {
  name: 'demo',
  usage: 'demo NAME [ARG...]',
  summary: '',
  description: '',
  positionals: { names: ['NAME', 'ARG'], min: 1, max: Number.POSITIVE_INFINITY },
  options: [
    { name: 'timeout', type: 'integer', value: 'MS', description: '' },
    { name: 'workers', type: 'integer', value: 'N', min: 0, description: '' },
    { name: 'only', type: 'string', value: 'NAME', multiple: true, description: '' },
    { name: 'raw', type: 'boolean', description: '' },
  ],
  examples: [],
};

function usageError(tokens: string[]): string {
  try {
    parseArgs(spec, tokens);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe(2);
    return (error as Error).message;
  }
  throw new Error(`no usage error for ${tokens.join(' ')}`);
}

describe('parseArgs', () => {
  it('takes options anywhere, in both spellings, and negative numbers as arguments', () => {
    const parsed = parseArgs(spec, ['--timeout=5', 'svc', '-1', '--raw', '-2.5e3', '--only', 'a,b', '--only', 'c', '--workers', '0']);
    expect(parsed.positionals).toEqual(['svc', '-1', '-2.5e3']);
    expect(parsed.integer('timeout')).toBe(5);
    expect(parsed.integer('workers')).toBe(0);
    expect(parsed.strings('only')).toEqual(['a', 'b', 'c']);
    expect(parsed.flag('raw')).toBe(true);
    expect(parsed.flag('missing')).toBe(false);
  });

  it('passes everything after -- as arguments', () => {
    expect(parseArgs(spec, ['svc', '--', '--raw', '-x']).positionals).toEqual(['svc', '--raw', '-x']);
  });

  it('refuses what it does not know, naming it', () => {
    expect(usageError(['svc', '--nope'])).toMatch(/unknown option '--nope'/);
    expect(usageError(['svc', '-x'])).toMatch(/unknown option '-x'/);
    expect(usageError(['svc', '--timeout', '1.5'])).toMatch(/--timeout expects a whole number >= 1, got '1.5'/);
    expect(usageError(['svc', '--timeout', '0'])).toMatch(/>= 1/);
    expect(usageError(['svc', '--timeout', '1', '--timeout', '2'])).toMatch(/given twice/);
    expect(usageError(['svc', '--raw=yes'])).toMatch(/takes no value/);
    expect(usageError(['svc', '--timeout'])).toMatch(/needs a value \(MS\)/);
    expect(usageError([])).toMatch(/missing NAME/);
  });

  it('--help wins over errors', () => {
    expect(parseArgs(spec, ['--nope', '--help']).help).toBe(true);
    expect(parseArgs(spec, ['--', '--help']).help).toBe(false);
  });
});

describe('values', () => {
  it('a shell word is JSON if it parses, else a string', () => {
    expect(['12', '"12"', 'abc', '[1,2]', '{"a":1}', 'true', 'null', '', ' 7 '].map(parseArgument)).toEqual([
      12, '12', 'abc', [1, 2], { a: 1 }, true, null, '', 7,
    ]);
  });

  it('results print as JSON, or raw', () => {
    expect(formatValue('hi', false)).toBe('"hi"\n');
    expect(formatValue('hi', true)).toBe('hi');
    expect(formatValue({ a: [1] }, true)).toBe('{"a":[1]}\n');
    expect(formatValue(undefined, false)).toBe('null\n');
    expect(formatValue(Buffer.from([0, 255]), false)).toBe('{"base64":"AP8="}\n');
    expect(formatValue(new Uint8Array([1, 2]), true)).toEqual(new Uint8Array([1, 2]));
  });
});

describe('secrets', () => {
  it('redactUrl masks the password only', () => {
    expect(redactUrl('redis://user:p%40ss@cache:6380/2')).toBe('redis://user:***@cache:6380/2');
    expect(redactUrl('redis://cache:6380')).toBe('redis://cache:6380');
  });

  it('redact masks a registered secret in its raw and URL-encoded forms', () => {
    addSecret('p@ss/word');
    expect(redact('a p@ss/word b p%40ss%2Fword c')).toBe('a *** b *** c');
  });
});

describe('tables', () => {
  it('pads columns and right-aligns numeric ones', () => {
    expect(renderTable(['NAME', 'N', 'RATIO'], [['a', 1, '50.0%'], ['long-name', 100, '-']])).toBe(
      'NAME         N  RATIO\n' + 'a            1  50.0%\n' + 'long-name  100      -\n',
    );
  });

  it('durations and percentages read short', () => {
    expect([850, 12_000, 303_000, 7_620_000, 273_600_000].map(shortDuration)).toEqual(['850ms', '12s', '5m03s', '2h07m', '3d04h']);
    expect(percent(1, 3)).toBe('33.3%');
    expect(percent(0, 0)).toBe('-');
  });
});
