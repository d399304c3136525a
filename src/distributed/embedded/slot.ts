/** Slot bookkeeping of the embedded store's servers, on top of the shared `SlotPool`. */
import { SlotPool } from '../slots.js';

/** A server's pool that says when a slot may have become free, so queued work can start. */
export class ServerPool extends SlotPool {
  constructor(
    size: number,
    private readonly onRelease: () => void,
  ) {
    super(size);
  }

  override release(): void {
    super.release();
    this.onRelease();
  }
}

/**
 * The slot of one request, as its handler's frame sees it. `awaitRemote` releases and
 * re-acquires through this; it forwards to the server's pool while the request runs and
 * turns into a no-op once it has finished, so a handler that returns while a call it
 * made is still pending (fire and forget) cannot take a slot that nobody gives back.
 */
export class RequestSlot extends SlotPool {
  /** The request starts holding the slot its server took for it. */
  private holding = true;
  private done = false;

  constructor(private readonly pool: SlotPool) {
    super(1);
  }

  override acquire(): Promise<void> {
    if (this.done) return Promise.resolve();
    return this.pool.acquire().then(() => {
      if (this.done) this.pool.release();
      else this.holding = true;
    });
  }

  override tryAcquire(): boolean {
    if (this.done) return true;
    if (this.holding || !this.pool.tryAcquire()) return false;
    this.holding = true;
    return true;
  }

  override release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.pool.release();
  }

  /** The request has finished: give the slot back if it is held, and ignore what comes later. */
  finish(): void {
    this.release();
    this.done = true;
  }
}
