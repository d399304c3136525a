/**
 * A server of one service on the Redis store. It takes requests (gets before
 * prefetches), computes them under a lease it renews, and answers every waiting
 * client in one script call that also takes the next request, so a busy server needs
 * one round trip per request and an idle one two.
 *
 * Nothing is lost when a server dies: a request's lease lapses, and a sweep (run by
 * every live server) queues it again for another server. A stalled server that wakes
 * up late finds its token replaced, and its result is dropped.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { popManyForLoop } from './blocking.js';
import type { Codec } from './codec.js';
import type { Connection, RedisClient } from './connection.js';
import { encodeFailure, encodeValue } from './envelope.js';
import { ServerHandlerContext } from './handler-context.js';
import { isKept } from './keep.js';
import { isThenable } from '../reactive/thenable.js';
import { bytesOver, TooLargeError } from './errors/too-large-error.js';
import { log as debugLog } from '../log/index.js';
import { parsePayload, type ServiceKeys } from './keys.js';
import { parseCanonicalKey } from './parse-key.js';
import { PROTOCOL_VERSION, warnOfOtherProtocols } from './protocol-version.js';
import { runInFrame, SlotPool, type RequestFrame } from './slots.js';
import { yieldTurn, type Timings } from './redis-client.js';
import type { Args, Handler, ServerHandle, ServerInfo } from './types.js';

export interface ServerTimings extends Timings {
  /** How long a computation's lease lasts without renewal. */
  readonly leaseMs: number;
}

/** Sizes a server refuses to take or to answer with. */
export interface Limits {
  readonly maxRequestBytes: number;
  readonly maxResultBytes: number;
}

/** A finished request on its way to `complete`. */
interface Completion {
  readonly requestKey: string;
  readonly token: string;
  readonly envelope: string;
  readonly ttlMs: number;
  readonly failed: boolean;
  /** Its claim was never sent: the handler finished within the turn it was taken. */
  readonly unclaimed: boolean;
}

/** The request a slot computes next, if `complete` handed one back. */
type Next = { readonly payload: string | false; readonly token: string };
const NO_NEXT: Next = { payload: false, token: '' };

/** The longest pause between two sweeps of a server, before jitter (ms). */
const SWEEP_EVERY_MS = 500;
/** The most pending entries one sweep looks at: each costs an LPOS on its queue, and Redis runs a script to its end. */
const SWEEP_BATCH = 100;

/** Tells the store a server stopped, so it forgets it. */
export type OnStopped = (server: RedisServer) => void;


export class RedisServer implements ServerHandle {
  readonly id: string;
  readonly stopped: Promise<void>;
  verbose: boolean;
  private readonly pool: SlotPool;
  private readonly started = Date.now();
  private served = 0;
  /** Requests computing now: request key -> token, for lease renewal. */
  private readonly inFlight = new Map<string, string>();
  /** Slots computing a chain of requests now; `stop` waits for none. */
  private running = 0;
  private readonly whenNoneRunning: Array<() => void> = [];
  private stopping = false;
  private blocking: RedisClient | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private resolveStopped!: () => void;
  /** Tokens name computations: this server's random base and a counter (no crypto per request). */
  private readonly tokenBase = randomBytes(6).toString('base64url');
  private tokenSeq = 0;
  /** Requests whose claim is not sent yet: a handler that finishes within the same turn needs none. */
  private readonly unclaimed = new Set<string>();

