/**
 * Throwaway Redis Cluster (masters only) for tests, built from startRedis
 * nodes and joined with `redis-cli --cluster create`.
 */
import { execFile } from 'node:child_process';
import { requireExecutable, sendCommands, startRedis, type RedisServerHandle } from './redis.js';

export interface StartClusterOptions {
  /** Number of master nodes; redis-cli needs at least 3. Default 3. */
  masters?: number;
  /** How long to wait for `cluster_state:ok` on every node. Default 20 000 ms. */
  readyTimeoutMs?: number;
}

export interface RedisClusterHandle {
  /** One handle per master, in slot order (first node owns slot 0). */
  readonly nodes: RedisServerHandle[];
  /** Pass to `new Redis.Cluster(startupNodes)`. */
  readonly startupNodes: { host: string; port: number }[];
  /** Stop every node and remove their dirs. Idempotent. */
  stop(): Promise<void>;
}

const TOTAL_SLOTS = 16_384;

/**
 * Start `masters` cluster-enabled redis-servers, assign all slots across them
 * and wait until every node reports `cluster_state:ok`.
 *
 * @example
 * const cluster = await startCluster();
 * const client = new Redis.Cluster(cluster.startupNodes);
 * try { await client.set('k', 'v'); } finally { client.disconnect(); await cluster.stop(); }
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`startCluster needs at least 3 masters (redis-cli --cluster create refuses fewer), got ${masters}`);
  }
  const cli = requireExecutable('redis-cli');

  // Start nodes concurrently; if any fails, stop the ones that did start.
  const results = await Promise.allSettled(Array.from({ length: masters }, () => startRedis({ cluster: true })));
  const nodes = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await stopAll(nodes);
    throw failure.reason;
  }

  try {
    await runClusterCreate(cli, nodes);
    await waitForClusterOk(nodes, options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    await stopAll(nodes);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
    stop: () => (stopping ??= stopAll(nodes)),
  };
}

function runClusterCreate(cli: string, nodes: RedisServerHandle[]): Promise<void> {
  const args = [
    '--cluster', 'create',
    ...nodes.map((node) => `${node.host}:${node.port}`),
    '--cluster-replicas', '0',
    '--cluster-yes',
  ];
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (!error) return resolve();
      reject(new Error(`redis-cli ${args.join(' ')} failed: ${error.message}\n${tail(stdout)}\n${tail(stderr)}`));
    });
  });
}

/** Poll CLUSTER INFO until every node sees all slots served and all peers. */
async function waitForClusterOk(nodes: RedisServerHandle[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastSeen: string[] = [];
  while (Date.now() < deadline) {
    lastSeen = await Promise.all(nodes.map((node) => clusterInfo(node.port).catch((error: Error) => error.message)));
    const ready = lastSeen.every((info) => {
      const fields = parseInfo(info);
      return (
        fields.get('cluster_state') === 'ok' &&
        fields.get('cluster_slots_ok') === String(TOTAL_SLOTS) &&
        fields.get('cluster_known_nodes') === String(nodes.length)
      );
    });
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const report = nodes.map((node, i) => `--- node ${node.port} ---\n${lastSeen[i] ?? '(no reply)'}`).join('\n');
  throw new Error(`redis cluster did not reach cluster_state:ok within ${timeoutMs} ms\n${report}`);
}

async function clusterInfo(port: number): Promise<string> {
  const [reply] = await sendCommands(port, [['CLUSTER', 'INFO']], { timeoutMs: 1000 });
  if (typeof reply !== 'string') throw new Error(`unexpected CLUSTER INFO reply: ${String(reply)}`);
  return reply;
}

/**
 * Parse the `key:value` lines of INFO / CLUSTER INFO text.
 *
 * @example
 * parseInfo('cluster_state:ok\r\ncluster_size:3').get('cluster_size'); // '3'
 */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

async function stopAll(nodes: RedisServerHandle[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
}

function tail(text: string): string {
  return text.split('\n').slice(-20).join('\n');
}
