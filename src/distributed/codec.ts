/**
 * Values on the wire. A codec turns a result into a string stored in Redis and back.
 * The default carries JSON values and byte arrays (`Uint8Array`, `Buffer`) and refuses
 * anything JSON would silently change (functions, symbols, bigints, `undefined` inside
 * arrays, class instances such as `Map` or `Date`): pass a codec of your own for those.
 */

export interface Codec {
  /** Encodes a value; throws a `TypeError` saying what cannot be encoded. */
  encode(value: unknown): string;
  decode(data: string): unknown;
}

// The first character says how the rest is encoded.
const JSON_VALUE = 'j';
const STRING = 's';
const BYTES = 'b';
const UNDEFINED = 'u';

/**
 * Whether a string survives UTF-8 as it is: no lone surrogate, which Redis clients write
 * as U+FFFD. Such a string goes as JSON instead, whose escapes carry any code unit.
 */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

function refuse(path: string, what: string): never {
  throw new TypeError(
    `Cannot encode the value${path === '' ? '' : ` at \`${path}\``}: ${what}. ` +
      'The default codec carries JSON values and byte arrays; pass `codec` for others.',
  );
}

/** What keeps a value from being JSON, and where: the path's steps, innermost first. */
interface Problem {
  readonly what: string;
  readonly steps: string[];
}

function problem(what: string): Problem {
  return { what, steps: [] };
}

/** Why a primitive is not JSON, if it is not; undefined for objects (and null). */
function primitiveProblem(value: unknown): Problem | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? undefined : problem(`${value} is not a JSON number`);
    case 'undefined':
      return problem('undefined is not a JSON value');
    case 'function':
      return problem('functions cannot be encoded');
    case 'symbol':
      return problem('symbols cannot be encoded');
    case 'bigint':
      return problem('bigints are not JSON numbers');
    default:
      return undefined;
  }
}

/** Nesting past which a value is checked again, watching for cycles. */
const CYCLE_CHECK_DEPTH = 256;

/** Returned when a value nests deeper than CYCLE_CHECK_DEPTH and cycles were not watched. */
const TOO_DEEP: Problem = { what: 'too deep', steps: [] };

/**
 * The first thing in `value` that JSON would drop or change, or undefined. Paths are
 * built only for the value refused, on the way back out, and cycles are looked for only
 * in a value that nests deeper than any sane result (a cycle always does): a value that
 * passes costs no string per property and no set of the objects seen (measured: the
 * check cost 2.7-3.3x the JSON.stringify after it, bench/distributed/codec.mjs).
 * With `seen`, cycles are watched at every depth.
 */
function nonJson(value: unknown, depth: number, seen: Set<object> | undefined): Problem | undefined {
  if (typeof value !== 'object') return primitiveProblem(value);
  if (value === null) return undefined;
  if (seen === undefined) {
    if (depth > CYCLE_CHECK_DEPTH) return TOO_DEEP;
  } else {
    if (seen.has(value)) return problem('it refers to itself');
    seen.add(value);
  }
  let found: Problem | undefined;
  if (Array.isArray(value)) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      // A hole is written as null: allowed.
      if (item === undefined && !(i in items)) continue;
      found = typeof item === 'object' && item !== null ? nonJson(item, depth + 1, seen) : primitiveProblem(item);
      if (found !== undefined) {
        if (found !== TOO_DEEP) found.steps.push(`[${i}]`);
        return found;
      }
    }
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'an unknown class';
      return problem(`objects of class ${name} are not plain JSON objects`);
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string;
      const item = record[key];
      // A property holding undefined is dropped by JSON, as a missing one: allowed.
      if (item === undefined) continue;
      found = typeof item === 'object' && item !== null ? nonJson(item, depth + 1, seen) : primitiveProblem(item);
      if (found !== undefined) {
        if (found !== TOO_DEEP) found.steps.push(`.${key}`);
        return found;
      }
    }
  }
  seen?.delete(value);
  return undefined;
}

/** Throws a TypeError naming what in `value` is not JSON, and where. */
function checkJson(value: unknown): void {
  if (typeof value !== 'object' || value === null) {
    const found = primitiveProblem(value);
    if (found !== undefined) refuse('', found.what);
    return;
  }
  let found = nonJson(value, 0, undefined);
  // Deep enough to hold a cycle: again, watching for one, so the refusal says where.
  if (found === TOO_DEEP) found = nonJson(value, 0, new Set());
  if (found !== undefined) refuse(found.steps.reverse().join(''), found.what);
}

/**
 * The default codec: JSON values, top-level byte arrays, and `undefined` as a whole result.
 * A string result is stored as it is, not as JSON: a rendered page of 160 KB took
 * 260-300 µs to `JSON.stringify` and as long to `JSON.parse` (bench/distributed/codec.mjs),
 * on every computation and every cache hit, and its quotes and newlines grew by an
 * escape each.
 *
 * @example
 * ```ts
 * defaultCodec.encode({ a: [1, 'x'] }); // 'j{"a":[1,"x"]}'
 * defaultCodec.encode('<p>hi</p>');     // 's<p>hi</p>'
 * defaultCodec.decode('s<p>hi</p>');    // '<p>hi</p>'
 * ```
 */
export const defaultCodec: Codec = {
  encode(value: unknown): string {
    if (typeof value === 'string') return isWellFormed(value) ? STRING + value : JSON_VALUE + JSON.stringify(value);
    if (value === undefined) return UNDEFINED;
    if (value instanceof Uint8Array) return BYTES + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    checkJson(value);
    return JSON_VALUE + JSON.stringify(value);
  },
  decode(data: string): unknown {
    const tag = data[0];
    if (tag === JSON_VALUE) return JSON.parse(data.slice(1)) as unknown;
    if (tag === STRING) return data.slice(1);
    if (tag === BYTES) return Buffer.from(data.slice(1), 'base64');
    if (tag === UNDEFINED) return undefined;
    throw new TypeError(
      `Cannot decode a value starting with '${data.slice(0, 16)}': not written by this memocell's default codec. ` +
        'It was written by another codec or another memocell version: give every process of the service the same `codec` and memocell version.',
    );
  },
};

export function checkCodec(codec: unknown): Codec {
  const c = codec as Partial<Codec> | undefined;
  if (c === undefined) return defaultCodec;
  if (typeof c?.encode !== 'function' || typeof c.decode !== 'function') {
    throw new TypeError('Expected `codec` to have `encode(value): string` and `decode(data): unknown` functions');
  }
  return c as Codec;
}
