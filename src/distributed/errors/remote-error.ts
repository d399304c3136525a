import type { Args } from '../types.js';

/** One request on the way to a failure: the service and the arguments it was called with. */
export interface RequestRef {
  readonly service: string;
  readonly args: Args;
}

/** What a server reports about a handler's failure (the wire form of a RemoteError). */
export interface RemoteFailure {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** Requests from the one that failed first (innermost) up to this one's callee, if the handler called others. */
  readonly chain: readonly RequestRef[];
}

/**
 * A handler failed. Every caller waiting for that request gets it, with the service,
 * the arguments, the remote message and stack, and — when the handler itself called
 * other services — the chain of requests from the outermost down to the one that
 * failed first (Girder's error chains).
 *
 * @example
 * ```ts
 * try { await store.get('report', [2024]); }
 * catch (e) { if (e instanceof RemoteError) console.log(e.chain.map((r) => r.service)); }
 * ```
 */
export class RemoteError extends Error {
  readonly service: string;
  readonly args: Args;
  /** The message the handler threw, without our prefix. */
  readonly remoteMessage: string;
  /** The class name of what the handler threw (`TypeError`, ...). */
  readonly remoteName: string;
  /** The handler's stack trace, as the server saw it. */
  readonly remoteStack: string | undefined;
  /** This request first, then each request it called down to the one that failed. */
  readonly chain: readonly RequestRef[];

  constructor(service: string, args: Args, failure: RemoteFailure) {
    const chain: RequestRef[] = [{ service, args }, ...failure.chain];
    const path = chain.map((r) => `${r.service}${describeArgs(r.args)}`).join(' -> ');
    super(`${failure.name}: ${failure.message} (in ${path})`);
    this.name = 'RemoteError';
    this.service = service;
    this.args = args;
    this.remoteMessage = failure.message;
    this.remoteName = failure.name;
    this.remoteStack = failure.stack;
    this.chain = chain;
  }
}

/** Arguments as a short readable list for messages. */
export function describeArgs(args: Args): string {
  let text: string;
  try {
    text = JSON.stringify(args, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? '[]';
  } catch {
    text = '[…]';
  }
  const inner = text.slice(1, -1);
  return `(${inner.length > 120 ? `${inner.slice(0, 117)}…` : inner})`;
}

/**
 * What a server sends about a handler's failure. A handler that failed because a
 * service it called failed passes that failure on: the innermost message and stack,
 * and the chain of requests down to it.
 */
export function failureOf(error: unknown): RemoteFailure {
  if (error instanceof RemoteError) {
    return {
      name: error.remoteName,
      message: error.remoteMessage,
      ...(error.remoteStack === undefined ? {} : { stack: error.remoteStack }),
      chain: error.chain,
    };
  }
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }), chain: [] };
  }
  return { name: 'Error', message: String(error), chain: [] };
}
