// mobx adapter. observable.box and computed already have get()/set(), so they
// are returned as they are. run.mjs starts workers with NODE_ENV=production (unless
// set otherwise), which makes Node load mobx's production build.
import { observable, computed as mComputed, autorun, runInAction, configure } from 'mobx';
import { versionOf } from './_version.mjs';

configure({ enforceActions: 'never' });

function signal(value) {
  return observable.box(value);
}

function computed(fn) {
  return mComputed(fn);
}

function effect(fn) {
  // autorun passes the reaction as an argument; the benchmark functions ignore it.
  return autorun(fn);
}

function batch(fn) {
  return runInAction(fn);
}

// No memo family in mobx core: a Map from the argument to a computed. The
// computeds are read outside any reaction, where mobx does not cache a computed
// unless it is keepAlive, so keepAlive is what a user would have to set
// (mobx-utils' computedFn does the same kind of thing).
function memoFamily(fn) {
  const cells = new Map();
  return (key) => {
    let c = cells.get(key);
    if (c === undefined) {
      c = mComputed(() => fn(key), { keepAlive: true });
      cells.set(key, c);
    }
    return c.get();
  };
}

export default {
  name: 'mobx',
  pkg: 'mobx',
  version: versionOf('mobx'),
  signal,
  computed,
  effect,
  batch,
  memoFamily,
  memoFamilyNative: false,
};
