/**
 * A model-based test of the bridge across two processes: random calls, forgets and
 * shared-input sets, made by this process or a child process (each with its own L1),
 * against a single-process model of what f must return. Reads in one process after a
 * change made in the other must converge to the model (invalidations travel by pub/sub,
 * so the check polls briefly); reads in the process that made the change must see it at once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Store } from '../../src/index.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

let redis: RedisServerHandle;
let store: Store;
let peer: ChildProcess;
let nextId = 0;
const replies = new Map<number, (msg: { value?: number; error?: string }) => void>();

function ask(msg: Record<string, unknown>): Promise<{ value?: number; error?: string }> {
  const id = ++nextId;
  return new Promise((resolve) => {
    replies.set(id, resolve);
    peer.send({ ...msg, id });
  });
}

beforeAll(async () => {
  redis = await startRedis();
  store = connect(redis.url);
  peer = fork('test/bridge/fixtures/model-peer.mjs', [], { env: { ...process.env, REDIS_URL: redis.url }, stdio: 'inherit' });
  await new Promise<void>((resolve) => {
    peer.on('message', (msg: { id?: number; ready?: boolean; value?: number; error?: string }) => {
      if (msg.ready === true) resolve();
      else if (msg.id !== undefined) replies.get(msg.id)?.({ value: msg.value, error: msg.error } as { value?: number; error?: string });
    });
  });
}, 30_000);

afterAll(async () => {
  peer?.disconnect();
  await store?.close();
  await redis?.stop();
});

type Who = 'here' | 'peer';
type Command = { who: Who; op: 'call'; x: number } | { who: Who; op: 'forget'; x: number } | { who: Who; op: 'set'; v: number };

const who = fc.constantFrom<Who>('here', 'peer');
const x = fc.integer({ min: 0, max: 3 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ who, op: fc.constant('call' as const), x }),
  fc.record({ who, op: fc.constant('forget' as const), x }),
  fc.record({ who, op: fc.constant('set' as const), v: fc.integer({ min: 0, max: 3 }) }),
);

let run = 0;

describe('bridge model across two processes', () => {
  it('calls agree with the model after random calls, forgets and input sets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
        const id = `${process.pid}.${++run}`;
        const rate = store.input(`model.rate.${id}`, 1);
        const f = store.memo(`model.f.${id}`, async (n: number) => n * (await rate.get()) + 1);
        // The peer serves f (this process does not): it must be up before the first call.
        await ask({ op: 'init', run: id });
        let modelRate = 1;
        let lastWriter: Who = 'here';
        for (const c of commands) {
          if (c.op === 'set') {
            modelRate = c.v;
            lastWriter = c.who;
            if (c.who === 'here') await rate.set(c.v);
            else expect((await ask({ op: 'set', run: id, v: c.v })).error).toBeUndefined();
          } else if (c.op === 'forget') {
            if (c.who === 'here') await f.forget(c.x);
            else expect((await ask({ op: 'forget', run: id, x: c.x })).error).toBeUndefined();
          } else {
            const expected = c.x * modelRate + 1;
            const read = async (): Promise<number | undefined> =>
              c.who === 'here' ? f(c.x) : (await ask({ op: 'call', run: id, x: c.x })).value;
            let value = await read();
            // A change made in the other process reaches this one's L1 by pub/sub: it must
            // converge, quickly. One made here must be seen at once.
            for (let i = 0; i < 100 && value !== expected && lastWriter !== c.who; i++) {
              await new Promise((r) => setTimeout(r, 10));
              value = await read();
            }
            expect(value, `f(${c.x}) read ${c.who === 'here' ? 'here' : 'in the peer'} after ${JSON.stringify(commands)}`).toBe(expected);
          }
        }
      }),
      { numRuns: Number(process.env.FC_NUM_RUNS_BRIDGE ?? 15) },
    );
  }, 60_000);
});
