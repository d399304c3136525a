/**
 * The link into the graph from a stream (ReacTcl's link from an ordinary variable):
 * an input that follows an Observable. The link out is an `effect`.
 */
import { from, type ObservableInput, type Subscription } from 'rxjs';
import type { Readable } from './context.js';
import { write, writeError } from './graph.js';
import { InputImpl } from './input.js';

/** An input that follows a stream; `dispose()` unsubscribes from it. */
export interface StreamInput<T> extends Readable<T> {
  /** Stops following the stream; the last value stays. */
  dispose(): void;
  /** True once the stream completed or errored, or after `dispose()`. */
  readonly closed: boolean;
}

class StreamInputImpl<T> extends InputImpl<T> implements StreamInput<T> {
  private subscription: Subscription | undefined;
  private ended = false;

  constructor(source: ObservableInput<T>, initial: T, name: string | undefined) {
    super(initial, name === undefined ? undefined : { name });
    this.subscription = from(source).subscribe({
      next: (value) => write(this, value),
      error: (error: unknown) => {
        this.ended = true;
        writeError(this, error);
      },
      complete: () => {
        this.ended = true;
      },
    });
  }

  get closed(): boolean {
    return this.ended || this.subscription === undefined || this.subscription.closed;
  }

  dispose(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}

/**
 * Makes an input that follows `source$`: it holds `initial` until the stream emits,
 * then each value the stream emits. A stream error is stored: reads rethrow it. It
 * subscribes at once and stays subscribed until the stream ends or `dispose()` is called.
 * Anything rxjs `from()` accepts works: an Observable, a Promise, an async iterable.
 *
 * @example
 * ```ts
 * const ticks = fromObservable(interval(1000), -1);
 * const label = cell(() => `tick ${ticks.get()}`);
 * // ...later
 * ticks.dispose();
 * ```
 */
export function fromObservable<T>(
  source$: ObservableInput<T>,
  initial: T,
  options?: { readonly name?: string },
): StreamInput<T> {
  return new StreamInputImpl(source$, initial, options?.name);
}
