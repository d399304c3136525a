/**
 * Concurrency slots of a server, and Girder's re-entrancy rule: while a handler waits
 * for a remote result, its slot is free for other requests, so a handler may call any
 * service, its own included, however deep the recursion, without starving the pool.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestRef } from './errors/remote-error.js';
import { isThenable } from '../reactive/thenable.js';

/** A counting semaphore whose waiters are served in arrival order. */
export class SlotPool {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  private readonly watchers: Array<() => void> = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Resolves when a slot is taken for the caller. */
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Takes a slot if one is free now. */
  tryAcquire(): boolean {
    if (this.free > 0) {
      this.free--;
      return true;
    }
    return false;
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) {
      next();
      return;
    }
    this.free++;
    const watchers = this.watchers.splice(0);
    for (const watcher of watchers) watcher();
  }

  /**
   * Resolves when a slot is free, without taking it. A server waits for this before
   * it asks for new work, so it never holds a slot while idle: a handler resuming
   * after a remote call must find its slot free.
   */
  whenFree(): Promise<void> {
    if (this.free > 0) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push(resolve));
  }

  /** Are handlers (or new requests) waiting for a slot? Resuming work goes first. */
  get contended(): boolean {
    return this.waiting.length > 0;
  }

  /** Slots free now. */
  get available(): number {
    return this.free;
  }

  /** Slots taken now (by running handlers). */
  get busy(): number {
    return this.size - this.free;
  }
}

/** The request a handler is computing: what nested calls need to know about it. */
export interface RequestFrame {
  readonly request: RequestRef;
  readonly pool: SlotPool;
  /** Remote calls this handler is waiting for now; the slot is free while > 0. */
  awaiting: number;
}

const frames = new AsyncLocalStorage<RequestFrame>();

/** Runs a handler with its frame, so nested calls find it. */
export function runInFrame<T>(frame: RequestFrame, fn: () => T): T {
  active++;
  let result: T;
  try {
    result = frames.run(frame, fn);
  } catch (error) {
    active--;
    throw error;
  }
  if (isThenable(result)) {
    const done = (): void => {
      active--;
    };
    result.then(done, done);
  } else {
    active--;
  }
  return result;
}

/** Handlers running (or awaiting) in this process: none means no frame to look up. */
let active = 0;

/** The request being computed by the handler that is running now, if any. */
export function currentFrame(): RequestFrame | undefined {
  // Looking up async context costs more than a cache hit: skip it when no handler runs.
  return active === 0 ? undefined : frames.getStore();
}

/**
 * Waits for a remote result on behalf of the running handler, lending its slot to
 * other requests meanwhile. Outside a handler it just waits.
 */
export function awaitRemote<T>(result: Promise<T>): Promise<T> {
  // No handler running: no slot to lend, and no async-context lookup to pay for.
  if (active === 0) return result;
  const frame = frames.getStore();
  // Outside a handler (the common case for clients): no extra promise hop.
  return frame === undefined ? result : lendSlot(frame, result);
}

async function lendSlot<T>(frame: RequestFrame, result: Promise<T>): Promise<T> {
  if (frame.awaiting++ === 0) frame.pool.release();
  try {
    return await result;
  } finally {
    if (--frame.awaiting === 0) await frame.pool.acquire();
  }
}
