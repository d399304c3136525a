/**
 * A request or a result is larger than the store allows (`maxRequestBytes`,
 * `maxResultBytes`). Refused before anything is sent when the caller's own data is too
 * large; a server that meets an oversized request or produces an oversized result
 * answers its callers with this failure (a `RemoteError` named `TooLargeError`) and
 * keeps serving.
 *
 * @example
 * ```ts
 * try { await store.get('render', [hugeDocument]); }
 * catch (e) { if (e instanceof TooLargeError) console.log(e.bytes, 'over', e.limit); }
 * ```
 */
export class TooLargeError extends RangeError {
  readonly service: string;
  /** What was too large: the encoded arguments of a request, or an encoded result. */
  readonly what: 'arguments' | 'result';
  /** Its size in bytes (UTF-8 of the encoded form). */
  readonly bytes: number;
  /** The limit it broke. */
  readonly limit: number;

  constructor(service: string, what: 'arguments' | 'result', bytes: number, limit: number) {
    const option = what === 'arguments' ? 'maxRequestBytes' : 'maxResultBytes';
    super(
      `The ${what} of ${service} encode to ${bytes} bytes, over the store's ${option} (${limit}). ` +
        (what === 'arguments'
          ? 'Pass large inputs by reference (a key, a path, a URL), or raise maxRequestBytes on every store of the service.'
          : 'Return a reference to large data instead, or raise maxResultBytes on every store of the service.'),
    );
    this.name = 'TooLargeError';
    this.service = service;
    this.what = what;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/**
 * The UTF-8 size of `text` if it is over `limit`, else `undefined`; counts bytes only
 * when the length alone cannot tell (a UTF-16 unit is 1 to 3 bytes).
 */
export function bytesOver(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > limit ? bytes : undefined;
}
