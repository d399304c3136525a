/**
 * Inputs: values set from outside, the roots of the graph (ReacTcl's `react x == value`).
 */
import type { Observable } from 'rxjs';
import { activeSub, HAS_ERROR, Node, track, write, type Equals, type NodeOwner } from './graph.js';
import type { Input } from './context.js';
import { observableKey, observeReads } from './observable.js';
import type { InputOptions } from './options.js';

/** @internal */
export class InputImpl<T> implements Input<T>, NodeOwner {
  /** @internal */
  readonly _node: Node;
  readonly name: string | undefined;

  constructor(value: T, options?: InputOptions<T>) {
    const equals = options?.equals ?? Object.is;
    if (typeof equals !== 'function') {
      throw new TypeError(`Expected \`equals\` to be a function, got \`${String(equals)}\` (${typeof equals})`);
    }
    this.name = options?.name;
    this._node = new Node(undefined, equals as Equals, this, 0, value);
    this._node.version = 1;
  }

  get(): T {
    const node = this._node;
    const sub = activeSub;
    if (sub !== undefined) track(node, sub);
    if (node.flags & HAS_ERROR) throw node.value;
    return node.value as T;
  }

  peek(): T {
    const node = this._node;
    if (node.flags & HAS_ERROR) throw node.value;
    return node.value as T;
  }

  set(value: T): void {
    write(this._node, value);
  }

  update(fn: (value: T) => T): void {
    write(this._node, fn(this.peek()));
  }

  observe(): Observable<T> {
    return observeReads(() => this.get());
  }

  [observableKey](): Observable<T> {
    return this.observe();
  }
}

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
