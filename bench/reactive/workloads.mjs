// The workloads. Each one builds its graph through the uniform adapter interface
// (signal / computed / effect / batch / memoFamily), runs timed rounds, and checks
// after every round (outside the timed region) that the effects saw what a correct
// library must produce. A wrong value, fewer effect runs than required, or a memo
// family that does not memoise throws: a broken library gets an error instead of
// a figure. More effect runs than a glitch-free library with equality cut-off
// needs are reported as a warning.

const now = () => performance.now();

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

// Relative spread of the samples: interquartile range / median (one outlier
// round, e.g. a context switch on a busy machine, barely moves it).
export function spread(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return (quantile(s, 0.75) - quantile(s, 0.25)) / median(s);
}

export class BenchError extends Error {}

function fail(msg) {
  throw new BenchError(msg);
}

// ---------------------------------------------------------------------------
// Update workloads (1-4): a graph is built once; one "op" is one call of
// step(n), which changes an input and lets every affected effect run (all four
// libraries run effects synchronously when an input is set outside a batch).
// check(n0, n1) verifies the state after steps n0..n1-1 and returns a
// list of warnings. The figure is updates per second (median of the rounds).
// ---------------------------------------------------------------------------

function runUpdates(lib, make, cfg) {
  const w = make(lib);
  const warnings = new Set();
  const verify = (n0, n1) => {
    for (const msg of w.check(n0, n1) ?? []) warnings.add(msg);
  };
  verify(0, 0); // the effects' first runs, from construction
  let n = 0;
  // Warm-up and calibration: double the batch until one batch takes a
  // reasonable slice of the warm-up time, and keep going for warmupMs.
  let size = 1;
  let rate = 0; // ops per ms
  const start = now();
  for (;;) {
    w.reset();
    const t0 = now();
    for (let i = 0; i < size; i++) w.step(n + i);
    const dt = now() - t0;
    verify(n, n + size);
    n += size;
    if (dt > 0) rate = size / dt;
    if (now() - start >= cfg.warmupMs && dt >= 2) break;
    if (dt < cfg.warmupMs / 4) size *= 2;
  }
  const ops = Math.max(1, Math.round(rate * cfg.roundMs));
  const samples = [];
  // No forced GC between rounds: garbage an update leaves behind is part of its
  // cost, and a full collection every round perturbs some libraries' steady state.
  for (let r = 0; r < cfg.rounds; r++) {
    w.reset();
    const t0 = now();
    for (let i = 0; i < ops; i++) w.step(n + i);
    const dt = now() - t0;
    verify(n, n + ops);
    n += ops;
    samples.push((ops / dt) * 1000);
  }
  w.dispose();
  return { value: median(samples), spread: spread(samples), samples, opsPerRound: ops, warnings: [...warnings] };
}

const N = 1000;

// 1. Deep chain: x -> c1 = x + 1 -> c2 = c1 + 1 ... -> c1000, one effect on c1000.
function deepChain(lib) {
  const x = lib.signal(-1);
  let prev = x;
  for (let i = 0; i < N; i++) {
    const p = prev;
    prev = lib.computed(() => p.get() + 1);
  }
  const last = prev;
  let seen;
  let runs = 0;
  const dispose = lib.effect(() => {
    seen = last.get();
    runs++;
  });
  return {
    step(n) {
      x.set(n);
    },
    reset() {
      runs = 0;
    },
    check(n0, n1) {
      const expected = (n1 === 0 ? -1 : n1 - 1) + N;
      if (seen !== expected) fail(`deep chain: effect saw ${seen}, expected ${expected}`);
      if (n1 === 0) {
        if (runs !== 1) fail(`deep chain: effect ran ${runs} times on creation, expected 1`);
        return [];
      }
      return checkRuns('deep chain', runs, n1 - n0);
    },
    dispose,
  };
}

// 2. Broad fan-out: x -> c_i = x + i (i < 1000), one effect per c_i.
function fanOut(lib) {
  const x = lib.signal(-1);
  const seen = new Array(N).fill(undefined);
  let runs = 0;
  const disposers = [];
  for (let i = 0; i < N; i++) {
    const c = lib.computed(() => x.get() + i);
    disposers.push(
      lib.effect(() => {
        seen[i] = c.get();
        runs++;
      }),
    );
  }
  return {
    step(n) {
      x.set(n);
    },
    reset() {
      runs = 0;
    },
    check(n0, n1) {
      const xv = n1 === 0 ? -1 : n1 - 1;
      for (let i = 0; i < N; i++) {
        if (seen[i] !== xv + i) fail(`fan-out: effect ${i} saw ${seen[i]}, expected ${xv + i}`);
      }
      if (n1 === 0) {
        if (runs !== N) fail(`fan-out: effects ran ${runs} times on creation, expected ${N}`);
        return [];
      }
      return checkRuns('fan-out', runs, N * (n1 - n0));
    },
    dispose() {
      for (const d of disposers) d();
    },
  };
}