  constructor(
    readonly service: string,
    private readonly handler: Handler,
    private readonly keys: ServiceKeys,
    private readonly connection: Connection,
    private readonly codec: Codec,
    private readonly timings: ServerTimings,
    private readonly limits: Limits,
    concurrency: number,
    id: string | undefined,
    verbose: boolean,
    private readonly onStopped: OnStopped,
  ) {
    this.id = id ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.pool = new SlotPool(concurrency);
    this.verbose = verbose;
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  /** Servers of another protocol version already warned of. */
  private readonly warnedOf = new Set<string>();

  /** Starts taking requests, heartbeats, lease renewal and the recovery sweep. */
  start(): void {
    this.blocking = this.connection.dedicated();
    // Redis may be unreachable or refuse (ACL) now: the timer below keeps trying.
    this.heartbeat().catch((error: unknown) => this.log(`could not register: ${(error as Error).message}`));
    void this.connection.main.set(this.keys.name, this.service).catch(() => {});
    this.log(`serving with concurrency ${this.pool.size}`);
    const every = (ms: number, fn: () => Promise<unknown>): void => {
      // Failures are retried on the next tick of the timer; Redis being away is logged.
      const timer = setInterval(
        () => void fn().catch((error: unknown) => this.log(`housekeeping failed: ${(error as Error).message}`)),
        ms,
      );
      timer.unref?.();
      this.timers.push(timer);
    };
    every(1_000, () => this.heartbeat());
    // Servers of another protocol version on this service: said at start and whenever
    // one appears later (checked every 10 s), once per server.
    void warnOfOtherProtocols(this.connection.main, this.keys, this.service, this.warnedOf);
    every(10_000, () => warnOfOtherProtocols(this.connection.main, this.keys, this.service, this.warnedOf));
    every(Math.max(50, Math.floor(this.timings.leaseMs / 3)), () => this.renew());
    this.scheduleSweep(this.sweepInterval());
    void this.takeLoop();
  }

  private newToken(): string {
    return `${this.tokenBase}.${++this.tokenSeq}`;
  }

  /** Whether request log lines are wanted: `verbose`, or `DEBUG=memocell:server`. */
  private get logging(): boolean {
    return this.verbose || debugLog.server.enabled;
  }

  private log(text: string): void {
    if (this.verbose) process.stderr.write(`memocell ${this.service} [${this.id}] ${text}\n`);
    if (debugLog.server.enabled) debugLog.server('%s [%s] %s', this.service, this.id, text);
  }

  /** Waits for a free slot, then for a request; hands each request its slot. */
  private async takeLoop(): Promise<void> {
    const k = this.keys;
    // What is queued already is taken and claimed in one script before the first
    // blocking pop. A request handed over by BLPOP is claimed a moment later, and one
    // that waited past its queue grace could be queued again by another server's sweep
    // in that moment and computed twice; a server starting beside a long queue would
    // run that risk on every start.
    if (!this.stopping) await this.takeMore(this.pool.available);
    while (!this.stopping) {
      // Wait for room, but do not hold a slot while blocked: a handler resuming after
      // a remote call needs its slot back (Girder's re-entrancy).
      await this.pool.whenFree();
      if (this.stopping) break;
      // One blocking pop takes as many queued requests as there is room for (gets
      // first): no second call to look for more, so a lone request costs one pop.
      const popped = await popManyForLoop(
        this.blocking as RedisClient,
        // Its own inbox first: a request sent there chose this server (see get-1.lua).
        [k.inbox(this.id), k.gets, k.prefetches],
        this.pool.available,
        this.timings.blockSeconds,
        () => this.stopping,
      );
      for (const payload of popped) {
        const token = this.newToken();
        const parsed = parsePayload(payload);
        if (parsed !== undefined) {
          // Leased from now on (renewals cover it even while it waits for a slot here).
          this.inFlight.set(parsed.requestKey, token);
          this.claimSoon(parsed.requestKey, payload, token);
        }
        if (!this.pool.tryAcquire()) await this.pool.acquire();
        this.serve(payload, token);
      }
      // Pop again only after this turn: a handler that is done at once sends its result
      // first, so the caller's answer does not wait behind the next blocking pop.
      if (popped.length > 0) await yieldTurn();
    }
  }

  /** Claims waiting for the end of this turn of the event loop, sent together. */
  private claims: Array<{ requestKey: string; payload: string; token: string }> = [];

  /**
   * The claim goes out after this turn of the event loop, unawaited: a handler that is
   * done by then completes without one (`complete` accepts an unclaimed request), a
   * longer one is leased before it could matter. Until then the request is covered by its
   * queue grace: a server dying here loses nothing. The claims of one turn travel in one
   * pipeline (one write).
   */
  private claimSoon(requestKey: string, payload: string, token: string): void {
    if (this.claims.push({ requestKey, payload, token }) === 1) {
      setImmediate(() => this.sendClaims());
    }
    this.unclaimed.add(requestKey);
  }

  private sendClaims(): void {
    const k = this.keys;
    const claims = this.claims.filter((c) => this.unclaimed.delete(c.requestKey));
    this.claims = [];
    if (claims.length === 0) return;
    const deadline = Date.now() + this.timings.leaseMs;
    // The last claim says whether room is left: back to the front of the idle list, or
    // off it (a request sent to a full server would wait behind work of any length).
    const last = claims[claims.length - 1];
    const room = this.hasRoom() ? '1' : '0';
    const argsOf = (c: { requestKey: string; payload: string; token: string }): (string | number)[] => {
      const args: (string | number)[] = [c.requestKey, c.payload, this.id, c.token, deadline, this.timings.recordTtlMs];
      if (c === last) args.push(k.base, room);
      return args;
    };
    if (claims.length === 1) {
      const c = claims[0] as (typeof claims)[0];
      this.connection.script('claim', [k.runs, k.pending, k.stats], argsOf(c)).catch(() => {});
      return;
    }
    this.connection.pipelineScripts(
      'claim',
      claims.map((c) => ({ keys: [k.runs, k.pending, k.stats], args: argsOf(c) })),
    );
  }

  /** Whether a request sent to this server's inbox now would start at once. */
  private hasRoom(): boolean {
    return !this.stopping && this.pool.available > 0 && !this.pool.contended;
  }

  private async takeMore(room: number): Promise<void> {
    const k = this.keys;
    const prefix = this.newToken();
    let taken: string[];
    try {
      // `complete` with nothing finished only takes: one script for both jobs.
      taken = (await this.connection.script(
        'complete',
        [k.pending, k.stats, k.gets, k.prefetches],
        [k.base, this.id, room, Date.now() + this.timings.leaseMs, this.timings.recordTtlMs, this.timings.replyTtlMs, prefix],
      )) as string[];
    } catch {
      return;
    }
    // One token for every request one call takes (see complete-4.lua).
    for (const payload of taken) {
      const parsed = parsePayload(payload);
      if (parsed !== undefined) this.inFlight.set(parsed.requestKey, prefix);
      if (!this.pool.tryAcquire()) await this.pool.acquire();
      this.serve(payload, prefix);
    }
  }

  /**
   * Computes a request in the slot just taken for it, then each request `complete`
   * hands back for that slot, and frees the slot after the last. Callbacks, not an
   * async loop: a handler that returns a value costs no promise of ours (measured: 9
   * promises per request before, each also seen by the async hooks that carry frames).
   */
  private serve(payload: string, token: string): void {
    this.running++;
    this.serveInSlot(payload, token);
  }

  private serveInSlot(payload: string, token: string): void {
    let outcome: Completion | Promise<Completion> | undefined;
    try {
      outcome = this.computeNow(payload, token);
    } catch (error) {
      // computeNow answers the handler's own errors; anything here is ours.
      this.log(`could not serve a request: ${(error as Error).message}`);
    }
    if (outcome === undefined) this.endRun();
    else if (outcome instanceof Promise) {
      outcome.then(
        (completion) => this.complete(completion),
        (error: unknown) => {
          this.log(`could not serve a request: ${(error as Error).message}`);
          this.endRun();
        },
      );
    } else this.complete(outcome);
  }

  /** What `complete` handed back for a slot: the next request, or the slot is free. */
  private continueInSlot(next: Next): void {
    if (next.payload === false) this.endRun();
    else this.serveInSlot(next.payload, next.token);
  }

  private endRun(): void {
    this.pool.release();
    if (--this.running > 0) return;
    for (const wake of this.whenNoneRunning.splice(0)) wake();
  }

  /**
   * Computes a request: its completion at once when the handler returned a value, a
   * promise of it when the handler returned one, nothing for a malformed request.
   */
  private computeNow(payload: string, token: string): Completion | Promise<Completion> | undefined {
    const parsed = parsePayload(payload);
    if (parsed === undefined) {
      this.log(`dropped a malformed request '${payload.slice(0, 80)}'`);
      return undefined;
    }
    const { requestKey, canonical } = parsed;
    this.inFlight.set(requestKey, token);
    let result: unknown;
    try {
      // Measured before parsing: an oversized request (queued by another tool or a
      // client with a larger limit) must not cost the parse.
      const requestBytes = bytesOver(canonical, this.limits.maxRequestBytes);
      if (requestBytes !== undefined) {
        throw new TooLargeError(this.service, 'arguments', requestBytes, this.limits.maxRequestBytes);
      }
      const args = parseCanonicalKey(canonical);
      if (this.logging) this.log(`computing ${requestKey}`);
      result = this.compute(requestKey, args);
    } catch (error) {
      return this.completionOf(requestKey, token, error, true);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.completionOf(requestKey, token, value, false),
        (error: unknown) => this.completionOf(requestKey, token, error, true),
      );
    }
    return this.completionOf(requestKey, token, result, false);
  }

