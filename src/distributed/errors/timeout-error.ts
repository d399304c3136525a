import type { Args } from '../types.js';
import { describeArgs } from './remote-error.js';

/**
 * A call did not settle within its deadline. The request may still complete for other
 * callers (and be cached if its handler says so); only this wait gave up.
 *
 * @example
 * ```ts
 * await store.get('slow', [1], { timeoutMs: 500 }).catch((e) => e instanceof TimeoutError);
 * ```
 */
export class TimeoutError extends Error {
  readonly service: string;
  readonly args: Args;
  readonly timeoutMs: number;

  constructor(service: string, args: Args, timeoutMs: number, detail = '') {
    super(
      `No result for ${service}${describeArgs(args)} within ${timeoutMs} ms${detail}. ` +
        (detail.includes('unreachable')
          ? 'Check the Redis address, its TLS settings and the credentials.'
          : 'Is a server of that service running? Raise `timeoutMs` for long computations.'),
    );
    this.name = 'TimeoutError';
    this.service = service;
    this.args = args;
    this.timeoutMs = timeoutMs;
  }
}
