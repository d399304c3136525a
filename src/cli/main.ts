#!/usr/bin/env node
/**
 * The `memocell` command: serve a module's memoised functions, call services from the
 * shell, and watch or stop servers. One module per command under ./commands; this file
 * only picks the command and turns its outcome into an exit code.
 */
import { readFileSync } from 'node:fs';
import { helpOf, parseArgs } from './args.js';
import type { Command } from './command.js';
import { forget, get, prefetch } from './commands/call.js';
import { serve } from './commands/serve.js';
import { servers } from './commands/servers.js';
import { stats } from './commands/stats.js';
import { stop } from './commands/stop.js';
import { top } from './commands/top.js';
import { EXIT_CODES_HELP, ExitCode, exitCodeOf, CliError } from './exit-codes.js';
import { print, warn } from './output.js';

const COMMANDS: readonly Command[] = [serve, get, prefetch, forget, servers, stop, stats, top];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return `Usage: memocell <command> [options]

Memoised services over Redis, from the shell.

Commands:
${COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`).join('\n')}

Every command takes --redis URL (default: $REDIS_URL, else
redis://127.0.0.1:6379), --prefix PREFIX (default: $MEMOCELL_PREFIX, else
memocell), --connect-timeout MS, and --help.

Options:
  -h, --help     show this help ('memocell COMMAND --help' for a command's)
  -v, --version  print the version

${EXIT_CODES_HELP}
`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    print(usage());
    return ExitCode.Ok;
  }
  if (name === '--version' || name === '-v') {
    print(`${version()}\n`);
    return ExitCode.Ok;
  }
  if (name === 'help') {
    const command = COMMANDS.find((c) => c.spec.name === rest[0]);
    print(command === undefined ? usage() : helpOf(command.spec));
    return ExitCode.Ok;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (command === undefined) {
    throw new CliError(ExitCode.Usage, `unknown command '${name}'. Commands: ${COMMANDS.map((c) => c.spec.name).join(', ')}. See 'memocell --help'.`);
  }
  const parsed = parseArgs(command.spec, rest);
  if (parsed.help) {
    print(helpOf(command.spec));
    return ExitCode.Ok;
  }
  return command.run(parsed);
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  code = exitCodeOf(error);
  warn(`memocell: ${error instanceof Error ? error.message : String(error)}`);
}
// Exit once the output is flushed, not when the event loop empties: a served module, or
// a connection being torn down, may hold it open.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
