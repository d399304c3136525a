import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalKey } from '../../src/reactive/key.js';
import { KeyParseError, MAX_KEY_DEPTH, parseCanonicalKey } from '../../src/distributed/parse-key.js';

const numRuns = Number(process.env.FC_NUM_RUNS) || 200;

/** Parses and checks the round trip, so every accepting unit test also checks the inverse. */
function parse(text: string): unknown[] {
  const args = parseCanonicalKey(text);
  expect(canonicalKey(args)).toBe(text);
  return args;
}

function parseError(text: string): KeyParseError {
  try {
    parseCanonicalKey(text);
  } catch (e) {
    expect(e).toBeInstanceOf(KeyParseError);
    return e as KeyParseError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

/** Refused, and the error points where expected (when given). */
function refuses(text: string, offset?: number, reason?: RegExp): void {
  const e = parseError(text);
  if (offset !== undefined) expect(e.offset, JSON.stringify(text)).toBe(offset);
  if (reason !== undefined) expect(e.message).toMatch(reason);
}

/** The only kinds of object the parser may produce: fresh canonical representatives. */
function expectCanonicalShapes(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  if (Array.isArray(v)) {
    expect(Object.getPrototypeOf(v)).toBe(Array.prototype);
    v.forEach(expectCanonicalShapes);
  } else if (v instanceof Map) {
    for (const [k, x] of v) {
      expectCanonicalShapes(k);
      expectCanonicalShapes(x);
    }
  } else if (v instanceof Set) {
    v.forEach(expectCanonicalShapes);
  } else if (v instanceof Uint8Array) {
    expect(Buffer.isBuffer(v)).toBe(true);
  } else if (!(v instanceof Date)) {
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    Object.values(v).forEach(expectCanonicalShapes);
  }
}

function makeObject(entries: Iterable<readonly [string, unknown]>, nullProto: boolean): object {
  const o: object = nullProto ? Object.create(null) : {};
  for (const [k, v] of entries) {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return o;
}

// Code units that stress string escaping: delimiters, escapes, controls, surrogates.
const stringUnit = fc.oneof(
  fc.constantFrom('"', '\\', '/', ',', ':', '[', ']', '{', '}', '(', ')', 'n', '\n', '\t', '\u0000', '\u001f', '\u007f', '\u2028'),
  fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ud83d\ude00'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);
const anyString = fc.string({ unit: stringUnit, maxLength: 8 });
const propertyName = fc.oneof(anyString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '0', '9', '10'));

const leaf = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, true, false, NaN, Infinity, -Infinity, -0, 0, 5e-324, Number.MAX_VALUE),
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  anyString,
  fc.date({ noInvalidDate: false }),
  fc.constantFrom(new Date(8.64e15), new Date(-8.64e15), new Date(-62198755200000)), // extremes, year 0
  fc.uint8Array({ maxLength: 7 }),
  fc.uint8Array({ maxLength: 7 }).map((a) => Buffer.from(a)),
);

const { value: supported } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.sparseArray(tie('value'), { maxLength: 4 }),
    fc
      .tuple(fc.array(fc.tuple(propertyName, tie('value')), { maxLength: 4 }), fc.boolean())
      .map(([entries, nullProto]) => makeObject(entries, nullProto)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(tie('value'), { maxLength: 3 }).map((e) => new Set(e)),
  ),
}));
const argLists = fc.array(supported, { maxLength: 4 });

// Pieces of the grammar, so that random texts often get past the first character.
const grammarPiece = fc.constantFrom(
  '[', ']', '{', '}', '(', ')', ',', ':', '"', '\\', '\\u', '\\ud800', '/', ' ', '\n', '\ud800',
  '0', '1', '9', '-', '.', 'e', 'E', '+', 'n', '15', '"a"', '"b"', '"__proto__"',
  'null', 'undefined', 'true', 'false', 'NaN', 'Infinity', 'Date(', 'Invalid', '1970-01-01T00:00:00.000Z',
  'Bytes(', 'AA==', 'AQ', '=', 'Map([', 'Set([', '])', 'Foo(',
);
const grammarText = fc.oneof(
  fc.string({ unit: grammarPiece, maxLength: 24 }),
  fc.string({ unit: grammarPiece, maxLength: 24 }).map((s) => '[' + s + ']'),
);

