/**
 * A model-based test of the queueing protocol with the idle list, run on a real Redis
 * with memocell's own scripts: fast-check drives random sequences of gets and of
 * one-slot servers that join, pop, complete, say they are busy, leave, die, and let
 * time pass (a fake clock: every deadline the scripts see comes from ARGV), and checks
 * after every step that no request waiting for an answer is in two places at once or
 * lost outside the places recovery looks at. At the end every server dies, a fresh
 * one recovers everything, and each request must have been answered exactly once.
 *
 * The servers are played by the test (the scripts called in the order a memocell server
 * calls them), so fast-check can reach interleavings that real processes hit rarely,
 * and shrink a failure to a short sequence.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceKeys } from '../../src/distributed/keys.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

const LUA = (name: string): string => readFileSync(new URL(`../../src/distributed/lua/${name}.lua`, import.meta.url), 'utf8');
const SCRIPTS = {
  get: LUA('get-1'),
  claim: LUA('claim-3'),
  complete: LUA('complete-4'),
  heartbeat: LUA('heartbeat-2'),
  sweep: LUA('sweep-3'),
  renew: LUA('renew-1'),
};
const K = serviceKeys('memocell', 'model');
const CLIENT = 'client-1';
const LEASE = 2_000;
const GRACE = 2_000;
const BEAT = 3_000; // a heartbeat's deadline, as servers send it
const LONG = 3_600_000; // record and reply TTLs: real time must not expire anything here
const SERVER_IDS = ['s1', 's2', 's3'] as const;

interface Held {
  readonly key: string;
  readonly payload: string;
  readonly token: string;
}

interface ServerModel {
  joined: boolean;
  dead: boolean;
  held: Held[];
}

interface Model {
  now: number;
  next: number;
  tokens: number;
  readonly servers: Map<string, ServerModel>;
  /** Request keys asked for, and whether answered. */
  readonly requests: Map<string, boolean>;
}

interface Real {
  readonly redis: Redis;
}

const payloadOf = (key: string): string => `${key}\n`;

async function heartbeat(redis: Redis, model: Model, id: string, mode: 'idle' | 'busy' | 'leave', description = '{}'): Promise<void> {
  await redis.eval(SCRIPTS.heartbeat, 2, K.servers, K.alive, id, description, model.now + BEAT, model.now, K.base, mode);
}

/** What the server would heartbeat now: a one-slot server holding a request is busy. */
const modeOf = (server: ServerModel): 'idle' | 'busy' => (server.held.length > 0 ? 'busy' : 'idle');

const live = (model: Model): Array<[string, ServerModel]> => [...model.servers].filter(([, s]) => s.joined && !s.dead);

// ---- commands -------------------------------------------------------------------

class Get implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const key = `[${model.next++}]`;
    model.requests.set(key, false);
    const reply = (await real.redis.eval(SCRIPTS.get, 1, K.value(key), K.base, CLIENT, model.now + GRACE, LONG, key, payloadOf(key))) as unknown[];
    expect(reply).toEqual([0]);
  }
  toString = (): string => 'get';
}

class Join implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = (model: Model): boolean => !(model.servers.get(this.id)?.joined ?? false);
  async run(model: Model, real: Real): Promise<void> {
    model.servers.set(this.id, { joined: true, dead: false, held: [] });
    await heartbeat(real.redis, model, this.id, 'idle');
  }
  toString = (): string => `join ${this.id}`;
}

/** The server's blocking pop: its inbox, then gets, then prefetches; then the claim. */
class Pop implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = (model: Model): boolean => {
    const s = model.servers.get(this.id);
    return s !== undefined && s.joined && !s.dead && s.held.length === 0;
  };
  async run(model: Model, real: Real): Promise<void> {
    const server = model.servers.get(this.id) as ServerModel;
    const payload = (await real.redis.lpop(K.inbox(this.id))) ?? (await real.redis.lpop(K.gets)) ?? (await real.redis.lpop(K.prefetches));
    if (payload === null) return;
    const key = payload.slice(0, payload.indexOf('\n'));
    const token = `${this.id}.${++model.tokens}`;
    server.held.push({ key, payload, token });
    // No room left after it (one slot): off the idle list.
    await real.redis.eval(SCRIPTS.claim, 3, K.runs, K.pending, K.stats, key, payload, this.id, token, model.now + LEASE, LONG, K.base, '0');
  }
  toString = (): string => `pop ${this.id}`;
}

