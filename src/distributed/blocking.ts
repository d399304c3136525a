/**
 * Blocking commands with a watchdog. ioredis may silently re-send a blocking command
 * after a reconnect and wait forever, or a socket may die without an error; so every
 * blocking wait has a deadline a little past its own server-side timeout, and a wait
 * that passes it drops the connection and reports a lapse to the caller's loop.
 */
import type { RedisClient } from './connection.js';

export class WatchdogLapse extends Error {
  constructor(command: string, ms: number) {
    super(`${command} did not answer within ${ms} ms; reconnecting`);
    this.name = 'WatchdogLapse';
  }
}

/**
 * BLPOP on `keys` (the first non-empty list wins, in order) for up to `timeoutSeconds`
 * on the server, guarded by a watchdog of `timeoutSeconds + graceMs`.
 * Resolves `[key, element]`, or `null` on an empty timeout.
 */
export function guardedBlpop(
  client: RedisClient,
  keys: readonly string[],
  timeoutSeconds: number,
  graceMs = 2_000,
): Promise<[string, string] | null> {
  const limit = timeoutSeconds * 1000 + graceMs;
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      client.disconnect(true);
      reject(new WatchdogLapse('BLPOP', limit));
    }, limit);
    timer.unref?.();
  });
  const pop = client.blpop(...keys, timeoutSeconds) as Promise<[string, string] | null>;
  // If the watchdog wins, the abandoned pop rejects later: that is expected, not unhandled.
  pop.catch(() => {});
  return Promise.race([pop, watchdog]).finally(() => clearTimeout(timer));
}
