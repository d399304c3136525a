/**
 * The Redis a command talks to: `--redis URL` (else REDIS_URL, else the local default),
 * `--prefix` (else MEMOCELL_PREFIX, else `memocell`), reached within
 * `--connect-timeout` or not at all: an unreachable Redis is exit 3 at once, never an
 * endless reconnect loop, and the URL's password is never printed.
 */
import { Redis } from 'ioredis';
import { checkPrefix } from '../distributed/keys.js';
import { createRedisStore, type RedisStore } from '../distributed/redis-store.js';
import { usage, type CommandSpec, type OptionSpec, type Parsed } from './args.js';
import { CliError, ExitCode } from './exit-codes.js';
import { addSecret } from './output.js';

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

/** The options every command that talks to Redis takes. */
export const REDIS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'redis',
    type: 'string',
    value: 'URL',
    description: `the Redis to use, redis:// or rediss://\n(default: $REDIS_URL, else ${DEFAULT_URL})`,
  },
  {
    name: 'prefix',
    type: 'string',
    value: 'PREFIX',
    description: 'first part of every key (default: $MEMOCELL_PREFIX, else memocell)',
  },
  {
    name: 'connect-timeout',
    type: 'integer',
    value: 'MS',
    description: `give up reaching Redis after MS ms, exit 3 (default: ${DEFAULT_CONNECT_TIMEOUT_MS})`,
  },
];

export interface RedisSettings {
  /** The URL as given: it may hold a password, so never print it; print `redacted`. */
  readonly url: string;
  /** The URL with its password masked. */
  readonly redacted: string;
  /** `HOST:PORT`, for messages. */
  readonly where: string;
  readonly prefix: string;
  readonly connectTimeoutMs: number;
}

/**
 * Reads and checks the Redis options of a command line (usage error, exit 2, if bad),
 * and registers the URL's password as a secret so it is masked in all output.
 *
 * @example
 * ```ts
 * const settings = redisSettings(spec, parsed); // settings.where: '127.0.0.1:6379'
 * ```
 */
export function redisSettings(spec: CommandSpec, parsed: Parsed): RedisSettings {
  const given = parsed.string('redis');
  const url = given ?? (process.env.REDIS_URL || DEFAULT_URL);
  const source = given !== undefined ? '--redis' : 'REDIS_URL';
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    // Not echoed: a malformed URL may still hold a password.
    throw usage(spec, `${source} is not a URL; expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or rediss://...`);
  }
  if (parsedUrl.password !== '') addSecret(parsedUrl.password);
  if (parsedUrl.protocol !== 'redis:' && parsedUrl.protocol !== 'rediss:') {
    throw usage(spec, `${source} must be a redis:// or rediss:// URL, got ${parsedUrl.protocol}//...`);
  }
  const prefix = parsed.string('prefix') ?? (process.env.MEMOCELL_PREFIX || 'memocell');
  try {
    checkPrefix(prefix);
  } catch {
    throw usage(spec, `the prefix must be 1 to 64 printable ASCII characters without spaces or braces, got '${prefix}'`);
  }
  return {
    url,
    redacted: redactUrl(url),
    where: `${parsedUrl.hostname === '' ? '127.0.0.1' : parsedUrl.host}${parsedUrl.port === '' ? ':6379' : ''}`,
    prefix,
    connectTimeoutMs: parsed.integer('connect-timeout') ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
}

/**
 * The URL with its password replaced by `***`.
 *
 * @example
 * ```ts
 * redactUrl('redis://:hunter2@cache:6379/0'); // 'redis://:***@cache:6379/0'
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a malformed URL)';
  }
}

/**
 * Connects to Redis and checks it answers, within the connect timeout; exit 3 with
 * "cannot reach Redis at HOST:PORT" if not. Once connected, a dropped connection is
 * retried a few times, then commands fail (and the command exits 3) rather than hang.
 *
 * @example
 * ```ts
 * const client = await openRedis(settings);
 * try { await client.ping(); } finally { client.disconnect(); }
 * ```
 */
export async function openRedis(settings: RedisSettings): Promise<Redis> {
  const client = new Redis(settings.url, {
    lazyConnect: true,
    connectTimeout: settings.connectTimeoutMs,
    // While connecting: one attempt only; a refusal is an answer.
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${settings.connectTimeoutMs} ms`)), settings.connectTimeoutMs);
    });
    await Promise.race([client.connect().then(() => client.ping()), deadline]);
  } catch (error) {
    client.disconnect();
    const reason = lastError?.message ?? (error as Error).message;
    throw new CliError(ExitCode.RedisUnreachable, `cannot reach Redis at ${settings.where}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  // Connected: ride out a short outage, but give up rather than wait forever.
  client.options.retryStrategy = (times: number) => (times > 5 ? null : Math.min(times * 200, 1_000));
  client.options.maxRetriesPerRequest = 3;
  return client;
}

/** A Redis store on an open client, under the command's prefix. */
export interface OpenStore {
  readonly store: RedisStore;
  readonly client: Redis;
  readonly settings: RedisSettings;
  close(): Promise<void>;
}

/**
 * Opens Redis and a store on it for one command; `close()` ends both.
 *
 * @example
 * ```ts
 * const open = await openStore(settings);
 * try { console.log(await open.store.services()); } finally { await open.close(); }
 * ```
 */
export async function openStore(settings: RedisSettings): Promise<OpenStore> {
  const client = await openRedis(settings);
  const store = createRedisStore({ redis: client, prefix: settings.prefix });
  return {
    store,
    client,
    settings,
    close: async () => {
      await store.close().catch(() => {});
      client.disconnect();
    },
  };
}
