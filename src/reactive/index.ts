/**
 * memocell/reactive: cells, memoised function families and Observables in one process.
 * Loads no Redis code.
 */

// Values and computations
export { input } from './input.js';
export { cell } from './cell.js';
export { effect } from './effect.js';
export { batch, untracked } from './batch.js';

// Memoised function families and their keys
export { memo, type MemoFn } from './memo.js';
export { canonicalKey } from './key.js';

// Streams
export { fromObservable, type StreamInput } from './from-observable.js';

// Errors
export { CycleError } from './cycle-error.js';

// Types
export type { AsyncCell, AsyncState, Cell, CellContext, Input, Readable } from './context.js';
export type { CellOptions, EffectOptions, EqualityFn, InputOptions, MemoOptions } from './options.js';
