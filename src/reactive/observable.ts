/**
 * rxjs interop: every readable is an Observable source, and `from(cell)` works
 * through the `Symbol.observable` protocol.
 */
import { Observable } from 'rxjs';
import { effect } from './effect.js';

/** The interop key rxjs looks for: `Symbol.observable` where defined, else '@@observable'. */
export const observableKey: symbol | '@@observable' =
  (typeof Symbol === 'function' && (Symbol as unknown as { observable?: symbol }).observable) || '@@observable';

/**
 * An Observable that emits `read()` on subscribe and whenever it changes, and errors
 * when `read()` throws. Each subscription is an effect: it keeps what it reads watched,
 * and unsubscribing releases it.
 */
export function observeReads<T>(read: () => T): Observable<T> {
  return new Observable<T>((subscriber) =>
    effect(() => {
      let value: T;
      try {
        value = read();
      } catch (error) {
        subscriber.error(error);
        return;
      }
      subscriber.next(value);
    }),
  );
}
