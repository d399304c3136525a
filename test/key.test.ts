import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalKey } from '../src/reactive/key.js';
import { seeded } from './support/seeded.mjs';

const numRuns = Number(process.env.FC_NUM_RUNS) || 300;

/** Builds an object without assignment, so "__proto__" becomes an own property. */
function makeObject(entries: Iterable<readonly [string, unknown]>, nullProto = false): object {
  const o: object = nullProto ? Object.create(null) : {};
  for (const [k, v] of entries) {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return o;
}

function isPlain(v: object): boolean {
  const p: unknown = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function definedEntries(o: object): [string, unknown][] {
  return Object.entries(o).filter(([, v]) => v !== undefined);
}

/** Multiset equality under an equivalence relation: greedy matching suffices. */
function sameMultiset<T>(a: T[], b: T[], eq: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  const rest = [...b];
  for (const x of a) {
    const j = rest.findIndex((y) => eq(x, y));
    if (j < 0) return false;
    rest.splice(j, 1);
  }
  return true;
}

/** The documented equality, written independently of the encoder. */
function structurallyEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (a !== a && b !== b);
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!structurallyEqual(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && structurallyEqual(a.getTime(), b.getTime());
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array &&
      b instanceof Uint8Array &&
      a.length === b.length &&
      a.every((x, i) => x === b[i])
    );
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map)) return false;
    return sameMultiset([...a], [...b], (x, y) => structurallyEqual(x[0], y[0]) && structurallyEqual(x[1], y[1]));
  }
  if (a instanceof Set || b instanceof Set) {
    if (!(a instanceof Set) || !(b instanceof Set)) return false;
    return sameMultiset([...a], [...b], structurallyEqual);
  }
  if (!isPlain(a) || !isPlain(b)) throw new Error('test bug: unexpected value');
  const ea = definedEntries(a);
  const eb = new Map(definedEntries(b));
  return ea.length === eb.size && ea.every(([k, v]) => eb.has(k) && structurallyEqual(v, eb.get(k)));
}


function shuffle<T>(xs: T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * A structurally equal deep copy that differs in every way the rules say does not
 * matter: key order, prototype of plain objects, extra undefined properties, -0,
 * holes, Buffer versus Uint8Array, Map and Set insertion order.
 */
function equivalentClone(v: unknown, rand: () => number): unknown {
  if (typeof v === 'number') return v === 0 ? (rand() < 0.5 ? 0 : -0) : v;
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      // A hole reads as undefined, so an explicit undefined may become a hole and back.
      if (x === undefined && rand() < 0.5) continue;
      out[i] = equivalentClone(x, rand);
    }
    return out;
  }
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof Uint8Array) {
    if (rand() < 0.5) return Buffer.from(v);
    // A view into a larger buffer with the same bytes.
    const big = new Uint8Array(v.length + 4);
    big.set(v, 2);
    return big.subarray(2, 2 + v.length);
  }
  if (v instanceof Map) {
    return new Map(shuffle([...v], rand).map(([k, x]) => [equivalentClone(k, rand), equivalentClone(x, rand)]));
  }
  if (v instanceof Set) return new Set(shuffle([...v], rand).map((x) => equivalentClone(x, rand)));
  const entries: [string, unknown][] = Object.entries(v)
    .filter(([, x]) => x !== undefined || rand() < 0.5)
    .map(([k, x]) => [k, equivalentClone(x, rand)]);
  if (rand() < 0.3 && !Object.hasOwn(v, 'zz_missing')) entries.push(['zz_missing', undefined]);
  return makeObject(shuffle(entries, rand), rand() < 0.3);
}

// Code units chosen to stress the escaping: delimiters, quotes, backslashes,
// control characters, lone and paired surrogates.
const trickyUnit = fc.oneof(
  fc.constantFrom('"', '\\', ',', ':', '[', ']', '{', '}', '(', ')', 'n', 'u', '\n', '\u0000', '\u007f', '\u2028'),
  fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ud83d\ude00'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);
const trickyString = fc.string({ unit: trickyUnit, maxLength: 8 });
const objectKey = fc.oneof(trickyString, fc.constantFrom('__proto__', 'constructor', 'toString', '0', '10', '9'));

const leaf = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.double(), // includes -0, NaN and the infinities
  fc.integer(),
  fc.bigInt(),
  trickyString,
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 6 }),
);

