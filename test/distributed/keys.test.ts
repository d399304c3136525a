import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalKey } from '../../src/reactive/key.js';
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
          keys.value(requestKey), keys.run(requestKey), keys.waiters(requestKey), keys.replies(clientId),
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

  it('long arguments are named by a hash and carried whole in the payload', () => {
    const canonical = canonicalKey(['x'.repeat(MAX_PLAIN_KEY_LENGTH)]);
    const requestKey = requestKeyOf(canonical);
    expect(requestKey).toMatch(/^#[A-Za-z0-9_-]{43}$/);
    expect(parsePayload(requestPayload(requestKey, canonical))).toEqual({ requestKey, canonical });
    const short = canonicalKey([1, 'a']);
    expect(parsePayload(requestPayload(requestKeyOf(short), short))).toEqual({ requestKey: short, canonical: short });
    expect(parsePayload('no newline')).toBeUndefined();
  });

  it('refuses prefixes with braces or spaces, which would choose a slot or break keys', () => {
    expect(checkPrefix(undefined)).toBe('memocell');
    expect(checkPrefix('app:cache')).toBe('app:cache');
    for (const bad of ['{x}', 'a b', '', 'x'.repeat(65), 7]) {
      expect(() => checkPrefix(bad)).toThrow(/Expected `prefix`/);
    }
  });
});
