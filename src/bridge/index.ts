/**
 * The bridge: one API for local and remote memoised functions, joining the reactive
 * layer (cells) and the distributed layer (services over Redis).
 */
export { connect } from './connect.js';
export { Store, type SharedInput, type StoreMemo, type StoreMemoOptions } from './store.js';
