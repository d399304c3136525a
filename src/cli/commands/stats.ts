/** `memocell stats [NAME...]`: counters and queue lengths of every service, or of the named ones. */
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { print } from '../output.js';
import { openStore, redisSettings, REDIS_OPTIONS } from '../redis.js';
import { inFlightOf, snapshot } from '../snapshot.js';
import { percent, renderTable } from '../table.js';

const spec: CommandSpec = {
  name: 'stats',
  usage: 'stats [NAME...] [options]',
  summary: 'print counters and queue lengths of every service (or of the named ones)',
  description: `Prints, for every known service under the prefix (or the named ones): live
servers, requests in flight, queued gets and prefetches, hits, misses,
computations, errors, and the hit ratio (hits / (hits + misses)). Counters
count since the service's keys were created.

With --json: an array of objects with the fields service, servers, inFlight,
queued {gets, prefetches}, hits, misses, computations, errors, and hitRatio
(a number from 0 to 1, or null before the first get).`,
  positionals: { names: ['NAME'], min: 0, max: Number.POSITIVE_INFINITY },
  options: [{ name: 'json', type: 'boolean', description: 'print JSON instead of a table' }, ...REDIS_OPTIONS],
  examples: ['memocell stats', 'memocell stats square --json'],
};

export const stats: Command = {
  spec,
  async run(parsed) {
    const open = await openStore(redisSettings(spec, parsed));
    try {
      const snaps = await snapshot(open, parsed.positionals);
      if (parsed.flag('json')) {
        const json = snaps.map((snap) => {
          const { service, queued, hits, misses, computations, errors } = snap.stats;
          const asked = hits + misses;
          return {
            service,
            servers: snap.servers.length,
            inFlight: inFlightOf(snap),
            queued,
            hits,
            misses,
            computations,
            errors,
            hitRatio: asked > 0 ? hits / asked : null,
          };
        });
        print(`${JSON.stringify(json)}\n`);
      } else if (snaps.length === 0) {
        print(`no services under prefix '${open.settings.prefix}'\n`);
      } else {
        print(
          renderTable(
            ['SERVICE', 'SERVERS', 'IN-FLIGHT', 'Q-GETS', 'Q-PREFETCHES', 'HITS', 'MISSES', 'COMPUTED', 'ERRORS', 'HIT-RATIO'],
            snaps.map((snap) => {
              const s = snap.stats;
              return [
                s.service,
                snap.servers.length,
                inFlightOf(snap),
                s.queued.gets,
                s.queued.prefetches,
                s.hits,
                s.misses,
                s.computations,
                s.errors,
                percent(s.hits, s.hits + s.misses),
              ];
            }),
          ),
        );
      }
      return ExitCode.Ok;
    } finally {
      await open.close();
    }
  },
};
