/**
 * A memocell client of a DisTcl service: `remote(...words)` is `distcl::get`. The cache
 * check and the queueing are one script; the wait is a BLPOP on the request's own wait
 * list (DisTcl's protocol names one list per request), on a blocking connection taken
 * from a small pool.
 */
import { defer, from, type Observable } from 'rxjs';
import { guardedBlpop } from '../blocking.js';
import type { Connection, RedisClient } from '../connection.js';
import { StoreClosedError } from '../errors/store-closed-error.js';
import { TimeoutError } from '../errors/timeout-error.js';
import { awaitRemote } from '../slots.js';
import { distclKeys, type DistclKeys } from './keys.js';
import { parseResult } from './result.js';
import { renderTclList } from './tcl-list.js';

/** A DisTcl service, called like a function of its words. */
export interface DistclRemote {
  /** `distcl::get`: the result for these words, from the cache or computed by a server. */
  (...words: readonly (string | number)[]): Promise<string>;
  /** `distcl::prefetch`: queue the request unless its result is cached; do not wait. */
  prefetch(...words: readonly (string | number)[]): Promise<void>;
  /** `distcl::forget`: drop the cached result (and a wait list a crash may have left). */
  forget(...words: readonly (string | number)[]): Promise<void>;
  /** The result as an Observable: it emits once and completes (DisTcl has no invalidation). */
  observe(...words: readonly (string | number)[]): Observable<string>;
  readonly service: string;
}

/** Blocking connections for waits: each concurrent wait needs one of its own. */
export class BlockingPool {
  private readonly idle: RedisClient[] = [];

  constructor(private readonly connection: Connection) {}

  take(): RedisClient {
    return this.idle.pop() ?? this.connection.dedicated();
  }

  give(client: RedisClient): void {
    if (this.idle.length < 16) this.idle.push(client);
    else this.connection.drop(client);
  }
}

function wordsOf(words: readonly (string | number)[]): string[] {
  return words.map((word, i) => {
    if (typeof word === 'string') return word;
    if (typeof word === 'number' && Number.isFinite(word)) return String(word);
    throw new TypeError(`DisTcl words are strings: word ${i} is ${typeof word} \`${String(word)}\``);
  });
}

export function distclRemote(
  service: string,
  connection: Connection,
  pool: BlockingPool,
  timeoutMs: number,
  isClosed: () => boolean,
): DistclRemote {
  const keys: DistclKeys = distclKeys(service);

  async function get(words: string[]): Promise<string> {
    if (isClosed()) throw new StoreClosedError(`get ${service}`);
    const args = renderTclList(words);
    const reply = (await connection.script('distclget', [keys.value(args), keys.gets], [args])) as [
      number,
      string | undefined,
    ];
    if (reply[0] === 1) return parseResult(reply[1] as string, service, words);
    const client = pool.take();
    let popped: [string, string] | null;
    try {
      // BLPOP counts whole seconds (fractions are allowed on Redis 6+); the watchdog
      // settles the call even if the connection dies under it.
      popped = await guardedBlpop(client, [keys.waiters(args)], timeoutMs / 1000, 1_000);
    } catch (error) {
      connection.drop(client);
      throw error;
    }
    pool.give(client);
    if (popped === null) throw new TimeoutError(service, words, timeoutMs, ` (DisTcl: 'Request for '${keys.value(args)}' timed out.')`);
    return parseResult(popped[1], service, words);
  }

  const remote = ((...words: readonly (string | number)[]) => {
    let checked: string[];
    try {
      checked = wordsOf(words);
    } catch (error) {
      return Promise.reject(error);
    }
    return awaitRemote(get(checked));
  }) as DistclRemote;

  remote.prefetch = async (...words) => {
    if (isClosed()) throw new StoreClosedError(`prefetch ${service}`);
    const args = renderTclList(wordsOf(words));
    if ((await connection.main.exists(keys.value(args))) === 0) await connection.main.rpush(keys.prefetches, args);
  };
  remote.forget = async (...words) => {
    if (isClosed()) throw new StoreClosedError(`forget ${service}`);
    const args = renderTclList(wordsOf(words));
    await connection.main.del(keys.value(args), keys.waiters(args));
  };
  remote.observe = (...words) => defer(() => from(remote(...words)));
  Object.defineProperty(remote, 'service', { value: service });
  return remote;
}
