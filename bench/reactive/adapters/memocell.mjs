// memocell adapter (memocell/reactive, from the built dist tree). input() and
// cell() already have get()/set(), so they are returned as they are; the family
// workload uses memocell's own memo().
import { input, cell, effect as mEffect, batch as mBatch, memo } from '../../../dist/esm/reactive/index.js';
import { versionOf } from './_version.mjs';

function signal(value) {
  return input(value);
}

function computed(fn) {
  // cell passes an optional ctx argument; the benchmark functions ignore it.
  return cell(fn);
}

function effect(fn) {
  return mEffect(fn);
}

function batch(fn) {
  return mBatch(fn);
}

function memoFamily(fn) {
  // max well above the 10,000 keys of the workload, so nothing is evicted.
  return memo((key) => fn(key), { max: 1 << 20 });
}

export default {
  name: 'memocell',
  pkg: 'memocell',
  version: versionOf('.'),
  signal,
  computed,
  effect,
  batch,
  memoFamily,
  memoFamilyNative: true,
};
