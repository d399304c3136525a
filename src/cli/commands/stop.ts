/** `memocell stop SERVER_ID`: tells a server, in any process on any machine, to stop gracefully. */
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { findServer } from '../lookup.js';
import { print } from '../output.js';
import { openStore, redisSettings, REDIS_OPTIONS } from '../redis.js';

const spec: CommandSpec = {
  name: 'stop',
  usage: 'stop SERVER_ID [options]',
  summary: 'tell a server to stop gracefully (it finishes its in-flight work first)',
  description: `Tells the live server SERVER_ID (see 'memocell servers') to stop: it finishes
the requests it is computing and takes no more. Its service is found by
looking through the registries of every known service, unless --service
names it. An id no live server has is exit 4.

A 'memocell serve' process whose servers have all stopped exits (status 0).
With --wait, returns only once the server has left the registry (exit 5 if
that takes longer than --timeout).`,
  positionals: { names: ['SERVER_ID'], min: 1, max: 1 },
  options: [
    { name: 'service', type: 'string', value: 'NAME', description: 'the service of the server (default: looked up)' },
    { name: 'wait', type: 'boolean', description: 'wait until the server has stopped' },
    { name: 'timeout', type: 'integer', value: 'MS', description: 'with --wait: give up after MS ms, exit 5 (default: 30000)' },
    ...REDIS_OPTIONS,
  ],
  examples: ['memocell stop myhost-4242-1a2b3c4d', 'memocell stop myhost-4242-1a2b3c4d --service square --wait'],
};

const POLL_MS = 100;

export const stop: Command = {
  spec,
  async run(parsed) {
    const id = parsed.positionals[0] as string;
    const open = await openStore(redisSettings(spec, parsed));
    try {
      const server = await findServer(open, id, parsed.string('service'));
      await open.store.stopServer(server.service, id);
      print(`asked server ${id} of ${server.service} (pid ${server.pid} on ${server.host}) to stop\n`);
      if (!parsed.flag('wait')) return ExitCode.Ok;
      const timeoutMs = parsed.integer('timeout') ?? 30_000;
      const deadline = performance.now() + timeoutMs;
      while ((await open.store.servers(server.service)).some((s) => s.id === id)) {
        if (performance.now() >= deadline) {
          throw new CliError(ExitCode.Timeout, `server ${id} of ${server.service} has not stopped within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      print(`server ${id} of ${server.service} stopped\n`);
      return ExitCode.Ok;
    } finally {
      await open.close();
    }
  },
};
