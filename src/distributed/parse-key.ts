/**
 * Reading canonical keys back into argument lists: the inverse of `canonicalKey`.
 *
 * A server receives a request's arguments only as their canonical key (the text also
 * used in Redis key names), so it must rebuild values from it. The text may have been
 * written by another process or tool, so the reader trusts nothing: it accepts exactly
 * the texts `canonicalKey` can produce and refuses everything else with a
 * {@link KeyParseError}. Accepting only canonical text matters beyond tidiness: a
 * non-canonical spelling (`01`, unsorted keys, `\/` in a string, a duplicate set
 * element) would parse into arguments whose key differs from the text the request
 * came under, so the result would be stored under a key nobody asks for.
 *
 * @module
 */

/**
 * How many containers (arrays, objects, maps, sets) may nest inside one argument.
 * Deeper text is refused rather than parsed, so hostile input cannot exhaust the stack.
 */
export const MAX_KEY_DEPTH = 1000;

/**
 * Thrown for text that is not a canonical key. A `SyntaxError`, like `JSON.parse`'s
 * errors, so code that already handles those handles this too.
 */
export class KeyParseError extends SyntaxError {
  /** Zero-based UTF-16 offset into the text where reading failed. */
  readonly offset: number;

  constructor(reason: string, text: string, offset: number) {
    super(`Cannot parse memo key at offset ${offset}: ${reason} (${excerpt(text, offset)})`);
    this.name = 'KeyParseError';
    this.offset = offset;
  }
}

/**
 * Rebuilds the argument list a canonical key was made from: for every `args` that
 * `canonicalKey` accepts (nested at most {@link MAX_KEY_DEPTH} deep),
 * `canonicalKey(parseCanonicalKey(canonicalKey(args))) === canonicalKey(args)`, and
 * every text this accepts is the canonical key of what it returns.
 *
 * Values come back as one canonical representative of their equivalence class: plain
 * objects with `Object.prototype` (a `"__proto__"` key is an own property, never a
 * prototype), byte arrays as fresh, unpooled `Buffer`s, and new `Date`, `Map` and
 * `Set` objects. Nothing is shared between calls or between equal sub-values.
 *
 * Runs in time linear in the text (apart from V8's conversion of very long bigint
 * literals, which is slightly superlinear), without `eval`, and with recursion bounded
 * by {@link MAX_KEY_DEPTH}.
 *
 * @param text A key as written by `canonicalKey`, e.g. read back from Redis.
 * @returns The argument list.
 * @throws KeyParseError for anything `canonicalKey` would not have written: malformed
 *   or truncated text, trailing data, whitespace, non-canonical numbers, strings,
 *   dates or base64, unsorted object keys or set elements, duplicate map keys, too
 *   deep nesting. The message names the offset and quotes the text around it.
 * @throws TypeError if `text` is not a string.
 *
 * @example
 * ```ts
 * parseCanonicalKey('[1,"a",{"x":2,"y":[true]}]'); // [1, 'a', { x: 2, y: [true] }]
 * parseCanonicalKey('[10n,Date(1970-01-01T00:00:00.000Z),Set([1,2])]');
 * // [10n, new Date(0), new Set([1, 2])]
 * parseCanonicalKey('[01]');
 * // KeyParseError: Cannot parse memo key at offset 1: "01" is not a number as
 * // String(n) writes it (after "[", at "01]")
 * ```
 */
export function parseCanonicalKey(text: string): unknown[] {
  if (typeof text !== 'string') {
    throw new TypeError(`parseCanonicalKey expects a string, got ${text === null ? 'null' : typeof text}`);
  }
  // Most keys are a few small integers and plain strings; the general reader handles
  // them too, but this loop skips its dispatch and allocates nothing but the result.
  const flat = parseFlat(text);
  if (flat !== undefined) return flat;
  const reader = new Reader(text);
  if (text.charCodeAt(0) !== BRACKET_OPEN) reader.fail('a key starts with "["', 0);
  const args = reader.readArray(0);
  if (reader.pos !== text.length) reader.fail('unexpected text after the closing "]"');
  return args;
}