const { value: supported } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.sparseArray(tie('value'), { maxLength: 4 }),
    fc
      .tuple(fc.array(fc.tuple(objectKey, tie('value')), { maxLength: 4 }), fc.boolean())
      .map(([entries, nullProto]) => makeObject(entries, nullProto)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(tie('value'), { maxLength: 3 }).map((e) => new Set(e)),
  ),
}));

// A small domain, so that independently drawn values are often equal or nearly so.
const smallLeaf = fc.constantFrom<unknown>(
  null, undefined, true, false, 0, -0, 1, -1, NaN, Infinity, -Infinity, 0.1, 1n, 0n, -1n,
  '', '0', '1', 'a', 'null', 'undefined', '\ud800', 'NaN',
  new Date(0), new Date(1), new Date(NaN), new Uint8Array([]), new Uint8Array([1]), Buffer.from([1]),
);
const { value: small } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    smallLeaf,
    fc.array(tie('value'), { maxLength: 2 }),
    fc
      .array(fc.tuple(fc.constantFrom('a', 'b', '__proto__'), tie('value')), { maxLength: 2 })
      .map((e) => makeObject(e)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 2 }).map((e) => new Map(e)),
    fc.array(tie('value'), { maxLength: 2 }).map((e) => new Set(e)),
  ),
}));

function refusal(args: unknown[]): string {
  try {
    canonicalKey(args);
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return (e as TypeError).message;
  }
  throw new Error('expected canonicalKey to refuse ' + String(args));
}

const distinct = (...argLists: unknown[][]): void => {
  const keys = argLists.map(canonicalKey);
  expect(new Set(keys).size).toBe(keys.length);
};

