/**
 * Free-port helpers for tests that start their own servers.
 *
 * Asking the OS for port 0 and closing the socket again is inherently racy:
 * another process may take the port before our server binds it. Callers
 * therefore treat a bind failure as "try another port" (see startRedis).
 * Inside this process we additionally remember every port we handed out, so
 * two servers started concurrently from the same test file never collide.
 */
import net from 'node:net';

/** The machine's shared Redis lives here; tests must never touch it. */
export const FORBIDDEN_PORT = 6379;

/** Redis Cluster listens for its node-to-node bus on `port + 10000`. */
export const CLUSTER_BUS_OFFSET = 10_000;

const MAX_PORT = 65_535;

// Ports currently handed out by this process (including cluster bus ports).
const claimed = new Set<number>();

export interface FreePortOptions {
  /** Also require `port + 10000` to be free, for a cluster node's bus. */
  busPort?: boolean;
}

/**
 * Find a TCP port on 127.0.0.1 that nothing listens on and that this process
 * has not handed out yet, and claim it until {@link releasePort} is called.
 *
 * @example
 * const port = await getFreePort();
 * try { startSomething(port); } finally { releasePort(port); }
 */
export async function getFreePort(options: FreePortOptions = {}): Promise<number> {
  // Port 0 picks from the ephemeral range (usually 32768-60999); about a fifth
  // of that is too high for a cluster bus port, hence a generous retry budget.
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await askOsForPort();
    if (port === FORBIDDEN_PORT || claimed.has(port)) continue;
    if (options.busPort) {
      const bus = port + CLUSTER_BUS_OFFSET;
      if (bus > MAX_PORT || claimed.has(bus) || !(await isPortFree(bus))) continue;
      claimed.add(bus);
    }
    claimed.add(port);
    return port;
  }
  throw new Error('could not find a free TCP port on 127.0.0.1 after 100 attempts');
}

/**
 * Give a port claimed by {@link getFreePort} back (and its bus port, if any).
 *
 * @example
 * releasePort(port, { busPort: true });
 */
export function releasePort(port: number, options: FreePortOptions = {}): void {
  claimed.delete(port);
  if (options.busPort) claimed.delete(port + CLUSTER_BUS_OFFSET);
}

/**
 * True when a listener could bind `port` on 127.0.0.1 right now.
 *
 * @example
 * if (await isPortFree(7000)) console.log('7000 is free');
 */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * Try to open a TCP connection; resolves to the error code on failure
 * (`'ECONNREFUSED'` once a server has gone) or `'connected'` on success.
 *
 * @example
 * expect(await probeConnect(port)).toBe('ECONNREFUSED');
 */
export function probeConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('ETIMEDOUT');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

function askOsForPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('OS returned no port'))));
    });
  });
}