// Character codes, named so the dispatch reads as grammar.
const QUOTE = 0x22; // "
const PLUS = 0x2b; // +
const COMMA = 0x2c; // ,
const MINUS = 0x2d; // -
const DOT = 0x2e; // .
const SLASH = 0x2f; // /
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const COLON = 0x3a; // :
const EQUALS = 0x3d; // =
const UPPER_A = 0x41;
const UPPER_B = 0x42;
const UPPER_D = 0x44;
const UPPER_E = 0x45;
const UPPER_I = 0x49;
const UPPER_M = 0x4d;
const UPPER_N = 0x4e;
const UPPER_S = 0x53;
const UPPER_Z = 0x5a;
const BRACKET_OPEN = 0x5b; // [
const BACKSLASH = 0x5c; // \
const BRACKET_CLOSE = 0x5d; // ]
const LOWER_A = 0x61;
const LOWER_E = 0x65;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
const LOWER_T = 0x74;
const LOWER_U = 0x75;
const LOWER_Z = 0x7a;
const BRACE_OPEN = 0x7b; // {
const BRACE_CLOSE = 0x7d; // }
const PAREN_CLOSE = 0x29; // )

const OBJECT_PROTOTYPE: object = Object.prototype;

/** `+275760-09-13T00:00:00.000Z` is the longest string `toISOString` returns. */
const MAX_ISO_LENGTH = 27;

/** Integers with at most this many digits are exact doubles printed as their digits. */
const MAX_EXACT_DIGITS = 15;

/**
 * A list of small integers and escape-free strings, or `undefined` to leave the text
 * to the general reader (which also produces every error message).
 */
function parseFlat(text: string): unknown[] | undefined {
  const len = text.length;
  if (len < 2 || text.charCodeAt(0) !== BRACKET_OPEN) return undefined;
  const out: unknown[] = [];
  if (len === 2) return text.charCodeAt(1) === BRACKET_CLOSE ? out : undefined;
  let i = 1;
  for (;;) {
    let c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = ++i;
      for (;;) {
        if (i >= len) return undefined;
        c = text.charCodeAt(i);
        if (c === QUOTE) break;
        if (c === BACKSLASH || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) return undefined;
        i++;
      }
      out.push(text.slice(start, i++));
    } else {
      const neg = c === MINUS;
      if (neg) c = text.charCodeAt(++i);
      const start = i;
      let v = 0;
      while (c >= DIGIT_0 && c <= DIGIT_9) {
        v = v * 10 + (c - DIGIT_0);
        c = text.charCodeAt(++i);
      }
      const digits = i - start;
      if (
        digits === 0 ||
        digits > MAX_EXACT_DIGITS ||
        (digits > 1 && text.charCodeAt(start) === DIGIT_0) ||
        (neg && v === 0)
      ) {
        return undefined;
      }
      out.push(neg ? -v : v);
    }
    c = text.charCodeAt(i++);
    if (c === COMMA) continue;
    return c === BRACKET_CLOSE && i === len ? out : undefined;
  }
}

class Reader {
  pos = 0;
  private readonly len: number;

  constructor(private readonly text: string) {
    this.len = text.length;
  }

  fail(reason: string, at: number = this.pos): never {
    throw new KeyParseError(reason, this.text, at);
  }