class Complete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = (model: Model): boolean => {
    const s = model.servers.get(this.id);
    return s !== undefined && !s.dead && s.held.length > 0;
  };
  async run(model: Model, real: Real): Promise<void> {
    const server = model.servers.get(this.id) as ServerModel;
    const done = server.held.shift() as Held;
    const prefix = `${this.id}.c${++model.tokens}`;
    const reply = (await real.redis.eval(
      SCRIPTS.complete, 4, K.pending, K.stats, K.gets, K.prefetches,
      K.base, this.id, 1, model.now + LEASE, LONG, LONG, prefix,
      `${done.token}\t0\t00\t${done.key}\n0j${JSON.stringify(done.key)}`,
    )) as Array<number | string>;
    const delivered = reply[0] as number;
    if (delivered > 0) {
      expect(model.requests.get(done.key), `${done.key} answered twice`).toBe(false);
      model.requests.set(done.key, true);
    }
    const taken = reply[1];
    if (typeof taken === 'string') {
      server.held.push({ key: taken.slice(0, taken.indexOf('\n')), payload: taken, token: `${prefix}.1` });
    }
  }
  toString = (): string => `complete ${this.id}`;
}

class Busy implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = (model: Model): boolean => {
    const s = model.servers.get(this.id);
    return s !== undefined && s.joined && !s.dead;
  };
  async run(model: Model, real: Real): Promise<void> {
    await heartbeat(real.redis, model, this.id, 'busy');
  }
  toString = (): string => `busy ${this.id}`;
}

/** A graceful stop: `leave` at once, finish what it holds, then leave the registry. */
class Leave implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = (model: Model): boolean => {
    const s = model.servers.get(this.id);
    return s !== undefined && s.joined && !s.dead;
  };
  async run(model: Model, real: Real): Promise<void> {
    const server = model.servers.get(this.id) as ServerModel;
    await heartbeat(real.redis, model, this.id, 'leave');
    // Finishing takes nothing more (TAKE 0, as a stopping server sends).
    for (const done of server.held.splice(0)) {
      const reply = (await real.redis.eval(
        SCRIPTS.complete, 4, K.pending, K.stats, K.gets, K.prefetches,
        K.base, this.id, 0, model.now + LEASE, LONG, LONG, `${this.id}.stop`,
        `${done.token}\t0\t00\t${done.key}\n0j${JSON.stringify(done.key)}`,
      )) as number[];
      if ((reply[0] as number) > 0) model.requests.set(done.key, true);
    }
    await heartbeat(real.redis, model, this.id, 'leave', '');
    server.joined = false;
  }
  toString = (): string => `leave ${this.id}`;
}

/** SIGKILL: it does nothing more; what it holds is lost until recovery. */
class Die implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: string) {}
  check = (model: Model): boolean => {
    const s = model.servers.get(this.id);
    return s !== undefined && s.joined && !s.dead;
  };
  async run(model: Model): Promise<void> {
    (model.servers.get(this.id) as ServerModel).dead = true;
  }
  toString = (): string => `die ${this.id}`;
}

/** Time passes: live servers renew their leases and heartbeat, one sweeps. */
class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    model.now += this.ms;
    for (const [id, server] of live(model)) {
      if (server.held.length > 0) {
        const pairs = server.held.flatMap((h) => [h.key, h.token]);
        await real.redis.eval(SCRIPTS.renew, 1, K.pending, K.base, model.now + LEASE, LONG, ...pairs);
      }
      await heartbeat(real.redis, model, id, modeOf(server));
    }
    const sweeper = live(model)[0];
    if (sweeper !== undefined) await real.redis.eval(SCRIPTS.sweep, 3, K.pending, K.gets, K.prefetches, K.base, model.now, model.now + GRACE, 100, LONG);
  }
  toString = (): string => `advance ${this.ms}`;
}

// ---- the invariant --------------------------------------------------------------

async function lists(redis: Redis): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const key of [K.gets, K.prefetches, ...SERVER_IDS.map((id) => K.inbox(id)), K.inbox('rescuer')]) {
    found.set(key, await redis.lrange(key, 0, -1));
  }
  return found;
}

