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
const BYTES = 'b';
const UNDEFINED = 'u';

function refuse(path: string, what: string): never {
  throw new TypeError(
    `Cannot encode the value${path === '' ? '' : ` at \`${path}\``}: ${what}. ` +
      'The default codec carries JSON values and byte arrays; pass `codec` for others.',
  );
}

/** Checks that JSON.stringify would give back an equal value. */
function checkJson(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) refuse(path, `${value} is not a JSON number`);
      return;
    case 'undefined':
      refuse(path, 'undefined is not a JSON value');
    // falls through (refuse throws)
    case 'function':
      refuse(path, 'functions cannot be encoded');
    // falls through
    case 'symbol':
      refuse(path, 'symbols cannot be encoded');
    // falls through
    case 'bigint':
      refuse(path, 'bigints are not JSON numbers');
    // falls through
    default:
      break;
  }
  if (value === null) return;
  const object = value as object;
  if (seen.has(object)) refuse(path, 'it refers to itself');
  seen.add(object);
  if (Array.isArray(object)) {
    object.forEach((item, i) => checkJson(item, `${path}[${i}]`, seen));
  } else {
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (object as { constructor?: { name?: string } }).constructor?.name ?? 'an unknown class';
      refuse(path, `objects of class ${name} are not plain JSON objects`);
    }
    for (const [key, item] of Object.entries(object)) {
      // A property holding undefined is dropped by JSON, as a missing one: allowed.
      if (item !== undefined) checkJson(item, `${path}.${key}`, seen);
    }
  }
  seen.delete(object);
}

/** The default codec: JSON values, top-level byte arrays, and `undefined` as a whole result. */
export const defaultCodec: Codec = {
  encode(value: unknown): string {
    if (value === undefined) return UNDEFINED;
    if (value instanceof Uint8Array) return BYTES + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    checkJson(value, '', new Set());
    return JSON_VALUE + JSON.stringify(value);
  },
  decode(data: string): unknown {
    const tag = data[0];
    if (tag === JSON_VALUE) return JSON.parse(data.slice(1)) as unknown;
    if (tag === BYTES) return Buffer.from(data.slice(1), 'base64');
    if (tag === UNDEFINED) return undefined;
    throw new TypeError(`Cannot decode a value starting with '${data.slice(0, 16)}': not written by the default codec`);
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
