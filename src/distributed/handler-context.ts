/**
 * The context a Redis server hands each handler call. Its abort signal is made only if
 * the handler asks for it (most never do), and the getter lives on the class, not on an
 * object literal made per request: a literal with a getter and the closure behind it
 * cost the server about a fifth of its CPU with a no-op handler
 * (bench/distributed/floor-batched.mjs: servers' CPU per request 2.45-2.56x the floor's
 * with the literal, 1.72-2.01x with this class).
 */
import type { Args, HandlerContext } from './types.js';

/** Where a server keeps the controllers of computations that asked for a signal. */
export type Abortions = Map<string, AbortController>;

export class ServerHandlerContext implements HandlerContext {
  #controller: AbortController | undefined;
  readonly #abortions: Abortions;
  readonly #requestKey: string;

  constructor(
    readonly service: string,
    readonly args: Args,
    requestKey: string,
    abortions: Abortions,
  ) {
    this.#requestKey = requestKey;
    this.#abortions = abortions;
  }

  /** Aborted when this computation's result is no longer wanted (see HandlerContext). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      this.#abortions.set(this.#requestKey, this.#controller);
    }
    return this.#controller.signal;
  }
}
