/**
 * memocell/distributed: memoised services shared across processes over Redis, and an
 * embedded in-process store with the same contract. Knows nothing of cells.
 */

// Stores
export { createRedisStore, RedisStore, type RedisStoreOptions, type RemoteService } from './redis-store.js';
export type { DistclRemote } from './distcl/client.js';
export type { DistclHandler } from './distcl/server.js';
export type { RedisTarget } from './connection.js';
export { createEmbeddedStore, EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';

// Handlers
export { keep } from './keep.js';
export { defaultCodec, type Codec } from './codec.js';

// Errors
export { RemoteError, type RequestRef, type RemoteFailure } from './errors/remote-error.js';
export { TimeoutError } from './errors/timeout-error.js';
export { StoreClosedError } from './errors/store-closed-error.js';
export { ProtocolError } from './errors/protocol-error.js';
export { TooLargeError } from './errors/too-large-error.js';
export { ControlError } from './errors/control-error.js';

// Keys
export { canonicalKey } from '../reactive/key.js';

// The protocol over Redis: its version, and the code of the warning about a server of another version
export { PROTOCOL_VERSION, PROTOCOL_MISMATCH } from './protocol-version.js';

// The contract
export type {
  Args,
  CallOptions,
  DistributedStore,
  Handler,
  HandlerContext,
  Kept,
  ServeOptions,
  ServerHandle,
  ServerInfo,
  ServiceStats,
} from './types.js';
