/**
 * A connection of its own for cache lookups: it sends only `GET` and reads the replies
 * straight off the socket, without ioredis's command objects, reply parser and stream
 * machinery. A lone cache hit spends most of its time in that machinery and the system
 * calls under it: with this connection memocell made 1.23-1.34x the hits per second,
 * one at a time, that it made with every lookup through ioredis (five runs of
 * bench/distributed; BENCHMARKS.md, 2026-12-07, fifth sitting).
 *
 * It is an accelerator, never a dependency: while it is not ready (connecting, broken,
 * waiting to reconnect) lookups go through the main ioredis connection, and a lookup in
 * flight when it breaks is sent again there (a GET may be repeated). It is only made
 * for a plain server reached the way ioredis reaches one (host and port or a Unix
 * socket, TLS, user and password, database); a Cluster, Sentinel, a custom connector or
 * a key prefix keeps every lookup on ioredis.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Redis, RedisOptions } from 'ioredis';
import { log } from '../log/index.js';
import { LookupReplyError, LookupReplyReader, type LookupReply } from './lookup-reply-reader.js';

/** How to open a lookup connection to the server a client reaches. */
export interface LookupTarget {
  /** Where it goes, for logs (never a password). */
  readonly where: string;
  /** Socket options for `net.connect` or `tls.connect`. */
  readonly socket: net.NetConnectOpts | tls.ConnectionOptions;
  readonly tls: boolean;
  /** The commands that make the connection the client's own: AUTH, SELECT. */
  readonly handshake: readonly (readonly string[])[];
  readonly connectTimeoutMs: number;
}

/**
 * How to reach the server an ioredis client reaches, or why a lookup connection would
 * not reach the same data (then lookups stay on the client).
 *
 * @example
 * ```ts
 * const target = lookupTargetOf(new Redis('redis://:pw@127.0.0.1:6380/2'));
 * // { where: '127.0.0.1:6380', tls: false, handshake: [['AUTH', 'pw'], ['SELECT', '2']], ... }
 * ```
 */
export function lookupTargetOf(client: Redis, where: string): LookupTarget | string {
  const o = client.options as RedisOptions & { Connector?: unknown; sentinels?: unknown[] | null; natMap?: unknown };
  if (o.Connector !== undefined && o.Connector !== null) return 'a custom connector';
  if (Array.isArray(o.sentinels) && o.sentinels.length > 0) return 'Redis Sentinel';
  if (o.keyPrefix !== undefined && o.keyPrefix !== '') return 'a client key prefix';
  let socket: net.NetConnectOpts;
  if (typeof o.path === 'string' && o.path !== '') {
    socket = { path: o.path };
  } else {
    const tcp: net.TcpNetConnectOpts = { port: Number(o.port ?? 6379), host: o.host ?? 'localhost', noDelay: true };
    if (o.family !== undefined && o.family !== null) tcp.family = Number(o.family);
    socket = tcp;
  }
  const handshake: string[][] = [];
  if (o.password !== undefined && o.password !== null && o.password !== '') {
    const username = o.username;
    handshake.push(typeof username === 'string' && username !== '' ? ['AUTH', username, o.password] : ['AUTH', o.password]);
  }
  const db = Number(o.db ?? 0);
  if (db !== 0) handshake.push(['SELECT', String(db)]);
  // Nothing more (no PING): an ACL role that lets a client look results up needs no
  // rule for this connection that it did not need before (docs/production.md).
  const useTls = o.tls !== undefined && o.tls !== null && (o.tls as unknown) !== false;
  return {
    where,
    socket: useTls ? { ...socket, ...(typeof o.tls === 'object' ? o.tls : {}) } : socket,
    tls: useTls,
    handshake,
    connectTimeoutMs: typeof o.connectTimeout === 'number' && o.connectTimeout > 0 ? o.connectTimeout : 10_000,
  };
}

/** A lookup with no reply for this long, while nothing at all arrives, breaks the connection. */
const STALL_MS = 3_000;
/** First wait before connecting again after a break; it doubles up to the last. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 30_000;
/** Bytes a read takes at most: the buffer is reused, a larger reply is gathered over reads. */
const READ_BUFFER_BYTES = 64 * 1024;

interface Pending {
  /** The key of a GET; undefined for a handshake command. */
  readonly key: string | undefined;
  readonly resolve: (reply: string | null) => void;
  readonly reject: (error: unknown) => void;
}

function encodeCommand(words: readonly string[]): string {
  let text = `*${words.length}\r\n`;
  for (const word of words) text += `$${Buffer.byteLength(word)}\r\n${word}\r\n`;
  return text;
}

export class LookupConnection {
  private state: 'connecting' | 'ready' | 'down' | 'closed' = 'down';
  private socket: net.Socket | undefined;
  private pending: Pending[] = [];
  /** When the oldest unanswered lookup was sent, or bytes last arrived since. */
  private activeSince = 0;
  private reconnectMs = RECONNECT_FIRST_MS;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

