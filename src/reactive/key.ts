/**
 * Canonical argument keys: one string per structurally equal argument list.
 *
 * Memo families use the key to find their entry, and the distributed layer uses it
 * inside Redis key names, so it must be deterministic across processes, injective
 * (two different argument lists never share a key), well-formed UTF-16, and
 * readable by a person looking at Redis.
 *
 * Grammar of an encoded value (the whole key is `[v,v,...]`, one `v` per argument):
 *
 * | value                         | encoding                                       |
 * | ----------------------------- | ---------------------------------------------- |
 * | `null` / `undefined`          | `null` / `undefined`                           |
 * | `true` / `false`              | `true` / `false`                               |
 * | number                        | `String(n)`: `42`, `1.5`, `1e+21`, `NaN`, `Infinity`, `-Infinity`; `-0` is `0` |
 * | bigint                        | `42n`                                          |
 * | string                        | `JSON.stringify(s)` (lone surrogates become `\udxxx`) |
 * | array (holes read as `undefined`) | `[v,v]`                                    |
 * | plain object (proto `Object.prototype` or `null`) | `{"k":v}`, keys sorted by UTF-16 code unit, properties whose value is `undefined` left out |
 * | `Date`                        | `Date(2024-01-02T03:04:05.006Z)`, or `Date(Invalid)` |
 * | `Uint8Array` / `Buffer`       | `Bytes(base64)`                                |
 * | `Map`                         | `Map([[k,v],[k,v]])`, entries sorted by their encoding |
 * | `Set`                         | `Set([v,v])`, elements sorted by their encoding |
 *
 * Why this is injective: every encoding can be read back unambiguously from its first
 * character (`n`ull, `u`ndefined, `t`/`f`, digit/`-`/`N`/`I` for numbers, with a final
 * `n` marking a bigint, `"` for a JSON string whose end is its first unescaped quote,
 * `[`, `{`, `D`ate, `B`ytes, `M`ap, `S`et), and no token can contain an unescaped
 * delimiter of the enclosing one (`,` `:` `]` `}` `)` appear in values only inside
 * JSON strings). `String(n)` round-trips every number except `-0`, JSON string
 * escaping round-trips every string, and ISO dates and base64 round-trip their data.
 * So a reader could rebuild a canonical representative of the arguments from the key,
 * which is impossible if two inequivalent argument lists shared one.
 *
 * @module
 */

/** A refusal on its way up the tree; each container adds its path segment. */
class Refusal {
  /** Path segments, innermost first. */
  readonly segments: string[] = [];
  constructor(
    readonly reason: string,
    /** For a cycle: how many segments lead to the object that is revisited. */
    readonly cycleDepth = -1,
  ) {}
}

const FUNCTION_REASON = 'functions cannot be encoded. Pass data, not code.';
const SYMBOL_REASON = 'symbols cannot be encoded. Use a string instead.';

/**
 * The canonical key of an argument list: equal lists give equal keys, different lists
 * give different keys.
 *
 * Structural equality here means: numbers compare like `Object.is` except that `-0`
 * equals `0` (so `NaN` equals `NaN`); `1` and `1n` differ; `null` and `undefined`
 * differ, as do `[]` and `[undefined]`, but an object property holding `undefined`
 * is the same as a missing one (as in JSON) and an array hole is `undefined`;
 * object key order does not matter, array order does; a null-prototype object equals
 * a plain one with the same properties; only own enumerable string-keyed properties
 * of objects, and only the indexed elements of arrays, take part (`toJSON` is not
 * consulted); `Buffer` and `Uint8Array` with the same bytes are equal; `Map` and
 * `Set` are compared as multisets of (encoded) entries, ignoring insertion order.
 *
 * @param args The argument list, e.g. the rest parameter of a memoised function.
 * @returns A compact JSON-like string, safe to embed in a Redis key.
 * @throws TypeError naming the argument (zero-based, as in `args[i]`), the path inside
 *   it and the reason, for functions, symbols (as values or as enumerable property
 *   keys), cycles, and objects of any other class (class instances, `WeakMap`,
 *   `Promise`, typed arrays other than `Uint8Array`, ...).
 *
 * @example
 * ```ts
 * canonicalKey([1, 'a', { y: [true], x: 2 }]); // '[1,"a",{"x":2,"y":[true]}]'
 * canonicalKey([{ x: 2, y: undefined }]);       // '[{"x":2}]'
 * canonicalKey([-0, 10n, new Date(0)]);         // '[0,10n,Date(1970-01-01T00:00:00.000Z)]'
 * canonicalKey([{ cb: () => 1 }]);
 * // TypeError: Cannot use argument 0 (at `.cb`) as a memo key: functions cannot be
 * // encoded. Pass data, not code.
 * ```
 */
