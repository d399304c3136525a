/**
 * Bounded resources (issue "Survive faults", item 8).
 *
 * The soak: client processes make 10,000 requests in all (250 each, 16 in flight at a
 * time) over two server processes: gets, prefetches and forgets of bridge memos (kept
 * results, one reading another memo and a shared input, so dependencies are recorded),
 * of an uncached service and of one whose handler fails on odd arguments, and sets of
 * the shared input. One client in ten is SIGKILLed mid-call, a quarter of the way
 * through. Then every key under the prefix is classified with SCAN: a key without a TTL
 * must be a queue, the pending set, a registry entry or a stats hash, and every other
 * key must have a TTL no longer than the bound docs/protocol.md gives for its kind.
 * Waiters are named in request records, and the records of a service are fields of
 * one hash, never keys of their own. Once the servers
 * have finished the work, no request record is left at all, and the only reply lists left are those of the killed clients (they expire
 * within 60 s).
 *
 * Memory per idle client: a client that made 1,000 or 10,000 distinct gets (each with
 * a 2,000-character argument) and then sits idle must hold no per-request state: its
 * tables of waits are empty and its heap after garbage collection does not grow with
 * the number of gets it made (nor, through the bridge, beyond what its bounded L1
 * holds); its reply list in Redis is gone or expiring.
 *
 * Scale: the full 10,000 requests by default (15 to 25 s on two shared cores); set
 * MEMOCELL_SOAK_REQUESTS to run more or fewer. Soak processes run at nice 10, so they do
 * not starve test files running beside this one.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { serviceTag } from '../../src/distributed/keys.js';
import { type Child } from '../support/processes.js';
import { startNodeLowly } from '../support/low-priority.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

const SERVER = 'test/reliability/fixtures/load-soak-server.mjs';
const CLIENT = 'test/reliability/fixtures/load-soak-client.mjs';
const IDLE_CLIENT = 'test/reliability/fixtures/load-idle-client.mjs';
const REQUESTS = Number(process.env.MEMOCELL_SOAK_REQUESTS ?? 10_000);
const PER_CLIENT = 250;
const AT_ONCE = 8;
const SERVICES = ['soak.kept', 'soak.price', 'soak.slow', 'soak.plain', 'soak.fail', 'soak.echo', 'memocell.input'];
const INPUT_SERVICE = 'memocell.input';

// TTL bounds of docs/protocol.md, for the default options the soak uses.
const SECOND = 1_000;
const LONGEST_KEEP_MS = 30 * SECOND; // LONGEST_KEEP_SECONDS in fixtures/load-soak-services.mjs
const INPUT_TTL_MS = 10 * 365 * 24 * 3600 * SECOND;
const RECORD_TTL_MS = 100 * SECOND; // max(60 s, 10 x max(lease 5 s, queue grace 10 s))
const REPLY_TTL_MS = 60 * SECOND;
const DEPENDENTS_TTL_MS = 24 * 3600 * SECOND;

/**
 * Parts of a store key that need no TTL: queues, the pending set, registries (the idle
 * list and its opt-in set hold live server ids only: a lapsed one is dropped), counters.
 */
const LASTING = new Set(['q', 'p', 'pending', 'stats', 'servers', 'alive', 'name', 'idle', 'direct']);

interface KeyInfo {
  readonly key: string;
  readonly service: string;
  /** `q`, `pending`, `runs`, … for fixed keys; `v`, `d`, `reply` for per-request/client ones. */
  readonly kind: string;
  /** The part after the kind: a request key or client id. */
  readonly rest: string;
  readonly pttl: number;
}

