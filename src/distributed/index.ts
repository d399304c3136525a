/**
 * memocell/distributed: services over Redis. The Redis store lands with the
 * distributed layer; what it shares with the reactive layer today is the canonical
 * argument key that names a request.
 */
export { canonicalKey } from '../reactive/key.js';
