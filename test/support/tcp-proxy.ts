/**
 * A TCP proxy for fault tests, standing between clients and a redis-server: it can
 * delay traffic in both directions and cut every connection, which is what a flaky
 * network does (there is no `tc netem` on these machines).
 */
import net from 'node:net';

export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** `redis://127.0.0.1:PORT`, with the password when one is given. */
  url(password?: string): string;
  /** Delays every chunk by this many ms, each way (order kept). 0: none. */
  setLatency(ms: number): void;
  /** Destroys every open connection (both sides), as a network cut would. */
  cutAll(): number;
  /** While refusing, new connections are closed at once. */
  setRefusing(refusing: boolean): void;
  /** Connections open now. */
  readonly open: number;
  stop(): Promise<void>;
}

/**
 * Starts a proxy on a free port of 127.0.0.1 forwarding to `targetPort`.
 *
 * @example
 * const proxy = await startTcpProxy(redis.port);
 * const store = createRedisStore({ redis: proxy.url() });
 * proxy.setLatency(20); proxy.cutAll();
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let latencyMs = 0;
  let refusing = false;
  const pairs = new Set<[net.Socket, net.Socket]>();

  /** Forwards `from` to `to`, each chunk after the current latency, in order. */
  const pipe = (from: net.Socket, to: net.Socket): void => {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (latencyMs === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      const due = Date.now() + latencyMs;
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!to.destroyed) to.write(chunk);
              resolve();
            }, Math.max(0, due - Date.now()));
          }),
      );
    });
  };

  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const close = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('error', close);
      socket.on('close', close);
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const cutAll = (): number => {
    const count = pairs.size;
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
    return count;
  };
  return {
    port,
    url: (password) => `redis://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}127.0.0.1:${port}`,
    setLatency(ms) {
      latencyMs = ms;
    },
    cutAll,
    setRefusing(value) {
      refusing = value;
    },
    get open() {
      return pairs.size;
    },
    async stop() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
