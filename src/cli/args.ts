/**
 * Command-line parsing: each command declares its options and positionals, and gets
 * them checked (an unknown option or a malformed number is a usage error, exit 2) and
 * its `--help` text from the same declaration.
 */
import { CliError, EXIT_CODES_HELP, ExitCode } from './exit-codes.js';

export interface OptionSpec {
  /** The long name, without `--`. */
  readonly name: string;
  /** `boolean` takes no value; `integer` takes a whole number >= `min`. */
  readonly type: 'string' | 'boolean' | 'integer';
  /** What the value is called in the help (`MS`, `URL`, ...). */
  readonly value?: string;
  readonly description: string;
  /** May be given more than once (and, for strings, as a comma-separated list); say so in `description`. */
  readonly multiple?: boolean;
  /** Smallest accepted integer. Default: 1. */
  readonly min?: number;
}

export interface CommandSpec {
  readonly name: string;
  /** The usage line after `memocell `, e.g. `get NAME [ARG...]`. */
  readonly usage: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** A paragraph or two for `--help`. */
  readonly description: string;
  /** How many positionals are allowed, and their names for messages (the first `min` are required). */
  readonly positionals: { readonly names: readonly string[]; readonly min: number; readonly max: number };
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
}

/** What the parser found on the command line. */
export interface Parsed {
  readonly positionals: readonly string[];
  /** `--help` or `-h` was given: nothing else was checked. */
  readonly help: boolean;
  string(name: string): string | undefined;
  strings(name: string): string[];
  integer(name: string): number | undefined;
  flag(name: string): boolean;
}

/** A negative number is an argument (`memocell get add -1 2`), not an option. */
const NUMBER = /^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses the words after the command name. Options may come before or after the
 * positionals; `--` ends the options; `--name=value` and `--name value` both work.
 *
 * @example
 * ```ts
 * const parsed = parseArgs(getSpec, ['square', '12', '--timeout', '500']);
 * parsed.positionals; // ['square', '12']
 * parsed.integer('timeout'); // 500
 * ```
 */
export function parseArgs(spec: CommandSpec, tokens: readonly string[]): Parsed {
  const end = tokens.indexOf('--');
  const optionPart = end < 0 ? tokens : tokens.slice(0, end);
  if (optionPart.includes('--help') || optionPart.includes('-h')) return parsedOf([], new Map(), true);

  const values = new Map<string, Array<string | number | boolean>>();
  const positionals: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token === '--') {
      positionals.push(...tokens.slice(i + 1));
      break;
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      const inline = eq < 0 ? undefined : token.slice(eq + 1);
      const option = spec.options.find((o) => o.name === name);
      if (option === undefined) throw usage(spec, `unknown option '--${name}'`);
      let list = values.get(name);
      if (list === undefined) values.set(name, (list = []));
      if (list.length > 0 && option.multiple !== true) throw usage(spec, `--${name} given twice`);
      if (option.type === 'boolean') {
        if (inline !== undefined) throw usage(spec, `--${name} takes no value`);
        list.push(true);
        continue;
      }
      const raw = inline ?? tokens[++i];
      if (raw === undefined || (inline === undefined && raw === '--')) {
        throw usage(spec, `--${name} needs a value (${option.value ?? 'VALUE'})`);
      }
      if (option.type === 'integer') list.push(integerOf(spec, option, raw));
      else if (option.multiple === true) list.push(...raw.split(',').map((s) => s.trim()).filter((s) => s !== ''));
      else list.push(raw);
      continue;
    }
    if (token.startsWith('-') && token.length > 1 && !NUMBER.test(token)) {
      throw usage(spec, `unknown option '${token}' (an argument that starts with '-' goes after '--')`);
    }
    positionals.push(token);
  }

  const { names, min, max } = spec.positionals;
  if (positionals.length < min) throw usage(spec, `missing ${names[positionals.length] ?? 'argument'}`);
  if (positionals.length > max) throw usage(spec, `unexpected argument '${positionals[max] as string}'`);
  return parsedOf(positionals, values, false);
}

function integerOf(spec: CommandSpec, option: OptionSpec, raw: string): number {
  const min = option.min ?? 1;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw usage(spec, `--${option.name} expects a whole number >= ${min}, got '${raw}'`);
  }
  return value;
}

function parsedOf(positionals: string[], values: Map<string, Array<string | number | boolean>>, help: boolean): Parsed {
  return {
    positionals,
    help,
    string: (name) => values.get(name)?.[0] as string | undefined,
    strings: (name) => (values.get(name) ?? []) as string[],
    integer: (name) => values.get(name)?.[0] as number | undefined,
    flag: (name) => values.get(name)?.[0] === true,
  };
}

/** A usage error of a command, pointing at its help. */
export function usage(spec: CommandSpec, message: string): CliError {
  return new CliError(ExitCode.Usage, `${spec.name}: ${message}. See 'memocell ${spec.name} --help'.`);
}

/**
 * The `--help` text of a command, made from its declaration.
 *
 * @example
 * ```ts
 * process.stdout.write(helpOf(getSpec));
 * ```
 */
export function helpOf(spec: CommandSpec): string {
  const rows = spec.options.map((o) => {
    const left = `--${o.name}${o.type === 'boolean' ? '' : ` ${o.value ?? 'VALUE'}`}`;
    return [left, o.description] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const options = rows.map(([left, text]) => `  ${left.padEnd(width)}${indent(text, width + 2)}`).join('\n');
  return [
    `Usage: memocell ${spec.usage}`,
    '',
    spec.description.trim(),
    '',
    'Options:',
    options,
    '',
    EXIT_CODES_HELP,
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** Continues a long help text on lines indented to its column. */
function indent(text: string, column: number): string {
  return text.split('\n').join(`\n${' '.repeat(column)}`);
}
