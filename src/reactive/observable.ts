/**
 * rxjs interop: every readable is an Observable source, and `from(cell)` works
 * through the `Symbol.observable` protocol.
 */
import { Observable } from 'rxjs';
import { effect } from './effect.js';

/**
 * Makes instances of `cls` interop Observables: rxjs `from(x)` looks for a method under
 * `Symbol.observable` where the runtime defines it, else under '@@observable' (which
 * one rxjs picked depends on when it loaded, so define both).
 */
export function installObservableInterop(cls: { prototype: { observe(): unknown } }): void {
  const keys: PropertyKey[] = ['@@observable'];
  const wellKnown = (Symbol as unknown as { observable?: symbol }).observable;
  if (typeof wellKnown === 'symbol') keys.push(wellKnown);
  for (const key of keys) {
    Object.defineProperty(cls.prototype, key, {
      value: function interop(this: { observe(): unknown }) {
        return this.observe();
      },
      configurable: true,
      writable: true,
    });
  }
}

/**
 * An Observable that emits `read()` on subscribe and whenever it changes to a value
 * not `equals` to the last one emitted, and errors when `read()` throws. Each
 * subscription is an effect: it keeps what it reads watched, and unsubscribing
 * releases it.
 */
export function observeReads<T>(read: () => T, equals: (a: T, b: T) => boolean): Observable<T> {
  return new Observable<T>((subscriber) => {
    let last: T | undefined;
    let emitted = false;
    return effect(() => {
      let value: T;
      try {
        value = read();
      } catch (error) {
        subscriber.error(error);
        return;
      }
      // Changed and changed back within one batch: the effect re-runs, the value is the same.
      if (emitted && equals(last as T, value)) return;
      emitted = true;
      last = value;
      subscriber.next(value);
    });
  });
}
