/**
 * `memocell get|prefetch|forget NAME ARG...`: one call of a service from the shell, as
 * DisTcl's mand_client.tcl did. Arguments are JSON when they parse as JSON, strings
 * otherwise (with `--protocol distcl`, DisTcl words: always strings).
 */
import { RemoteError, describeArgs } from '../../distributed/errors/remote-error.js';
import { TimeoutError } from '../../distributed/errors/timeout-error.js';
import { usage, type CommandSpec, type OptionSpec, type Parsed } from '../args.js';
import type { Command } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { requireKnown, requireServing } from '../lookup.js';
import { print, printBytes, warn } from '../output.js';
import { openStore, redisSettings, REDIS_OPTIONS, type OpenStore } from '../redis.js';
import { formatValue, parseArgument } from '../values.js';

const PROTOCOL: OptionSpec = {
  name: 'protocol',
  type: 'string',
  value: 'P',
  description: "memocell (default), or distcl for a DisTcl service:\nits words are passed as strings, as distcl::get does",
};

const ARGUMENTS_NOTE = `Each ARG is JSON when it parses as JSON (12, 1.5, true, null, "12", [1,2],
{"a":1}), and a string otherwise (abc). Quote JSON strings for the shell: '"12"'.
An argument that starts with '-' and is not a number goes after '--'.`;

const getSpec: CommandSpec = {
  name: 'get',
  usage: 'get NAME [ARG...] [options]',
  summary: 'print the result of a service for these arguments (computed if not cached)',
  description: `Prints the result of service NAME for the arguments, as JSON on one line
(strings quoted, so the output is unambiguous; --raw prints strings and bytes
as they are). The result comes from the cache, else a server computes it.

${ARGUMENTS_NOTE}

If no server is serving NAME and the result is not cached, fails at once (exit
4) instead of waiting, unless --wait is given. A computation that throws is
exit 1, with the service, arguments, message and the chain of calls.`,
  positionals: { names: ['NAME', 'ARG'], min: 1, max: Number.POSITIVE_INFINITY },
  options: [
    { name: 'timeout', type: 'integer', value: 'MS', description: 'give up after MS ms, exit 5 (default: 30000;\nwith --protocol distcl, 10000)' },
    { name: 'wait', type: 'boolean', description: 'wait for a server even if none is serving NAME now' },
    { name: 'raw', type: 'boolean', description: 'print a string or byte result as it is, adding nothing' },
    { name: 'stack', type: 'boolean', description: 'on a remote failure, also print the remote stack' },
    PROTOCOL,
    ...REDIS_OPTIONS,
  ],
  examples: [
    'memocell get square 12',
    `memocell get greet '"Ada"' --raw`,
    `memocell get area '{"w":2,"h":3}' --timeout 5000`,
    'memocell get mand --protocol distcl square 12',
  ],
};

const prefetchSpec: CommandSpec = {
  name: 'prefetch',
  usage: 'prefetch NAME [ARG...] [options]',
  summary: 'queue a computation without waiting for it',
  description: `Asks for the result of service NAME for the arguments to be computed, and
returns at once (nothing is printed). Free servers take it after the gets.

${ARGUMENTS_NOTE}

If no server is serving NAME, fails (exit 4) unless --wait is given, in which
case the request stays queued until a server takes it.`,
  positionals: { names: ['NAME', 'ARG'], min: 1, max: Number.POSITIVE_INFINITY },
  options: [
    { name: 'wait', type: 'boolean', description: 'queue it even if no server is serving NAME now' },
    PROTOCOL,
    ...REDIS_OPTIONS,
  ],
  examples: ['memocell prefetch square 13', 'memocell prefetch mand --protocol distcl slice 0 99'],
};

const forgetSpec: CommandSpec = {
  name: 'forget',
  usage: 'forget NAME [ARG...] [options]',
  summary: 'drop a cached result, and every result computed from it',
  description: `Drops the cached result of service NAME for the arguments, and every result
computed from it (transitively, in every service); every process drops its
local copies. Nothing is printed.

${ARGUMENTS_NOTE}

A NAME no server has ever served is exit 4 (most likely a typo) unless --force.`,
  positionals: { names: ['NAME', 'ARG'], min: 1, max: Number.POSITIVE_INFINITY },
  options: [
    { name: 'force', type: 'boolean', description: 'forget even if NAME is not a known service' },
    PROTOCOL,
    ...REDIS_OPTIONS,
  ],
  examples: ['memocell forget square 12', 'memocell forget mand --protocol distcl square 12'],
};

