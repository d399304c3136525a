/**
 * memocell: memoised computation, reactive in one process and shared across many.
 *
 * This entry re-exports the reactive layer; the distributed store and the bridge
 * between them join it as they land.
 */
export * from './reactive/index.js';
