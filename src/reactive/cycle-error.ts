/**
 * Thrown when a cell's computation reads, directly or through other cells, the cell
 * itself. Every cell on the cycle memoises this error until one of its dependencies
 * changes, so the graph stays consistent and a later change can break the cycle.
 *
 * @example
 * ```ts
 * const a = cell(() => b.get() + 1, { name: 'a' });
 * const b = cell(() => a.get() + 1, { name: 'b' });
 * try { a.get(); } catch (e) { if (e instanceof CycleError) console.log(e.cells); } // ['a', 'b', 'a']
 * ```
 */
export class CycleError extends Error {
  /** The names of the cells on the cycle, in reading order, the first repeated at the end. */
  readonly cells: readonly string[];

  constructor(cells: readonly string[]) {
    super(messageFor(cells));
    this.name = 'CycleError';
    this.cells = cells;
  }

  /**
   * @internal The graph learns the whole cycle while unwinding from where it was found;
   * it completes the names here before anyone outside the cycle sees the error.
   */
  _setCells(cells: readonly string[]): void {
    (this as { cells: readonly string[] }).cells = cells;
    this.message = messageFor(cells);
  }
}

function messageFor(cells: readonly string[]): string {
  return (
    `Cycle detected: ${cells.join(' -> ')}. ` +
    'A cell may not read itself, directly or through other cells; break the cycle with an input.'
  );
}
