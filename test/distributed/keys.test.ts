import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalKey } from '../../src/reactive/key.js';
import { keySlot } from '../support/keyslot.js';
import {
  checkPrefix,
  MAX_PLAIN_KEY_LENGTH,
  parsePayload,
  requestKeyOf,
  requestPayload,
  serviceKeys,
  serviceTag,
} from '../../src/distributed/keys.js';

const numRuns = Number(process.env.FC_NUM_RUNS ?? 300);
const argsArb = fc.array(
  fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.constant('{'), fc.constant('}'), fc.string({ unit: 'grapheme' })),
  { maxLength: 6 },
);

describe('keys', () => {
  it('every key of a service starts with the prefix and its hash tag, whatever the service and arguments', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 50 }), argsArb, fc.string(), (service, args, clientId) => {
        const keys = serviceKeys('memocell', service);
        const requestKey = requestKeyOf(canonicalKey(args));
        const tag = `{${serviceTag(service)}}`;
        const all = [
          keys.gets, keys.prefetches, keys.pending, keys.stats, keys.servers, keys.alive, keys.name,
          keys.value(requestKey), keys.runs, keys.replies(clientId),
        ];
        for (const key of all) {
          expect(key.startsWith(`memocell:${tag}:`)).toBe(true);
          // Redis Cluster hashes what stands between the first '{' and the first '}'
          // after it: always our tag, so bytes a user supplies cannot move the slot.
          const open = key.indexOf('{');
          expect(key.slice(open + 1, key.indexOf('}', open + 1))).toBe(serviceTag(service));
        }
      }),
      { numRuns },
    );
  });

  it('distinct canonical arguments never share a request key', () => {
    fc.assert(
      fc.property(argsArb, argsArb, (a, b) => {
        const ka = canonicalKey(a);
        const kb = canonicalKey(b);
        fc.pre(ka !== kb);
        expect(requestKeyOf(ka)).not.toBe(requestKeyOf(kb));
      }),
      { numRuns },
    );
  });

  it('keySlot agrees with the slots Redis documents', () => {
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('foo{hash_tag}')).toBe(keySlot('hash_tag'));
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // An empty tag does not count: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
  });

  it('no byte a user supplies changes a key\'s Cluster slot or leaves the prefix (slots computed by CRC16)', () => {
    const hostile = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom('{', '}', '{}', '}{', '{x}', ':', '\n', 'memocell:{', '\u0000', '*', '?'),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.array(fc.oneof(hostile, fc.array(hostile, { maxLength: 3 }), fc.dictionary(hostile, hostile, { maxKeys: 3 })), {
          maxLength: 4,
        }),
        fc.oneof(fc.constant(0), fc.constant(MAX_PLAIN_KEY_LENGTH)),
        hostile,
        (service, args, pad, clientId) => {
          const keys = serviceKeys('app', service);
          const requestKey = requestKeyOf(canonicalKey([...args, 'p'.repeat(pad)]));
          const slot = keySlot(`{${serviceTag(service)}}`);
          for (const key of [
            keys.gets, keys.prefetches, keys.pending, keys.stats, keys.servers, keys.alive, keys.name, keys.control,
            keys.invalidated, keys.value(requestKey), keys.runs,
            keys.dependents(requestKey), keys.replies(clientId),
          ]) {
            expect(key.startsWith(`app:{${serviceTag(service)}}:`)).toBe(true);
            expect(keySlot(key)).toBe(slot);
          }
        },
      ),
      { numRuns },
    );
  });

  it('distinct argument values never share a canonical key or a request key; equal ones always do', () => {
    // Values of every kind canonicalKey accepts, including ones that look alike in JSON.
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 8 }),
        fc.integer(),
        fc.double(),
        fc.bigInt(),
        fc.boolean(),
        fc.constantFrom(null, undefined, '__proto__', 'constructor', '1', 1n, -0, 0),
        fc.date({ noInvalidDate: true }),
        fc.uint8Array({ maxLength: 4 }),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', '__proto__', 'constructor', '1'), tie('value'), { maxKeys: 3 }),
      ),
    }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 3 }), fc.array(value, { maxLength: 3 }), (a, b) => {
        const same = sameValue(a, b);
        expect(canonicalKey(a) === canonicalKey(b)).toBe(same);
        expect(requestKeyOf(canonicalKey(a)) === requestKeyOf(canonicalKey(b))).toBe(same);
      }),
      { numRuns },
    );
  });

  it('long arguments are named by a hash and carried whole in the payload', () => {
    const canonical = canonicalKey(['x'.repeat(MAX_PLAIN_KEY_LENGTH)]);
    const requestKey = requestKeyOf(canonical);
    expect(requestKey).toMatch(/^#[A-Za-z0-9_-]{43}$/);
    expect(parsePayload(requestPayload(requestKey, canonical))).toEqual({ requestKey, canonical });
    const short = canonicalKey([1, 'a']);
    expect(parsePayload(requestPayload(requestKeyOf(short), short))).toEqual({ requestKey: short, canonical: short });
    // A payload without its newline is taken as its own key (and answered, not swept for ever).
    expect(parsePayload('[1]')).toEqual({ requestKey: '[1]', canonical: '[1]' });
    expect(parsePayload('')).toBeUndefined();
    expect(parsePayload('\n[1]')).toBeUndefined();
  });

  it('refuses prefixes with braces or spaces, which would choose a slot or break keys', () => {
    expect(checkPrefix(undefined)).toBe('memocell');
    expect(checkPrefix('app:cache')).toBe('app:cache');
    for (const bad of ['{x}', 'a b', '', 'x'.repeat(65), 7]) {
      expect(() => checkPrefix(bad)).toThrow(/Expected `prefix`/);
    }
  });
});

/**
 * Structural equality as memocell keys arguments: object key order does not matter,
 * -0 and 0 are one number, NaN equals NaN, and kinds never mix (1 is not 1n, not '1').
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a === 0 ? 0 : a, (b as number) === 0 ? 0 : b);
  if (a === null || b === null || typeof a !== 'object') return a === b;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]))
    );
  }
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b as object).sort();
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
