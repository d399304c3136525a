/**
 * The ACL roles of docs/production.md, run as written: the rules are read from that file,
 * a real server and real clients connect as those users, and the test checks that their
 * work raises no ACL denial while the client role is refused what only servers and
 * admins may do.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/bridge/index.js';
import { ControlError, createRedisStore, keep, TimeoutError } from '../../src/distributed/index.js';
import { serviceKeys } from '../../src/distributed/keys.js';
import { startRedis, type RedisServerHandle } from '../support/redis.js';

const DOC = new URL('../../docs/production.md', import.meta.url);
const LUA_DIR = new URL('../../src/distributed/lua/', import.meta.url);
const PASSWORDS: Record<string, string> = {
  '>CLIENT_PASSWORD': '>client-secret',
  '>SERVER_PASSWORD': '>server-secret',
  '>ADMIN_PASSWORD': '>admin-secret',
};

/** The `redis-cli ACL SETUSER …` commands of the document, as argument lists (user name first). */
function documentedUsers(): Map<string, string[]> {
  const text = readFileSync(DOC, 'utf8');
  const users = new Map<string, string[]>();
  // Join shell continuation lines, then take each `redis-cli ACL SETUSER` command.
  const joined = text.replace(/\\\n\s*/g, ' ');
  for (const line of joined.split('\n')) {
    const match = /^redis-cli ACL SETUSER (.*)$/.exec(line.trim());
    if (match === null) continue;
    const words = [...(match[1] as string).matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? (m[2] as string));
    const [name, ...rules] = words;
    users.set(name as string, rules.map((rule) => PASSWORDS[rule] ?? rule));
  }
  return users;
}

/** Redis commands whose subcommands are granted one by one (`+object|encoding`). */
const CONTAINER_COMMANDS = new Set(['OBJECT']);

/** Commands a Lua script calls, upper-case; a container command with its subcommand (`OBJECT|ENCODING`). */
function scriptCommands(file: string): Set<string> {
  const source = readFileSync(new URL(file, LUA_DIR), 'utf8');
  return new Set(
    [...source.matchAll(/redis\.call\('([A-Za-z]+)'(?:, '([A-Za-z]+)')?/g)].map((m) => {
      const command = (m[1] as string).toUpperCase();
      return CONTAINER_COMMANDS.has(command) ? `${command}|${(m[2] ?? '').toUpperCase()}` : command;
    }),
  );
}

function granted(rules: readonly string[]): Set<string> {
  return new Set(rules.filter((r) => r.startsWith('+') && !r.startsWith('+@')).map((r) => r.slice(1).toUpperCase()));
}

let redis: RedisServerHandle;
let root: Redis;
const users = documentedUsers();
const urlOf = (user: string, password: string): string => `redis://${user}:${password}@127.0.0.1:${redis.port}`;

/** ACL LOG entries for our users, leaving out CLIENT SETINFO (sent by ioredis on Redis 7.2+, refusal ignored). */
async function denials(): Promise<Array<Record<string, string>>> {
  const raw = (await root.call('ACL', 'LOG')) as unknown[][];
  return raw
    .map((entry) => {
      const record: Record<string, string> = {};
      for (let i = 0; i < entry.length; i += 2) record[String(entry[i])] = String(entry[i + 1]);
      return record;
    })
    .filter((e) => e.username?.startsWith('memocell-') && e.object !== 'client|setinfo');
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  redis = await startRedis();
  root = new Redis(redis.url);
  for (const [name, rules] of users) await root.call('ACL', 'SETUSER', name, ...rules);
  await root.call('ACL', 'LOG', 'RESET');
});

afterAll(async () => {
  root?.disconnect();
  await redis?.stop();
});

