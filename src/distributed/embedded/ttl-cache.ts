/** Encoded results with a time to live, for the embedded store. */

/** setTimeout fires at once for delays above this (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

interface Entry {
  readonly data: string;
  readonly expires: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A map whose entries vanish after their TTL. Reads check the deadline themselves, so
 * an entry is never served late even if its timer is delayed; the timer only frees the
 * memory of entries nobody reads again. Timers are unref'd: a cache alone does not keep
 * the process alive. Deadlines are on the monotonic clock (`performance.now()`): a wall
 * clock stepped forward or back expires no entry early and keeps none late.
 */
export class TtlCache {
  private readonly entries = new Map<string, Entry>();

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (performance.now() >= entry.expires) {
      this.delete(key);
      return undefined;
    }
    return entry.data;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, data: string, ttlSeconds: number): void {
    this.delete(key);
    const entry: Entry = { data, expires: performance.now() + ttlSeconds * 1000, timer: undefined };
    this.entries.set(key, entry);
    this.arm(key, entry);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    this.entries.delete(key);
  }

  clear(): void {
    for (const entry of this.entries.values()) if (entry.timer !== undefined) clearTimeout(entry.timer);
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private arm(key: string, entry: Entry): void {
    const delay = Math.min(Math.max(entry.expires - performance.now(), 0), MAX_TIMER_MS);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.entries.get(key) !== entry) return;
      // Long TTLs take several timer periods.
      if (performance.now() >= entry.expires) this.entries.delete(key);
      else this.arm(key, entry);
    }, delay);
    entry.timer.unref();
  }
}
