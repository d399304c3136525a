// A small seeded pseudo-random generator (mulberry32), for tests and fixtures that need
// the same "random" plan on every run: durations, deadlines, victims, shuffles.

/**
 * Numbers in [0, 1), the same sequence for the same seed.
 *
 * @example
 * const random = seeded(42);
 * const delay = 50 + Math.floor(random() * 450);
 */
export function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
