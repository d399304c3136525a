/** The store was closed: calls made after `close()`, or still waiting when it closed, fail with this. */
export class StoreClosedError extends Error {
  constructor(what: string) {
    super(`${what}: the store is closed. Create a new store with connect().`);
    this.name = 'StoreClosedError';
  }
}