export function canonicalKey(args: readonly unknown[]): string {
  const n = args.length;
  // The hit path of a memo call: a single number or string needs no loop and no stack.
  if (n === 1) {
    const a = args[0];
    if (typeof a === 'number') return '[' + a + ']';
    if (typeof a === 'string') return '[' + quote(a) + ']';
  }
  let out = '[';
  // Ancestors of the value being encoded, for cycle detection; only objects need it.
  let stack: object[] | undefined;
  let i = 0;
  try {
    for (; i < n; i++) {
      if (i > 0) out += ',';
      const a = args[i];
      if (typeof a === 'number') out += a;
      else if (typeof a === 'string') out += quote(a);
      else if (typeof a === 'object' && a !== null) out += encodeObject(a, (stack ??= []));
      else out += encodePrimitive(a);
    }
  } catch (e) {
    throw e instanceof Refusal ? toTypeError(e, i) : e;
  }
  return out + ']';
}

function encode(v: unknown, stack: object[]): string {
  return typeof v === 'object' && v !== null ? encodeObject(v, stack) : encodePrimitive(v);
}

function encodePrimitive(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return '' + v; // -0 becomes "0"
    case 'string':
      return quote(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'bigint':
      return v + 'n';
    case 'symbol':
      throw new Refusal(SYMBOL_REASON);
    case 'function':
      throw new Refusal(FUNCTION_REASON);
    default:
      return 'null'; // only null reaches here
  }
}

function encodeObject(o: object, stack: object[]): string {
  const at = stack.indexOf(o);
  if (at >= 0) throw new Refusal('', at); // the reason needs the path, see toTypeError
  const proto: unknown = Object.getPrototypeOf(o);
  if (Array.isArray(o)) {
    if (proto !== Array.prototype) throw classRefusal(o, proto);
    return encodeArray(o, stack);
  }
  if (proto === Object.prototype || proto === null) return encodePlain(o, stack);
  if (o instanceof Date) {
    const t = Date.prototype.getTime.call(o);
    // Date.prototype methods, not the instance's, so a subclass cannot change the key.
    return t === t ? 'Date(' + Date.prototype.toISOString.call(o) + ')' : 'Date(Invalid)';
  }
  if (o instanceof Uint8Array) {
    return 'Bytes(' + Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64') + ')';
  }
  if (o instanceof Map) return encodeMap(o, stack);
  if (o instanceof Set) return encodeSet(o, stack);
  throw classRefusal(o, proto);
}

function encodeArray(a: readonly unknown[], stack: object[]): string {
  stack.push(a);
  let out = '[';
  let i = 0;
  try {
    for (; i < a.length; i++) {
      if (i > 0) out += ',';
      out += encode(a[i], stack);
    }
  } catch (e) {
    throw addSegment(e, '[' + i + ']');
  }
  stack.pop();
  return out + ']';
}

