import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInfo, startCluster, type RedisClusterHandle } from './cluster.js';
import { probeConnect } from './ports.js';
import { RespError, findExecutable, sendCommands, startRedis, type RedisServerHandle } from './redis.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Stop servers even when an assertion in the middle of a test failed. */
async function withServers<T>(servers: RedisServerHandle[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function infoPid(port: number, password?: string): Promise<number> {
  const [info] = await sendCommands(port, [['INFO', 'server']], { password });
  return Number(parseInfo(String(info)).get('process_id'));
}

describe('startRedis', () => {
  it('starts a private server on a free port, and stop() frees it', async () => {
    const server = await startRedis();
    await withServers([server], async () => {
      expect(server.port).not.toBe(6379);
      expect(server.host).toBe('127.0.0.1');
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
      expect(existsSync(server.dir)).toBe(true);

      const client = new Redis(server.url, { lazyConnect: true });
      try {
        await client.connect();
        expect(await client.set('greeting', 'hello')).toBe('OK');
        expect(await client.get('greeting')).toBe('hello');
        // The answering process is the one we spawned, not some other redis.
        expect(await infoPid(server.port)).toBe(server.pid);
      } finally {
        await client.quit();
      }
    });

    expect(await probeConnect(server.port)).toBe('ECONNREFUSED');
    expect(existsSync(server.dir)).toBe(false);
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    await server.stop(); // idempotent
  });

  it('gives concurrently started servers different ports', async () => {
    const servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
    await withServers(servers, async () => {
      const ports = servers.map((server) => server.port);
      expect(new Set(ports).size).toBe(servers.length);
      expect(ports).not.toContain(6379);
      for (const server of servers) expect(await infoPid(server.port)).toBe(server.pid);
    });
  });

  it('pause() makes commands time out and resume() brings the server back', async () => {
    const server = await startRedis();
    await withServers([server], async () => {
      const client = new Redis(server.port, server.host, { commandTimeout: 300, lazyConnect: true });
      try {
        await client.connect();
        await client.set('k', 'v');
        server.pause();
        await expect(client.get('k')).rejects.toThrow(/timed out/i);
        server.resume();
        expect(await client.get('k')).toBe('v');
      } finally {
        client.disconnect();
      }
    });
  });

  it('restart() keeps port, dir and (with persistence) data; password is enforced', async () => {
    const server = await startRedis({ persistence: true, password: 's3cret' });
    await withServers([server], async () => {
      expect(server.url).toBe(`redis://:s3cret@127.0.0.1:${server.port}`);
      const [denied] = await sendCommands(server.port, [['GET', 'kept']]);
      expect(denied).toBeInstanceOf(RespError);
      expect(String((denied as RespError).message)).toMatch(/NOAUTH/);

      const before = new Redis(server.url, { lazyConnect: true });
      try {
        await before.connect();
        await before.set('kept', 'across restart');
      } finally {
        await before.quit();
      }

      const { port, dir, pid } = server;
      await server.restart();
      expect(server.port).toBe(port);
      expect(server.dir).toBe(dir);
      expect(server.pid).not.toBe(pid);

      const after = new Redis(server.url, { lazyConnect: true });
      try {
        await after.connect();
        expect(await after.get('kept')).toBe('across restart');
      } finally {
        await after.quit();
      }
    });
  });

  it('kill() simulates a crash; stop() still cleans up', async () => {
    const server = await startRedis();
    const { dir, port } = server;
    server.kill('SIGKILL');
    await new Promise((resolve) => server.process.once('exit', resolve));
    expect(await probeConnect(port)).toBe('ECONNREFUSED');
    await server.stop();
    expect(existsSync(dir)).toBe(false);
  });

  it('explains how to install redis-server when it is missing', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(os.tmpdir(), 'no-such-bin-dir');
    try {
      await expect(startRedis()).rejects.toThrow(
        'redis-server not found on PATH: install it (apt-get install -y redis-server) — the tests that need Redis cannot run without it',
      );
      await expect(startCluster()).rejects.toThrow(/redis-cli not found on PATH/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('servers do not outlive a test process', () => {
  let workDir: string;

  beforeAll(async () => {
    // Run the helpers in a plain Node child: transpile them next to a script.
    workDir = await mkdtemp(path.join(os.tmpdir(), 'memocell-orphan-'));
    for (const name of ['redis.ts', 'ports.ts']) {
      const source = await readFile(path.join(here, name), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      });
      await writeFile(path.join(workDir, name.replace(/\.ts$/, '.js')), outputText);
    }
    await writeFile(path.join(workDir, 'package.json'), '{"type":"module"}');
    await writeFile(
      path.join(workDir, 'child.js'),
      `import { startRedis } from './redis.js';
const server = await startRedis();
process.stdout.write(JSON.stringify({ pid: server.pid, port: server.port, dir: server.dir }) + '\\n');
// 'linger' keeps the process alive until it is killed; otherwise it just ends
// without calling stop(), like a test run that forgot to clean up.
if (process.argv[2] === 'linger') setInterval(() => {}, 1000);
`,
    );
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  /** Start the child, return what it printed about its server (and the child). */
  function runChild(mode: 'end' | 'linger') {
    const child = spawn(process.execPath, [path.join(workDir, 'child.js'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const info = new Promise<{ pid: number; port: number; dir: string }>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(JSON.parse(stdout));
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before reporting: ${stderr}`)));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, info, exited };
  }

  async function expectGone(server: { pid: number; port: number }): Promise<void> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (!isRunning(server.pid) && (await probeConnect(server.port)) === 'ECONNREFUSED') return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server pid ${server.pid} on port ${server.port} survived its test process`);
  }

  it('kills servers when the test process exits without stopping them', async () => {
    const { info, exited } = runChild('end');
    const server = await info;
    await exited;
    await expectGone(server);
    expect(existsSync(server.dir)).toBe(false);
  });

  it.runIf(process.platform === 'linux' && findExecutable('setpriv') !== undefined)(
    'kills servers when the test process itself is SIGKILLed',
    async () => {
      const { child, info, exited } = runChild('linger');
      const server = await info;
      expect(isRunning(server.pid)).toBe(true);
      child.kill('SIGKILL');
      await exited;
      await expectGone(server);
      await rm(server.dir, { recursive: true, force: true }); // no hook ran to remove it
    },
  );
});

describe('startCluster', () => {
  let cluster: RedisClusterHandle;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves keys across all masters through ioredis Cluster', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.startupNodes.map((node) => node.port)).not.toContain(6379);

    const client = new Redis.Cluster(cluster.startupNodes);
    try {
      const keys = Array.from({ length: 100 }, (_, i) => `key:${i}`);
      await Promise.all(keys.map((key, i) => client.set(key, String(i))));
      const values = await Promise.all(keys.map((key) => client.get(key)));
      expect(values).toEqual(keys.map((_, i) => String(i)));
    } finally {
      client.disconnect();
    }

    // Every master holds a share of the keys: they really were spread over slots.
    const sizes = await Promise.all(
      cluster.nodes.map(async (node) => (await sendCommands(node.port, [['DBSIZE']]))[0] as number),
    );
    expect(sizes.every((size) => size > 0)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);

    const [info, nodes] = await sendCommands(cluster.nodes[0]!.port, [['CLUSTER', 'INFO'], ['CLUSTER', 'NODES']]);
    const fields = parseInfo(String(info));
    expect(fields.get('cluster_state')).toBe('ok');
    expect(fields.get('cluster_known_nodes')).toBe('3');
    expect(fields.get('cluster_size')).toBe('3'); // masters serving slots
    const masters = String(nodes)
      .trim()
      .split('\n')
      .filter((line) => line.split(' ')[2]?.includes('master'));
    expect(masters).toHaveLength(3);
  });

  it('stop() shuts every node down', async () => {
    const ports = cluster.nodes.map((node) => node.port);
    await cluster.stop();
    for (const port of ports) expect(await probeConnect(port)).toBe('ECONNREFUSED');
    await cluster.stop(); // idempotent
  });
});

/** Alive and not a zombie (containers may lack an init that reaps orphans). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}
