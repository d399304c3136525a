import type { Kept } from './types.js';

class KeptValue<T> implements Kept<T> {
  constructor(
    readonly value: T,
    readonly ttlSeconds: number,
  ) {}
}

/**
 * Marks a handler's result as stable enough to cache for `ttlSeconds` (DisTcl's
 * `-secs2keep`). A result not wrapped in `keep` is delivered to the callers waiting
 * for it and not cached.
 *
 * @example
 * ```ts
 * store.serve('square', ([n]) => keep((n as number) ** 2, { ttlSeconds: 600 }));
 * ```
 */
export function keep<T>(value: T, options: { readonly ttlSeconds: number }): Kept<T> {
  const ttl = options?.ttlSeconds;
  if (typeof ttl !== 'number' || !(ttl > 0) || !Number.isFinite(ttl)) {
    throw new TypeError(`Expected \`ttlSeconds\` to be a finite number > 0, got \`${String(ttl)}\` (${typeof ttl})`);
  }
  return new KeptValue(value, ttl);
}

/** Is this a result wrapped by `keep`? */
export function isKept(value: unknown): value is Kept<unknown> {
  return value instanceof KeptValue;
}
