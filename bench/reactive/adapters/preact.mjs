// @preact/signals-core adapter. Signals expose .value (tracked read / write).
import { signal as pSignal, computed as pComputed, effect as pEffect, batch as pBatch } from '@preact/signals-core';
import { versionOf } from './_version.mjs';

function signal(value) {
  const s = pSignal(value);
  return {
    get: () => s.value,
    set: (v) => {
      s.value = v;
    },
  };
}

function computed(fn) {
  const c = pComputed(fn);
  return { get: () => c.value };
}

function effect(fn) {
  return pEffect(fn);
}

function batch(fn) {
  return pBatch(fn);
}

// No memo family in preact signals: a Map from the argument to a computed.
function memoFamily(fn) {
  const cells = new Map();
  return (key) => {
    let c = cells.get(key);
    if (c === undefined) {
      c = pComputed(() => fn(key));
      cells.set(key, c);
    }
    return c.value;
  };
}

export default {
  name: 'preact',
  pkg: '@preact/signals-core',
  version: versionOf('@preact/signals-core'),
  signal,
  computed,
  effect,
  batch,
  memoFamily,
  memoFamilyNative: false,
};
