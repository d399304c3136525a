/**
 * The version of the protocol over Redis that this memocell speaks, and the check that
 * warns when a service's registry lists servers that speak another one. Processes of
 * two versions cannot share a service (docs/protocol.md, "Versioning"): a client's calls
 * wait for records that the other version's servers never read, and time out. Without
 * this check that is all anyone would see. Servers run it (clients may not read the
 * registry: the client ACL role of docs/production.md is refused it).
 */
import type { RedisClient } from './connection.js';
import type { ServiceKeys } from './keys.js';
import type { ServerInfo } from './types.js';

/** The protocol this memocell speaks. v3: run records are fields of one hash per service. */
export const PROTOCOL_VERSION = 3;

/** Code of the process warning emitted for a server that speaks another protocol. */
export const PROTOCOL_MISMATCH = 'MEMOCELL_PROTOCOL_MISMATCH';

/**
 * The live servers of a service, from its registry. An entry written before protocol v3
 * names no protocol: it is reported as 2. Entries that are not JSON are skipped.
 *
 * @example
 * ```ts
 * const older = (await liveServers(redis, keys)).filter((s) => s.protocol !== PROTOCOL_VERSION);
 * ```
 */
export async function liveServers(redis: RedisClient, keys: Pick<ServiceKeys, 'alive' | 'servers'>): Promise<ServerInfo[]> {
  const ids = await redis.zrangebyscore(keys.alive, Date.now(), '+inf');
  if (ids.length === 0) return [];
  const infos = await redis.hmget(keys.servers, ...ids);
  const result: ServerInfo[] = [];
  for (const info of infos) {
    if (info === null) continue;
    try {
      const parsed = JSON.parse(info) as Omit<ServerInfo, 'protocol'> & { protocol?: unknown };
      result.push({ ...parsed, protocol: typeof parsed.protocol === 'number' ? parsed.protocol : 2 });
    } catch {
      // Not ours: skip it rather than fail the whole listing.
    }
  }
  return result;
}

/**
 * Emits a process warning (code `MEMOCELL_PROTOCOL_MISMATCH`) for each live server of the
 * service that speaks another protocol, once per server id recorded in `warned`. Never
 * throws: a registry that cannot be read warns of nothing.
 *
 * @example
 * ```ts
 * const warned = new Set<string>();
 * process.on('warning', (w) => { if (w.name === PROTOCOL_MISMATCH) console.error(w.message); });
 * await warnOfOtherProtocols(redis, keys, 'render', warned);
 * ```
 */
export async function warnOfOtherProtocols(
  redis: RedisClient,
  keys: Pick<ServiceKeys, 'alive' | 'servers'>,
  service: string,
  warned: Set<string>,
): Promise<void> {
  let servers: ServerInfo[];
  try {
    servers = await liveServers(redis, keys);
  } catch {
    return;
  }
  for (const server of servers) {
    if (server.protocol === PROTOCOL_VERSION || warned.has(server.id)) continue;
    warned.add(server.id);
    process.emitWarning(
      `service "${service}" has a server speaking protocol v${server.protocol} (${server.id}, host ${server.host}, ` +
        `pid ${server.pid}), and this process speaks v${PROTOCOL_VERSION}: processes of two protocol versions cannot ` +
        'share a service (calls wait for servers of their own version, and time out). Stop every process of the ' +
        'service, then start one version (docs/production.md, "Across a protocol version").',
      { type: PROTOCOL_MISMATCH, code: PROTOCOL_MISMATCH },
    );
  }
}
