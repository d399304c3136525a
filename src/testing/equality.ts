/**
 * The default comparison of results: structural, the way memo families key their
 * arguments, so "equal" means what users already rely on for keys.
 */
import { canonicalKey } from '../reactive/key.js';

/**
 * Deep equality for JSON-like values (and `Date`, byte arrays, `Map`, `Set`): equal
 * when their canonical keys are equal. Key order in objects does not matter, and a
 * property holding `undefined` counts as absent, because a result that went through a
 * store comes back as JSON would give it. Values that have no canonical key
 * (functions, class instances) fall back to `Object.is`.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  let left: string;
  let right: string;
  try {
    left = canonicalKey([a]);
    right = canonicalKey([b]);
  } catch {
    return false;
  }
  return left === right;
}