  /** A value starting at `pos`; `depth` counts the containers around it. */
  readValue(depth: number): unknown {
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    switch (c) {
      case QUOTE:
        return this.readString();
      case BRACKET_OPEN:
        return this.readArray(depth + 1);
      case BRACE_OPEN:
        return this.readObject(depth + 1);
      case LOWER_N:
        return this.readWord('null', null);
      case LOWER_U:
        return this.readWord('undefined', undefined);
      case LOWER_T:
        return this.readWord('true', true);
      case LOWER_F:
        return this.readWord('false', false);
      case UPPER_N:
        return this.readWord('NaN', NaN);
      case UPPER_I:
        return this.readWord('Infinity', Infinity);
      case UPPER_D:
        return this.readDate();
      case UPPER_B:
        return this.readBytes();
      case UPPER_M:
        return this.readMap(depth + 1);
      case UPPER_S:
        return this.readSet(depth + 1);
      default:
        if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) return this.readNumber();
        return this.fail(this.pos >= this.len ? 'the text ends where a value should start' : 'expected a value');
    }
  }

  /** An array whose `[` is at `pos`. */
  readArray(depth: number): unknown[] {
    this.enter(depth);
    const text = this.text;
    const out: unknown[] = [];
    if (text.charCodeAt(++this.pos) === BRACKET_CLOSE) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.readValue(depth));
      const c = text.charCodeAt(this.pos++);
      if (c === COMMA) continue;
      if (c === BRACKET_CLOSE) return out;
      this.fail('expected "," or "]" after an element', this.pos - 1);
    }
  }

  private readObject(depth: number): object {
    this.enter(depth);
    const text = this.text;
    const out = {};
    if (text.charCodeAt(++this.pos) === BRACE_CLOSE) {
      this.pos++;
      return out;
    }
    let previous: string | undefined;
    for (;;) {
      const keyAt = this.pos;
      if (text.charCodeAt(keyAt) !== QUOTE) this.fail('expected a quoted property name');
      const key = this.readString();
      // Strictly increasing also rules out duplicates, which would silently collapse.
      if (previous !== undefined && !(previous < key)) {
        this.fail(
          previous === key ? 'duplicate property name' : 'property names must be sorted by UTF-16 code unit',
          keyAt,
        );
      }
      previous = key;
      this.expect(COLON, '":" after a property name');
      const valueAt = this.pos;
      const value = this.readValue(depth);
      if (value === undefined) {
        this.fail('a property cannot hold undefined (canonical keys leave such properties out)', valueAt);
      }
      // Assignment would run the `__proto__` setter (or one someone added to
      // Object.prototype) and throws for names frozen there (hardened realms), so such
      // names are defined. Any other name assigns exactly like a definition, and ten
      // times faster: the only object on the chain is Object.prototype.
      if (Object.hasOwn(OBJECT_PROTOTYPE, key)) {
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        (out as Record<string, unknown>)[key] = value;
      }
      const c = text.charCodeAt(this.pos++);
      if (c === COMMA) continue;
      if (c === BRACE_CLOSE) return out;
      this.fail('expected "," or "}" after a property', this.pos - 1);
    }
  }

  private readMap(depth: number): Map<unknown, unknown> {
    this.enter(depth);
    this.readWord('Map([', undefined);
    const text = this.text;
    const out = new Map<unknown, unknown>();
    if (text.charCodeAt(this.pos) !== BRACKET_CLOSE) {
      let previous = '';
      for (;;) {
        const start = this.pos;
        this.expect(BRACKET_OPEN, '"[" to start a [key,value] entry');
        const key = this.readValue(depth);
        this.expect(COMMA, '"," between a map key and its value');
        const value = this.readValue(depth);
        this.expect(BRACKET_CLOSE, '"]" to end a [key,value] entry');
        // The encoder sorts entries by their text, so their order is not history.
        const entry = text.slice(start, this.pos);
        if (entry < previous) this.fail('map entries must be sorted by their encoding', start);
        previous = entry;
        const size = out.size;
        out.set(key, value);
        if (out.size === size) this.fail('duplicate map key', start + 1);
        if (text.charCodeAt(this.pos) !== COMMA) break;
        this.pos++;
      }
    }
    this.expect(BRACKET_CLOSE, '"," or "]" after a map entry');
    this.expect(PAREN_CLOSE, '")" to close Map(');
    return out;
  }

  private readSet(depth: number): Set<unknown> {
    this.enter(depth);
    this.readWord('Set([', undefined);
    const text = this.text;
    const out = new Set<unknown>();
    if (text.charCodeAt(this.pos) !== BRACKET_CLOSE) {
      let previous = '';
      for (;;) {
        const start = this.pos;
        const value = this.readValue(depth);
        const element = text.slice(start, this.pos);
        if (element < previous) this.fail('set elements must be sorted by their encoding', start);
        previous = element;
        const size = out.size;
        out.add(value);
        // Equal encodings are fine for objects (two distinct `{}`), not for primitives.
        if (out.size === size) this.fail('duplicate set element', start);
        if (text.charCodeAt(this.pos) !== COMMA) break;
        this.pos++;
      }
    }
    this.expect(BRACKET_CLOSE, '"," or "]" after a set element');
    this.expect(PAREN_CLOSE, '")" to close Set(');
    return out;
  }

  /** A string whose opening quote is at `pos`. */
  private readString(): string {
    const text = this.text;
    const len = this.len;
    const start = this.pos + 1;
    for (let i = start; i < len; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return text.slice(start, i);
      }
      // Escapes, control characters and surrogates need decoding or checking.
      if (c === BACKSLASH || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) return this.readEscapedString(start, i);
    }
    return this.fail('unterminated string', start - 1);
  }

  /** The rest of a string from `from`, which needs more than slicing. */
  private readEscapedString(start: number, from: number): string {
    const text = this.text;
    const len = this.len;
    let out = text.slice(start, from);
    let chunk = from;
    let i = from;
    for (;;) {
      if (i >= len) this.fail('unterminated string', start - 1);
      const c = text.charCodeAt(i);
      if (c === QUOTE) break;
      if (c < 0x20) this.fail('raw control character in a string; JSON writes it escaped', i);
      if (c !== BACKSLASH) {
        i++;
        continue;
      }
      out += text.slice(chunk, i);
      if (i + 1 >= len) this.fail('unterminated string', start - 1);
      const e = text.charCodeAt(i + 1);
      switch (e) {
        case QUOTE:
        case BACKSLASH:
        case SLASH:
          out += String.fromCharCode(e);
          break;
        case 0x62: // b
          out += '\b';
          break;
        case LOWER_F:
          out += '\f';
          break;
        case LOWER_N:
          out += '\n';
          break;
        case 0x72: // r
          out += '\r';
          break;
        case LOWER_T:
          out += '\t';
          break;
        case LOWER_U: {
          let code = 0;
          for (let k = i + 2; k < i + 6; k++) {
            const h = hexValue(text.charCodeAt(k));
            if (h < 0) this.fail('expected four hex digits after \\u', k);
            code = code * 16 + h;
          }
          out += String.fromCharCode(code);
          i += 4;
          break;
        }
        default:
          this.fail('invalid escape in a string', i);
      }
      i += 2;
      chunk = i;
    }
    out += text.slice(chunk, i);
    // JSON.stringify is the canonical spelling (quote() in key.ts agrees with it), and
    // comparing against it settles every choice at once: \/ versus /, \u0041 versus A,
    // hex case, raw lone surrogates, escaped surrogate pairs.
    if (JSON.stringify(out) !== text.slice(start - 1, i + 1)) {
      this.fail('string is not escaped the way JSON.stringify escapes it', start - 1);
    }
    this.pos = i + 1;
    return out;
  }

  private readNumber(): number | bigint {
    const text = this.text;
    const start = this.pos;
    let i = start;
    let c = text.charCodeAt(i);
    const neg = c === MINUS;
    if (neg) {
      if (text.startsWith('Infinity', i + 1)) {
        this.pos = i + 9;
        return -Infinity;
      }
      c = text.charCodeAt(++i);
    }
    const digitsAt = i;
    let v = 0;
    while (c >= DIGIT_0 && c <= DIGIT_9) {
      v = v * 10 + (c - DIGIT_0);
      c = text.charCodeAt(++i);
    }
    const digits = i - digitsAt;
    if (digits === 0) this.fail('expected a digit', i);
    const leadingZero = digits > 1 && text.charCodeAt(digitsAt) === DIGIT_0;
    if (c === LOWER_N) {
      // Syntax alone decides canonical form here, so no String(b) round trip is needed
      // (which would cost more than the parse for huge literals).
      if (leadingZero || (neg && v === 0)) this.fail('bigint not as String(b) + "n" writes it', start);
      this.pos = i + 1;
      return BigInt(text.slice(start, i));
    }
    const plain = c !== DOT && c !== LOWER_E && c !== UPPER_E && c !== PLUS && c !== MINUS;
    if (plain && digits <= MAX_EXACT_DIGITS && !leadingZero && !(neg && v === 0)) {
      this.pos = i;
      return neg ? -v : v;
    }
    while (c === DOT || c === LOWER_E || c === UPPER_E || c === PLUS || c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      c = text.charCodeAt(++i);
    }
    const token = text.slice(start, i);
    const n = Number(token);
    // String(n) is the canonical spelling, and the comparison rejects everything else
    // at once: leading zeros, "1e21" for "1e+21", "-0", "1.50", "1-2" (NaN).
    if (String(n) !== token) this.fail(`"${abbreviate(token)}" is not a number as String(n) writes it`, start);
    this.pos = i;
    return n;
  }

  private readDate(): Date {
    this.readWord('Date(', undefined);
    const text = this.text;
    if (text.startsWith('Invalid)', this.pos)) {
      this.pos += 8;
      return new Date(NaN);
    }
    const start = this.pos;
    let i = start;
    // Bounded, so garbage is never handed to the Date parser in bulk.
    while (i - start <= MAX_ISO_LENGTH && isIsoChar(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== PAREN_CLOSE) this.fail('expected an ISO date and ")"', i);
    const iso = text.slice(start, i);
    const date = new Date(iso);
    const t = date.getTime();
    if (t !== t || date.toISOString() !== iso) this.fail('date not as toISOString writes it', start);
    this.pos = i + 1;
    return date;
  }

  private readBytes(): Buffer {
    this.readWord('Bytes(', undefined);
    const text = this.text;
    const start = this.pos;
    let i = start;
    while (isBase64Char(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== PAREN_CLOSE) this.fail('expected base64 and ")"', i);
    const b64 = text.slice(start, i);
    if (b64.length % 4 !== 0) this.fail('base64 length is not a multiple of 4', start);
    let padding = 0;
    if (b64.endsWith('=')) padding = b64.endsWith('==') ? 2 : 1;
    // Buffer.alloc, not Buffer.from(b64): a small Buffer.from shares a pool, and the
    // caller's bytes should not expose other data through `.buffer`.
    const bytes = Buffer.alloc((b64.length / 4) * 3 - padding);
    bytes.write(b64, 'base64');
    // Node's decoder is lenient (stray "=", nonzero padding bits); re-encoding is not.
    if (bytes.toString('base64') !== b64) this.fail('base64 not as Buffer#toString("base64") writes it', start);
    this.pos = i + 1;
    return bytes;
  }

  /** Consumes `word` at `pos` and returns `value`. */
  private readWord<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${JSON.stringify(word)}`);
    this.pos += word.length;
    return value;
  }

  private expect(code: number, what: string): void {
    if (this.text.charCodeAt(this.pos) !== code) this.fail(`expected ${what}`);
    this.pos++;
  }

  private enter(depth: number): void {
    if (depth > MAX_KEY_DEPTH) this.fail(`containers nest more than ${MAX_KEY_DEPTH} deep`);
  }
}

function hexValue(c: number): number {
  if (c >= DIGIT_0 && c <= DIGIT_9) return c - DIGIT_0;
  if (c >= LOWER_A && c <= LOWER_F) return c - LOWER_A + 10;
  if (c >= UPPER_A && c <= 0x46) return c - UPPER_A + 10; // A-F; the case is checked later
  return -1;
}

function isIsoChar(c: number): boolean {
  return (c >= DIGIT_0 && c <= DIGIT_9) || c === MINUS || c === PLUS || c === COLON || c === DOT || c === 0x54 || c === UPPER_Z;
}

function isBase64Char(c: number): boolean {
  return (
    (c >= UPPER_A && c <= UPPER_Z) ||
    (c >= LOWER_A && c <= LOWER_Z) ||
    (c >= DIGIT_0 && c <= DIGIT_9) ||
    c === PLUS ||
    c === SLASH ||
    c === EQUALS
  );
}

function abbreviate(s: string): string {
  return s.length <= 24 ? s : s.slice(0, 21) + '...';
}

/** Where reading stopped, quoted with escapes so control characters cannot reach logs raw. */
function excerpt(text: string, offset: number): string {
  if (text.length === 0) return 'the text is empty';
  const from = Math.max(0, offset - 16);
  const before = (from > 0 ? '...' : '') + text.slice(from, offset);
  if (offset >= text.length) return `after ${JSON.stringify(before)}, at the end of the text`;
  const to = Math.min(text.length, offset + 16);
  const after = text.slice(offset, to) + (to < text.length ? '...' : '');
  return offset === 0 ? `at ${JSON.stringify(after)}` : `after ${JSON.stringify(before)}, at ${JSON.stringify(after)}`;
}