// 3. Diamond: x -> c_i = x + i (i < 1000) -> sum of all c_i, one effect on the sum.
function diamond(lib) {
  const x = lib.signal(-1);
  const cs = [];
  for (let i = 0; i < N; i++) cs.push(lib.computed(() => x.get() + i));
  const sum = lib.computed(() => {
    let s = 0;
    for (let i = 0; i < cs.length; i++) s += cs[i].get();
    return s;
  });
  let seen;
  let runs = 0;
  const dispose = lib.effect(() => {
    seen = sum.get();
    runs++;
  });
  const base = (N * (N - 1)) / 2;
  return {
    step(n) {
      x.set(n);
    },
    reset() {
      runs = 0;
    },
    check(n0, n1) {
      const xv = n1 === 0 ? -1 : n1 - 1;
      const expected = N * xv + base;
      if (seen !== expected) fail(`diamond: effect saw ${seen}, expected ${expected}`);
      if (n1 === 0) {
        if (runs !== 1) fail(`diamond: effect ran ${runs} times on creation, expected 1`);
        return [];
      }
      return checkRuns('diamond', runs, n1 - n0);
    },
    dispose,
  };
}

// 4. Dynamic dependencies: 100 inputs a_0..a_99, a switch s, 100 computeds each
// with an effect. Computed j reads s and then 10 inputs from one half, chosen by
// the parity of s: a[h*50 + (j+k) % 50] for k < 10, h = s & 1. So flipping s
// replaces every computed's whole dependency set. Even steps flip s; odd steps
// set one input (cycling through all 100, so half the time an input no computed
// currently reads). The expected effect runs and values are replayed in plain JS.
const DYN_INPUTS = 100;
const DYN_CELLS = 100;
const DYN_READS = 10;
const HALF = DYN_INPUTS / 2;

function dynStep(n) {
  // returns -1 for "flip the switch", else the index of the input to set
  return n % 2 === 0 ? -1 : (((n - 1) / 2) * 37) % DYN_INPUTS;
}

function dynValue(sw, vals, j) {
  const base = (sw & 1) * HALF;
  let sum = 0;
  for (let k = 0; k < DYN_READS; k++) sum += vals[base + ((j + k) % HALF)];
  return sum;
}

function dynamic(lib) {
  const sw = lib.signal(0);
  const as = [];
  for (let i = 0; i < DYN_INPUTS; i++) as.push(lib.signal(i * 1000));
  const seen = new Array(DYN_CELLS).fill(undefined);
  let runs = 0;
  const disposers = [];
  for (let j = 0; j < DYN_CELLS; j++) {
    const c = lib.computed(() => {
      const base = (sw.get() & 1) * HALF;
      let sum = 0;
      for (let k = 0; k < DYN_READS; k++) sum += as[base + ((j + k) % HALF)].get();
      return sum;
    });
    disposers.push(
      lib.effect(() => {
        seen[j] = c.get();
        runs++;
      }),
    );
  }
  // Plain-JS model of the same state, advanced after each round.
  let mSw = 0;
  const mVals = [];
  for (let i = 0; i < DYN_INPUTS; i++) mVals.push(i * 1000);
  const mCells = [];
  for (let j = 0; j < DYN_CELLS; j++) mCells.push(dynValue(mSw, mVals, j));
  let swVal = 0; // the switch's current value, kept outside the library
  return {
    step(n) {
      const idx = n % 2 === 0 ? -1 : (((n - 1) / 2) * 37) % DYN_INPUTS;
      if (idx < 0) sw.set(++swVal);
      else as[idx].set(n * 1000 + idx);
    },
    reset() {
      runs = 0;
    },
    check(n0, n1) {
      let expectedRuns = 0;
      for (let n = n0; n < n1; n++) {
        const idx = dynStep(n);
        if (idx < 0) mSw++;
        else mVals[idx] = n * 1000 + idx;
        for (let j = 0; j < DYN_CELLS; j++) {
          const v = dynValue(mSw, mVals, j);
          if (v !== mCells[j]) {
            mCells[j] = v;
            expectedRuns++;
          }
        }
      }
      for (let j = 0; j < DYN_CELLS; j++) {
        if (seen[j] !== mCells[j]) fail(`dynamic: effect ${j} saw ${seen[j]}, expected ${mCells[j]}`);
      }
      if (n1 === 0) {
        if (runs !== DYN_CELLS) fail(`dynamic: effects ran ${runs} times on creation, expected ${DYN_CELLS}`);
        return [];
      }
      return checkRuns('dynamic', runs, expectedRuns);
    },
    dispose() {
      for (const d of disposers) d();
    },
  };
}

