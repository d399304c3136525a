/**
 * Inputs: values set from outside, the roots of the graph (ReacTcl's `react x == value`).
 */
import type { Observable, Subscribable } from 'rxjs';
import { activeSub, HAS_ERROR, Node, track, write, type Equals } from './graph.js';
import type { Input } from './context.js';
import { installObservableInterop, observeReads } from './observable.js';
import type { InputOptions } from './options.js';

/** @internal */
export class InputImpl<T> extends Node implements Input<T> {
  /** Installed on the prototype below, under the runtime's interop key. */
  declare [Symbol.observable]: () => Subscribable<T>;
  private readonly ownName: string | undefined;

  constructor(value: T, options?: InputOptions<T>) {
    const equals = options?.equals ?? Object.is;
    if (typeof equals !== 'function') {
      throw new TypeError(`Expected \`equals\` to be a function, got \`${String(equals)}\` (${typeof equals})`);
    }
    super(0, equals as Equals, value);
    this.ownName = options?.name;
    this.version = 1;
  }

  get name(): string | undefined {
    return this.ownName;
  }

  get(): T {
    const sub = activeSub;
    if (sub !== undefined) track(this, sub);
    if (this.flags & HAS_ERROR) throw this.value;
    return this.value as T;
  }

  peek(): T {
    if (this.flags & HAS_ERROR) throw this.value;
    return this.value as T;
  }

  set(value: T): void {
    write(this, value);
  }

  update(fn: (value: T) => T): void {
    write(this, fn(this.peek()));
  }

  observe(): Observable<T> {
    return observeReads(() => this.get(), this.equals as (a: T, b: T) => boolean);
  }

}

installObservableInterop(InputImpl);

/**
 * Creates an input: a value you set, which cells and effects that read it follow.
 * Setting an equal value (by `equals`, default `Object.is`) changes nothing.
 *
 * @example
 * ```ts
 * const width = input(10);            // ReacTcl: react width == 10
 * const area = cell(() => width.get() * 2);
 * width.set(30);                      // area recomputes when next read: 60
 * width.update((w) => w + 1);         // 31
 * ```
 */
export function input<T>(value: T, options?: InputOptions<T>): Input<T> {
  return new InputImpl(value, options);
}
