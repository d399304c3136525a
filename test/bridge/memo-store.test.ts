/** A store memo carries the store that made it, so whoever holds only the function can serve it. */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/bridge/connect.js';

describe('StoreMemo.store', () => {
  it('is the store that made the memo (store.memo and store.remote), and read-only', async () => {
    const store = connect();
    try {
      const square = store.memo('memo-store.square', (n: number) => n * n);
      expect(square.store).toBe(store);
      expect(store.remote('memo-store.elsewhere').store).toBe(store);
      expect(() => {
        (square as unknown as { store: unknown }).store = undefined;
      }).toThrow(TypeError);
      const handle = square.store.serve(square);
      expect(await square(7)).toBe(49);
      await handle.stop();
    } finally {
      await store.close();
    }
  });
});