describe('the ACL roles of docs/production.md', () => {
  it('are three users, and each role is granted every command its scripts run', () => {
    expect([...users.keys()]).toEqual(['memocell-client', 'memocell-server', 'memocell-admin']);
    const client = granted(users.get('memocell-client') as string[]);
    const server = granted(users.get('memocell-server') as string[]);
    for (const file of ['get-1.lua', 'prefetch-5.lua', 'invalidate-1.lua', 'save-2.lua', 'leave-1.lua']) {
      for (const command of scriptCommands(file)) expect(client, `${file}: ${command}`).toContain(command);
    }
    for (const file of ['get-1.lua', 'prefetch-5.lua', 'invalidate-1.lua', 'save-2.lua', 'leave-1.lua', 'depend-1.lua', 'claim-3.lua', 'complete-4.lua', 'renew-1.lua', 'sweep-3.lua', 'heartbeat-2.lua']) {
      for (const command of scriptCommands(file)) expect(server, `${file}: ${command}`).toContain(command);
    }
    for (const command of client) expect(server, `a server is a client too: ${command}`).toContain(command);
  });

  it('lets a server, clients and an admin do their work with no denial logged', async () => {
    // Short leases and grace, so renewals, sweeps and re-queues run within the test.
    const timings = { leaseMs: 300, queueGraceMs: 300, timeoutMs: 15_000 };
    const serverStore = createRedisStore({ redis: urlOf('memocell-server', 'server-secret'), ...timings });
    const clientStore = createRedisStore({ redis: urlOf('memocell-client', 'client-secret'), ...timings });
    const adminStore = createRedisStore({ redis: urlOf('memocell-admin', 'admin-secret') });
    const bridge = connect({ redis: urlOf('memocell-client', 'client-secret'), timeoutMs: 15_000 });
    const computed: string[] = [];
    try {
      const square = serverStore.serve(
        'square',
        async ([n]) => {
          computed.push(`square ${String(n)}`);
          await new Promise((resolve) => setTimeout(resolve, 400)); // past a renewal
          return keep((n as number) ** 2, { ttlSeconds: 600 });
        },
        { id: 'square-1' },
      );
      serverStore.serve('sumsq', async ([a, b]) => {
        computed.push(`sumsq ${String(a)},${String(b)}`);
        return keep((await serverStore.get<number>('square', [a])) + (await serverStore.get<number>('square', [b])), { ttlSeconds: 600 });
      });

      // Misses, deduplicated misses, hits (plain GET and MGET), a prefetch promoted by a get.
      expect(await clientStore.get('sumsq', [3, 4])).toBe(25);
      expect(await Promise.all([clientStore.get('square', [5]), clientStore.get('square', [5]), clientStore.get('square', [6])])).toEqual([25, 25, 36]);
      expect(await Promise.all([1, 2, 3].map(() => clientStore.get('square', [3])))).toEqual([9, 9, 9]);
      await clientStore.prefetch('square', [7]);
      await clientStore.prefetch('square', [8]);
      expect(await clientStore.get('square', [8])).toBe(64);
      // A fresh client expects hits: plain GETs, and one MGET for those made meanwhile.
      const reader = createRedisStore({ redis: urlOf('memocell-client', 'client-secret') });
      try {
        expect(await Promise.all([[3], [5], [6], [8], [3]].map((args) => reader.get('square', args)))).toEqual([9, 25, 36, 64, 9]);
      } finally {
        await reader.close();
      }

      // forget reaches the dependent result (another service) and the invalidation subscribers.
      const invalidated: string[] = [];
      const subscription = clientStore.invalidations('square').subscribe((key) => invalidated.push(key));
      await new Promise((resolve) => setTimeout(resolve, 200)); // the SSUBSCRIBE is on its way
      const before = computed.filter((c) => c === 'sumsq 3,4').length;
      await clientStore.forget('square', [3]);
      expect(await clientStore.get('sumsq', [3, 4])).toBe(25);
      expect(computed.filter((c) => c === 'sumsq 3,4').length).toBe(before + 1);
      await waitFor(() => invalidated.includes('[3]'), 'the invalidation message');
      subscription.unsubscribe();

      // save, and a get that times out (it leaves the waiter set).
      expect(await clientStore.save('square', [100], 10_000, { ttlSeconds: 60 })).toBe(true);
      expect(await clientStore.get('square', [100])).toBe(10_000);
      await expect(clientStore.get('nobody-serves-this', [1], { timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
      expect((await clientStore.stats('square')).computations).toBeGreaterThan(0);

      // The bridge: a remote memo with its local copies, and a shared input.
      const remoteSquare = bridge.remote<[number], number>('square');
      expect(await remoteSquare(9)).toBe(81);
      await remoteSquare.forget(9);
      const rate = bridge.input('rate', 2);
      await rate.set(3);
      expect(await rate.get()).toBe(3);

      // The admin: counters, the registry, and control messages to a server in another store.
      expect(await adminStore.services()).toContain('square');
      const stats = await adminStore.stats('square');
      expect(stats.hits).toBeGreaterThan(0);
      expect(stats.misses).toBeGreaterThan(0);
      await waitFor(async () => (await adminStore.servers('square')).some((s) => s.id === 'square-1'), 'the registry entry');
      await adminStore.setVerbose('square', 'square-1', false);
      await adminStore.stopServer('square', 'square-1');
      await square.stopped;
      await waitFor(async () => !(await adminStore.servers('square')).some((s) => s.id === 'square-1'), 'leaving the registry');
    } finally {
      await bridge.close();
      await clientStore.close();
      await adminStore.close();
      await serverStore.close();
    }
    expect(await denials()).toEqual([]);
    // Every command the roles are granted outside scripts was used (Redis counts them).
    const used = await root.info('commandstats');
    for (const command of ['get', 'mget', 'eval', 'evalsha', 'blmpop', 'hdel', 'hincrby', 'hgetall', 'llen', 'ssubscribe', 'sunsubscribe', 'subscribe', 'publish', 'zrangebyscore', 'hmget', 'scan']) {
      expect(used, command).toContain(`cmdstat_${command}:`);
    }
  });

  it('refuses the client role what only servers and admins may do, and keys outside the prefix', async () => {
    await root.call('ACL', 'LOG', 'RESET');
    const client = new Redis(urlOf('memocell-client', 'client-secret'));
    const admin = new Redis(urlOf('memocell-admin', 'admin-secret'));
    const keys = serviceKeys('memocell', 'square');
    try {
      // Taking work, the registry, control, other data, anything outside memocell's keys.
      await expect(client.blpop(keys.gets, keys.prefetches, 1)).rejects.toThrow(/NOPERM/);
      await expect(client.hgetall(keys.servers)).rejects.toThrow(/NOPERM/);
      await expect(client.publish(keys.control, JSON.stringify({ to: 'x', command: 'stop' }))).rejects.toThrow(/NOPERM/);
      await expect(client.get('other-app:secret')).rejects.toThrow(/NOPERM/);
      await expect(client.set('memocell:not-a-service-key', '1')).rejects.toThrow(/NOPERM/);
      await expect(client.flushall()).rejects.toThrow(/NOPERM/);
      // Inside a script the same checks apply (Redis 7.0 words it "can't access").
      const heartbeat = readFileSync(new URL('heartbeat-2.lua', LUA_DIR), 'utf8');
      await expect(client.eval(heartbeat, 2, keys.servers, keys.alive, 'intruder', '{}', Date.now() + 3000, Date.now())).rejects.toThrow(
        /NOPERM|can't access|no permissions/,
      );
      // The admin reads but does not write (a server's order list aside), and runs no scripts.
      await expect(admin.del(keys.stats)).rejects.toThrow(/NOPERM/);
      await expect(admin.rpush(keys.gets, 'x')).rejects.toThrow(/NOPERM/);
      await expect(admin.eval('return 1', 0)).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
      admin.disconnect();
    }
    // The denials were logged: the log the previous test found empty does record them.
    const logged = (await denials()).map((d) => d.object);
    expect(logged).toEqual(expect.arrayContaining(['blpop', 'flushall', 'other-app:secret']));
    // A control command from a role without the admin rules says what to grant.
    const clientStore = createRedisStore({ redis: urlOf('memocell-client', 'client-secret') });
    try {
      const refused = (await clientStore.stopServer('square', 'square-9').catch((e: unknown) => e)) as ControlError;
      expect(refused).toBeInstanceOf(ControlError);
      expect([refused.service, refused.serverId, refused.command]).toEqual(['square', 'square-9', 'stop']);
      expect(refused.message).toMatch(/"stop" to server square-9 of square: .*NOPERM.*admin rules of docs\/production\.md/);
    } finally {
      await clientStore.close();
    }
  });
  it('refuses the server and admin roles everything outside their jobs and the prefix', async () => {
    const server = new Redis(urlOf('memocell-server', 'server-secret'));
    const admin = new Redis(urlOf('memocell-admin', 'admin-secret'));
    try {
      for (const role of [server, admin]) {
        await expect(role.get('other-app:secret')).rejects.toThrow(/NOPERM/);
        await expect(role.flushall()).rejects.toThrow(/NOPERM/);
        await expect(role.config('GET', 'requirepass')).rejects.toThrow(/NOPERM/);
        await expect(role.call('ACL', 'LIST')).rejects.toThrow(/NOPERM/);
        await expect(role.keys('*')).rejects.toThrow(/NOPERM/);
        await expect(role.publish('other-app:channel', 'x')).rejects.toThrow(/NOPERM/);
      }
      // A server writes its own service keys, never another application's.
      await expect(server.set('other-app:key', '1')).rejects.toThrow(/NOPERM/);
      await expect(server.lpush('memocell-other:{0123456789abcdef}:q', 'x')).rejects.toThrow(/NOPERM/);
    } finally {
      server.disconnect();
      admin.disconnect();
    }
  });
});
