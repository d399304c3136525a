/**
 * docs/protocol.md is enough to write a client or a server in another language: this
 * file plays that foreign program. It builds keys, payloads and envelopes by the rules
 * the document states (not with memocell's encoder or key builder), talks to Redis with
 * raw commands and the documented Lua files, and meets real memocell clients and
 * servers on the same Redis.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalKey, createRedisStore, keep, RemoteError, type RedisStore } from '../../src/distributed/index.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

// ---- the foreign implementation, from docs/protocol.md ------------------------------

const PREFIX = 'memocell';

/** TAG: the first 16 hex digits of SHA-1 of the service name's UTF-8. */
function tagOf(service: string): string {
  return createHash('sha1').update(Buffer.from(service, 'utf8')).digest('hex').slice(0, 16);
}

/** BASE: `PREFIX:{TAG}`. */
function baseOf(service: string): string {
  return `${PREFIX}:{${tagOf(service)}}`;
}

/** The encoding of one value, for the JSON subset plus byte arrays. */
function encodeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === true || value === false) return String(value);
  // ECMAScript Number::toString, -0 as 0.
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `Bytes(${Buffer.from(value).toString('base64')})`;
  if (Array.isArray(value)) return `[${value.map(encodeValue).join(',')}]`;
  if (typeof value === 'object') {
    // Names sorted by UTF-16 code units (the default comparison of JS strings), undefined left out.
    const names = Object.keys(value).filter((n) => (value as Record<string, unknown>)[n] !== undefined);
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${names.map((n) => `${JSON.stringify(n)}:${encodeValue((value as Record<string, unknown>)[n])}`).join(',')}}`;
  }
  throw new TypeError(`this foreign client does not encode ${typeof value}`);
}

function canonicalOf(args: readonly unknown[]): string {
  return `[${args.map(encodeValue).join(',')}]`;
}

/** KEY: the canonical text, or `#` + base64url(SHA-256) when longer than 256 UTF-16 units. */
function requestKeyOf(canonical: string): string {
  if (canonical.length <= 256) return canonical;
  return '#' + createHash('sha256').update(Buffer.from(canonical, 'utf8')).digest('base64url');
}

function payloadOf(key: string, canonical: string): string {
  return key === canonical ? `${key}\n` : `${key}\n${canonical}`;
}

/** A failure report, as the envelope carries it. */
class ForeignFailure extends Error {
  constructor(readonly report: { name: string; message: string; stack?: string; chain: unknown[] }) {
    super(report.message);
  }
}

/** Decodes an envelope written with the default codec. */
function decodeEnvelope(envelope: string): unknown {
  if (envelope.startsWith('1')) throw new ForeignFailure(JSON.parse(envelope.slice(1)));
  if (!envelope.startsWith('0')) throw new Error(`not an envelope: ${envelope.slice(0, 20)}`);
  const tag = envelope[1];
  if (tag === 'j') return JSON.parse(envelope.slice(2));
  if (tag === 's') return envelope.slice(2);
  if (tag === 'b') return Buffer.from(envelope.slice(2), 'base64');
  if (tag === 'u') return undefined;
  throw new Error(`unknown codec tag ${tag}`);
}

function lua(name: string): string {
  return readFileSync(new URL(`../../src/distributed/lua/${name}.lua`, import.meta.url), 'utf8');
}

/** The fields of a run record, in the order the protocol documents them. */
const RECORD_FIELDS = ['state', 'kind', 'inbox', 'owner', 'token', 'lease', 'stale', 'recomputes', 'waiters', 'payload'] as const;

/**
 * Reads a request's run record as a foreign implementation would: the field KEY of
 * BASE:runs, ten tab-separated fields, the payload last. Only the fields that are not
 * empty; null when the request has no record.
 */
async function runRecord(redis: Redis, base: string, key: string): Promise<Record<string, string> | null> {
  const value = await redis.hget(`${base}:runs`, key);
  if (value === null) return null;
  const parts = value.split('\t');
  const fields = [...parts.slice(0, 9), parts.slice(9).join('\t')];
  return Object.fromEntries(RECORD_FIELDS.map((name, i) => [name, fields[i] as string]).filter(([, v]) => v !== ''));
}