  /** The completion of a computation that returned `outcome` (or threw it). */
  private completionOf(requestKey: string, token: string, outcome: unknown, threw: boolean): Completion {
    let envelope: string;
    let failed: boolean;
    let ttlMs = 0;
    try {
      if (threw) throw outcome;
      if (isKept(outcome)) {
        ttlMs = Math.max(1, Math.round(outcome.ttlSeconds * 1000));
        ({ envelope, failed } = encodeValue(this.codec, outcome.value));
      } else {
        ({ envelope, failed } = encodeValue(this.codec, outcome));
      }
      // The envelope is the result plus a one-character tag.
      const resultBytes = failed ? undefined : bytesOver(envelope, this.limits.maxResultBytes + 1);
      if (resultBytes !== undefined) {
        throw new TooLargeError(this.service, 'result', resultBytes - 1, this.limits.maxResultBytes);
      }
      if (failed) ttlMs = 0;
    } catch (error) {
      ttlMs = 0;
      if (this.logging && error instanceof TooLargeError) this.log(`refused ${requestKey.slice(0, 80)}: ${error.message}`);
      ({ envelope, failed } = encodeFailure(error));
    }
    if (this.abortions.size > 0) this.abortions.delete(requestKey);
    // Done before its claim went out: the claim is dropped, and `complete` counts it.
    const unclaimed = this.unclaimed.delete(requestKey);
    return { requestKey, token, envelope, ttlMs, failed, unclaimed };
  }

