/**
 * Finding services and servers by name for the commands, and the clear "unknown"
 * errors (exit 4) when they are not there.
 */
import { requestKeyOf, serviceKeys } from '../distributed/keys.js';
import type { Args, ServerInfo } from '../distributed/types.js';
import { keyOfArgs } from '../distributed/validate.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { OpenStore } from './redis.js';

/** Whether a server has ever served `name` under the store's prefix (its name key exists). */
export async function isKnownService(open: OpenStore, name: string): Promise<boolean> {
  return (await open.client.exists(serviceKeys(open.settings.prefix, name).name)) === 1;
}

/**
 * The "unknown service" error: names the prefix and the Redis, and lists the services
 * that are known there.
 */
export async function unknownService(open: OpenStore, name: string): Promise<CliError> {
  const known = await open.store.services();
  const { prefix, where } = open.settings;
  const listing =
    known.length === 0
      ? `No service is known under prefix '${prefix}' there (is --prefix right?).`
      : `Known services: ${known.join(', ')}.`;
  return new CliError(
    ExitCode.Unknown,
    `unknown service '${name}': no server has served it under prefix '${prefix}' on Redis ${where}. ${listing}`,
  );
}

/** Checks every name is a known service (exit 4 naming the first that is not). */
export async function requireKnown(open: OpenStore, names: readonly string[]): Promise<void> {
  for (const name of names) {
    if (!(await isKnownService(open, name))) throw await unknownService(open, name);
  }
}

/**
 * For a get or prefetch that would otherwise wait for a server that may never come:
 * fine if a server is serving `name` now, or (for a get) if the result is cached;
 * else exit 4, saying whether the service is unknown or merely has no server now.
 */
export async function requireServing(open: OpenStore, name: string, args: Args, cachedWillDo: boolean): Promise<void> {
  if ((await open.store.servers(name)).length > 0) return;
  const keys = serviceKeys(open.settings.prefix, name);
  if (cachedWillDo && (await open.client.exists(keys.value(requestKeyOf(keyOfArgs(args))))) === 1) return;
  if (!(await isKnownService(open, name))) throw await unknownService(open, name);
  throw new CliError(
    ExitCode.Unknown,
    `no server is serving '${name}' under prefix '${open.settings.prefix}' now` +
      (cachedWillDo ? ', and no result is cached for these arguments' : '') +
      ". Start one (memocell serve MODULE), or pass --wait to wait for one.",
  );
}

/**
 * The live server with this id, looked for in `service` or, when not given, in every
 * known service; exit 4 if no live server has it.
 */
export async function findServer(open: OpenStore, id: string, service: string | undefined): Promise<ServerInfo> {
  const names = service !== undefined ? [service] : await open.store.services();
  for (const name of names) {
    const found = (await open.store.servers(name)).find((info) => info.id === id);
    if (found !== undefined) return found;
  }
  const where = service !== undefined ? `of service '${service}'` : `of any service under prefix '${open.settings.prefix}'`;
  throw new CliError(ExitCode.Unknown, `no live server '${id}' ${where} (see 'memocell servers').`);
}