async function scanStore(raw: Redis): Promise<KeyInfo[]> {
  const services = new Map(SERVICES.map((s) => [serviceTag(s), s]));
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await raw.scan(cursor, 'MATCH', 'memocell:*', 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  const pipeline = raw.pipeline();
  for (const key of keys) pipeline.pttl(key);
  const ttls = (await pipeline.exec()) ?? [];
  return keys.map((key, i) => {
    const match = /^memocell:\{([0-9a-f]{16})\}:([a-z]+)(?::(.*))?$/s.exec(key);
    return {
      key,
      service: (match && services.get(match[1] as string)) ?? '?',
      kind: match?.[2] ?? '?',
      rest: match?.[3] ?? '',
      pttl: ttls[i]?.[1] as number,
    };
  });
}

/** The longest TTL a key of this kind may have; undefined: it may live without one. */
function ttlBound(info: KeyInfo): number | undefined {
  if (info.rest === '' && LASTING.has(info.kind)) return undefined;
  switch (info.kind) {
    case 'v':
      return info.service === INPUT_SERVICE ? INPUT_TTL_MS : LONGEST_KEEP_MS;
    case 'runs':
      // The service's run records, one hash (protocol v3: no per-request key).
      return RECORD_TTL_MS;
    case 'd':
      return DEPENDENTS_TTL_MS;
    case 'reply':
      return REPLY_TTL_MS;
    case 'in':
      // An idle server's inbox lives while it holds requests: its server pops it, and a
      // server that leaves or lapses has it moved back to the queue. Once drained, none
      // is left (checked below).
      return undefined;
    default:
      return -1; // not a key the store writes: never allowed
  }
}

function tally(infos: readonly KeyInfo[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const info of infos) {
    // -2: the key went (an emptied list, a completed record) between SCAN and PTTL.
    const name = info.pttl === -1 ? `${info.kind} (no TTL)` : info.pttl === -2 ? `${info.kind} (gone)` : info.kind;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Every key is one the store writes, and lives no longer than its kind allows. */
function expectBounded(infos: readonly KeyInfo[]): void {
  const unbounded = infos.filter((info) => {
    if (info.service === '?') return true;
    const bound = ttlBound(info);
    if (bound === undefined) return false;
    if (info.pttl === -2) return false; // expired between SCAN and PTTL
    return info.pttl === -1 || info.pttl > bound;
  });
  expect(unbounded.slice(0, 10), `${unbounded.length} keys without a bounded TTL`).toEqual([]);
}

interface SoakResult {
  readonly done: number;
  readonly counts: Record<string, number>;
  readonly problems: string[];
  readonly problemCount: number;
}

describe('bounded resources', () => {
  let redis: RedisServerHandle;
  let raw: Redis;
  const children: Child[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    const servers = [0, 1].map(() => startNodeLowly(SERVER, [], { REDIS_URL: redis.url }));
    children.push(...servers);
    await Promise.all(servers.map((s) => s.waitFor(/^ready$/, 30_000)));
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    raw?.disconnect();
    await redis?.stop();
  });

  it(`soak of ${REQUESTS} requests, 10% of clients killed mid-call: no key lives unbounded`, async () => {
    const started = Date.now();
    const clients = Math.ceil(REQUESTS / PER_CLIENT);
    const killedIds = new Set<string>();
    const results: SoakResult[] = [];
    let killed = 0;
    const atKills: string[] = [];
    for (let first = 0; first < clients; first += AT_ONCE) {
      const wave = Array.from({ length: Math.min(AT_ONCE, clients - first) }, (_, k) => first + k);
      await Promise.all(
        wave.map(async (index) => {
          const child = startNodeLowly(CLIENT, [String(index), String(PER_CLIENT)], { REDIS_URL: redis.url });
          children.push(child);
          const id = (await child.waitFor(/^id (\S+)$/, 30_000))[1] as string;
          if (index % 10 === 3) {
            // One in ten: killed without warning while 16 requests are in flight.
            await child.waitFor(/^busy$/, 60_000);
            child.kill('SIGKILL');
            killedIds.add(id);
            killed++;
            await child.exited;
            // Mid-soak, with its waits still registered: already nothing unbounded.
            const snapshot = await scanStore(raw);
            expectBounded(snapshot);
            const kinds = tally(snapshot);
            const records = await Promise.all(snapshot.filter((i) => i.kind === 'runs').map((i) => raw.hlen(i.key)));
            atKills.push(`${records.reduce((a, b) => a + b, 0)} records in ${records.length} hashes, ${kinds.reply ?? 0} reply lists`);
            return;
          }
          results.push(JSON.parse((await child.waitFor(/^result (.*)$/, 120_000))[1] as string) as SoakResult);
          await child.exited;
        }),
      );
    }
    const soakMs = Date.now() - started;

    // Clients that ran to the end saw every answer right (odd soak.fail arguments fail typed).
    expect(results.flatMap((r) => r.problems)).toEqual([]);
    expect(results.every((r) => r.done === PER_CLIENT)).toBe(true);
    const made: Record<string, number> = {};
    for (const r of results) for (const [what, n] of Object.entries(r.counts)) made[what] = (made[what] ?? 0) + n;
    expect(killed).toBe(Array.from({ length: clients }, (_, i) => i).filter((i) => i % 10 === 3).length);

    // Right after the soak, with work still queued or running: nothing unbounded.
    const now = await scanStore(raw);
    expectBounded(now);
    console.log(
      `soak: ${clients} clients x ${PER_CLIENT} requests in ${(soakMs / 1000).toFixed(1)} s, ${killed} killed mid-call; ` +
        `finished clients made ${JSON.stringify(made)}; keys with a TTL just after each kill: ${atKills.join('; ')}; ` +
        `keys right after the soak: ${JSON.stringify(tally(now))}`,
    );

    // Once the servers have done everything queued, no request record is left (an
    // emptied hash of records is gone), and only the killed clients' reply lists remain
    // (expiring).
    await expect
      .poll(
        async () => {
          const infos = await scanStore(raw);
          return infos.filter((i) => i.kind === 'runs').length;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe(0);
    const drained = await scanStore(raw);
    expectBounded(drained);
    for (const service of SERVICES) {
      const base = `memocell:{${serviceTag(service)}}`;
      expect(await raw.llen(`${base}:q`)).toBe(0);
      expect(await raw.llen(`${base}:p`)).toBe(0);
      expect(await raw.zcard(`${base}:pending`)).toBe(0);
      // The idle list names live servers only, each once.
      const alive = new Set(await raw.zrange(`${base}:alive`, 0, -1));
      const idle = await raw.lrange(`${base}:idle`, 0, -1);
      expect(idle.filter((id) => !alive.has(id))).toEqual([]);
      expect(new Set(idle).size).toBe(idle.length);
    }
    const replyOwners = new Set(drained.filter((i) => i.kind === 'reply').map((i) => i.rest));
    expect([...replyOwners].filter((id) => !killedIds.has(id))).toEqual([]);
    const withoutTtl = drained.filter((i) => i.pttl === -1);
    expect(withoutTtl.every((i) => LASTING.has(i.kind) && i.rest === '')).toBe(true);
    console.log(
      `soak: after the servers finished: ${JSON.stringify(tally(drained))}; ` +
        `${withoutTtl.length} keys without a TTL (queues, pending sets, registries, stats)`,
    );
  }, 180_000);

  it('an idle client holds no per-request state: 1,000 and 10,000 gets leave the same heap', async () => {
    const run = async (mode: string, n: number): Promise<Record<string, number | string>> => {
      const child = startNodeLowly(IDLE_CLIENT, [mode, String(n)], { REDIS_URL: redis.url, NODE_OPTIONS: '--expose-gc' });
      children.push(child);
      const line = JSON.parse((await child.waitFor(/^idle (.*)$/, 90_000))[1] as string) as Record<string, number | string>;
      // Redis holds nothing unbounded for it either: its reply list is drained (gone) or expiring.
      const reply = `memocell:{${serviceTag('soak.echo')}}:reply:${line.clientId as string}`;
      const pttl = await raw.pttl(reply);
      expect(pttl === -2 || (pttl > 0 && pttl <= REPLY_TTL_MS)).toBe(true);
      child.kill('SIGKILL');
      await child.exited;
      return line;
    };
    const figures: string[] = [];
    for (const mode of ['distributed', 'bridge']) {
      const small = await run(mode, 1_000);
      const large = await run(mode, 10_000);
      for (const line of [small, large]) {
        expect(line.wrong).toBe(0);
        // No waits, registrations or deadlines left behind once every call settled.
        expect([line.waiting, line.payloads, line.deadlines]).toEqual([0, 0, 0]);
      }
      const growth = (large.heapUsed as number) - (small.heapUsed as number);
      figures.push(
        `${mode}: heap ${mb(small.heapUsed)} after 1,000 gets, ${mb(large.heapUsed)} after 10,000 ` +
          `(rss ${mb(small.rss)} / ${mb(large.rss)})`,
      );
      // 9,000 more requests kept in any form would take about 18 MB (2 KB of arguments each);
      // through the bridge, the L1 holds its last 1,000 results (l1Max) whatever the number of calls.
      expect(growth, figures.at(-1)).toBeLessThan(2 * 1024 * 1024);
    }
    console.log(`idle client: ${figures.join('; ')}`);
  }, 180_000);

  it('a bounded L1 still drops a copy forgotten elsewhere, however many other results passed through it', async () => {
    // The L1 keeps 10 results; one is read again and again (so it stays) while 100 others
    // pass through. A forget in another process must still reach its copy here.
    const service = 'soak.hot';
    const here = connect(redis.url);
    const elsewhere = connect(redis.url);
    try {
      let runs = 0;
      const hot = here.memo(service, async (n: number) => `${n}#${++runs}`, { ttlSeconds: 60, l1Max: 10 });
      here.serve(hot, { concurrency: 4 });
      const first = await hot(0);
      for (let n = 1; n <= 100; n++) {
        await hot(n);
        expect(await hot(0)).toBe(first);
      }
      await elsewhere.remote<[number], string>(service).forget(0);
      await expect.poll(() => hot(0), { timeout: 5_000 }).not.toBe(first);
    } finally {
      await Promise.all([here.close(), elsewhere.close()]);
    }
  });
});

function mb(bytes: number | string | undefined): string {
  return `${(Number(bytes) / 1024 / 1024).toFixed(1)} MB`;
}