  // ---- completions, batched ------------------------------------------------------

  private batch: Completion[] = [];

  /**
   * Queues a finished request for the next `complete` call: the requests that finish in
   * one turn of the event loop are delivered together, with the next requests for their
   * slots taken in the same call; then each slot goes on with what was taken for it.
   */
  private complete(completion: Completion): void {
    if (this.batch.push(completion) > 1) return;
    // Idle (nothing on its way): send once the promise callbacks running now are done
    // (a tick queued from one runs after them all), so the handlers that finish
    // together go together: sent at once, the first of them went alone and the others
    // followed in a second call, a split that then lasted (measured: 16 slots ran as
    // groups of 1 and 15, 0.13 calls per request instead of 0.07). A lone request
    // waits for no one. Busy: gather what finishes this turn.
    if (this.completing === 0) process.nextTick(this.flushNow);
    else setImmediate(this.flushNow);
  }

  private readonly flushNow = (): void => void this.flushCompletions();

  /** `complete` calls on their way to Redis. */
  private completing = 0;

  private async flushCompletions(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    this.completing++;
    let nexts: Next[];
    try {
      nexts = await this.sendCompletions(batch);
    } catch (error) {
      // Not expected (sendCompletions answers Redis's failures itself), but a slot that
      // never ends would hold stop() for ever: free them, the leases lapse.
      this.log(`could not complete a batch: ${(error as Error).message}`);
      for (const c of batch) this.inFlight.delete(c.requestKey);
      nexts = batch.map(() => NO_NEXT);
    } finally {
      this.completing--;
    }
    // After the count is down: the next completions of these slots (handlers that are
    // done at once) go out on the next tick, not a turn later.
    for (const next of nexts) this.continueInSlot(next);
  }