const astralText = fc.string({
  unit: fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  maxLength: 30,
});

/** Either refuses with a KeyParseError or accepts a text that is its result's key. */
function acceptsOnlyCanonical(text: string): void {
  let args: unknown[];
  try {
    args = parseCanonicalKey(text);
  } catch (e) {
    if (!(e instanceof KeyParseError)) throw e;
    return;
  }
  expect(canonicalKey(args)).toBe(text);
}

describe('parseCanonicalKey: values of each type', () => {
  it('reads short lists of numbers and strings (the quick path)', () => {
    expect(parse('[]')).toEqual([]);
    expect(parse('[1,32]')).toEqual([1, 32]);
    expect(parse('["abc",3]')).toEqual(['abc', 3]);
    expect(parse('[0,-7,"",123456789012345,-999999999999999]')).toEqual([0, -7, '', 123456789012345, -999999999999999]);
    expect(parse('["a b","é","\ud83d\ude00"]')).toEqual(['a b', 'é', '\ud83d\ude00']);
    // Past the quick path's exact range, and back to the general reader.
    expect(parse('[1234567890123456,9007199254740992]')).toEqual([1234567890123456, 9007199254740992]);
    expect(parse('[1,"a",1.5,"b\\n"]')).toEqual([1, 'a', 1.5, 'b\n']);
  });

  it('reads null, undefined, booleans and the special numbers', () => {
    const args = parse('[null,undefined,true,false,NaN,Infinity,-Infinity]');
    expect(args).toEqual([null, undefined, true, false, NaN, Infinity, -Infinity]);
    expect(args).toHaveLength(7);
  });

  it('reads numbers exactly', () => {
    for (const n of [0.1, -1.5, 1e21, -1e21, 5e-7, 1e-7, 123e-20, 0.1 + 0.2, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, -(2 ** 60)]) {
      const [v] = parse(canonicalKey([n]));
      expect(Object.is(v, n), String(n)).toBe(true);
    }
    expect(parse('[1e+21,5e-7]')).toEqual([1e21, 5e-7]);
  });

  it('reads bigints', () => {
    expect(parse('[0n,10n,-3n]')).toEqual([0n, 10n, -3n]);
    const big = 3n ** 400n;
    expect(parse(canonicalKey([big, -big]))).toEqual([big, -big]);
  });

  it('reads strings with every kind of escape', () => {
    const strings = ['', '"', '\\', '/', '\b\f\n\r\t', '\u0000\u0001\u001f', '\u007f\u2028', '\ud800', '\udfff', 'a\udc00b', '\ud83d\ude00', '\ud83d', 'x\ude00'];
    expect(parse(canonicalKey(strings))).toEqual(strings);
    expect(parse('["a\\"b\\\\c"]')).toEqual(['a"b\\c']);
    expect(parse('["\\ud800"]')).toEqual(['\ud800']);
  });

  it('reads arrays, nested and empty', () => {
    expect(parse('[[],[[]],[1,[2,[3]]],[undefined,null]]')).toEqual([[], [[]], [1, [2, [3]]], [undefined, null]]);
  });

  it('reads plain objects with Object.prototype and own properties', () => {
    const [o] = parse('[{"10":3,"9":4,"B":5,"a":{"x":[]},"b":1}]') as [object];
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(o).toEqual({ 10: 3, 9: 4, B: 5, a: { x: [] }, b: 1 });
    expect(Object.keys(o)).toEqual(['9', '10', 'B', 'a', 'b']); // integer keys first, as JS orders them
    expect(parse('[{},{"":null}]')).toEqual([{}, { '': null }]);
  });

  it('reads dates, including invalid ones and the extremes', () => {
    const [d0, dInvalid] = parse('[Date(1970-01-01T00:00:00.000Z),Date(Invalid)]') as [Date, Date];
    expect(d0).toBeInstanceOf(Date);
    expect(d0.getTime()).toBe(0);
    expect(dInvalid.getTime()).toBeNaN();
    const extremes = [new Date(8.64e15), new Date(-8.64e15), new Date(-1), new Date(-62198755200000)];
    const back = parse(canonicalKey(extremes)) as Date[];
    expect(back.map((d) => d.getTime())).toEqual(extremes.map((d) => d.getTime()));
  });

  it('reads bytes as fresh Buffers that share no pool', () => {
    const [b, empty] = parse('[Bytes(AAEC/w==),Bytes()]') as [Buffer, Buffer];
    expect(Buffer.isBuffer(b)).toBe(true);
    expect([...b]).toEqual([0, 1, 2, 255]);
    expect(empty.length).toBe(0);
    // A pooled Buffer would expose its neighbours through `.buffer`.
    expect(b.byteOffset).toBe(0);
    expect(b.buffer.byteLength).toBe(4);
    for (const n of [1, 2, 3, 4, 5, 100]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      const [x] = parse(canonicalKey([bytes])) as [Buffer];
      expect([...x]).toEqual([...bytes]);
    }
  });

  it('reads maps and sets, keeping distinct objects with equal encodings apart', () => {
    const [m, s] = parse('[Map([["a",1],["b",{"x":2}]]),Set(["a",1,2])]') as [Map<unknown, unknown>, Set<unknown>];
    expect(m).toEqual(new Map<unknown, unknown>([['a', 1], ['b', { x: 2 }]]));
    expect(s).toEqual(new Set([1, 2, 'a']));
    expect(parse('[Map([]),Set([])]')).toEqual([new Map(), new Set()]);
    // Two different objects may encode alike; they stay two entries.
    expect((parse('[Map([[{},1],[{},2]])]')[0] as Map<unknown, unknown>).size).toBe(2);
    expect((parse('[Set([[],[]])]')[0] as Set<unknown>).size).toBe(2);
    expect((parse('[Map([[undefined,undefined]])]')[0] as Map<unknown, unknown>).has(undefined)).toBe(true);
    expect(parse('[Set([Set([Map([[Date(Invalid),Bytes(AQ==)]])])])]')).toHaveLength(1);
  });
});

