/**
 * The deadlines of a client's calls, kept by one timer rather than a timer per call.
 *
 * Creating and cancelling a timer per call is a large part of what a fast call costs
 * (a timer object to allocate, link, unlink and collect, for a deadline that almost
 * never passes). Calls given the same timeout come due in the order they were made, so
 * each timeout has a queue in deadline order, and one timer is set for the earliest
 * deadline at the head of any queue. A call that settles is marked done; done calls
 * at a head are dropped at once, and a queue whose done calls pile up behind a slow one
 * is compacted, so the queues hold about as many calls as are outstanding.
 *
 * Deadlines are kept on the monotonic clock (`performance.now()`), not the wall clock:
 * a wall clock stepped forward (NTP, a VM resumed or re-synced) made calls time out
 * early (28-45 ms early in one CI run), and one stepped back would hold them past their
 * deadline by as long as the step.
 */

/** One call's deadline. */
export interface Deadline {
  /** When it passes, on the monotonic clock (`performance.now()`): the call's start plus `timeoutMs`. */
  readonly at: number;
  /** The timeout the call was given (ms): calls with the same one share a queue. */
  readonly timeoutMs: number;
  /** Set by {@link Deadlines.settle} or when it expires; never expires after. */
  done: boolean;
  /** Called once, when `at` has passed and the call has not settled. */
  expire(): void;
}

/** Calls of one timeout, in the order they were made (so in the order of their deadlines). */
class DeadlineQueue {
  items: Deadline[] = [];
  head = 0;
  /** Done calls not yet dropped. */
  done = 0;

  get live(): number {
    return this.items.length - this.head - this.done;
  }

  /**
   * Adds a call in deadline order: at the end, unless it started before the last one
   * (a wait that follows a cache lookup keeps the lookup's start), or the clock stepped back.
   */
  insert(deadline: Deadline): void {
    const items = this.items;
    if (items.length === this.head || (items[items.length - 1] as Deadline).at <= deadline.at) {
      items.push(deadline);
      return;
    }
    let low = this.head;
    let high = items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((items[middle] as Deadline).at <= deadline.at) low = middle + 1;
      else high = middle;
    }
    items.splice(low, 0, deadline);
  }

  /** Drops done calls at the head; compacts when more than half of the rest are done. */
  trim(): void {
    const items = this.items;
    while (this.head < items.length && (items[this.head] as Deadline).done) {
      this.head++;
      this.done--;
    }
    if (this.head === items.length) {
      // Emptied in place: calls made one at a time fill and empty it on every call.
      if (items.length === 1) items.pop();
      else items.length = 0;
      this.head = 0;
      this.done = 0;
    } else if (this.done > 64 && this.done * 2 > items.length - this.head) {
      this.items = items.slice(this.head).filter((d) => !d.done);
      this.head = 0;
      this.done = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Keeps deadlines with one timer.
 *
 * @example
 * const deadlines = new Deadlines();
 * const call = { at: performance.now() + 1000, timeoutMs: 1000, done: false, expire: () => console.log('late') };
 * deadlines.add(call);
 * deadlines.settle(call); // answered in time: `expire` is never called
 */
export class Deadlines {
  private readonly queues = new Map<number, DeadlineQueue>();
  /** Calls watched and not settled, over all queues. */
  private watched = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Whether the timer is ref'd (keeps the process alive). */
  private held = false;

  /** Watches a call's deadline. */
  add(deadline: Deadline): void {
    let queue = this.queues.get(deadline.timeoutMs);
    if (queue === undefined) {
      queue = new DeadlineQueue();
      this.queues.set(deadline.timeoutMs, queue);
    }
    queue.insert(deadline);
    this.watched++;
    if (deadline.at < this.timerAt) this.arm(deadline.at);
    else if (!this.held) this.hold();
  }

  /** The call settled: its deadline no longer matters. Safe to call more than once. */
  settle(deadline: Deadline): void {
    if (deadline.done) return;
    deadline.done = true;
    const queue = this.queues.get(deadline.timeoutMs);
    if (queue === undefined) return;
    this.watched--;
    queue.done++;
    queue.trim();
    // An emptied queue stays in the map until the timer fires (which drops empty
    // queues): calls made one at a time would otherwise make and drop a queue each.
    if (this.watched === 0) {
      // Nothing left to watch: the timer may no longer keep the process alive, but it
      // stays set. Calls made one at a time would otherwise set and clear a timer each
      // (about half of what add and settle cost, measured); a later call whose
      // deadline is not earlier only holds the process again, and the timer, when it
      // fires, finds what is still watched.
      this.release();
    }
  }

  /** Whether a timer holds the process alive now: only while calls are watched. */
  get holdsProcess(): boolean {
    return this.held;
  }

  /** How many calls are watched and not settled. */
  get size(): number {
    return this.watched;
  }

  /** Forgets every deadline without expiring any. */
  clear(): void {
    for (const queue of this.queues.values()) for (const d of queue.items) d.done = true;
    this.queues.clear();
    this.watched = 0;
    this.disarm();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.held = false;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - performance.now()));
    this.held = true;
  }

  private hold(): void {
    this.timer?.ref();
    this.held = true;
  }

  private release(): void {
    // Environments whose timers cannot be unref'd get the timer cleared instead.
    if (typeof this.timer?.unref === 'function') this.timer.unref();
    else this.disarm();
    this.held = false;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.held = false;
    const now = performance.now();
    const due: Deadline[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [timeoutMs, queue] of this.queues) {
      const items = queue.items;
      while (queue.head < items.length) {
        const d = items[queue.head] as Deadline;
        if (d.done) {
          queue.done--;
        } else if (d.at <= now) {
          d.done = true;
          this.watched--;
          due.push(d);
        } else {
          break;
        }
        queue.head++;
      }
      queue.trim();
      if (queue.head === queue.items.length) this.queues.delete(timeoutMs);
      else next = Math.min(next, (queue.items[queue.head] as Deadline).at);
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    // Expired after the queues are consistent: an expiry may add or settle calls.
    for (const d of due) d.expire();
  };
}
