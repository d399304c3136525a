/**
 * Finding what `memocell serve MODULE` serves: the module is imported (a path, resolved
 * against the working directory, or a package name), and every export that is a store
 * memo with a body (made by `store.memo`) is served, with that memo's own store.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServeOptions, ServerHandle } from '../../distributed/types.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * What `serve` needs of a store memo, checked by shape rather than by class: the module
 * may load its own copy of memocell (another version, or the CommonJS build).
 */
export interface ServableMemo {
  readonly service: string;
  readonly body: (...args: unknown[]) => unknown;
  readonly store: {
    serve(fn: ServableMemo, options?: Omit<ServeOptions, 'protocol'>): ServerHandle;
    close(): Promise<void>;
    readonly distributed: object;
  };
}

function isServableMemo(value: unknown): value is ServableMemo {
  if (typeof value !== 'function') return false;
  const memo = value as unknown as Partial<ServableMemo>;
  return (
    typeof memo.service === 'string' &&
    typeof memo.body === 'function' &&
    typeof memo.store === 'object' &&
    memo.store !== null &&
    typeof memo.store.serve === 'function'
  );
}

/**
 * The URL to import for a module argument: a path (relative to `cwd`, or absolute) if
 * it names a file, else a package name resolved from `cwd`.
 *
 * @example
 * ```ts
 * moduleUrl('./services.mjs', '/srv/app'); // 'file:///srv/app/services.mjs'
 * ```
 */
export function moduleUrl(specifier: string, cwd: string): string {
  if (specifier.startsWith('file:')) return specifier;
  const asPath = resolve(cwd, specifier);
  if (specifier.startsWith('.') || isAbsolute(specifier) || existsSync(asPath)) return pathToFileURL(asPath).href;
  try {
    return pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(specifier)).href;
  } catch {
    // Not resolvable from cwd (an ESM-only package, say): let import() try.
    return specifier;
  }
}

/**
 * Imports the module and returns the memos to serve: all of them, or those whose
 * service names are in `only` (exit 4 naming what is available if one is missing).
 * Exit 2 if the module cannot be found or serves nothing; exit 1 if importing it throws.
 */
export async function loadMemos(url: string, specifier: string, only: readonly string[]): Promise<ServableMemo[]> {
  if (url.startsWith('file:') && !existsSync(new URL(url))) {
    throw new CliError(ExitCode.Usage, `serve: no such module '${specifier}' (looked in ${process.cwd()})`);
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && !url.startsWith('file:')) {
      throw new CliError(ExitCode.Usage, `serve: cannot find module '${specifier}' (looked from ${process.cwd()})`);
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    throw new CliError(ExitCode.Failed, `serve: importing '${specifier}' failed: ${detail}`);
  }
  const memos = memosOf(namespace);
  if (memos.length === 0) {
    throw new CliError(
      ExitCode.Usage,
      `serve: '${specifier}' exports no memoised function to serve: export functions made by store.memo(name, fn)`,
    );
  }
  const embedded = memos.find((memo) => memo.store.distributed.constructor.name === 'EmbeddedStore');
  if (embedded !== undefined) {
    throw new CliError(
      ExitCode.Usage,
      `serve: '${embedded.service}' in '${specifier}' is on an embedded store (connect() without a URL): ` +
        'a server there would serve only its own process. Make the module connect to Redis with ' +
        'connect(process.env.REDIS_URL); memocell serve sets REDIS_URL from --redis.',
    );
  }
  if (only.length === 0) return memos;
  const byName = new Map(memos.map((memo) => [memo.service, memo]));
  const missing = only.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new CliError(
      ExitCode.Unknown,
      `serve: '${specifier}' exports no memo of service ${missing.map((n) => `'${n}'`).join(', ')}. ` +
        `It exports: ${[...byName.keys()].join(', ')}.`,
    );
  }
  return [...new Set(only)].map((name) => byName.get(name) as ServableMemo);
}

/** The servable memos among a module's exports (and a default export's properties), one per service. */
function memosOf(namespace: Record<string, unknown>): ServableMemo[] {
  const candidates: unknown[] = Object.values(namespace);
  const fallback = namespace.default;
  if (typeof fallback === 'object' && fallback !== null) candidates.push(...Object.values(fallback));
  const byService = new Map<string, ServableMemo>();
  for (const candidate of candidates) {
    if (isServableMemo(candidate) && !byService.has(candidate.service)) byService.set(candidate.service, candidate);
  }
  return [...byService.values()];
}
