/**
 * The lookup connection's reply reader: any sequence of the replies it can get, cut
 * into reads at any points, comes out whole and in order, even though the caller
 * reuses (here: overwrites) its read buffer after each read; and bytes that are no
 * reply of ours are refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LookupProtocolError,
  LookupReplyError,
  LookupReplyReader,
  type LookupReply,
} from '../../src/distributed/lookup-reply-reader.js';

type Expected = { kind: 'bulk'; text: string } | { kind: 'null' } | { kind: 'simple'; text: string } | { kind: 'error'; text: string };

function encode(reply: Expected): Buffer {
  switch (reply.kind) {
    case 'bulk': {
      const body = Buffer.from(reply.text, 'utf8');
      return Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')]);
    }
    case 'null':
      return Buffer.from('$-1\r\n');
    case 'simple':
      return Buffer.from(`+${reply.text}\r\n`);
    case 'error':
      return Buffer.from(`-${reply.text}\r\n`);
  }
}

function asReply(reply: Expected): LookupReply {
  if (reply.kind === 'null') return null;
  if (reply.kind === 'error') return new LookupReplyError(reply.text);
  return reply.text;
}

function describeReply(reply: LookupReply): string {
  return reply instanceof LookupReplyError ? `error:${reply.message}` : JSON.stringify(reply);
}

/** Feeds `bytes` cut at `cuts`, each read copied into one buffer that is overwritten after. */
function readAll(bytes: Buffer, cuts: number[], bufferSize: number): LookupReply[] {
  const out: LookupReply[] = [];
  const reader = new LookupReplyReader((reply) => out.push(reply));
  const buffer = Buffer.alloc(bufferSize);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, bytes.length]) {
    // A read never exceeds the buffer: longer stretches go in several reads.
    while (from < point) {
      const length = Math.min(bufferSize, point - from);
      bytes.copy(buffer, 0, from, from + length);
      reader.feed(buffer, length);
      buffer.fill(0x2a); // what a reused buffer holds next: anything
      from += length;
    }
  }
  return out;
}

// Bulk strings hold anything (CRLF, '$', multi-byte characters); simple strings and
// errors are one line.
const line = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '-', ':', '$', 'é', '0') });
const reply: fc.Arbitrary<Expected> = fc.oneof(
  fc.record({ kind: fc.constant('bulk' as const), text: fc.string({ unit: 'binary', maxLength: 300 }) }),
  fc.record({ kind: fc.constant('bulk' as const), text: fc.constantFrom('', '\r\n', '$-1\r\n', '€'.repeat(700)) }),
  fc.constant({ kind: 'null' as const }),
  fc.record({ kind: fc.constant('simple' as const), text: line }),
  fc.record({ kind: fc.constant('error' as const), text: line }),
);

describe('LookupReplyReader', () => {
  it('gives back every reply whole and in order, however the bytes are cut into reads', () => {
    fc.assert(
      fc.property(
        fc.array(reply, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom(1, 2, 3, 7, 64, 65_536),
        (replies, cuts, bufferSize) => {
          // Text with lone surrogates does not survive UTF-8: compare what the bytes say.
          const wellFormed = replies.map((r) => ('text' in r ? { ...r, text: Buffer.from(r.text).toString() } : r));
          const bytes = Buffer.concat(wellFormed.map(encode));
          const got = readAll(bytes, cuts, bufferSize);
          expect(got.map(describeReply)).toEqual(wellFormed.map((r) => describeReply(asReply(r))));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a bulk header cut between its digits, and a body cut inside a multi-byte character', () => {
    const text = `${'x'.repeat(9)}€`;
    const bytes = Buffer.from(`$12\r\n${text}\r\n$-1\r\n`);
    // '$1' | '2\r\nxxxxxxxxx' + first byte of '€' | the rest.
    expect(readAll(bytes, [2, 15], 65_536)).toEqual([text, null]);
  });

  it('gathers a reply of several megabytes over many small reads', () => {
    const text = 'ab€\r\n'.repeat(600_000);
    const bytes = encode({ kind: 'bulk', text });
    const got = readAll(bytes, [], 65_536);
    expect(got).toHaveLength(1);
    expect(got[0] === text).toBe(true);
  });

  it.each([
    ['an integer reply', ':1\r\n', /type ':'/],
    ['an array reply', '*1\r\n$1\r\na\r\n', /type '\*'/],
    ['a bulk length with a letter', '$x\r\n', /not a number/],
    ['a bulk length with no digits', '$\r\n', /not a number/],
    ['a bulk string longer than its length', '$3\r\nabcd\r\n', /not ended by CRLF/],
    ['a line ended by LF alone', '+OK\n', /not ended by CRLF/],
    ['a line of 5000 bytes with no end', `+${'a'.repeat(5000)}`, /longer than any reply/],
  ])('refuses %s with a LookupProtocolError', (_name, text, message) => {
    const bytes = Buffer.from(text);
    expect(() => new LookupReplyReader(() => {}).feed(bytes, bytes.length)).toThrow(LookupProtocolError);
    expect(() => new LookupReplyReader(() => {}).feed(bytes, bytes.length)).toThrow(message);
  });

  it('refuses a bulk string whose CRLF is wrong when its body came over several reads', () => {
    const reader = new LookupReplyReader(() => {});
    reader.feed(Buffer.from('$3\r\nab'), 6);
    expect(() => reader.feed(Buffer.from('cXY'), 3)).toThrow(/not ended by CRLF/);
  });
});
