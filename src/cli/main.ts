#!/usr/bin/env node
/**
 * The `memocell` command. Its subcommands (serve, get, prefetch, forget, servers,
 * stats, top) are not written yet; this version answers --help and --version and says
 * so for anything else.
 */
import { readFileSync } from 'node:fs';

const USAGE = `Usage: memocell <command> [options]

Subcommands are not written yet (planned: serve, get, prefetch, forget,
servers, stop, stats, top). Use the library: see README.md.

Options:
  --help      show this help
  --version   print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const [command] = process.argv.slice(2);
if (command === undefined || command === '--help' || command === '-h') {
  process.stdout.write(USAGE);
} else if (command === '--version' || command === '-v') {
  process.stdout.write(`${version()}\n`);
} else {
  process.stderr.write(`memocell: unknown command '${command}'. This version has no subcommands yet; see --help.\n`);
  process.exitCode = 2;
}
