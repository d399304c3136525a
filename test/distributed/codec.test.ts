/**
 * The default codec: every JSON value and byte array comes back as it went in; anything
 * JSON would drop or change is refused with a TypeError that names what and where,
 * whatever its depth, cycles included. Checked against values fast-check builds, with one
 * bad value planted at a known path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultCodec } from '../../src/distributed/codec.js';

const numRuns = Number(process.env.FC_NUM_RUNS ?? 300);

/** A value the default codec must refuse, and the words its refusal must contain. */
const bad: fc.Arbitrary<{ value: unknown; what: string }> = fc.constantFrom(
  { value: Number.NaN, what: 'NaN is not a JSON number' },
  { value: Number.POSITIVE_INFINITY, what: 'Infinity is not a JSON number' },
  { value: () => 1, what: 'functions cannot be encoded' },
  { value: Symbol('s'), what: 'symbols cannot be encoded' },
  { value: 10n, what: 'bigints are not JSON numbers' },
  { value: new Map(), what: 'objects of class Map are not plain JSON objects' },
  { value: new Date(0), what: 'objects of class Date are not plain JSON objects' },
);

/** Where to plant it: a step into an object (by key) or an array (by index). */
type Step = { readonly kind: 'key'; readonly key: string } | { readonly kind: 'index'; readonly before: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('key' as const), key: fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__') }),
  fc.record({ kind: fc.constant('index' as const), before: fc.nat({ max: 3 }) }),
);

/**
 * Wraps `inner` in containers along `steps` (outermost first), with valid JSON beside it;
 * returns the value and the path the refusal must name.
 */
function plant(inner: unknown, steps: readonly Step[], filler: unknown[]): { value: unknown; path: string } {
  let value = inner;
  let path = '';
  for (let s = steps.length - 1; s >= 0; s--) {
    const st = steps[s] as Step;
    if (st.kind === 'key') {
      // Valid properties on both sides; the planted one is the only problem.
      value = { before: filler, [st.key]: value, after: filler };
      if (st.key === 'before' || st.key === 'after') value = { [st.key]: (value as Record<string, unknown>)[st.key] };
      path = `.${st.key}${path}`;
    } else {
      value = [...filler.slice(0, st.before), value, ...filler];
      path = `[${Math.min(st.before, filler.length)}]${path}`;
    }
  }
  return { value, path };
}

describe('defaultCodec', () => {
  it('gives back every JSON value as JSON would', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(defaultCodec.decode(defaultCodec.encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns },
    );
  });

  it('stores a string as it is, or as JSON when it holds a lone surrogate, and gives back every string exactly', () => {
    // Any UTF-16 code units, lone surrogates included, and whole characters beyond the BMP.
    const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 24 }).map((units) => String.fromCharCode(...units));
    const anyString = fc.oneof(codeUnits, fc.string({ unit: 'grapheme', maxLength: 24 }));
    fc.assert(
      fc.property(anyString, (text) => {
        const encoded = defaultCodec.encode(text);
        const wellFormed = !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
        // UTF-8 would turn a lone surrogate into U+FFFD: such a string must not go as it is.
        expect(encoded).toBe(wellFormed ? `s${text}` : `j${JSON.stringify(text)}`);
        expect(defaultCodec.decode(encoded)).toBe(text);
        // What goes to Redis is UTF-8: the encoding survives it.
        expect(Buffer.from(encoded, 'utf8').toString('utf8')).toBe(encoded);
      }),
      { numRuns },
    );
  });

  it('reads strings written as JSON (as stores before the string form wrote them)', () => {
    expect(defaultCodec.decode('j"line\\nbreak \\"q\\""')).toBe('line\nbreak "q"');
    expect(defaultCodec.decode('s')).toBe('');
    expect(defaultCodec.encode('')).toBe('s');
  });

  it('refuses a value it did not write, saying what to do', () => {
    expect(() => defaultCodec.decode('x<p>hi</p>')).toThrow(/starting with 'x<p>hi<\/p>'.*same `codec` and memocell version/);
  });

  it('gives back byte arrays, Buffers and undefined as a whole result', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const back = defaultCodec.decode(defaultCodec.encode(bytes)) as Buffer;
        expect([...back]).toEqual([...bytes]);
        expect([...(defaultCodec.decode(defaultCodec.encode(Buffer.from(bytes))) as Buffer)]).toEqual([...bytes]);
      }),
      { numRuns: 50 },
    );
    expect(defaultCodec.decode(defaultCodec.encode(undefined))).toBeUndefined();
  });

  it('refuses a value JSON would change, naming what and the exact path, at any depth', () => {
    fc.assert(
      fc.property(bad, fc.array(step, { maxLength: 8 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }), (b, steps, filler) => {
        const { value, path } = plant(b.value, steps, filler);
        let message = '';
        try {
          defaultCodec.encode(value);
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
          message = (error as Error).message;
        }
        const where = path === '' ? '' : ` at \`${path}\``;
        expect(message).toBe(`Cannot encode the value${where}: ${b.what}. The default codec carries JSON values and byte arrays; pass \`codec\` for others.`);
      }),
      { numRuns },
    );
  });

  it('refuses undefined inside an array, allows it as a property (JSON drops it) and allows holes', () => {
    expect(() => defaultCodec.encode([1, undefined])).toThrow('Cannot encode the value at `[1]`: undefined is not a JSON value');
    expect(defaultCodec.decode(defaultCodec.encode({ a: 1, b: undefined }))).toEqual({ a: 1 });
    expect(defaultCodec.decode(defaultCodec.encode([1, , 3]))).toEqual([1, null, 3]);
  });

  it('refuses a cycle with the path where it closes, shallow or deeper than the depth where cycles are looked for', () => {
    const a: Record<string, unknown> = { n: 1 };
    a.b = { c: [0, a] };
    expect(() => defaultCodec.encode(a)).toThrow('Cannot encode the value at `.b.c[1]`: it refers to itself');
    // A chain of 300 objects whose last points back to the first.
    const root: Record<string, unknown> = {};
    let last = root;
    for (let i = 0; i < 300; i++) {
      const next: Record<string, unknown> = {};
      last.x = next;
      last = next;
    }
    last.back = root;
    expect(() => defaultCodec.encode(root)).toThrow(`Cannot encode the value at \`${'.x'.repeat(300)}.back\`: it refers to itself`);
  });

  it('accepts a value nested deeper than the cycle watch, and one object shared by two parents', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 400; i++) deep = i % 2 === 0 ? [deep] : { d: deep };
    expect(defaultCodec.decode(defaultCodec.encode(deep))).toEqual(deep);
    const shared = { s: 1 };
    expect(defaultCodec.decode(defaultCodec.encode({ a: shared, b: [shared] }))).toEqual({ a: { s: 1 }, b: [{ s: 1 }] });
  });
});
