/**
 * Run records as tests read and write them: one string per request in `BASE:runs`
 * (protocol v3; the layout is documented in docs/protocol.md and get-1.lua).
 */
import type { Redis } from 'ioredis';

export interface RunRecord {
  state: string;
  kind: string;
  inbox: string;
  owner: string;
  token: string;
  lease: string;
  stale: string;
  recomputes: string;
  /** The ids of the waiting clients. */
  waiters: string[];
  payload: string;
}

const FIELDS = ['state', 'kind', 'inbox', 'owner', 'token', 'lease', 'stale', 'recomputes'] as const;

/** Parses a record; throws on one that does not have the ten fields. */
export function parseRunRecord(value: string): RunRecord {
  const parts = value.split('\t');
  if (parts.length < 10) throw new Error(`not a run record (${parts.length} fields): ${JSON.stringify(value)}`);
  const [state, kind, inbox, owner, token, lease, stale, recomputes, waiters] = parts as [string, ...string[]];
  return {
    state,
    kind: kind as string,
    inbox: inbox as string,
    owner: owner as string,
    token: token as string,
    lease: lease as string,
    stale: stale as string,
    recomputes: recomputes as string,
    waiters: waiters === '' ? [] : (waiters as string).split(','),
    // The payload is the rest: it may hold anything but is written last.
    payload: parts.slice(9).join('\t'),
  };
}

/** Formats a record; fields not given are empty (absent). */
export function formatRunRecord(record: Partial<RunRecord>): string {
  const head = FIELDS.map((field) => record[field] ?? '');
  return [...head, (record.waiters ?? []).join(','), record.payload ?? ''].join('\t');
}

/** The record of one request, or undefined when it has none. */
export async function readRunRecord(redis: Redis, runs: string, requestKey: string): Promise<RunRecord | undefined> {
  const value = await redis.hget(runs, requestKey);
  return value === null ? undefined : parseRunRecord(value);
}
