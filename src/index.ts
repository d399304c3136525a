/**
 * memocell: memoised computation, reactive in one process and shared across many.
 *
 * `memocell/reactive` has the cells alone (no Redis code); `memocell/distributed` the
 * services alone; this entry has both and the bridge that joins them.
 */
export * from './reactive/index.js';
export { connect, Store, type SharedInput, type StoreMemo, type StoreMemoOptions } from './bridge/index.js';
export {
  keep,
  RemoteError,
  TimeoutError,
  StoreClosedError,
  TooLargeError,
  type DistributedStore,
  type ServerHandle,
  type ServeOptions,
} from './distributed/index.js';