  /** Delivers a batch; resolves what each of its slots computes next. */
  private async sendCompletions(batch: Completion[]): Promise<Next[]> {
    const k = this.keys;
    // Slots freed by this batch take new work only if no resuming handler waits for one.
    const take = this.stopping || this.pool.contended ? 0 : batch.length;
    const prefix = this.newToken();
    const args: (string | number)[] = [
      k.base,
      this.id,
      take,
      Date.now() + this.timings.leaseMs,
      this.timings.recordTtlMs,
      this.timings.replyTtlMs,
      prefix,
    ];
    // One argument per request (complete-4.lua): TOKEN, TTL, FLAGS, then KEY \n ENVELOPE.
    for (const c of batch) {
      args.push(`${c.token}\t${c.ttlMs}\t${c.failed ? '1' : '0'}${c.unclaimed ? '1' : '0'}\t${c.requestKey}\n${c.envelope}`);
    }
    let reply: (number | string)[];
    try {
      reply = (await this.connection.script('complete', [k.pending, k.stats, k.gets, k.prefetches], args)) as (
        | number
        | string
      )[];
    } catch (error) {
      // Not delivered (Redis unreachable): the leases lapse and the requests are computed
      // again, here or elsewhere. Nothing is lost but time.
      for (const c of batch) {
        this.log(`could not deliver ${c.requestKey}: ${(error as Error).message}`);
        this.inFlight.delete(c.requestKey);
      }
      return batch.map(() => NO_NEXT);
    }
    const nexts: Next[] = [];
    for (const [i, c] of batch.entries()) {
      const delivered = reply[i] as number;
      this.inFlight.delete(c.requestKey);
      this.served++;
      if (this.logging) this.log(
        delivered === -1
          ? `dropped a late result for ${c.requestKey}`
          : delivered === -2
            ? `queued ${c.requestKey} again: something it read changed while it ran`
            : `answered ${c.requestKey} to ${delivered}`,
      );
      const payload = reply[batch.length + i];
      if (typeof payload === 'string') {
        // Leased (inFlight) by computeNow, which runs for it before any timer can: the
        // slot is its own, nothing to wait for.
        nexts.push({ payload, token: prefix });
      } else {
        nexts.push(NO_NEXT);
      }
    }
    return nexts;
  }

  /** Runs the handler in its frame: its value, or its promise. */
  private compute(requestKey: string, args: Args): unknown {
    const frame: RequestFrame = { request: { service: this.service, args }, pool: this.pool, awaiting: 0 };
    // Its abort controller, if it asked for one, is dropped when its completion is made.
    const ctx = new ServerHandlerContext(this.service, args, requestKey, this.abortions);
    return runInFrame(frame, () => this.handler(args, ctx));
  }

  /** Abort controllers of computations whose handler asked for a signal. */
  private readonly abortions = new Map<string, AbortController>();

  private async renew(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const pairs: string[] = [];
    for (const [key, token] of this.inFlight) pairs.push(key, token);
    const lost = (await this.connection.script(
      'renew',
      [this.keys.pending],
      [this.keys.base, Date.now() + this.timings.leaseMs, this.timings.recordTtlMs, ...pairs],
    )) as string[];
    for (const key of lost) {
      // Another server computes it now (this one stalled past its lease): stop wasting work.
      this.log(`lost the lease of ${key}`);
      this.abortions.get(key)?.abort(new Error('The lease of this request was taken over by another server'));
    }
  }

  /**
   * Jittered so the servers of a service do not all sweep at once. At most every 500 to
   * 750 ms whatever the lease, while anything is queued or running: work whose lease
   * lapsed restarts within the lease and one sweep.
   */
  private sweepInterval(): number {
    return Math.max(100, Math.floor(Math.min(this.timings.leaseMs / 2, SWEEP_EVERY_MS) + Math.random() * 250));
  }

