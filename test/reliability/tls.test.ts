/**
 * TLS (`rediss://`): a store connects to a TLS-only Redis with the CA the test made,
 * and is refused with a wrong CA or over plaintext — refused meaning every call settles
 * with a typed error by its deadline, nothing hangs, and closing still works.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, keep, TimeoutError, type RedisStore } from '../../src/distributed/index.js';
import { Connection } from '../../src/distributed/connection.js';
import { until } from '../support/until.js';
import { findExecutable, startRedis, type RedisServerHandle } from '../support/redis.js';
import { getFreePort } from '../support/ports.js';

const openssl = findExecutable('openssl');
if (openssl === undefined) console.warn('tls.test: skipped, openssl is not on the PATH (apt-get install -y openssl)');

/** A CA, and a server certificate for 127.0.0.1 signed by it. */
function makeCa(dir: string, name: string): { cert: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  execFileSync(openssl as string, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=memocell test ${name}`,
    '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

function makeServerCert(dir: string, ca: { cert: string; key: string }): { cert: string; key: string } {
  const key = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const cert = path.join(dir, 'server.crt');
  const ext = path.join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync(openssl as string, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr], {
    stdio: 'ignore',
  });
  execFileSync(openssl as string, [
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

describe.skipIf(openssl === undefined)('TLS', () => {
  let dir: string;
  let redis: RedisServerHandle;
  let tlsPort: number;
  let plainPort: number;
  let rightCa: Buffer;
  let wrongCa: Buffer;
  const stores: RedisStore[] = [];
  const password = 'tls-secret-0815';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'memocell-tls-'));
    const ca = makeCa(dir, 'ca');
    const other = makeCa(dir, 'other-ca');
    const server = makeServerCert(dir, ca);
    rightCa = readFileSync(ca.cert);
    wrongCa = readFileSync(other.cert);
    tlsPort = await getFreePort();
    redis = await startRedis({
      password,
      args: [
        '--tls-port', String(tlsPort),
        '--tls-cert-file', server.cert,
        '--tls-key-file', server.key,
        '--tls-ca-cert-file', ca.cert,
        '--tls-auth-clients', 'no',
      ],
    });
    // TLS only from here on: the plaintext port the helper probed readiness on closes.
    plainPort = redis.port;
    const admin = new Redis(redis.url);
    await admin.config('SET', 'port', '0');
    admin.disconnect();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function store(redisOptions: object | Redis): RedisStore {
    const s = createRedisStore({ redis: redisOptions as never, timeoutMs: 1_500 });
    stores.push(s);
    return s;
  }

  it('connects with the right CA, as ioredis options and as a rediss:// client', async () => {
    const withOptions = store({ host: '127.0.0.1', port: tlsPort, password, tls: { ca: rightCa } });
    withOptions.serve('tls.square', ([n]) => keep((n as number) ** 2, { ttlSeconds: 60 }));
    expect(await withOptions.get('tls.square', [9])).toBe(81);
    const client = new Redis(`rediss://:${password}@127.0.0.1:${tlsPort}`, { tls: { ca: rightCa } });
    const viaUrl = store(client);
    expect(await viaUrl.get('tls.square', [9])).toBe(81);
    await viaUrl.close();
    client.disconnect();
  });

  it('cache lookups go over TLS too, on a lookup connection that verifies the same CA', async () => {
    const connection = new Connection({ host: '127.0.0.1', port: tlsPort, password, tls: { ca: rightCa } });
    try {
      await connection.main.set('tls:lookup', 'secret value');
      expect(await connection.lookup('tls:lookup')).toBe('secret value');
      await until('the lookup connection is ready', () => connection.lookupStatus === 'ready', 10_000);
      expect(await connection.lookup('tls:lookup')).toBe('secret value');
    } finally {
      await connection.close();
    }
    const wrong = new Connection({ host: '127.0.0.1', port: tlsPort, password, tls: { ca: wrongCa }, maxRetriesPerRequest: 0 });
    try {
      await wrong.lookup('tls:lookup').catch(() => {});
      // Refused by the same check as the main connection: never ready, lookups stay there.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(wrong.lookupStatus).not.toBe('ready');
    } finally {
      await wrong.close();
    }
  });

  it('a wrong CA is refused: calls settle with a TimeoutError, the password is in no error', async () => {
    const s = store({
      host: '127.0.0.1', port: tlsPort, password, tls: { ca: wrongCa }, maxRetriesPerRequest: 1, retryStrategy: () => 200,
    });
    const started = Date.now();
    const e = (await s.get('tls.square', [2], { timeoutMs: 800 }).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(800 + 250);
    expect(String(e) + String(e.stack)).not.toContain(password);
    // ioredis fails the command once its retries are spent, or our deadline does and
    // names the cause.
    expect(e instanceof TimeoutError || /retries/i.test(e.message)).toBe(true);
    if (e instanceof TimeoutError) expect(e.message).toMatch(/unreachable: .*certificate/);
  });

  it('plaintext to the TLS port is refused; the plaintext port is closed', async () => {
    const s = store({ host: '127.0.0.1', port: tlsPort, password, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    const started = Date.now();
    const e = (await s.get('tls.square', [3], { timeoutMs: 800 }).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(800 + 250);
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(plainPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
