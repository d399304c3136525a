/** One reading of the services of a store: counters, queues and live servers, per service. */
import type { ServerInfo, ServiceStats } from '../distributed/types.js';
import { requireKnown } from './lookup.js';
import type { OpenStore } from './redis.js';

export interface ServiceSnapshot {
  readonly stats: ServiceStats;
  readonly servers: readonly ServerInfo[];
}

/**
 * Reads the named services (each must be known: exit 4 otherwise), or every known
 * service when `names` is empty, in name order.
 *
 * @example
 * ```ts
 * for (const { stats, servers } of await snapshot(open, [])) console.log(stats.service, servers.length);
 * ```
 */
export async function snapshot(open: OpenStore, names: readonly string[]): Promise<ServiceSnapshot[]> {
  if (names.length > 0) await requireKnown(open, names);
  const services = names.length > 0 ? [...new Set(names)] : await open.store.services();
  return Promise.all(
    services.map(async (name) => {
      const [stats, servers] = await Promise.all([open.store.stats(name), open.store.servers(name)]);
      return { stats, servers: [...servers].sort((a, b) => a.started - b.started || a.id.localeCompare(b.id)) };
    }),
  );
}

/** Requests the servers of a service are computing now. */
export function inFlightOf(snap: ServiceSnapshot): number {
  return snap.servers.reduce((sum, s) => sum + s.inFlight, 0);
}