type Kind = 'get' | 'prefetch' | 'forget';

function protocolOf(spec: CommandSpec, parsed: Parsed): 'memocell' | 'distcl' {
  const protocol = parsed.string('protocol') ?? 'memocell';
  if (protocol !== 'memocell' && protocol !== 'distcl') {
    throw usage(spec, `--protocol must be memocell or distcl, got '${protocol}'`);
  }
  return protocol;
}

function makeCall(kind: Kind, spec: CommandSpec): Command {
  return {
    spec,
    async run(parsed) {
      const [name, ...words] = parsed.positionals as [string, ...string[]];
      const protocol = protocolOf(spec, parsed);
      const settings = redisSettings(spec, parsed);
      const open = await openStore(settings);
      try {
        if (protocol === 'distcl') return await callDistcl(kind, open, name, words, parsed);
        return await callMemocell(kind, open, name, words.map(parseArgument), parsed);
      } catch (error) {
        if (error instanceof TimeoutError) {
          throw new CliError(
            ExitCode.Timeout,
            `no result for ${error.service}${describeArgs(error.args)} within ${error.timeoutMs} ms. ` +
              'Is a server of that service busy or gone? Raise --timeout for long computations.',
          );
        }
        if (!(error instanceof RemoteError)) throw error;
        reportRemoteError(error, parsed.flag('stack'));
        return ExitCode.Failed;
      } finally {
        await open.close();
      }
    },
  };
}

async function callMemocell(kind: Kind, open: OpenStore, name: string, args: unknown[], parsed: Parsed): Promise<ExitCode> {
  const { store } = open;
  if (kind === 'get') {
    if (!parsed.flag('wait')) await requireServing(open, name, args, true);
    const timeoutMs = parsed.integer('timeout');
    const value = await store.get(name, args, timeoutMs === undefined ? undefined : { timeoutMs });
    printResult(value, parsed.flag('raw'));
  } else if (kind === 'prefetch') {
    if (!parsed.flag('wait')) await requireServing(open, name, args, false);
    await store.prefetch(name, args);
  } else {
    if (!parsed.flag('force')) await requireKnown(open, [name]);
    await store.forget(name, args);
  }
  return ExitCode.Ok;
}

async function callDistcl(kind: Kind, open: OpenStore, name: string, words: string[], parsed: Parsed): Promise<ExitCode> {
  // DisTcl keeps no registry of servers: there is nothing to check a name against.
  const timeoutMs = parsed.integer('timeout');
  const remote = open.store.remote(name, { protocol: 'distcl', ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  if (kind === 'get') printResult(await remote(...words), parsed.flag('raw'));
  else if (kind === 'prefetch') await remote.prefetch(...words);
  else await remote.forget(...words);
  return ExitCode.Ok;
}

function printResult(value: unknown, raw: boolean): void {
  const out = formatValue(value, raw);
  if (typeof out === 'string') print(out);
  else printBytes(out);
}

/** Service, arguments, message and chain of a failed computation, on stderr. */
function reportRemoteError(error: RemoteError, withStack: boolean): void {
  warn(`memocell: the computation of ${error.service}${describeArgs(error.args)} failed`);
  warn(`  error: ${error.remoteName}: ${error.remoteMessage}`);
  warn(`  service: ${error.service}`);
  warn(`  arguments: [${describeArgs(error.args).slice(1, -1)}]`);
  if (error.chain.length > 1) {
    warn(`  chain: ${error.chain.map((r) => `${r.service}${describeArgs(r.args)}`).join(' -> ')}`);
  }
  if (withStack && error.remoteStack !== undefined) {
    warn('  remote stack:');
    for (const line of error.remoteStack.split('\n')) warn(`    ${line}`);
  }
}

export const get = makeCall('get', getSpec);
export const prefetch = makeCall('prefetch', prefetchSpec);
export const forget = makeCall('forget', forgetSpec);