/** Writes a run record in the documented layout; fields not given are empty. */
function formatRecord(fields: Partial<Record<(typeof RECORD_FIELDS)[number], string>>): string {
  return RECORD_FIELDS.map((name) => fields[name] ?? '').join('\t');
}

/** A foreign client's get on the miss path: the `get` script, then a pop of the reply list. */
async function registerGet(redis: Redis, service: string, clientId: string, args: readonly unknown[]): Promise<{ key: string; reply: unknown }> {
  const base = baseOf(service);
  const canonical = canonicalOf(args);
  const key = requestKeyOf(canonical);
  const reply = await redis.eval(lua('get-1'), 1, `${base}:v:${key}`, base, clientId, Date.now() + 10_000, 100_000, key, payloadOf(key, canonical));
  return { key, reply: (reply as unknown[])[0] };
}

/** Pops one reply entry `KEY\nENVELOPE` from the client's reply list. */
async function popReply(redis: Redis, service: string, clientId: string): Promise<{ key: string; envelope: string }> {
  const popped = (await redis.call('BLMPOP', 10, 1, `${baseOf(service)}:reply:${clientId}`, 'LEFT', 'COUNT', 1)) as [string, string[]] | null;
  if (popped === null) throw new Error('no reply within 10 s');
  const entry = popped[1][0] as string;
  const newline = entry.indexOf('\n');
  return { key: entry.slice(0, newline), envelope: entry.slice(newline + 1) };
}

// ---- memocell beside it -----------------------------------------------------------

let redisServer: RedisServerHandle;
let foreign: Redis;
let blocking: Redis;
let servers: RedisStore;
let clients: RedisStore;

beforeAll(async () => {
  redisServer = await startRedis();
  foreign = new Redis(redisServer.url);
  blocking = new Redis(redisServer.url);
  servers = createRedisStore({ redis: redisServer.url, timeoutMs: 10_000 });
  clients = createRedisStore({ redis: redisServer.url, timeoutMs: 10_000 });
  servers.serve('square', ([n]) => {
    if (n === 13) throw new RangeError('unlucky');
    return keep((n as number) ** 2, { ttlSeconds: 600 });
  });
  servers.serve('echo', (args) => keep(args.length === 1 ? args[0] : args, { ttlSeconds: 600 }));
  servers.serve('bytes', ([n]) => keep(Buffer.from([n as number, 2, 3]), { ttlSeconds: 600 }));
  servers.serve('outer', async ([n]) => servers.get('square', [n]));
});

afterAll(async () => {
  foreign?.disconnect();
  blocking?.disconnect();
  await clients?.close();
  await servers?.close();
  await redisServer?.stop();
});

