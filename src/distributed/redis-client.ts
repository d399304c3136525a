/**
 * The client side of one service on the Redis store: gets with one script call, and
 * one blocking loop per service that receives the results this process waits for.
 *
 * Round trips per get: a hit is one script call; a miss is the same call plus the
 * reply arriving on the blocking loop (which waits for every pending request of this
 * service at once). Identical gets from this process share one registration.
 */
import { Batcher } from './batcher.js';
import { Deadlines, type Deadline } from './deadlines.js';
import { guardedBlmpop, WatchdogLapse } from './blocking.js';
import type { Codec } from './codec.js';
import type { Connection, RedisClient } from './connection.js';
import { decodeEnvelope } from './envelope.js';
import { StoreClosedError } from './errors/store-closed-error.js';
import { TimeoutError } from './errors/timeout-error.js';
import { requestPayload, type ServiceKeys } from './keys.js';
import type { Args } from './types.js';
import { log } from '../log/index.js';

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

/**
 * One caller waiting for a request's result: its deadline, its promise's settle
 * functions and, if it has one, its abort signal. A class rather than closures: a miss
 * makes one object, not five functions and a timer.
 */
class Waiter implements Deadline {
  /** The deadline no longer matters (settled, or expired): see {@link Deadlines}. */
  done = false;
  private settled = false;
  private onAbort: (() => void) | undefined;

