// alien-signals adapter. Signals are functions: x() reads, x(v) writes, so the
// same function serves as both get and set (no wrapper on the hot path).
// Effect callbacks must return undefined: alien-signals treats a returned value
// as a cleanup function.
import { signal as aSignal, computed as aComputed, effect as aEffect, startBatch, endBatch } from 'alien-signals';
import { versionOf } from './_version.mjs';

function signal(value) {
  const s = aSignal(value);
  return { get: s, set: s };
}

function computed(fn) {
  // The getter's previousValue argument is ignored by the benchmark functions.
  return { get: aComputed(fn) };
}

function effect(fn) {
  return aEffect(fn);
}

function batch(fn) {
  startBatch();
  try {
    return fn();
  } finally {
    endBatch();
  }
}

// No memo family in alien-signals: what a user would write by hand, a Map from
// the argument to a computed created on first use.
function memoFamily(fn) {
  const cells = new Map();
  return (key) => {
    let c = cells.get(key);
    if (c === undefined) {
      c = aComputed(() => fn(key));
      cells.set(key, c);
    }
    return c();
  };
}

export default {
  name: 'alien-signals',
  pkg: 'alien-signals',
  version: versionOf('alien-signals'),
  signal,
  computed,
  effect,
  batch,
  memoFamily,
  memoFamilyNative: false,
};
