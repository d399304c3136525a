/**
 * Every Redis key and channel of the Redis store, built in this one place.
 *
 * Layout: `PREFIX:{TAG}:KIND[:SUFFIX]`, where TAG is derived from a hash of the
 * service name. All keys of one service share the hash tag, so multi-key scripts work
 * on Redis Cluster, and no byte a user supplies (service name, arguments) can choose a
 * key's slot or step outside the prefix: the prefix is checked, the service name only
 * enters through its hash, and arguments only after the last separator.
 */
import { createHash } from 'node:crypto';

/** Arguments longer than this (as a canonical key) are named by a hash instead. */
export const MAX_PLAIN_KEY_LENGTH = 256;
/** Marks a hashed request key; canonical keys always start with `[`. */
const HASHED = '#';

export interface ServiceKeys {
  /** `PREFIX:{TAG}`: passed to scripts that build per-request keys themselves. */
  readonly base: string;
  /** Get requests waiting for a server (a list of request payloads). */
  readonly gets: string;
  /** Prefetch requests, served after gets. */
  readonly prefetches: string;
  /**
   * Ids of idle servers that take requests sent to their own inbox, the most recently
   * idle first (a list): a lone request goes to the server that served the last one.
   */
  readonly idle: string;
  /** Ids of the servers that pop their own inbox (a set): only they join `idle`. */
  readonly direct: string;
  /** Requests queued or running, by deadline: expired ones are re-queued (recovery). */
  readonly pending: string;
  /** Hit, miss, computation and error counters (a hash). */
  readonly stats: string;
  /** Server id -> JSON description (a hash). */
  readonly servers: string;
  /** Server id -> heartbeat deadline (a sorted set): a server not renewing is gone. */
  readonly alive: string;
  /** The service's name (a string), so tools can show it next to the hashed tag. */
  readonly name: string;
  /** Pub/sub channel for control messages (stop, verbose) to this service's servers. */
  readonly control: string;
  /** Pub/sub channel of request keys whose cached result was forgotten or replaced. */
  readonly invalidated: string;
  /** The cached result of a request. */
  value(requestKey: string): string;
  /**
   * The records of the service's requests while queued or running (a hash: field the
   * request key, value one string of tab-separated fields: state, kind, inbox, owner,
   * token, lease, stale, recomputes, the waiting clients' ids, payload; see get-1.lua).
   */
  readonly runs: string;
  /** Computations that read a request's result, "SERVICE\nREQUESTKEY" each (a set). */
  dependents(requestKey: string): string;
  /** Where the results a client waits for are pushed (a list). */
  replies(clientId: string): string;
  /** Gets sent to one idle server (a list of payloads, popped before the shared queues). */
  inbox(serverId: string): string;
  /**
   * Control commands for one server that its heartbeat has not read yet (a list, with a
   * TTL): what a control message lost on the way (pub/sub keeps nothing) still arrives.
   */
  orders(serverId: string): string;
}

/**
 * Checks a key prefix: printable, no braces (they would choose the hash slot), no
 * spaces. Default `memocell`.
 */
export function checkPrefix(prefix: unknown): string {
  if (prefix === undefined) return 'memocell';
  if (typeof prefix !== 'string' || !/^[\x21-\x7a\x7c\x7e]{1,64}$/.test(prefix)) {
    throw new TypeError(
      'Expected `prefix` to be 1 to 64 printable ASCII characters without spaces or braces, ' +
        `got \`${String(prefix)}\` (${typeof prefix})`,
    );
  }
  return prefix;
}

/** The hash tag of a service: 16 hex digits of SHA-1 of its name. */
export function serviceTag(service: string): string {
  return createHash('sha1').update(service, 'utf8').digest('hex').slice(0, 16);
}

/** All keys of one service. */
export function serviceKeys(prefix: string, service: string): ServiceKeys {
  const base = `${prefix}:{${serviceTag(service)}}`;
  return {
    base,
    gets: `${base}:q`,
    prefetches: `${base}:p`,
    idle: `${base}:idle`,
    direct: `${base}:direct`,
    pending: `${base}:pending`,
    stats: `${base}:stats`,
    servers: `${base}:servers`,
    alive: `${base}:alive`,
    name: `${base}:name`,
    control: `${base}:control`,
    invalidated: `${base}:invalidated`,
    runs: `${base}:runs`,
    value: (requestKey) => `${base}:v:${requestKey}`,
    dependents: (requestKey) => `${base}:d:${requestKey}`,
    replies: (clientId) => `${base}:reply:${clientId}`,
    inbox: (serverId) => `${base}:in:${serverId}`,
    orders: (serverId) => `${base}:order:${serverId}`,
  };
}

/** The key naming a request: its canonical arguments, or a hash of them when long. */
export function requestKeyOf(canonical: string): string {
  if (canonical.length <= MAX_PLAIN_KEY_LENGTH) return canonical;
  return HASHED + createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/**
 * A request as queued: its key, a newline, and the canonical arguments when the key
 * is a hash (servers need the arguments themselves). Canonical keys never contain a
 * raw newline (strings are JSON-escaped).
 */
export function requestPayload(requestKey: string, canonical: string): string {
  return requestKey === canonical ? `${requestKey}\n` : `${requestKey}\n${canonical}`;
}

/** Splits a payload back into its key and canonical arguments. */
export function parsePayload(payload: string): { requestKey: string; canonical: string } | undefined {
  const newline = payload.indexOf('\n');
  // No newline (a foreign client's slip): the payload is taken as the key, so the
  // request is answered (computed, or failed as malformed) rather than left to be swept
  // back into the queue for ever.
  if (newline < 0) return payload === '' ? undefined : { requestKey: payload, canonical: payload };
  if (newline === 0) return undefined;
  const requestKey = payload.slice(0, newline);
  const rest = payload.slice(newline + 1);
  return { requestKey, canonical: rest === '' ? requestKey : rest };
}