describe('canonicalKey: encoding of supported values', () => {
  it('reads like JSON for JSON-like data', () => {
    expect(canonicalKey([1, 'a', { y: [true], x: 2 }])).toBe('[1,"a",{"x":2,"y":[true]}]');
    expect(canonicalKey([])).toBe('[]');
    expect(canonicalKey([42])).toBe('[42]');
    expect(canonicalKey(['abc', 3])).toBe('["abc",3]');
    expect(canonicalKey([null, false])).toBe('[null,false]');
  });

  it('keeps null, undefined, missing arguments and holes apart where they differ', () => {
    distinct([], [undefined], [null], [undefined, undefined], [[]], [[undefined]], [[null]]);
    expect(canonicalKey([undefined])).toBe('[undefined]');
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalKey([[1, , 3]])).toBe(canonicalKey([[1, undefined, 3]]));
  });

  it('treats an undefined property as a missing one, but a null property as present', () => {
    expect(canonicalKey([{ a: 1, b: undefined }])).toBe(canonicalKey([{ a: 1 }]));
    expect(canonicalKey([{ a: 1, b: undefined }])).toBe('[{"a":1}]');
    distinct([{ a: 1, b: null }], [{ a: 1 }]);
  });

  it('encodes numbers: -0 is 0, NaN and the infinities are distinct values', () => {
    expect(canonicalKey([-0])).toBe(canonicalKey([0]));
    expect(canonicalKey([[-0], { x: -0 }])).toBe('[[0],{"x":0}]');
    expect(canonicalKey([NaN, Infinity, -Infinity])).toBe('[NaN,Infinity,-Infinity]');
    expect(canonicalKey([NaN])).toBe(canonicalKey([0 / 0]));
    distinct([NaN], [Infinity], [-Infinity], [0], [1e21], [1e-7], [0.1], [0.1 + 0.2], [Number.MAX_VALUE]);
    expect(canonicalKey([1e21, 5e-7])).toBe('[1e+21,5e-7]');
  });

  it('keeps a number, a bigint, a string, a boolean and a Date with the same look apart', () => {
    distinct([1], [1n], ['1'], [true], [new Date(1)], ['1n'], ['true'], [[1]], [{ 1: 1 }]);
    distinct([null], ['null'], [undefined], ['undefined'], [NaN], ['NaN']);
    expect(canonicalKey([10n, -3n])).toBe('[10n,-3n]');
  });

  it('escapes strings, including lone surrogates, injectively', () => {
    const strings = ['', '"', '\\', '\\"', '","', '\n', '\\n', '\u0000', '\ud800', '\udc00', '\\ud800', '\ud83d\ude00', '\ud83d', '\ude00'];
    distinct(...strings.map((s) => [s]));
    expect(canonicalKey(['a"b\\c'])).toBe('["a\\"b\\\\c"]');
    expect(canonicalKey(['\ud800'])).toBe('["\\ud800"]');
    expect(canonicalKey(['\ud83d\ude00'])).toBe('["\ud83d\ude00"]');
    // A string cannot forge the encoding of two arguments.
    distinct(['a', 'b'], ['a","b'], ['a\\",\\"b']);
  });

  it('keeps array order and sorts object keys by code unit', () => {
    distinct([[1, 2]], [[2, 1]], [1, 2], [[1], 2]);
    expect(canonicalKey([{ b: 1, a: 2, 10: 3, 9: 4, B: 5 }])).toBe('[{"10":3,"9":4,"B":5,"a":2,"b":1}]');
    expect(canonicalKey([{ b: { d: 1, c: 2 }, a: 0 }])).toBe(canonicalKey([{ a: 0, b: { c: 2, d: 1 } }]));
  });

  it('sorts many keys too', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${(i * 7919) % 40}`);
    const forward = makeObject(keys.map((k) => [k, k]));
    const backward = makeObject([...keys].reverse().map((k) => [k, k]));
    const sorted = [...keys].sort();
    expect(canonicalKey([forward])).toBe(canonicalKey([backward]));
    expect(canonicalKey([forward])).toBe(`[{${sorted.map((k) => `"${k}":"${k}"`).join(',')}}]`);
    for (const n of [2, 3, 16, 17]) {
      const few = keys.slice(0, n);
      expect(canonicalKey([makeObject(few.map((k) => [k, 1]))])).toBe(
        canonicalKey([makeObject([...few].sort().map((k) => [k, 1]))]),
      );
    }
  });

  it('treats a null-prototype object like a plain one', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare['x'] = 1;
    expect(canonicalKey([bare])).toBe(canonicalKey([{ x: 1 }]));
  });

  it('round-trips __proto__ and constructor as ordinary own keys without touching prototypes', () => {
    const evil = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as object;
    const key = canonicalKey([evil]);
    expect(key).toBe('[{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}]');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(evil)).toBe(Object.prototype);
    distinct([evil], [{}], [{ constructor: {} }]);
  });

  it('encodes dates by their time value, invalid dates included', () => {
    expect(canonicalKey([new Date(0)])).toBe('[Date(1970-01-01T00:00:00.000Z)]');
    expect(canonicalKey([new Date(NaN)])).toBe('[Date(Invalid)]');
    expect(canonicalKey([new Date(5)])).toBe(canonicalKey([new Date(5)]));
    distinct([new Date(0)], [new Date(1)], [new Date(-1)], [new Date(8.64e15)], [new Date(-8.64e15)], [new Date(NaN)], [0]);
    class Day extends Date {}
    expect(canonicalKey([new Day(7)])).toBe(canonicalKey([new Date(7)]));
  });

  it('encodes bytes by content: Buffer, Uint8Array and views of larger buffers agree', () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect(canonicalKey([bytes])).toBe('[Bytes(AAEC/w==)]');
    expect(canonicalKey([Buffer.from([0, 1, 2, 255])])).toBe(canonicalKey([bytes]));
    expect(canonicalKey([new Uint8Array([9, 0, 1, 2, 255, 9]).subarray(1, 5)])).toBe(canonicalKey([bytes]));
    expect(canonicalKey([new Uint8Array(0)])).toBe('[Bytes()]');
    distinct([new Uint8Array([1])], [new Uint8Array([1, 0])], [new Uint8Array(0)], [[1]], ['AQ==']);
  });

  it('encodes Map and Set independently of insertion order', () => {
    expect(canonicalKey([new Map<unknown, unknown>([['b', 1], ['a', { y: 1, x: 2 }]])])).toBe(
      canonicalKey([new Map<unknown, unknown>([['a', { x: 2, y: 1 }], ['b', 1]])]),
    );
    expect(canonicalKey([new Map([['a', 1]])])).toBe('[Map([["a",1]])]');
    expect(canonicalKey([new Set([3, 1, 2])])).toBe('[Set([1,2,3])]');
    expect(canonicalKey([new Set([3, 1, 2])])).toBe(canonicalKey([new Set([2, 3, 1])]));
    distinct([new Map([['a', 1]])], [{ a: 1 }], [[['a', 1]]], [new Set([['a', 1]])], [new Map([['a', undefined]])], [new Map()]);
    distinct([new Set([1])], [[1]], [new Set([1, 2])], [new Set()]);
    // A Map keeps entries whose value is undefined: has(key) tells them apart.
    distinct([new Map([['a', undefined]])], [new Map()]);
  });

  it('accepts shared references that are not cycles', () => {
    const shared = { x: 1 };
    expect(canonicalKey([[shared, shared], { a: shared, b: shared }, shared])).toBe(
      '[[{"x":1},{"x":1}],{"a":{"x":1},"b":{"x":1}},{"x":1}]',
    );
  });

  it('does not call toJSON or read inherited properties', () => {
    const o = Object.create({ inherited: 1 }) as object;
    expect(() => canonicalKey([o])).toThrow(TypeError); // custom prototype: refused
    expect(canonicalKey([{ toJSON: 1, a: 2 }])).toBe('[{"a":2,"toJSON":1}]');
  });
});

describe('canonicalKey: refusals name the argument, the path and the reason', () => {
  it('refuses functions, with the argument index and path', () => {
    expect(refusal([0, { options: { cb: () => 1 } }])).toBe(
      'Cannot use argument 1 (at `.options.cb`) as a memo key: functions cannot be encoded. Pass data, not code.',
    );
    expect(refusal([() => 1])).toBe(
      'Cannot use argument 0 as a memo key: functions cannot be encoded. Pass data, not code.',
    );
    expect(refusal([1, 2, [0, { 'a b': [Math.max] }]])).toMatch(/^Cannot use argument 2 \(at `\[1\]\["a b"\]\[0\]`\)/);
  });

  it('refuses symbols as values and as property keys', () => {
    expect(refusal([{ a: [Symbol('s')] }])).toBe(
      'Cannot use argument 0 (at `.a[0]`) as a memo key: symbols cannot be encoded. Use a string instead.',
    );
    const m = refusal(['x', { inner: { [Symbol('tag')]: 1 } }]);
    expect(m).toMatch(/^Cannot use argument 1 \(at `\.inner`\) as a memo key: /);
    expect(m).toContain('Symbol(tag)');
    expect(m).toContain('symbol keys cannot be encoded');
  });

  it('ignores non-enumerable symbol keys, as it ignores non-enumerable string keys', () => {
    const o = { a: 1 };
    Object.defineProperty(o, Symbol('hidden'), { value: 1, enumerable: false });
    Object.defineProperty(o, 'hidden', { value: 1, enumerable: false });
    expect(canonicalKey([o])).toBe('[{"a":1}]');
  });

  it('refuses cycles and says where the cycle closes', () => {
    const o: Record<string, unknown> = { a: {} };
    (o['a'] as Record<string, unknown>)['b'] = o;
    const m1 = refusal([o]);
    expect(m1).toMatch(/^Cannot use argument 0 \(at `\.a\.b`\) as a memo key: it refers to itself/);
    expect(m1).toContain('the argument itself');

    const p: Record<string, unknown> = { a: {} };
    (p['a'] as Record<string, unknown>)['b'] = [p['a']];
    const m2 = refusal([1, p]);
    expect(m2).toMatch(/^Cannot use argument 1 \(at `\.a\.b\[0\]`\) as a memo key: it refers to itself/);
    expect(m2).toContain('`.a` again');

    const arr: unknown[] = [];
    arr.push(arr);
    expect(refusal([arr])).toMatch(/^Cannot use argument 0 \(at `\[0\]`\).*refers to itself/);
    const map = new Map<unknown, unknown>();
    map.set('self', map);
    expect(refusal([map])).toMatch(/^Cannot use argument 0 \(at `\.get\("self"\)`\).*refers to itself/);
  });

  it('refuses class instances and other unsupported objects, naming the class', () => {
    class Foo {
      x = 1;
    }
    expect(refusal([new Foo()])).toBe(
      'Cannot use argument 0 as a memo key: objects of class Foo cannot be encoded; pass a plain object.',
    );
    expect(refusal([{ w: new WeakMap() }])).toMatch(/^Cannot use argument 0 \(at `\.w`\).*objects of class WeakMap cannot be encoded; pass a plain object/);
    expect(refusal([Promise.resolve(1)])).toContain('objects of class Promise cannot be encoded');
    expect(refusal([/re/])).toContain('objects of class RegExp');
    expect(refusal([new String('s')])).toContain('objects of class String');
    expect(refusal([new Error('e')])).toContain('objects of class Error');
    expect(refusal([new Int16Array(2)])).toContain('For binary data pass a Uint8Array or Buffer');
    expect(refusal([new ArrayBuffer(2)])).toContain('objects of class ArrayBuffer');
    class List extends Array<number> {}
    expect(refusal([List.from([1])])).toContain('objects of class List');
    expect(refusal([Object.create({ x: 1 })])).toContain('custom prototype');
  });

  it('names paths through Map keys, Map values and Set elements', () => {
    expect(refusal([new Map([[1, { f: () => 1 }]])])).toMatch(/^Cannot use argument 0 \(at `\.get\(1\)\.f`\)/);
    expect(refusal([new Map<unknown, number>([['ok', 1], [() => 1, 2]])])).toMatch(/^Cannot use argument 0 \(at `\.keys\(\)\[1\]`\)/);
    expect(refusal([new Set([1, Symbol.iterator])])).toMatch(/^Cannot use argument 0 \(at `\.values\(\)\[1\]`\)/);
  });

  it('lets errors thrown by getters through unchanged', () => {
    const boom = new Error('boom');
    const o = {
      get x(): number {
        throw boom;
      },
    };
    expect(() => canonicalKey([o])).toThrow(boom);
  });
});

describe('canonicalKey: properties', () => {
  it('gives a structurally equal clone (keys shuffled, -0, holes, Buffer...) the same key', () => {
    fc.assert(
      fc.property(fc.array(supported, { maxLength: 4 }), fc.integer(), (args, seed) => {
        const clone = equivalentClone(args, seeded(seed)) as unknown[];
        expect(structurallyEqual(args, clone)).toBe(true);
        expect(canonicalKey(clone)).toBe(canonicalKey(args));
      }),
      { numRuns },
    );
  });

  it('is injective: equal keys exactly when the argument lists are structurally equal', () => {
    const args = fc.array(small, { maxLength: 3 });
    const pair = fc.oneof(
      fc.tuple(args, args),
      // Equal pairs, so that the "if" direction is exercised as often as the "only if".
      fc.tuple(args, fc.integer()).map(([a, seed]) => [a, equivalentClone(a, seeded(seed)) as unknown[]] as const),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        expect(canonicalKey(a) === canonicalKey(b)).toBe(structurallyEqual(a, b));
      }),
      { numRuns: numRuns * 3 },
    );
  });

  it('is injective on arbitrary supported values too', () => {
    fc.assert(
      fc.property(fc.array(supported, { maxLength: 3 }), fc.array(supported, { maxLength: 3 }), (a, b) => {
        expect(canonicalKey(a) === canonicalKey(b)).toBe(structurallyEqual(a, b));
      }),
      { numRuns },
    );
  });

  it('always produces well-formed UTF-16', () => {
    const wellFormed = (s: string): boolean =>
      !/\p{Cs}/u.test(s) && (s as { isWellFormed?: () => boolean }).isWellFormed?.() !== false;
    expect(wellFormed('\ud800')).toBe(false);
    fc.assert(
      fc.property(fc.array(supported, { maxLength: 4 }), (args) => {
        expect(wellFormed(canonicalKey(args))).toBe(true);
      }),
      { numRuns },
    );
  });

  it('is valid JSON that parses back to the arguments when they are JSON values', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 3 }), (args) => {
        expect(structurallyEqual(JSON.parse(canonicalKey(args)), args)).toBe(true);
      }),
      { numRuns },
    );
  });

  it('never pollutes Object.prototype, whatever keys the arguments hold', () => {
    const polluting = fc
      .array(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted'), supported), { maxLength: 4 })
      .map((e) => makeObject([...e.filter(([k]) => k !== '__proto__'), ['__proto__', makeObject(e)]]));
    fc.assert(
      fc.property(fc.array(polluting, { minLength: 1, maxLength: 3 }), (args) => {
        const before = Object.getOwnPropertyNames(Object.prototype).length;
        const key = canonicalKey(args);
        expect(key).toContain('"__proto__":');
        expect(Object.getOwnPropertyNames(Object.prototype).length).toBe(before);
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
        for (const a of args) expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
      }),
      { numRuns },
    );
  });
});