function checkRuns(label, runs, expected) {
  if (runs < expected) fail(`${label}: effects ran ${runs} times, at least ${expected} required`);
  if (runs > expected) {
    return [`${label}: effects ran more often than a glitch-free library needs (${runs} vs ${expected} in one round)`];
  }
  return [];
}

// ---------------------------------------------------------------------------
// 5. Memo family over 10,000 arguments. f(i) = i * 2 + shared, where shared is
// an input read inside f so the family can be invalidated. Per round, with a
// fresh input and a fresh family:
//   (a) first: create the family and call f(i) for all i   (10k misses)
//   (b) hit:   call f(i) again for all i                    (10k hits)
//   (c) recompute: set the shared input, call f(i) for all i (10k recomputes;
//       the set is inside the timed region, since eager libraries pay for the
//       invalidation there)
// (b) and (c) are repeated cfg.memoPasses times back to back within the round
// and timed together, since one pass takes well under a millisecond; the sample
// is the time per pass. Figures are milliseconds per 10,000 calls (median of
// the rounds).
// ---------------------------------------------------------------------------

const KEYS = 10000;

function runMemo(lib, cfg) {
  if (typeof lib.memoFamily !== 'function') fail('adapter has no memoFamily');
  const passes = cfg.memoPasses;
  const first = [];
  const hit = [];
  const recompute = [];
  const warnings = new Set();
  const base = KEYS * (KEYS - 1); // sum of i * 2
  const total = cfg.memoWarmupRounds + cfg.memoRounds;
  // No forced GC between rounds: the previous round's family becomes garbage that
  // V8 collects as it would in an application. (A forced full GC every round made
  // V8 shrink its young generation, which slowed the allocating phases and made
  // the figures swing between processes.)
  for (let r = 0; r < total; r++) {
    const shared = lib.signal(1);
    let calls = 0;
    const fn = (i) => {
      calls++;
      return i * 2 + shared.get();
    };

    // (a) first calls
    let acc = 0;
    let t0 = now();
    const f = lib.memoFamily(fn);
    for (let i = 0; i < KEYS; i++) acc += f(i);
    const tFirst = now() - t0;
    if (acc !== base + KEYS) fail(`memo first: sum ${acc}, expected ${base + KEYS}`);
    if (calls < KEYS) fail(`memo first: function ran ${calls} times for ${KEYS} new keys`);
    if (calls > KEYS) warnings.add(`memo first: function ran ${calls} times for ${KEYS} new keys`);

    // (b) hits
    calls = 0;
    const hitSums = new Array(passes);
    t0 = now();
    for (let p = 0; p < passes; p++) {
      acc = 0;
      for (let i = 0; i < KEYS; i++) acc += f(i);
      hitSums[p] = acc;
    }
    const tHit = (now() - t0) / passes;
    for (const sum of hitSums) if (sum !== base + KEYS) fail(`memo hit: sum ${sum}, expected ${base + KEYS}`);
    if (calls > 0) fail(`memo hit: function ran ${calls} times on ${passes * KEYS} repeated calls (not memoised)`);

    // (c) invalidate + recompute
    calls = 0;
    const reSums = new Array(passes);
    t0 = now();
    for (let p = 0; p < passes; p++) {
      shared.set(p + 2);
      acc = 0;
      for (let i = 0; i < KEYS; i++) acc += f(i);
      reSums[p] = acc;
    }
    const tRe = (now() - t0) / passes;
    for (let p = 0; p < passes; p++) {
      const expected = base + (p + 2) * KEYS;
      if (reSums[p] !== expected) fail(`memo recompute: sum ${reSums[p]} after set(${p + 2}), expected ${expected}`);
    }
    const needed = passes * KEYS;
    if (calls < needed) fail(`memo recompute: function ran ${calls} times for ${needed} invalidated calls`);
    if (calls > needed) warnings.add(`memo recompute: function ran ${calls} times for ${needed} invalidated calls`);
    // per-key check, untimed
    const last = passes + 1;
    for (let i = 0; i < KEYS; i++) {
      const v = f(i);
      if (v !== i * 2 + last) fail(`memo recompute: f(${i}) = ${v}, expected ${i * 2 + last}`);
    }

    if (r >= cfg.memoWarmupRounds) {
      first.push(tFirst);
      hit.push(tHit);
      recompute.push(tRe);
    }
  }
  const w = [...warnings];
  const fig = (samples) => ({ value: median(samples), spread: spread(samples), samples, warnings: w });
  return { 'memo-first': fig(first), 'memo-hit': fig(hit), 'memo-recompute': fig(recompute) };
}