  constructor(
    private readonly target: LookupTarget,
    /** Answers a lookup this connection cannot: through the main connection. */
    private readonly fallback: (key: string) => Promise<string | null>,
  ) {
    this.connect();
  }

  /** Where the connection is: connecting (or handshaking), ready, down (until it connects again), closed. */
  get status(): 'connecting' | 'ready' | 'down' | 'closed' {
    return this.state;
  }

  /** Whether a lookup sent now goes over this connection. */
  get ready(): boolean {
    return this.state === 'ready';
  }

  /** The value at `key` (a string, or null); call only while `ready`. */
  get(key: string): Promise<string | null> {
    return new Promise<string | null>((resolve, reject) => {
      if (this.pending.push({ key, resolve, reject }) === 1) this.activeSince = performance.now();
      (this.socket as net.Socket).write(`*2\r\n$3\r\nGET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`);
    });
  }

  /** Hangs up; lookups still in flight are answered through the main connection. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    this.socket?.destroy();
    this.socket = undefined;
    this.handOver();
  }

  private connect(): void {
    this.state = 'connecting';
    // A reply read off a socket already given up answers nothing.
    const reader = new LookupReplyReader((reply) => {
      if (this.socket === socket) this.onReply(reply);
    });
    const onBytes = (length: number, buffer: Buffer): boolean => {
      if (this.socket !== socket) return false;
      this.activeSince = performance.now();
      try {
        reader.feed(buffer, length);
      } catch (error) {
        this.break((error as Error).message);
      }
      return true;
    };
    let socket: net.Socket;
    if (this.target.tls) {
      socket = tls.connect(this.target.socket as tls.ConnectionOptions);
      socket.on('data', (chunk: Buffer) => {
        onBytes(chunk.length, chunk);
      });
    } else {
      // Reads land in one buffer of ours, not in a new Buffer and a stream event each.
      socket = net.connect({
        ...(this.target.socket as net.NetConnectOpts),
        onread: { buffer: this.readBuffer, callback: onBytes },
      } as net.NetConnectOpts);
    }
    this.socket = socket;
    const gone = (why: string): void => {
      if (this.socket === socket) this.break(why);
    };
    socket.on('error', (error: Error) => gone(error.message));
    socket.on('close', () => gone('closed by the server'));
    socket.on('end', () => gone('ended by the server'));
    this.timer = setTimeout(() => gone(`not ready within ${this.target.connectTimeoutMs} ms`), this.target.connectTimeoutMs);
    this.timer.unref();
    socket.once(this.target.tls ? 'secureConnect' : 'connect', () => this.handshake(socket));
  }

  private handshake(socket: net.Socket): void {
    const steps = this.target.handshake;
    if (steps.length === 0) {
      this.becomeReady();
      return;
    }
    steps.forEach((words, i) => {
      this.pending.push({
        key: undefined,
        resolve: () => {
          if (i === steps.length - 1 && this.socket === socket) this.becomeReady();
        },
        reject: (error: unknown) => {
          if (this.socket === socket) this.break(`${words[0] as string} was refused: ${(error as Error).message}`);
        },
      });
    });
    this.activeSince = performance.now();
    socket.write(steps.map(encodeCommand).join(''));
  }

  private becomeReady(): void {
    clearTimeout(this.timer);
    this.state = 'ready';
    this.reconnectMs = RECONNECT_FIRST_MS;
    this.watchdog ??= setInterval(() => this.checkStall(), 1_000).unref();
    if (log.connection.enabled) log.connection('lookup connection to %s: ready', this.target.where);
  }

  private onReply(reply: LookupReply): void {
    const next = this.pending.shift();
    if (next === undefined) {
      this.break('a reply nobody asked for');
      return;
    }
    if (this.pending.length > 0) this.activeSince = performance.now();
    if (reply instanceof LookupReplyError) {
      if (next.key === undefined) {
        next.reject(reply);
        return;
      }
      // An error to a GET of ours (LOADING, NOAUTH after a restart, ...): ioredis, which
      // knows how to wait for the server, answers it; this connection starts again.
      this.pending.unshift(next);
      this.break(`Redis answered a lookup with an error: ${reply.message}`);
      return;
    }
    next.resolve(reply);
  }

  private checkStall(): void {
    if (this.state === 'ready' && this.pending.length > 0 && performance.now() - this.activeSince > STALL_MS) {
      this.break(`no reply for ${STALL_MS} ms`);
    }
  }

  /** The connection is unusable: its lookups go to the main connection, and it connects again later. */
  private break(why: string): void {
    if (this.state === 'closed' || this.state === 'down') return;
    if (log.connection.enabled) {
      log.connection('lookup connection to %s: %s; lookups use the main connection for %d ms', this.target.where, why, this.reconnectMs);
    }
    this.state = 'down';
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    this.handOver();
    this.timer = setTimeout(() => this.connect(), this.reconnectMs);
    this.timer.unref();
    this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MAX_MS);
  }

  /** Sends every unanswered lookup through the main connection. */
  private handOver(): void {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      if (p.key !== undefined) this.fallback(p.key).then(p.resolve, p.reject);
    }
  }
}
