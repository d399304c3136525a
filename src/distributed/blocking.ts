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
  return guarded(client, 'BLPOP', timeoutSeconds, graceMs, () => client.blpop(...keys, timeoutSeconds));
}

/**
 * BLMPOP on one list: up to `count` elements at once, so a burst of replies costs
 * one round trip. Resolves the elements, or `[]` on an empty timeout.
 */
export async function guardedBlmpop(
  client: RedisClient,
  key: string,
  count: number,
  timeoutSeconds: number,
  graceMs = 2_000,
): Promise<string[]> {
  const popped = await guarded(client, 'BLMPOP', timeoutSeconds, graceMs, () =>
    client.blmpop(timeoutSeconds, 1, key, 'LEFT', 'COUNT', count),
  );
  return popped === null ? [] : (popped[1] as string[]);
}

function guarded<T>(
  client: RedisClient,
  command: string,
  timeoutSeconds: number,
  graceMs: number,
  send: () => Promise<T>,
): Promise<T> {
  const limit = timeoutSeconds * 1000 + graceMs;
  // One promise settled by whichever comes first, not a race of two plus a finally:
  // every miss waits twice this way (the client for its reply, the server for work).
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.disconnect(true);
      reject(new WatchdogLapse(command, limit));
    }, limit);
    timer.unref?.();
    // If the watchdog wins, the abandoned command rejects later: settling again is a no-op.
    send().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * BLMPOP on `keys` (the first non-empty list wins, in order): up to `count` elements of
 * that list at once. Resolves `[key, elements]`, or `null` on an empty timeout.
 */
export function guardedBlmpopFirst(
  client: RedisClient,
  keys: readonly string[],
  count: number,
  timeoutSeconds: number,
  graceMs = 2_000,
): Promise<[string, string[]] | null> {
  return guarded(client, 'BLMPOP', timeoutSeconds, graceMs, () =>
    client.blmpop(timeoutSeconds, keys.length, ...keys, 'LEFT', 'COUNT', count),
  ) as Promise<[string, string[]] | null>;
}

/**
 * One blocking pop of a serving loop: the element, or `null` on an empty timeout or a
 * failed wait (after a short pause, unless the loop is stopping), so loops need no
 * error handling of their own.
 */
export async function popForLoop(
  client: RedisClient,
  keys: readonly string[],
  timeoutSeconds: number,
  stopping: () => boolean,
): Promise<[string, string] | null> {
  try {
    return await guardedBlpop(client, keys, timeoutSeconds);
  } catch (error) {
    // A lapse has already reconnected; anything else (Redis down): do not spin.
    if (!stopping() && !(error instanceof WatchdogLapse)) await new Promise((r) => setTimeout(r, 100));
    return null;
  }
}

/**
 * One blocking pop of up to `count` elements for a serving loop: the elements, or `[]`
 * on an empty timeout or a failed wait (after a short pause, unless the loop is
 * stopping), so loops need no error handling of their own.
 */
export async function popManyForLoop(
  client: RedisClient,
  keys: readonly string[],
  count: number,
  timeoutSeconds: number,
  stopping: () => boolean,
): Promise<string[]> {
  try {
    const popped = await guardedBlmpopFirst(client, keys, count, timeoutSeconds);
    return popped === null ? [] : popped[1];
  } catch (error) {
    if (!stopping() && !(error instanceof WatchdogLapse)) await new Promise((r) => setTimeout(r, 100));
    return [];
  }
}