// ---------------------------------------------------------------------------
// Conformance: the semantics the workloads rely on. Run before the workloads;
// if it fails, the library gets no figures at all.
// ---------------------------------------------------------------------------

export function conformance(lib) {
  const a = lib.signal(1);
  const b = lib.signal(2);
  const sum = lib.computed(() => a.get() + b.get());
  if (sum.get() !== 3) fail(`conformance: computed read ${sum.get()}, expected 3`);
  let seen;
  let runs = 0;
  const dispose = lib.effect(() => {
    seen = sum.get();
    runs++;
  });
  if (runs !== 1 || seen !== 3) fail(`conformance: effect did not run on creation (runs ${runs}, saw ${seen})`);
  a.set(10);
  if (runs !== 2 || seen !== 12) fail(`conformance: effect did not run synchronously on set (runs ${runs}, saw ${seen})`);
  lib.batch(() => {
    a.set(20);
    b.set(30);
  });
  if (runs !== 3 || seen !== 50) fail(`conformance: batch of two sets gave runs ${runs - 2} (expected 1), saw ${seen} (expected 50)`);
  dispose();
  a.set(0);
  if (runs !== 3) fail('conformance: effect ran after dispose');
  if (sum.get() !== 30) fail(`conformance: computed read ${sum.get()} after dispose, expected 30`);
}

// ---------------------------------------------------------------------------

export const workloads = [
  {
    id: 'deep-chain',
    run: (lib, cfg) => ({ 'deep-chain': runUpdates(lib, deepChain, cfg) }),
  },
  {
    id: 'fan-out',
    run: (lib, cfg) => ({ 'fan-out': runUpdates(lib, fanOut, cfg) }),
  },
  {
    id: 'diamond',
    run: (lib, cfg) => ({ diamond: runUpdates(lib, diamond, cfg) }),
  },
  {
    id: 'dynamic',
    run: (lib, cfg) => ({ dynamic: runUpdates(lib, dynamic, cfg) }),
  },
  {
    id: 'memo',
    run: (lib, cfg) => runMemo(lib, cfg),
  },
];

// The figures, in display order.
export const metrics = [
  { id: 'deep-chain', workload: 'deep-chain', label: 'deep chain (1,000 computeds, 1 effect)', unit: 'updates/s', better: 'higher' },
  { id: 'fan-out', workload: 'fan-out', label: 'broad fan-out (1,000 computeds, 1,000 effects)', unit: 'updates/s', better: 'higher' },
  { id: 'diamond', workload: 'diamond', label: 'diamond (1,000 computeds -> sum, 1 effect)', unit: 'updates/s', better: 'higher' },
  { id: 'dynamic', workload: 'dynamic', label: 'dynamic deps (100 inputs, 100 computeds + effects)', unit: 'updates/s', better: 'higher' },
  { id: 'memo-first', workload: 'memo', label: 'memo family: 10k first calls', unit: 'ms / 10k', better: 'lower' },
  { id: 'memo-hit', workload: 'memo', label: 'memo family: 10k hits', unit: 'ms / 10k', better: 'lower' },
  { id: 'memo-recompute', workload: 'memo', label: 'memo family: set input + 10k recomputes', unit: 'ms / 10k', better: 'lower' },
];

// Graph builders of the update workloads, for experiments outside the runner.
export const _makers = { 'deep-chain': deepChain, 'fan-out': fanOut, diamond, dynamic };