async function checkInvariant(model: Model, real: Real): Promise<void> {
  const queued = await lists(real.redis);
  const places = new Map<string, string[]>();
  const add = (key: string, where: string): void => void (places.get(key) ?? places.set(key, []).get(key))?.push(where);
  for (const [list, payloads] of queued) for (const p of payloads) add(p.slice(0, p.indexOf('\n')), list);
  const heldByDead = new Set<string>();
  for (const [id, server] of model.servers) {
    for (const h of server.held) {
      if (server.dead) heldByDead.add(h.key);
      else add(h.key, `held by ${id}`);
    }
  }
  for (const [key, answered] of model.requests) {
    const where = places.get(key) ?? [];
    if (answered) continue;
    // Waiting for an answer: in one place, or lost with a dead server (the sweep's job).
    expect(where.length, `${key} is in ${JSON.stringify(where)}`).toBeLessThanOrEqual(1);
    if (where.length === 0) expect(heldByDead.has(key), `${key} is nowhere and no dead server held it`).toBe(true);
  }
  const idle = await real.redis.lrange(K.idle, 0, -1);
  const direct = new Set(await real.redis.smembers(K.direct));
  expect(new Set(idle).size, `idle list ${JSON.stringify(idle)} repeats an id`).toBe(idle.length);
  for (const id of idle) expect(direct.has(id), `${id} is idle but not direct`).toBe(true);
  for (const [list, payloads] of queued) {
    const id = list.startsWith(`${K.base}:in:`) ? list.slice(`${K.base}:in:`.length) : undefined;
    if (id !== undefined && payloads.length > 0) expect(direct.has(id), `${id} left but its inbox holds ${payloads.length}`).toBe(true);
  }
}

/** Every server dies; a fresh one recovers and answers everything. */
async function drain(model: Model, real: Real): Promise<void> {
  for (const server of model.servers.values()) server.dead = true;
  await new Join('rescuer').run(model, real);
  for (let round = 0; [...model.requests.values()].some((answered) => !answered); round++) {
    expect(round, `still unanswered: ${[...model.requests].filter(([, a]) => !a).map(([k]) => k).join(' ')}`).toBeLessThan(20);
    // Past every lease, grace and heartbeat: lapses and sweeps hand everything back.
    await new Advance(LEASE + GRACE + BEAT + 1).run(model, real);
    const pop = new Pop('rescuer');
    const complete = new Complete('rescuer');
    for (let n = 0; n < 1_000; n++) {
      if (complete.check(model)) await complete.run(model, real);
      else if (pop.check(model)) {
        const before = model.tokens;
        await pop.run(model, real);
        if (model.tokens === before) break; // nothing to pop
      } else break;
    }
  }
  const replies = await real.redis.lrange(K.replies(CLIENT), 0, -1);
  const answered = replies.map((r) => r.slice(0, r.indexOf('\n'))).sort();
  expect(answered, 'each request answered exactly once').toEqual([...model.requests.keys()].sort());
  expect(await real.redis.zcard(K.pending)).toBe(0);
}

describe('the queueing protocol with the idle list (scripts on a real Redis, servers played by the test)', () => {
  let redis: RedisServerHandle;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('no waiting request is ever in two places or lost outside recovery, and each is answered exactly once', async () => {
    const id = fc.constantFrom(...SERVER_IDS);
    const commands = [
      fc.constant(new Get()),
      id.map((s) => new Join(s)),
      id.map((s) => new Pop(s)),
      id.map((s) => new Pop(s)),
      id.map((s) => new Complete(s)),
      id.map((s) => new Complete(s)),
      id.map((s) => new Busy(s)),
      id.map((s) => new Leave(s)),
      id.map((s) => new Die(s)),
      fc.constantFrom(100, 1_000, 2_500, 4_000).map((ms) => new Advance(ms)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60 }), async (cmds) => {
        await client.flushall();
        const model: Model = { now: 1_800_000_000_000, next: 0, tokens: 0, servers: new Map(), requests: new Map() };
        const real: Real = { redis: client };
        await fc.asyncModelRun(() => ({ model, real }), [...cmds].map((c) => withCheck(c)));
        await drain(model, real);
      }),
      { numRuns: Number(process.env.FC_NUM_RUNS_IDLE ?? 60) },
    );
  }, 120_000);
});

/** Runs the invariant after each command. */
function withCheck(command: fc.AsyncCommand<Model, Real>): fc.AsyncCommand<Model, Real> {
  return {
    check: (model) => command.check(model),
    run: async (model, real) => {
      await command.run(model, real);
      await checkInvariant(model, real);
    },
    toString: () => command.toString(),
  };
}
