/** `memocell servers [NAME...]`: the live servers of every service, or of the named ones. */
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { print } from '../output.js';
import { openStore, redisSettings, REDIS_OPTIONS } from '../redis.js';
import { snapshot } from '../snapshot.js';
import { renderTable, shortDuration } from '../table.js';

const spec: CommandSpec = {
  name: 'servers',
  usage: 'servers [NAME...] [options]',
  summary: 'list the live servers of every service (or of the named ones)',
  description: `Lists the live servers of every known service under the prefix, or of the
named services: service, server id, host, pid, concurrency, requests in
flight, requests served, and how long it has been up. A server that died
without stopping drops out within a few seconds (its heartbeat lapses).`,
  positionals: { names: ['NAME'], min: 0, max: Number.POSITIVE_INFINITY },
  options: [{ name: 'json', type: 'boolean', description: 'print a JSON array of server descriptions' }, ...REDIS_OPTIONS],
  examples: ['memocell servers', 'memocell servers square --json'],
};

export const servers: Command = {
  spec,
  async run(parsed) {
    const open = await openStore(redisSettings(spec, parsed));
    try {
      const snaps = await snapshot(open, parsed.positionals);
      const all = snaps.flatMap((s) => s.servers);
      if (parsed.flag('json')) {
        print(`${JSON.stringify(all)}\n`);
      } else if (all.length === 0) {
        print(`no live servers under prefix '${open.settings.prefix}'\n`);
      } else {
        const now = Date.now();
        print(
          renderTable(
            ['SERVICE', 'ID', 'HOST', 'PID', 'CONCURRENCY', 'IN-FLIGHT', 'SERVED', 'UP'],
            all.map((s) => [s.service, s.id, s.host, s.pid, s.concurrency, s.inFlight, s.served, shortDuration(now - s.started)]),
          ),
        );
      }
      return ExitCode.Ok;
    } finally {
      await open.close();
    }
  },
};