describe('a foreign program following docs/protocol.md', () => {
  it('builds the same canonical keys as memocell for the documented shapes', () => {
    const shapes: unknown[][] = [
      [12],
      [1, 'a'],
      [],
      [-0, 1.5, 1e21, 1e-7, 0.1 + 0.2, 1e16, 5e-7],
      [null, true, false],
      [{ y: [true], x: 2, z: undefined }],
      [{ b: 1, B: 2, a: 3, é: 4, '10': 5, '9': 6 }],
      [{ '\uff01': 1, '😀': 2 }],
      ['line\nbreak', 'quote"', 'back\\slash', 'slash/', '\u0001', '\u007f', '\u2028', '\ud800'],
      [new Uint8Array([255, 0, 1]), Buffer.from('hi')],
      [[1, [2, { k: 'v' }]]],
    ];
    for (const args of shapes) expect(canonicalOf(args)).toBe(canonicalKey(args));
    expect(tagOf('square')).toBe('bfed89e80ea0c1c6');
    expect(requestKeyOf(canonicalOf(['x'.repeat(300)]))).toBe('#S-pCgVTy9QdXdhzZ8Hiet8HuRAjUqqtb-AHd3PI-oT4');
    // 126 emoji: 256 UTF-16 units (508 bytes), still a plain key.
    const emoji = canonicalOf(['😀'.repeat(126)]);
    expect(requestKeyOf(emoji)).toBe(emoji);
  });

  it('reads results a memocell server cached, by GET of the documented key', async () => {
    expect(await clients.get('square', [12])).toBe(144);
    expect(await foreign.get(`${baseOf('square')}:v:[12]`)).toBe('0j144');

    const value = { b: [1, 'two', null], a: { c: true } };
    await clients.get('echo', [value]);
    const cached = await foreign.get(`${baseOf('echo')}:v:${requestKeyOf(canonicalOf([value]))}`);
    expect(decodeEnvelope(cached as string)).toEqual(value);

    const long = ['x'.repeat(300), 1];
    await clients.get('echo', long);
    const hashed = requestKeyOf(canonicalOf(long));
    expect(hashed.startsWith('#')).toBe(true);
    expect(decodeEnvelope((await foreign.get(`${baseOf('echo')}:v:${hashed}`)) as string)).toEqual(long);

    await clients.get('bytes', [7]);
    const bytes = decodeEnvelope((await foreign.get(`${baseOf('bytes')}:v:[7]`)) as string);
    expect(Buffer.isBuffer(bytes) && [...bytes]).toEqual([7, 2, 3]);

    // A string is stored as it is; one with a lone surrogate (which UTF-8 cannot carry) as JSON.
    const page = '<p class="x">line\n\ttab "quoted" ✓ 😀</p>';
    await clients.get('echo', [page]);
    const stored = await foreign.get(`${baseOf('echo')}:v:${requestKeyOf(canonicalOf([page]))}`);
    expect(stored).toBe(`0s${page}`);
    expect(decodeEnvelope(stored as string)).toBe(page);
    await clients.get('echo', ['a\ud800b']);
    expect(await foreign.get(`${baseOf('echo')}:v:${requestKeyOf(canonicalOf(['a\ud800b']))}`)).toBe('0j"a\\ud800b"');
  });

  it('registers a get with the get script and receives the result on its reply list', async () => {
    const { key, reply } = await registerGet(foreign, 'square', 'foreign-1', [21]);
    expect(reply).toBe(0); // a miss: this client now waits
    const answer = await popReply(blocking, 'square', 'foreign-1');
    expect(answer.key).toBe(key);
    expect(decodeEnvelope(answer.envelope)).toBe(441);
    // Now cached: the same script answers with the envelope itself.
    expect((await registerGet(foreign, 'square', 'foreign-1', [21])).reply).toBe('0j441');
  });

  it('receives a failure envelope with the documented report, chain included', async () => {
    await registerGet(foreign, 'outer', 'foreign-2', [13]);
    const { envelope } = await popReply(blocking, 'outer', 'foreign-2');
    expect(envelope[0]).toBe('1');
    const report = JSON.parse(envelope.slice(1));
    expect(report).toMatchObject({ name: 'RangeError', message: 'unlucky', chain: [{ service: 'square', args: [13] }] });
    expect(typeof report.stack).toBe('string');
    // Errors are never cached.
    expect(await foreign.get(`${baseOf('outer')}:v:[13]`)).toBeNull();
  });

  it('identical gets from two clients wait on one queued request, answered to both', async () => {
    // No server of this service yet, so the request stays queued while both register.
    const service = 'late';
    const base = baseOf(service);
    const first = await registerGet(foreign, service, 'foreign-a', ['k']);
    const second = await registerGet(foreign, service, 'foreign-b', ['k']);
    expect([first.reply, second.reply]).toEqual([0, 0]);
    expect(await foreign.lrange(`${base}:q`, 0, -1)).toEqual(['["k"]\n']);
    expect(await runRecord(foreign, base, '["k"]')).toEqual({
      state: 'queued', kind: 'get', waiters: 'foreign-a,foreign-b', payload: '["k"]\n',
    });

    const server = servers.serve(service, ([k]) => `got ${String(k)}`);
    const secondBlocking = foreign.duplicate();
    const [a, b] = await Promise.all([popReply(blocking, service, 'foreign-a'), popReply(secondBlocking, service, 'foreign-b')]).finally(
      () => secondBlocking.disconnect(),
    );
    expect(decodeEnvelope(a.envelope)).toBe('got k');
    expect(decodeEnvelope(b.envelope)).toBe('got k');
    // Not kept: answered, not cached, and the records are gone.
    expect(await foreign.exists(`${base}:v:["k"]`)).toBe(0);
    expect(await runRecord(foreign, base, '["k"]')).toBeNull();
    await server.stop();
  });

  it('serves a request a memocell client made: pops the get queue and answers with complete', async () => {
    const service = 'foreign-served';
    const base = baseOf(service);
    const pending = clients.get(service, [{ x: 1, w: 'hi' }]);
    const popped = (await blocking.blpop(`${base}:q`, `${base}:p`, 10)) as [string, string];
    expect(popped[0]).toBe(`${base}:q`);
    const payload = popped[1];
    const newline = payload.indexOf('\n');
    const key = payload.slice(0, newline);
    const canonical = payload.slice(newline + 1) || key;
    expect(key).toBe('[{"w":"hi","x":1}]');
    // The JSON subset of the encoding is JSON: enough for this server's arguments.
    const [arg] = JSON.parse(canonical) as [{ x: number; w: string }];
    const envelope = '0j' + JSON.stringify(`${arg.w} ${arg.x + 1}`);
    // One finished request (TOKEN TAB TTL TAB FLAGS TAB KEY NEWLINE ENVELOPE): not a
    // failure, never claimed, cached for a minute; take nothing next.
    const reply = await foreign.eval(
      lua('complete-4'),
      4,
      `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`,
      base, 'foreign-server', 0, Date.now() + 5_000, 100_000, 60_000, 'tok',
      `tok.0\t60000\t01\t${key}\n${envelope}`,
    );
    expect(reply).toEqual([1]); // one waiter answered
    await expect(pending).resolves.toBe('hi 2');
    expect(await foreign.get(`${base}:v:${key}`)).toBe(envelope);
    expect(await foreign.hgetall(`${base}:stats`)).toMatchObject({ misses: '1', computations: '1' });
  });

  it('recovers lost work with the sweep script: back to the front of the queue, earliest deadline first', async () => {
    const base = baseOf('foreign-swept');
    const now = Date.now();
    const record = (key: string, state: string, extra: { owner?: string; token?: string } = {}): Promise<number> =>
      foreign.hset(`${base}:runs`, key, formatRecord({ state, kind: 'get', payload: `${key}\n`, ...extra }));
    // [1]: its server died computing it (lease lapsed). [2]: popped by a server that died
    // before claiming it (queued, in no queue). [3]: still queued past its grace.
    // [4]: queued, deadline ahead.
    await record('[1]', 'running', { owner: 'dead-server', token: 'dead.1' });
    await record('[2]', 'queued');
    await record('[3]', 'queued');
    await record('[4]', 'queued');
    await foreign.rpush(`${base}:q`, '[3]\n', '[4]\n');
    await foreign.zadd(`${base}:pending`, now - 2_000, '[1]', now - 1_000, '[2]', now - 500, '[3]', now + 10_000, '[4]');
    const requeued = await foreign.eval(
      lua('sweep-3'), 3, `${base}:pending`, `${base}:q`, `${base}:p`,
      base, now, now + 5_000, 100, 100_000,
    );
    // Two queued again; four members left in pending (so servers keep sweeping often);
    // three looked at (under the limit: no need to sweep again at once).
    expect(requeued).toEqual([2, 4, 3]);
    expect(await foreign.lrange(`${base}:q`, 0, -1)).toEqual(['[1]\n', '[2]\n', '[3]\n', '[4]\n']);
    expect(await runRecord(foreign, base, '[1]')).toEqual({ state: 'queued', kind: 'get', payload: '[1]\n' });
    expect(await foreign.zrange(`${base}:pending`, 0, -1, 'WITHSCORES')).toEqual([
      '[1]', String(now + 5_000), '[2]', String(now + 5_000), '[3]', String(now + 5_000), '[4]', String(now + 10_000),
    ]);
  });

  it('taking a request writes its lease into the record; the sweep moves a due entry to the lease, renew extends it', async () => {
    const service = 'foreign-leased';
    const base = baseOf(service);
    const now = Date.now();
    // A get queues [1] with its grace deadline 500 ms ahead and a record TTL of 100 s
    // (the TTL of BASE:runs, which holds every record of the service).
    const run = `${base}:runs`;
    await foreign.eval(lua('get-1'), 1, `${base}:v:[1]`, base, 'leased-client', now + 500, 100_000, '[1]', '[1]\n');
    const ttlQueued = await foreign.pttl(run);
    expect(ttlQueued).toBeGreaterThan(90_000);
    // A server takes it with a lease 3 s ahead: the lease is a field; the pending entry
    // keeps the grace deadline (no command spent on it), and the records their TTL.
    const taken = await foreign.eval(
      lua('complete-4'), 4, `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`,
      base, 'leased-server', 1, now + 3_000, 100_000, 60_000, 'tok',
    );
    expect(taken).toEqual(['[1]\n']);
    expect(await runRecord(foreign, base, '[1]')).toMatchObject({ state: 'running', owner: 'leased-server', token: 'tok', lease: String(now + 3_000) });
    expect(await foreign.zscore(`${base}:pending`, '[1]')).toBe(String(now + 500));
    expect(await foreign.pttl(run)).toBeGreaterThan(90_000);
    // A sweep after the grace deadline, within the lease: not queued again; its entry
    // moves to the lease, and the record's TTL is renewed (100 s here).
    const sweep = (at: number): Promise<unknown> =>
      foreign.eval(lua('sweep-3'), 3, `${base}:pending`, `${base}:q`, `${base}:p`, base, at, at + 5_000, 100, 100_000);
    expect(await sweep(now + 1_000)).toEqual([0, 1, 1]);
    expect(await foreign.zscore(`${base}:pending`, '[1]')).toBe(String(now + 3_000));
    expect(await foreign.pttl(run)).toBeGreaterThan(90_000);
    expect(await foreign.llen(`${base}:q`)).toBe(0);
    // The server renews its lease to 8 s ahead: a sweep at 4 s moves the entry again.
    expect(await foreign.eval(lua('renew-1'), 1, `${base}:pending`, base, now + 8_000, 100_000, '[1]', 'tok')).toEqual([]);
    expect(await sweep(now + 4_000)).toEqual([0, 1, 1]);
    expect(await foreign.zscore(`${base}:pending`, '[1]')).toBe(String(now + 8_000));
    // Past the renewed lease, its server is taken for lost: queued again at the front.
    expect(await sweep(now + 9_000)).toEqual([1, 1, 1]);
    expect(await foreign.lrange(`${base}:q`, 0, -1)).toEqual(['[1]\n']);
    expect(await runRecord(foreign, base, '[1]')).toEqual({ state: 'queued', kind: 'get', waiters: 'leased-client', payload: '[1]\n' });
  });

  it('complete answers each waiter once per request, in one push per client, however often the request comes in the call', async () => {
    const base = baseOf('foreign-twice');
    const now = Date.now();
    await foreign.eval(lua('get-1'), 1, `${base}:v:[1]`, base, 'twice-a', now + 5_000, 100_000, '[1]', '[1]\n', '[2]', '[2]\n');
    await foreign.eval(lua('get-1'), 1, `${base}:v:[2]`, base, 'twice-b', now + 5_000, 100_000, '[2]', '[2]\n');
    const reply = await foreign.eval(
      lua('complete-4'), 4, `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`,
      base, 'twice-server', 0, now + 5_000, 100_000, 60_000, 'tok',
      `x.1\t0\t01\t[1]\n0j1`, `x.2\t0\t01\t[2]\n0j2`, `x.3\t0\t01\t[1]\n0j1`,
    );
    // [1] answered its one waiter, [2] its two; the second [1] found no record left.
    expect(reply).toEqual([1, 2, 0]);
    expect(await foreign.lrange(`${base}:reply:twice-a`, 0, -1)).toEqual(['[1]\n0j1', '[2]\n0j2']);
    expect(await foreign.lrange(`${base}:reply:twice-b`, 0, -1)).toEqual(['[2]\n0j2']);
    expect(await foreign.hlen(`${base}:runs`)).toBe(0);
    expect(await foreign.zcard(`${base}:pending`)).toBe(0);
  });

  it('a client that stops waiting runs leave: it is out of WAITERS, and complete answers only the others', async () => {
    const base = baseOf('foreign-leave');
    const now = Date.now();
    for (const client of ['leave-a', 'leave-b', 'leave-c']) {
      await foreign.eval(lua('get-1'), 1, `${base}:v:[1]`, base, client, now + 5_000, 100_000, '[1]', '[1]\n');
    }
    expect((await runRecord(foreign, base, '[1]'))?.waiters).toBe('leave-a,leave-b,leave-c');
    expect(await foreign.eval(lua('leave-1'), 1, `${base}:runs`, '[1]', 'leave-b')).toBe(1);
    // Not (or no longer) a waiter, or no such record: nothing changes.
    expect(await foreign.eval(lua('leave-1'), 1, `${base}:runs`, '[1]', 'leave-b')).toBe(0);
    expect(await foreign.eval(lua('leave-1'), 1, `${base}:runs`, '[2]', 'leave-a')).toBe(0);
    expect(await runRecord(foreign, base, '[1]')).toEqual({ state: 'queued', kind: 'get', waiters: 'leave-a,leave-c', payload: '[1]\n' });
    const reply = await foreign.eval(
      lua('complete-4'), 4, `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`,
      base, 'leave-server', 0, now + 5_000, 100_000, 60_000, 'tok', `x.1\t0\t01\t[1]\n0j1`,
    );
    expect(reply).toEqual([2]);
    expect(await foreign.llen(`${base}:reply:leave-b`)).toBe(0);
    expect(await foreign.lrange(`${base}:reply:leave-c`, 0, -1)).toEqual(['[1]\n0j1']);
  });

  it('a service with 32 or more requests in flight keeps its records and pending set as real tables; a small one stays compact', async () => {
    const now = Date.now();
    const get = (base: string, n: number): Promise<unknown> => {
      const argv: string[] = [];
      for (let i = 0; i < n; i++) argv.push(`[${i}]`, `[${i}]\n`);
      return foreign.eval(lua('get-1'), 1, `${base}:v:[0]`, base, 'tables-client', now + 5_000, 100_000, ...argv);
    };
    const small = baseOf('foreign-small');
    await get(small, 3);
    expect(await foreign.object('ENCODING', `${small}:runs`)).toBe('listpack');
    expect(await foreign.object('ENCODING', `${small}:pending`)).toBe('listpack');
    const large = baseOf('foreign-large');
    await get(large, 40);
    // Scanning a listpack of 40 records on every HGET is what the scripts avoid.
    expect(await foreign.object('ENCODING', `${large}:runs`)).toBe('hashtable');
    expect(await foreign.object('ENCODING', `${large}:pending`)).toBe('skiplist');
    // The long entry that converted each is gone again: only the 40 requests remain.
    expect(await foreign.hlen(`${large}:runs`)).toBe(40);
    expect(await foreign.zcard(`${large}:pending`)).toBe(40);
    expect(Object.keys(await foreign.hgetall(`${large}:runs`)).every((key) => key.startsWith('['))).toBe(true);
  });

  it('a get of more requests than one command takes (4,500: MGET, RPUSH and ZADD go in chunks) answers each at its own place', async () => {
    const base = baseOf('foreign-many');
    const now = Date.now();
    const n = 4_500;
    const argv: string[] = [];
    for (let i = 0; i < n; i++) argv.push(`[${i}]`, `[${i}]\n`);
    const first = (await foreign.eval(lua('get-1'), 1, `${base}:v:[0]`, base, 'many-client', now + 5_000, 100_000, ...argv)) as unknown[];
    expect(first).toEqual(new Array(n).fill(0));
    expect(await foreign.llen(`${base}:q`)).toBe(n);
    expect(await foreign.zcard(`${base}:pending`)).toBe(n);
    // Cache every 7th result: the second call must find each at its own index, past the first chunk too.
    for (let i = 0; i < n; i += 7) await foreign.set(`${base}:v:[${i}]`, `j${i}`);
    const second = (await foreign.eval(lua('get-1'), 1, `${base}:v:[0]`, base, 'many-client', now + 5_000, 100_000, ...argv)) as unknown[];
    expect(second).toEqual(Array.from({ length: n }, (_, i) => (i % 7 === 0 ? `j${i}` : 0)));
    // The others joined their records: nothing queued twice.
    expect(await foreign.llen(`${base}:q`)).toBe(n);
  });

  it('a request queued twice and taken twice in one call (one token for both) is answered once, together or apart', async () => {
    for (const together of [true, false]) {
      const base = baseOf(`foreign-dup-${together ? 'together' : 'apart'}`);
      const now = Date.now();
      await foreign.eval(lua('get-1'), 1, `${base}:v:[1]`, base, 'dup-client', now + 5_000, 100_000, '[1]', '[1]\n');
      // Queued a second time, as a sweep may do while the first copy still waits.
      await foreign.rpush(`${base}:q`, '[1]\n');
      const complete = (take: number, ...finished: string[]): Promise<unknown> =>
        foreign.eval(
          lua('complete-4'), 4, `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`,
          base, 'dup-server', take, now + 5_000, 100_000, 60_000, 'dup', ...finished,
        );
      expect(await complete(2)).toEqual(['[1]\n', '[1]\n']);
      expect((await runRecord(foreign, base, '[1]'))?.token).toBe('dup');
      const first = 'dup\t0\t00\t[1]\n0j1';
      const delivered = together ? await complete(0, first, first) : [...((await complete(0, first)) as unknown[]), ...((await complete(0, first)) as unknown[])];
      // The first completion answers the one waiter; the second finds no record: dropped.
      expect(delivered).toEqual([1, -1]);
      expect(await foreign.lrange(`${base}:reply:dup-client`, 0, -1)).toEqual(['[1]\n0j1']);
      expect(await runRecord(foreign, base, '[1]')).toBeNull();
    }
  });

  it('a record that lapsed while queued is made again when taken, with a TTL and a pending entry at its lease', async () => {
    const base = baseOf('foreign-remade');
    const now = Date.now();
    await foreign.rpush(`${base}:q`, '[1]\n');
    await foreign.eval(lua('complete-4'), 4, `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`, base, 'remade-server', 1, now + 3_000, 100_000, 60_000, 'tok');
    const ttl = await foreign.pttl(`${base}:runs`);
    expect(ttl).toBeGreaterThan(90_000);
    expect(ttl).toBeLessThanOrEqual(100_000);
    expect(await foreign.zscore(`${base}:pending`, '[1]')).toBe(String(now + 3_000));
    // The same through claim (a server that popped the request itself).
    await foreign.eval(lua('claim-3'), 3, `${base}:runs`, `${base}:pending`, `${base}:stats`, '[2]', '[2]\n', 'remade-server', 'tok.2', now + 4_000, 100_000);
    expect(await runRecord(foreign, base, '[2]')).toMatchObject({ state: 'running', token: 'tok.2', payload: '[2]\n' });
    expect(await foreign.zscore(`${base}:pending`, '[2]')).toBe(String(now + 4_000));
  });

  it('a record made again without a kind counts as a prefetch: swept to the prefetch queue, promoted by a get', async () => {
    const base = baseOf('foreign-kindless');
    const now = Date.now();
    // Two payloads whose records ran out of TTL while queued: taken by complete, their
    // records are made again with no kind.
    await foreign.rpush(`${base}:q`, '[1]\n', '[2]\n');
    const taken = await foreign.eval(
      lua('complete-4'), 4, `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`,
      base, 'kindless-server', 2, now - 1, 100_000, 60_000, 'tok',
    );
    expect(taken).toEqual(['[1]\n', '[2]\n']);
    expect((await runRecord(foreign, base, '[1]'))?.kind).toBeUndefined();
    // A get joins [2] while it runs: it is a get now.
    expect((await registerGet(foreign, 'foreign-kindless', 'kindless-client', [2])).reply).toBe(0);
    expect((await runRecord(foreign, base, '[2]'))?.kind).toBe('get');
    // Both leases have lapsed (deadline now - 1): [1], nobody's get, goes to the
    // prefetch queue; [2] to the get queue.
    await foreign.eval(lua('sweep-3'), 3, `${base}:pending`, `${base}:q`, `${base}:p`, base, now, now + 5_000, 100, 100_000);
    expect(await foreign.lrange(`${base}:p`, 0, -1)).toEqual(['[1]\n']);
    expect(await foreign.lrange(`${base}:q`, 0, -1)).toEqual(['[2]\n']);
  });

  it('forgets with the invalidate script: the sharded message, the dependents, level by level', async () => {
    expect(await clients.get('outer', [3])).toBe(9);
    const squareBase = baseOf('square');
    const outerBase = baseOf('outer');
    expect(await foreign.smembers(`${squareBase}:d:[3]`)).toEqual(['outer\n[3]']);

    const subscriber = foreign.duplicate();
    const messages: string[] = [];
    subscriber.on('smessage', (_channel: string, message: string) => messages.push(message));
    await subscriber.ssubscribe(`${squareBase}:invalidated`);
    try {
      const dependents = await foreign.eval(lua('invalidate-1'), 1, `${squareBase}:v:[3]`, squareBase, `${squareBase}:invalidated`, '[3]');
      expect(dependents).toEqual(['outer\n[3]']);
      // Next level: the dependent's service, with its key.
      const next = await foreign.eval(lua('invalidate-1'), 1, `${outerBase}:v:[3]`, outerBase, `${outerBase}:invalidated`, '[3]');
      expect(next).toEqual([]);
      expect(await foreign.exists(`${squareBase}:v:[3]`, `${outerBase}:v:[3]`, `${squareBase}:d:[3]`)).toBe(0);
      await waitFor(() => messages.length > 0);
      expect(messages).toEqual(['[3]']);
    } finally {
      subscriber.disconnect();
    }
  });

  it('finds servers in the registry and stops one with a control message', async () => {
    const service = 'stoppable';
    const base = baseOf(service);
    const server = servers.serve(service, () => 1, { id: 'srv-doc' });
    await waitFor(async () => (await foreign.hget(`${base}:servers`, 'srv-doc')) !== null);
    const alive = await foreign.zrangebyscore(`${base}:alive`, Date.now(), '+inf');
    expect(alive).toEqual(['srv-doc']);
    const info = JSON.parse((await foreign.hget(`${base}:servers`, 'srv-doc')) as string);
    expect(info).toMatchObject({ id: 'srv-doc', service, pid: process.pid, concurrency: 1 });
    expect(Object.keys(info).sort()).toEqual(['concurrency', 'host', 'id', 'inFlight', 'pid', 'protocol', 'served', 'service', 'started']);
    expect(info.protocol).toBe(3);
    expect(await foreign.get(`${base}:name`)).toBe(service);

    await foreign.publish(`${base}:control`, JSON.stringify({ to: 'srv-doc', command: 'stop' }));
    await server.stopped;
    expect(await foreign.hget(`${base}:servers`, 'srv-doc')).toBeNull();
  });

  it('a memocell client decodes failures the foreign server writes as RemoteErrors', async () => {
    const service = 'foreign-fails';
    const base = baseOf(service);
    const pending = clients.get(service, [1]).catch((error: unknown) => error);
    const [, payload] = (await blocking.blpop(`${base}:q`, 10)) as [string, string];
    const key = payload.slice(0, payload.indexOf('\n'));
    const report = { name: 'ValueError', message: 'no such thing', chain: [] };
    await foreign.eval(
      lua('complete-4'), 4, `${base}:pending`, `${base}:stats`, `${base}:q`, `${base}:p`,
      base, 'foreign-server', 0, Date.now() + 5_000, 100_000, 60_000, 'tok',
      `tok.0\t0\t11\t${key}\n1${JSON.stringify(report)}`,
    );
    const error = await pending;
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteName).toBe('ValueError');
    expect((error as RemoteError).remoteMessage).toBe('no such thing');
    expect(await foreign.hget(`${base}:stats`, 'errors')).toBe('1');
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
