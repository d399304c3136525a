/**
 * A result on the wire: `0` then the codec's encoding of the value, or `1` then the
 * JSON of a RemoteFailure. Servers write it to the cache and to reply lists; clients
 * read it back.
 */
import type { Codec } from './codec.js';
import { failureOf, RemoteError, type RemoteFailure } from './errors/remote-error.js';
import type { Args } from './types.js';

const OK = '0';
const FAILED = '1';

/** Encodes a handler's value; a value the codec refuses becomes a failure the callers see. */
export function encodeValue(codec: Codec, value: unknown): { envelope: string; failed: boolean } {
  try {
    return { envelope: OK + codec.encode(value), failed: false };
  } catch (error) {
    return encodeFailure(error);
  }
}

export function encodeFailure(error: unknown): { envelope: string; failed: boolean } {
  const failure = failureOf(error);
  let json: string;
  try {
    json = JSON.stringify(failure, informative);
  } catch {
    // Whatever the chain holds, the failure itself must reach the callers.
    json = JSON.stringify({ ...failure, chain: [] });
  }
  return { envelope: FAILED + json, failed: true };
}

/**
 * Arguments in an error chain are for people to read: values JSON lacks are written in
 * a readable form (`12n` for a bigint, entry lists for a Map or Set) instead of failing
 * the report.
 */
function informative(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Map) return [...value.entries()];
  if (value instanceof Set) return [...value.values()];
  return value;
}

/**
 * Reads an envelope: the value, or a thrown RemoteError for a failure. Malformed data
 * (written by another tool) is reported as a failure too, never a crash.
 */
export function decodeEnvelope(codec: Codec, envelope: string, service: string, args: Args): unknown {
  const tag = envelope[0];
  if (tag === OK) {
    let value: unknown;
    try {
      value = codec.decode(envelope.slice(1));
    } catch (error) {
      throw new RemoteError(service, args, {
        name: 'DecodeError',
        message: `the result could not be decoded: ${(error as Error).message}`,
        chain: [],
      });
    }
    return value;
  }
  if (tag === FAILED) {
    let failure: RemoteFailure;
    try {
      failure = parseFailure(JSON.parse(envelope.slice(1)) as unknown);
    } catch {
      failure = { name: 'ProtocolError', message: `malformed failure report '${envelope.slice(0, 80)}'`, chain: [] };
    }
    throw new RemoteError(service, args, failure);
  }
  throw new RemoteError(service, args, {
    name: 'ProtocolError',
    message: `malformed result '${envelope.slice(0, 80)}': not written by memocell`,
    chain: [],
  });
}

function parseFailure(data: unknown): RemoteFailure {
  const f = data as Partial<RemoteFailure> | null;
  if (f === null || typeof f !== 'object' || typeof f.message !== 'string' || typeof f.name !== 'string') {
    throw new TypeError('not a failure report');
  }
  const chain = Array.isArray(f.chain)
    ? f.chain.filter(
        (r): r is { service: string; args: Args } =>
          r !== null && typeof r === 'object' && typeof r.service === 'string' && Array.isArray(r.args),
      )
    : [];
  return { name: f.name, message: f.message, ...(typeof f.stack === 'string' ? { stack: f.stack } : {}), chain };
}
