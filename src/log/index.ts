/**
 * memocell's diagnostic logs, through the `debug` convention: nothing is printed unless
 * the `DEBUG` environment variable (or `debug.enable`) names a namespace, e.g.
 * `DEBUG=memocell:*` for everything or `DEBUG=memocell:server,memocell:client`.
 *
 * Namespaces:
 * - `memocell:connection`: connecting, ready, reconnecting, errors, closing.
 * - `memocell:server`: servers starting and stopping, each request taken, computed,
 *   failed or dropped, leases lost, stranded requests swept back to the queue, control
 *   messages.
 * - `memocell:client`: gets that miss, waits that time out, blocking waits that a
 *   watchdog had to abandon.
 * - `memocell:invalidate`: forgets, saves, shared-input sets, and the invalidations a
 *   process receives and applies to its local copies.
 *
 * Credentials never reach a log line: URLs pass through `redactUrl`, and no option
 * object is ever printed whole. Hot paths test `logger.enabled` first, so a disabled
 * log costs one property read.
 */
import createDebug from 'debug';

export type Logger = createDebug.Debugger;

export const log = {
  connection: createDebug('memocell:connection'),
  server: createDebug('memocell:server'),
  client: createDebug('memocell:client'),
  invalidate: createDebug('memocell:invalidate'),
} as const;

/**
 * A URL fit for a log or an error message: any password (and a user name that could be
 * a secret token) replaced by `***`. Text that is not a URL comes back unchanged unless
 * it looks like one with credentials, which are cut out.
 *
 * @example
 * ```ts
 * redactUrl('redis://app:s3cret@db:6379/0'); // 'redis://app:***@db:6379/0'
 * redactUrl('rediss://:s3cret@db:6380');      // 'rediss://:***@db:6380'
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    else if (parsed.username !== '') parsed.username = '***';
    return parsed.toString();
  } catch {
    // Not a URL a parser accepts: still cut anything between :// and @.
    return url.replace(/(\w+:\/\/)[^@/\s]*@/g, '$1***@');
  }
}

/**
 * Where a Redis connection goes, for logs and errors: `host:port` (or the redacted
 * URL), never a password.
 *
 * @example
 * ```ts
 * describeTarget('redis://:pw@127.0.0.1:6380'); // 'redis://:***@127.0.0.1:6380'
 * describeTarget({ host: 'db', port: 6379, password: 'pw' }); // 'db:6379'
 * ```
 */
export function describeTarget(target: unknown): string {
  if (typeof target === 'string') return redactUrl(target);
  if (typeof target === 'object' && target !== null) {
    const options = (target as { options?: unknown }).options ?? target;
    const { host, port, path } = options as { host?: unknown; port?: unknown; path?: unknown };
    if (typeof path === 'string') return path;
    if (Array.isArray((target as { startupNodes?: unknown }).startupNodes)) return 'a Redis Cluster';
    return `${typeof host === 'string' ? host : 'localhost'}:${typeof port === 'number' || typeof port === 'string' ? port : 6379}`;
  }
  return String(target);
}
