/**
 * TtlCache, the embedded store's cache of results: an entry is served until its TTL
 * has passed and not after, on the monotonic clock, so a wall clock stepped either way
 * changes nothing; the timer frees entries nobody reads again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TtlCache } from '../../src/distributed/embedded/ttl-cache.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TtlCache', () => {
  it('serves an entry until its TTL has passed, then neither serves nor holds it', () => {
    const cache = new TtlCache();
    cache.set('k', 'v', 2);
    vi.advanceTimersByTime(1_999);
    expect(cache.get('k')).toBe('v');
    vi.advanceTimersByTime(1);
    expect(cache.get('k')).toBeUndefined();
    cache.set('unread', 'v', 1);
    vi.advanceTimersByTime(1_000);
    expect(cache.size).toBe(0);
  });

  it('a wall clock stepped forward expires no entry early, and one stepped back keeps none late', () => {
    const cache = new TtlCache();
    cache.set('k', 'v', 1);
    vi.setSystemTime(Date.now() + 60_000);
    vi.advanceTimersByTime(500);
    expect(cache.get('k')).toBe('v');
    vi.setSystemTime(Date.now() - 120_000);
    vi.advanceTimersByTime(500);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