  constructor(
    private readonly client: ServiceClient,
    readonly requestKey: string,
    readonly args: Args,
    readonly at: number,
    readonly timeoutMs: number,
    private readonly resolveCall: (value: unknown) => void,
    private readonly rejectCall: (error: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) {
      this.onAbort = () => this.giveUp(signal.reason ?? new Error('aborted'));
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  resolve(value: unknown): void {
    if (this.settle()) this.resolveCall(value);
  }

  reject(error: unknown): void {
    if (this.settle()) this.rejectCall(error);
  }

  /** Stops waiting (timed out or aborted): leaves the request's waiters, then rejects. */
  giveUp(error: unknown): void {
    if (this.settled) return;
    this.client.leave(this.requestKey, this);
    this.reject(error);
  }

  /** Its deadline passed (called by the client's {@link Deadlines}). */
  expire(): void {
    this.client.timedOut(this);
  }

  /** Marks it settled; false if it already was. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.client.deadlines.settle(this);
    if (this.onAbort !== undefined) {
      this.signal?.removeEventListener('abort', this.onAbort);
      this.onAbort = undefined;
    }
    return true;
  }
}

export class ServiceClient {
  /** Waiters by request key; the first one registered the request with Redis. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** The payload each waited-for request was registered with, to register it again. */
  private readonly payloads = new Map<string, string>();
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

  /**
   * Recent share of gets answered from the cache (a moving average). While most gets
   * hit, a get first tries a plain GET of the cached value: as cheap as a raw GET, and
   * a miss then costs one more round trip. While most miss, a get goes straight to the
   * script, which answers a hit too, so a miss costs no more than it must.
   */
  private hitRate = 0.5;

  /** Gets the result of a request: from the cache, or by waiting for a server. */
  get(requestKey: string, canonical: string, args: Args, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreClosedError(`get ${this.service}`));
    if (this.hitRate >= 0.5 && signal === undefined && !this.waiting.has(requestKey)) {
      return this.getCachedFirst(requestKey, canonical, args, timeoutMs);
    }
    return this.wait(requestKey, canonical, args, performance.now() + timeoutMs, timeoutMs, signal);
  }

  private getCachedFirst(requestKey: string, canonical: string, args: Args, timeoutMs: number): Promise<unknown> {
    const at = performance.now() + timeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const deadline: Deadline = {
        at,
        timeoutMs,
        done: false,
        expire: () => reject(new TimeoutError(this.service, args, timeoutMs, this.connection.trouble)),
      };
      this.deadlines.add(deadline);
      this.lookups.call(requestKey).then(
        (envelope) => {
          // Timed out meanwhile: the promise is settled, but a miss still registers below.
          this.deadlines.settle(deadline);
          if (envelope !== null) {
            this.hitRate += (1 - this.hitRate) / 16;
            this.countHit();
            try {
              resolve(decodeEnvelope(this.codec, envelope, this.service, args));
            } catch (error) {
              reject(error);
            }
            return;
          }
          this.hitRate -= this.hitRate / 16;
          // With no time left the request is still registered (and the wait given up at
          // once), as when a wait times out: the computation goes ahead and its result is
          // there for the next caller, however slow the lookup was.
          this.wait(requestKey, canonical, args, at, timeoutMs, undefined).then(resolve, reject);
        },
        (error: unknown) => {
          this.deadlines.settle(deadline);
          reject(error);
        },
      );
    });
  }

  /** The deadlines of this client's calls, kept by one timer (see deadlines.ts). */
  readonly deadlines = new Deadlines();

  /** Registers (or joins) a wait for the request's result: the script answers a hit at once. */
  private wait(requestKey: string, canonical: string, args: Args, at: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter = new Waiter(this, requestKey, args, at, timeoutMs, resolve, reject, signal);
      this.deadlines.add(waiter);
      const list = this.waiting.get(requestKey);
      if (list !== undefined) {
        list.push(waiter);
        return;
      }
      this.waiting.set(requestKey, [waiter]);
      this.payloads.set(requestKey, requestPayload(requestKey, canonical));
      this.register(requestKey);
    });
  }

  /** A waiter's deadline passed: it gives up with a TimeoutError. */
  timedOut(waiter: Waiter): void {
    if (log.client.enabled) log.client('%s %s: no result within %d ms', this.service, waiter.requestKey, waiter.timeoutMs);
    waiter.giveUp(new TimeoutError(this.service, waiter.args, waiter.timeoutMs, this.connection.trouble));
  }

  private register(requestKey: string): void {
    this.listen();
    this.registrations.call({ requestKey, payload: this.payloads.get(requestKey) as string }).then(
      (envelope) => {
        if (typeof envelope === 'string') {
          this.hitRate += (1 - this.hitRate) / 16;
          this.countHit();
          this.settle(requestKey, envelope);
        } else {
          this.hitRate -= this.hitRate / 16;
          if (log.client.enabled) log.client('%s %s: miss, waiting for a server', this.service, requestKey);
        }
      },
      (error: unknown) => {
        if (log.client.enabled) log.client('%s %s: could not register: %s', this.service, requestKey, (error as Error).message);
        this.fail(requestKey, error);
      },
    );
  }

  /** Plain lookups of cached results: the ones made while others are in flight go as one MGET. */
  private readonly lookups = new Batcher<string, string | null>(
    (requestKeys) =>
      requestKeys.length === 1
        ? this.connection.main.get(this.keys.value(requestKeys[0] as string)).then((v) => [v])
        : this.connection.main.mget(requestKeys.map((key) => this.keys.value(key))),
    2,
    256,
    (requestKey) => this.connection.lookup(this.keys.value(requestKey)),
  );

  /** Registrations (the get script): the ones made while others are in flight go as one call. */
  private readonly registrations = new Batcher<{ requestKey: string; payload: string }, string | number>((items) => {
    const args: (string | number)[] = [this.keys.base, this.clientId, Date.now() + this.timings.queueGraceMs, this.timings.recordTtlMs];
    for (const item of items) args.push(item.requestKey, item.payload);
    return this.connection.script('get', [this.keys.value((items[0] as { requestKey: string }).requestKey)], args) as Promise<
      (string | number)[]
    >;
  });

  /** Hits are counted here and added to the service's counters in batches, off the hot path. */
  private hits = 0;
  private hitFlush: NodeJS.Timeout | undefined;

  private countHit(): void {
    this.hits++;
    if (this.hitFlush !== undefined) return;
    this.hitFlush = setTimeout(() => void this.flushHits(), 200);
    this.hitFlush.unref?.();
  }

  private async flushHits(): Promise<void> {
    this.hitFlush = undefined;
    const hits = this.hits;
    if (hits === 0) return;
    this.hits = 0;
    await this.connection.main.hincrby(this.keys.stats, 'hits', hits).catch(() => {
      this.hits += hits;
    });
  }

  /** Answers every local waiter of a request from its envelope. */
  private settle(requestKey: string, envelope: string): void {
    const list = this.waiting.get(requestKey);
    if (list === undefined) return;
    this.waiting.delete(requestKey);
    this.payloads.delete(requestKey);
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
    this.payloads.delete(requestKey);
    for (const waiter of list) waiter.reject(error);
  }

  /** A waiter gave up: when it was the last one here, stop waiting in Redis too. */
  leave(requestKey: string, waiter: Waiter): void {
    const list = this.waiting.get(requestKey);
    const index = list === undefined ? -1 : list.indexOf(waiter);
    if (list === undefined || index < 0) return;
    list.splice(index, 1);
    if (list.length > 0) return;
    this.waiting.delete(requestKey);
    this.payloads.delete(requestKey);
    this.connection.script('leave', [this.keys.runs], [requestKey, this.clientId]).catch(() => {});
  }

  /** Starts the loop that receives replies, once. */
  private listen(): void {
    if (this.listening || this.closed) return;
    this.listening = true;
    const listener = this.connection.dedicated();
    this.listener = listener;
    // A reply popped just as the connection died is gone with it (ioredis re-sends the
    // wait on the new connection, silently). So after every reconnection the requests
    // still waited for are registered again: a cached result answers at once, a running
    // computation is joined, a lost one is queued again.
    let connectedBefore = false;
    listener.on('ready', () => {
      if (connectedBefore) this.registerAgain();
      connectedBefore = true;
    });
    void this.receive();
  }

  private registerAgain(): void {
    if (this.closed || this.waiting.size === 0) return;
    if (log.client.enabled) log.client('%s: reply connection restored, registering %d wait(s) again', this.service, this.waiting.size);
    for (const [requestKey, payload] of this.payloads) {
      this.registrations.call({ requestKey, payload }).then(
        (envelope) => {
          if (typeof envelope === 'string') this.settle(requestKey, envelope);
        },
        // Still unreachable: the waits keep their deadlines; the next reconnection tries again.
        () => {},
      );
    }
  }

  private async receive(): Promise<void> {
    const replies = this.keys.replies(this.clientId);
    while (!this.closed) {
      const listener = this.listener as RedisClient;
      let messages: string[];
      try {
        messages = await guardedBlmpop(listener, replies, 512, this.timings.blockSeconds);
      } catch (error) {
        if (this.closed) return;
        if (log.client.enabled) log.client('%s: reply wait failed, waiting again: %s', this.service, (error as Error).message);
        // A lapse has already reconnected; anything else: wait a little and retry.
        if (!(error instanceof WatchdogLapse)) await delay(100);
        continue;
      }
      for (const message of messages) {
        const newline = message.indexOf('\n');
        if (newline > 0) this.settle(message.slice(0, newline), message.slice(newline + 1));
      }
      // Wait again only after the callers just answered have run: what they send next
      // (often the next get) goes out first, and replies keep in the list meanwhile.
      if (messages.length > 0) await yieldTurn();
    }
  }

  /** Rejects every waiter and stops listening; counted hits are written first. */
  async close(): Promise<void> {
    clearTimeout(this.hitFlush);
    // Lookups still in flight fail on their own as the connections close.
    this.deadlines.clear();
    await this.flushHits();
    this.closed = true;
    for (const [key, list] of this.waiting) {
      this.waiting.delete(key);
      for (const waiter of list) waiter.reject(new StoreClosedError(`get ${this.service}`));
    }
    // Gets made while the hits were written: their timer must not outlive the store.
    this.deadlines.clear();
    if (this.listener !== undefined) this.connection.drop(this.listener);
  }
}

/** Resolves after the rest of this turn of the event loop (its promise callbacks included). */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