  /** The next sweep in `ms`; each sweep sets the one after it. */
  private scheduleSweep(ms: number): void {
    if (this.stopping) return;
    const timer = setTimeout(() => {
      this.timers.splice(this.timers.indexOf(timer), 1);
      this.sweep().then(
        (next) => this.scheduleSweep(next),
        (error: unknown) => {
          this.log(`housekeeping failed: ${(error as Error).message}`);
          this.scheduleSweep(this.sweepInterval());
        },
      );
    }, ms);
    timer.unref?.();
    this.timers.push(timer);
  }

  /**
   * Recovers lost work; resolves when to sweep next. With nothing queued or running
   * under the service, nothing can lapse before a whole lease (or queue grace) has passed
   * from now, so an idle service is swept once a lease instead of twice a second.
   */
  private async sweep(): Promise<number> {
    const [requeued, left, looked] = (await this.connection.script(
      'sweep',
      [this.keys.pending, this.keys.gets, this.keys.prefetches],
      [this.keys.base, Date.now(), Date.now() + this.timings.queueGraceMs, SWEEP_BATCH, this.timings.recordTtlMs],
    )) as [number, number, number | undefined];
    if (requeued > 0) this.log(`re-queued ${requeued} request(s) whose server was lost`);
    // A full batch: more may be due now (a long queue's grace checks come due together).
    if (looked !== undefined && looked >= SWEEP_BATCH) return 0;
    if (left > 0) return this.sweepInterval();
    return Math.max(this.sweepInterval(), Math.min(this.timings.leaseMs, this.timings.queueGraceMs));
  }

  info(): ServerInfo {
    return {
      id: this.id,
      service: this.service,
      host: hostname(),
      pid: process.pid,
      started: this.started,
      concurrency: this.pool.size,
      inFlight: this.inFlight.size,
      served: this.served,
      protocol: PROTOCOL_VERSION,
    };
  }

  /**
   * Carries out a control command (`stop`, `verbose`, `quiet`), which arrives by pub/sub
   * and again through the heartbeat; the same command twice does what it did once.
   */
  obey(command: unknown): void {
    if (command === 'stop') void this.stop();
    else if (command === 'verbose') this.verbose = true;
    else if (command === 'quiet') this.verbose = false;
  }

  private async heartbeat(remove = false): Promise<void> {
    const now = Date.now();
    const reply = await this.connection.script(
      'heartbeat',
      [this.keys.servers, this.keys.alive],
      [
        this.id,
        remove ? '' : JSON.stringify(this.info()),
        now + 3_000,
        now,
        this.keys.base,
        this.stopping ? 'leave' : this.hasRoom() ? 'idle' : 'busy',
      ],
    );
    // [lapsed, ...orders]: the commands left for this server, oldest first.
    if (Array.isArray(reply)) for (const order of reply.slice(1)) this.obey(String(order));
  }

  /** Finishes what it computes, takes nothing more, leaves the registry. */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    this.log(`stopping: finishing ${this.running} computation(s), taking no more`);
    // Abort the blocking wait at once rather than at its timeout.
    if (this.blocking !== undefined) this.connection.drop(this.blocking);
    for (const timer of this.timers) clearInterval(timer);
    // Off the idle list, and what clients sent to this server's inbox back to the get
    // queue for the others; if Redis is away, the heartbeat's lapse does it later.
    void this.heartbeat().catch(() => {});
    // Keep renewing leases while the last computations finish.
    const renewal = setInterval(() => void this.renew().catch(() => {}), Math.max(50, Math.floor(this.timings.leaseMs / 3)));
    try {
      if (this.running > 0) await new Promise<void>((resolve) => this.whenNoneRunning.push(resolve));
    } finally {
      clearInterval(renewal);
    }
    // Leave the registry; with Redis away, the entry lapses by itself within 3 s instead
    // of this stop waiting through every reconnection attempt.
    if (this.connection.ready) await this.heartbeat(true).catch(() => {});
    this.log('stopped');
    this.onStopped(this);
    this.resolveStopped();
    return this.stopped;
  }
}
