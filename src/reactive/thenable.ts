/**
 * Whether a value is a promise or promise-like (has a callable `then`): what decides if a
 * computation finished at once or later. One test for the whole package: cells and memos
 * here, and the distributed servers running handlers.
 *
 * @example
 * isThenable(Promise.resolve(1)); // true
 * isThenable({ then: () => {} }); // true
 * isThenable(42); // false
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  const type = typeof value;
  return (
    (type === 'object' || type === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