describe('parseCanonicalKey: __proto__ and other Object.prototype names', () => {
  it('round-trips __proto__ and constructor as own properties without polluting anything', () => {
    const protoNamesBefore = Object.getOwnPropertyNames(Object.prototype);
    const text = '[{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"toString":1}]';
    const [o] = parse(text) as [Record<string, unknown>];
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(o, '__proto__')).toEqual({
      value: { polluted: true },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(Object.prototype.constructor).toBe(Object);
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(protoNamesBefore);
  });

  it('neither runs setters nor trips over read-only names on Object.prototype', () => {
    const seen: unknown[] = [];
    Object.defineProperty(Object.prototype, 'zzTrap', {
      set(v: unknown) {
        seen.push(v);
      },
      configurable: true,
    });
    Object.defineProperty(Object.prototype, 'zzFrozen', { value: 0, writable: false, configurable: true });
    try {
      const [o] = parse('[{"zzFrozen":2,"zzTrap":1}]') as [Record<string, unknown>];
      expect(seen).toEqual([]);
      expect(Object.getOwnPropertyDescriptor(o, 'zzTrap')?.value).toBe(1);
      expect(Object.getOwnPropertyDescriptor(o, 'zzFrozen')?.value).toBe(2);
    } finally {
      delete (Object.prototype as Record<string, unknown>)['zzTrap'];
      delete (Object.prototype as Record<string, unknown>)['zzFrozen'];
    }
  });
});

describe('parseCanonicalKey: malformed and non-canonical text', () => {
  it('refuses anything but a bracketed list, and trailing data', () => {
    refuses('', 0, /empty/);
    refuses('1', 0);
    refuses('"a"', 0);
    refuses('{}', 0);
    refuses(' [1]', 0);
    refuses('[1] ', 3, /after the closing/);
    refuses('[1]]', 3);
    refuses('[1][2]', 3);
    refuses('[1]\u0000', 3);
  });

  it('refuses unbalanced or misplaced brackets and separators', () => {
    refuses('[', 1, /ends where a value should start/);
    refuses('[1', 2);
    refuses('[1,2', 4);
    refuses('[[1]', 4);
    refuses('[1}', 2);
    refuses('[{"a":1]', 7);
    refuses('[{"a":1', 7);
    refuses('[{]', 2, /quoted property name/);
    refuses('[{a:1}]', 2);
    refuses('[{"a"1}]', 5);
    refuses('[{"a":}]', 6);
    refuses('[,]', 1);
    refuses('[1,]', 3);
    refuses('[1,,2]', 3);
    refuses('[{"a":1,}]', 8);
    refuses('[1 ,2]', 2); // no whitespace anywhere in a canonical key
    refuses('[1, 2]', 3);
  });

  it('refuses numbers not spelt as String(n) spells them', () => {
    for (const t of ['01', '-0', '00', '1.50', '1.', '.5', '+1', '1e21', '1E+21', '1e+021', '5e-07', '0.0', '1e', '1-2', '1..2', '--1', '-', '0x10', '1_000', '12345678901234567890', '-.5', '-Inf', '-infinity', 'infinity', 'nan']) {
      refuses(`[${t}]`);
    }
    refuses('[1e21]', 1, /"1e21" is not a number as String\(n\) writes it/);
    refuses('[-.5]', 2, /digit/);
    refuses('[1x]', 2);
    refuses('[Infinityx]', 9);
  });

  it('refuses malformed bigints', () => {
    for (const t of ['01n', '-0n', '00n']) refuses(`[${t}]`, 1);
    refuses('[-n]', 2, /digit/);
    refuses('[1.5n]', 4); // the number token "1.5" is fine, the "n" after it is not
    refuses('[1nn]', 3);
    refuses('[1e3n]', 1);
  });

  it('refuses bad escapes and strings JSON.stringify would write differently', () => {
    refuses('["a]', 1, /unterminated/);
    refuses('["a\\"]', 1, /unterminated/);
    refuses('["\\', 1, /unterminated/);
    refuses('["\\x41"]', 2, /invalid escape/);
    refuses('["\\a"]', 2, /invalid escape/);
    refuses('["\\u12"]', 6, /hex digits/);
    refuses('["\\u12g4"]', 6, /hex digits/);
    refuses('["a\nb"]', 3, /control character/);
    refuses('["\u0000"]', 2, /control character/);
    for (const s of ['\\/', '\\u0041', '\\uD800', '\\ud83d\\ude00', '\\ud83d\ude00', '\ud800', 'a\udc00', '\\u001F', '\\u000a', '\\u0008', '\\u007f', '\\u2028']) {
      refuses(`["${s}"]`, 1, /JSON\.stringify/);
    }
    refuses('[{"\\/":1}]', 2, /JSON\.stringify/);
  });

  it('refuses unsorted, duplicate and undefined properties', () => {
    refuses('[{"b":1,"a":2}]', 8, /sorted/);
    refuses('[{"a":1,"a":2}]', 8, /duplicate/);
    refuses('[{"9":1,"10":2}]', 8, /sorted/); // code-unit order, not numeric
    refuses('[{"a":undefined}]', 6, /undefined/);
  });

  it('refuses non-canonical dates', () => {
    for (const d of ['2024-01-02', '2024-01-02T03:04:05Z', '2024-01-02T03:04:05.006+00:00', '+002024-01-02T03:04:05.006Z', '+275760-09-13T00:00:00.001Z', '2024-02-30T00:00:00.000Z', '', 'invalid', 'NaN', '0', '-000000-01-01T00:00:00.000Z']) {
      refuses(`[Date(${d})]`);
    }
    refuses('[Date(2024-01-02T03:04:05.006Z]', 30, /"\)"/);
    refuses(`[Date(${'1'.repeat(10_000)})]`, 34);
    refuses('[Date]', 1);
    refuses('[Dat(1)]', 1);
  });

  it('refuses non-canonical base64', () => {
    for (const b of ['AB==', 'AAF=', 'AAE', 'A', 'AA=A', 'A===', '====', 'AA-_', 'AA AA===']) refuses(`[Bytes(${b})]`);
    refuses('[Bytes(AAEC/w==]', 15);
  });

  it('refuses unsorted or duplicate map and set contents', () => {
    refuses('[Map([["b",1],["a",2]])]', 14, /sorted/);
    refuses('[Map([["a",1],["a",2]])]', 15, /duplicate map key/);
    refuses('[Map([[NaN,1],[NaN,2]])]', 15, /duplicate map key/);
    refuses('[Set([2,1])]', 8, /sorted/);
    refuses('[Set([1,1])]', 8, /duplicate set element/);
    refuses('[Set(["a","a"])]', 10, /duplicate set element/);
    refuses('[Set([1n,1n])]', 9, /duplicate set element/);
    refuses('[Map([1])]', 6, /entry/);
    refuses('[Map([[1]])]', 8);
    refuses('[Map([[1,2,3]])]', 10);
    refuses('[Map([[1,2]]]', 12);
    refuses('[Set([1]]', 8);
    refuses('[Set(1)]', 1);
    refuses('[Map[]]', 1);
  });

  it('refuses unknown tags and words', () => {
    for (const t of ['Foo(1)', 'Symbol(x)', 'Datex', 'nul', 'nulll', 'True', 'undefine', 'NAN', 'M', 'S', 'B', 'D', 'Bytes', '()', ')', "'a'", '`a`']) {
      refuses(`[${t}]`);
    }
  });
});

describe('parseCanonicalKey: hostile input', () => {
  it(`accepts ${MAX_KEY_DEPTH} levels of nesting and refuses one more`, () => {
    const deep = '['.repeat(MAX_KEY_DEPTH) + ']'.repeat(MAX_KEY_DEPTH);
    parse(`[${deep}]`);
    refuses(`[[${deep}]]`, MAX_KEY_DEPTH + 1, /nest more than/);
    // Every kind of container counts.
    const mixed = (depth: number): string => {
      let s = '1';
      for (let i = 0; i < depth; i++) s = [`[${s}]`, `{"k":${s}}`, `Set([${s}])`, `Map([[${s},0]])`][i % 4] as string;
      return `[${s}]`;
    };
    parse(mixed(MAX_KEY_DEPTH));
    refuses(mixed(MAX_KEY_DEPTH + 1), undefined, /nest more than/);
  });

  it('refuses absurd nesting with its own error, not a stack overflow', () => {
    refuses('['.repeat(1_000_000), MAX_KEY_DEPTH + 1, /nest more than/);
    refuses('[' + '{"a":'.repeat(100_000), undefined, /nest more than/);
    refuses('[' + 'Set(['.repeat(100_000), undefined, /nest more than/);
  });

  it('gets through large texts quickly, accepted or not', () => {
    const many = '[' + Array.from({ length: 100_000 }, (_, i) => i).join(',') + ']';
    expect(parse(many)).toHaveLength(100_000);
    const manyStrings = canonicalKey([Array.from({ length: 20_000 }, (_, i) => `s${i}\n`)]);
    parse(manyStrings);
    refuses('["' + 'a'.repeat(1_000_000), 1, /unterminated/);
    refuses('["' + 'a\\n'.repeat(300_000), 1, /unterminated/);
    refuses('[' + '1,'.repeat(300_000), 600_001);
    refuses('[Bytes(' + 'A'.repeat(1_000_001) + ')]', 7, /multiple of 4/);
    refuses('[' + '9'.repeat(1_000_000) + ']', 1);
    const bigObject = canonicalKey([Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${String(i).padStart(5, '0')}`, i]))]);
    parse(bigObject);
    const bigSet = canonicalKey([new Set(Array.from({ length: 10_000 }, (_, i) => [i]))]);
    parse(bigSet);
  });

  it('reports the offset and an escaped excerpt, and is a SyntaxError', () => {
    const e = parseError('[1,2,"ok",3x]');
    expect(e.name).toBe('KeyParseError');
    expect(e).toBeInstanceOf(SyntaxError);
    expect(e).toBeInstanceOf(Error);
    expect(e.offset).toBe(11);
    expect(e.message).toBe('Cannot parse memo key at offset 11: expected "," or "]" after an element (after "[1,2,\\"ok\\",3", at "x]")');
    const long = parseError('[' + '"abcdefghij",'.repeat(10) + '?' + ',1'.repeat(50) + ']');
    expect(long.message).toContain('(after "...');
    expect(long.message).toContain('at "?,1,1,1,1,1,1,1,..."');
    expect(long.message.length).toBeLessThan(200);
    // Control characters and lone surrogates from the text reach the message escaped.
    const ctl = parseError('[\u0000\u001b[31m\ud800]');
    expect(ctl.message).not.toMatch(/[\u0000-\u001f\ud800-\udfff]/);
    expect(parseError('[1,').message).toContain('at the end of the text');
  });

  it('refuses non-strings with a TypeError', () => {
    expect(() => parseCanonicalKey(Buffer.from('[1]') as unknown as string)).toThrow(TypeError);
    expect(() => parseCanonicalKey(null as unknown as string)).toThrow(TypeError);
  });
});

describe('parseCanonicalKey: properties', () => {
  it('inverts canonicalKey on every supported argument list', () => {
    fc.assert(
      fc.property(argLists, (args) => {
        const key = canonicalKey(args);
        const back = parseCanonicalKey(key);
        expect(canonicalKey(back)).toBe(key);
        back.forEach(expectCanonicalShapes);
      }),
      { numRuns },
    );
  });

  it('returns or throws KeyParseError on arbitrary text, and accepts only canonical keys', () => {
    fc.assert(
      // Not fc.string's 'binary' unit: building it costs fast-check a second on first use.
      fc.property(fc.oneof(fc.string({ unit: stringUnit, maxLength: 30 }), astralText, grammarText), acceptsOnlyCanonical),
      { numRuns: numRuns * 3 },
    );
  });

  it('refuses or round-trips every small edit of a canonical key', () => {
    const edit = fc.record({
      kind: fc.constantFrom('insert', 'delete', 'replace', 'swap'),
      at: fc.nat(),
      piece: fc.oneof(grammarPiece, stringUnit),
    });
    fc.assert(
      fc.property(argLists, fc.array(edit, { minLength: 1, maxLength: 3 }), (args, edits) => {
        let text = canonicalKey(args);
        for (const { kind, at, piece } of edits) {
          const i = at % (text.length + 1);
          if (kind === 'insert') text = text.slice(0, i) + piece + text.slice(i);
          else if (kind === 'delete') text = text.slice(0, i) + text.slice(i + 1);
          else if (kind === 'replace') text = text.slice(0, i) + piece + text.slice(i + piece.length);
          else if (i + 1 < text.length) text = text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
        }
        acceptsOnlyCanonical(text);
      }),
      { numRuns },
    );
  });

  it('refuses every truncation of a canonical key', () => {
    // The outer "]" is the last character, so no proper prefix is a key.
    fc.assert(
      fc.property(argLists, fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (args, cuts) => {
        const key = canonicalKey(args);
        for (const cut of cuts) parseError(key.slice(0, cut % key.length));
      }),
      { numRuns },
    );
    const key = canonicalKey([1, 'a\n', { b: [null, 2n] }, new Map([[new Date(0), new Set([Buffer.from('hi')])]])]);
    for (let n = 0; n < key.length; n++) parseError(key.slice(0, n));
  });
});
