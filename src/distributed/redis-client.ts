/**
 * The client side of one service on the Redis store: gets with one script call, and
 * one blocking loop per service that receives the results this process waits for.
 *
 * Round trips per get: a hit is one script call; a miss is the same call plus the
 * reply arriving on the blocking loop (which waits for every pending request of this
 * service at once). Identical gets from this process share one registration.
 */
import { guardedBlpop, WatchdogLapse } from './blocking.js';
import type { Codec } from './codec.js';
import type { Connection, RedisClient } from './connection.js';
import { decodeEnvelope } from './envelope.js';
import { StoreClosedError } from './errors/store-closed-error.js';
import { TimeoutError } from './errors/timeout-error.js';
import { requestPayload, type ServiceKeys } from './keys.js';
import type { Args } from './types.js';

/** Timings shared by the client and server sides. */
export interface Timings {
  /** How long a queued request may wait before a sweep checks it is still queued. */
  readonly queueGraceMs: number;
  /** How long records of queued and running requests live without renewal. */
  readonly recordTtlMs: number;
  /** How long a reply list lives after its last reply (its client may be gone). */
  readonly replyTtlMs: number;
  /** Server-side timeout of a blocking wait, in seconds (the watchdog adds 2 s). */
  readonly blockSeconds: number;
}

interface Waiter {
  readonly args: Args;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class ServiceClient {
  /** Waiters by request key; the first one registered the request with Redis. */
  private readonly waiting = new Map<string, Set<Waiter>>();
  private listener: RedisClient | undefined;
  private listening = false;
  private closed = false;

  constructor(
    private readonly service: string,
    private readonly keys: ServiceKeys,
    private readonly connection: Connection,
    private readonly clientId: string,
    private readonly codec: Codec,
    private readonly timings: Timings,
  ) {}

  /** Gets the result of a request: from the cache, or by waiting for a server. */
  get(requestKey: string, canonical: string, args: Args, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreClosedError(`get ${this.service}`));
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        args,
        resolve: (value) => {
          finish();
          resolve(value);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      const giveUp = (error: unknown): void => {
        this.leave(requestKey, waiter);
        waiter.reject(error);
      };
      const onAbort = (): void => giveUp(signal?.reason ?? new Error('aborted'));
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => giveUp(new TimeoutError(this.service, args, timeoutMs)), timeoutMs);

      let list = this.waiting.get(requestKey);
      const first = list === undefined;
      if (list === undefined) {
        list = new Set();
        this.waiting.set(requestKey, list);
      }
      list.add(waiter);
      if (first) this.register(requestKey, canonical);
    });
  }

  private register(requestKey: string, canonical: string): void {
    this.listen();
    const k = this.keys;
    const now = Date.now();
    this.connection
      .script(
        'get',
        [k.value(requestKey), k.run(requestKey), k.waiters(requestKey), k.gets, k.prefetches, k.pending, k.stats],
        [
          requestKey,
          requestPayload(requestKey, canonical),
          this.clientId,
          now + this.timings.queueGraceMs,
          this.timings.recordTtlMs,
        ],
      )
      .then(
        (reply) => {
          const [hit, envelope] = reply as [number, string | undefined];
          if (hit === 1) this.settle(requestKey, envelope as string);
        },
        (error: unknown) => this.fail(requestKey, error),
      );
  }

  /** Answers every local waiter of a request from its envelope. */
  private settle(requestKey: string, envelope: string): void {
    const list = this.waiting.get(requestKey);
    if (list === undefined) return;
    this.waiting.delete(requestKey);
    for (const waiter of list) {
      try {
        // Decoded once per waiter: callers never share a mutable object.
        waiter.resolve(decodeEnvelope(this.codec, envelope, this.service, waiter.args));
      } catch (error) {
        waiter.reject(error);
      }
    }
  }

  private fail(requestKey: string, error: unknown): void {
    const list = this.waiting.get(requestKey);
    if (list === undefined) return;
    this.waiting.delete(requestKey);
    for (const waiter of list) waiter.reject(error);
  }

  /** A waiter gave up: when it was the last one here, stop waiting in Redis too. */
  private leave(requestKey: string, waiter: Waiter): void {
    const list = this.waiting.get(requestKey);
    if (list === undefined || !list.delete(waiter) || list.size > 0) return;
    this.waiting.delete(requestKey);
    this.connection.main.srem(this.keys.waiters(requestKey), this.clientId).catch(() => {});
  }

  /** Starts the loop that receives replies, once. */
  private listen(): void {
    if (this.listening || this.closed) return;
    this.listening = true;
    this.listener = this.connection.dedicated();
    void this.receive();
  }

  private async receive(): Promise<void> {
    const replies = this.keys.replies(this.clientId);
    while (!this.closed) {
      const listener = this.listener as RedisClient;
      let popped: [string, string] | null;
      try {
        popped = await guardedBlpop(listener, [replies], this.timings.blockSeconds);
      } catch (error) {
        if (this.closed) return;
        // A lapse has already reconnected; anything else: wait a little and retry.
        if (!(error instanceof WatchdogLapse)) await delay(100);
        continue;
      }
      if (popped === null) continue;
      const message = popped[1];
      const newline = message.indexOf('\n');
      if (newline > 0) this.settle(message.slice(0, newline), message.slice(newline + 1));
    }
  }

  /** Rejects every waiter and stops listening. */
  close(): void {
    this.closed = true;
    for (const [key, list] of this.waiting) {
      this.waiting.delete(key);
      for (const waiter of list) waiter.reject(new StoreClosedError(`get ${this.service}`));
    }
    if (this.listener !== undefined) this.connection.drop(this.listener);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
