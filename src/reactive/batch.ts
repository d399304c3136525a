import { endBatch, setActiveSub, startBatch } from './graph.js';

/**
 * Runs `fn` with effects held back until it returns, so several writes cause one
 * round of recomputation. Batches nest; effects run when the outermost one ends. If
 * effects throw, all of them still run and the first error is rethrown afterwards.
 *
 * @returns what `fn` returns.
 * @example
 * ```ts
 * batch(() => { first.set('Ada'); last.set('Lovelace'); }); // effects see both at once
 * ```
 */
export function batch<T>(fn: () => T): T {
  startBatch();
  try {
    return fn();
  } finally {
    endBatch();
  }
}

/**
 * Runs `fn` without recording what it reads as dependencies of the running computation.
 *
 * @example
 * ```ts
 * const total = cell(() => price.get() * untracked(() => rate.get())); // ignores rate changes
 * ```
 */
export function untracked<T>(fn: () => T): T {
  const prev = setActiveSub(undefined);
  try {
    return fn();
  } finally {
    setActiveSub(prev);
  }
}