function encodePlain(o: object, stack: object[]): string {
  const symbols = Object.getOwnPropertySymbols(o);
  for (const s of symbols) {
    if (Object.prototype.propertyIsEnumerable.call(o, s)) {
      throw new Refusal(
        `it has a property keyed by ${String(s)}, and symbol keys cannot be encoded. Use string keys.`,
      );
    }
  }
  // Object.keys and reads only: a key such as "__proto__" is never assigned anywhere.
  const keys = sortKeys(Object.keys(o));
  const rec = o as Record<string, unknown>;
  stack.push(o);
  let out = '{';
  let key = '';
  try {
    for (key of keys) {
      const v = rec[key];
      if (v === undefined) continue;
      const ev = encode(v, stack);
      out += (out.length > 1 ? ',' : '') + quote(key) + ':' + ev;
    }
  } catch (e) {
    throw addSegment(e, propertySegment(key));
  }
  stack.pop();
  return out + '}';
}

function encodeMap(m: Map<unknown, unknown>, stack: object[]): string {
  stack.push(m);
  const entries: string[] = [];
  let i = 0;
  let encodedKey: string | undefined;
  try {
    for (const [k, v] of m) {
      encodedKey = undefined;
      encodedKey = encode(k, stack);
      entries.push('[' + encodedKey + ',' + encode(v, stack) + ']');
      i++;
    }
  } catch (e) {
    throw addSegment(e, encodedKey === undefined ? `.keys()[${i}]` : `.get(${abbreviate(encodedKey)})`);
  }
  stack.pop();
  // Insertion order is history, not content: sorting makes equal maps encode alike.
  return 'Map([' + entries.sort().join(',') + '])';
}

function encodeSet(s: Set<unknown>, stack: object[]): string {
  stack.push(s);
  const items: string[] = [];
  let i = 0;
  try {
    for (const v of s) {
      items.push(encode(v, stack));
      i++;
    }
  } catch (e) {
    throw addSegment(e, `.values()[${i}]`);
  }
  stack.pop();
  return 'Set([' + items.sort().join(',') + '])';
}

// What JSON.stringify would escape, plus paired surrogates (which it keeps as they are).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON string quoting; most strings need no escape, and then this is several times faster. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/**
 * Sorts in place by UTF-16 code unit, like the default sort. Keys come mostly few and
 * often already in order (objects built by the same code), where an insertion sort
 * costs a handful of comparisons while Array.prototype.sort has a large fixed cost.
 */
function sortKeys(keys: string[]): string[] {
  const n = keys.length;
  if (n > 16) return keys.sort();
  for (let i = 1; i < n; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

function addSegment(e: unknown, segment: string): unknown {
  if (e instanceof Refusal) e.segments.push(segment);
  return e;
}

function propertySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? '.' + key : '[' + JSON.stringify(key) + ']';
}

function abbreviate(s: string): string {
  return s.length <= 40 ? s : s.slice(0, 37) + '...';
}

function classRefusal(o: object, proto: unknown): Refusal {
  const name = className(proto);
  if (name === undefined) {
    return new Refusal('objects with a custom prototype cannot be encoded; pass a plain object.');
  }
  const binaryHint =
    ArrayBuffer.isView(o) || o instanceof ArrayBuffer
      ? ' For binary data pass a Uint8Array or Buffer.'
      : '';
  return new Refusal(`objects of class ${name} cannot be encoded; pass a plain object.${binaryHint}`);
}

function className(proto: unknown): string | undefined {
  if (typeof proto !== 'object' || proto === null) return undefined;
  // Only a data property: a getter on the prototype is not ours to run.
  const desc = Object.getOwnPropertyDescriptor(proto, 'constructor');
  const ctor: unknown = desc?.value;
  if (typeof ctor !== 'function' || ctor.name === '') return undefined;
  return ctor.name;
}

function toTypeError(r: Refusal, argIndex: number): TypeError {
  const path = r.segments.slice().reverse();
  const where = path.length > 0 ? ` (at \`${path.join('')}\`)` : '';
  let reason = r.reason;
  if (r.cycleDepth >= 0) {
    const target = path.slice(0, r.cycleDepth).join('');
    const again = target === '' ? 'the argument itself' : `\`${target}\``;
    reason = `it refers to itself (this is ${again} again), and cycles cannot be encoded.`;
  }
  return new TypeError(`Cannot use argument ${argIndex}${where} as a memo key: ${reason}`);
}
