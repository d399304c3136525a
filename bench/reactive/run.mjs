// Reactive benchmark: memocell beside alien-signals, @preact/signals-core and mobx.
//
//   npm run bench:reactive              (builds, then runs this)
//   node bench/reactive/run.mjs [libraries...] [--quick]
//
// Each library runs in its own child process (node --expose-gc worker.mjs <lib>),
// one after another, so no library's JIT state or garbage affects another's.
// Prints a table of every figure with its ratio to the fastest library, checks
// memocell against the project's target, writes bench/reactive/results.json and
// prints a Markdown version for BENCHMARKS.md.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { metrics, median, spread } from './workloads.mjs';

const ALL = ['memocell', 'alien-signals', 'preact', 'mobx'];
const TARGET = { reference: 'alien-signals', within: 1.25, ahead: ['preact', 'mobx'] };
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;

const workerPath = fileURLToPath(new URL('./worker.mjs', import.meta.url));
const resultsPath = fileURLToPath(new URL('./results.json', import.meta.url));

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
// --repeat=K: run the whole set of libraries K times, alternating the order, and
// take the median of the K figures (evens out load that drifts during a run).
const repeatArg = argv.find((a) => a.startsWith('--repeat='));
const repeat = repeatArg ? Number(repeatArg.slice('--repeat='.length)) : 1;
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error('--repeat needs a whole number >= 1');
  process.exit(2);
}
// --only=workload,... passes through to the workers (deep-chain, fan-out, diamond, dynamic, memo)
const onlyArg = argv.find((a) => a.startsWith('--only='));
const unknown = argv.filter((a) => a.startsWith('--') && a !== '--quick' && a !== repeatArg && a !== onlyArg);
if (unknown.length) {
  console.error(`unknown option(s): ${unknown.join(' ')}`);
  process.exit(2);
}
const libraries = argv.filter((a) => !a.startsWith('--'));
for (const l of libraries) {
  if (!ALL.includes(l)) {
    console.error(`unknown library "${l}"; choose from ${ALL.join(', ')}`);
    process.exit(2);
  }
}
const selected = libraries.length ? libraries : ALL;

// mobx picks its development or production build from NODE_ENV; benchmark the
// production build unless the caller set NODE_ENV explicitly.
const childEnv = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' };

function runWorker(library) {
  return new Promise((resolve) => {
    const args = ['--expose-gc', workerPath, library];
    if (quick) args.push('--quick');
    if (onlyArg) args.push(onlyArg);
    const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      process.stderr.write(d);
      stderrTail = (stderrTail + d).slice(-2000);
    });
    const timer = setTimeout(() => {
      console.error(`[${library}] timed out after ${CHILD_TIMEOUT_MS / 1000} s, killing pid ${child.pid}`);
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('@@RESULT '));
      if (line) {
        try {
          resolve(JSON.parse(line.slice('@@RESULT '.length)));
          return;
        } catch (err) {
          resolve({ library, error: `unreadable result: ${err.message}` });
          return;
        }
      }
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
      resolve({ library, error: `worker ${why} without a result${tail ? `: ${tail}` : ''}` });
    });
  });
}

const startedAt = new Date();
const t0 = performance.now();
const passes = new Map(selected.map((l) => [l, []]));
for (let p = 0; p < repeat; p++) {
  const order = p % 2 === 0 ? selected : [...selected].reverse();
  for (const library of order) {
    console.error(`-- ${library}${repeat > 1 ? ` (pass ${p + 1} of ${repeat})` : ''}`);
    const r = await runWorker(library);
    if (r.error) console.error(`[${library}] ERROR: ${r.error}`);
    passes.get(library).push(r);
  }
}
const results = selected.map((l) => merge(passes.get(l)));

// One result per library from its passes: each figure is the median of the
// passes' figures; any error in any pass wins.
function merge(rs) {
  if (rs.length === 1) return rs[0];
  const failed = rs.find((r) => r.error);
  if (failed) return failed;
  const out = { ...rs[0], passes: rs.length, seconds: rs.reduce((a, r) => a + (r.seconds ?? 0), 0), metrics: {} };
  for (const id of Object.keys(rs[0].metrics)) {
    const fs = rs.map((r) => r.metrics[id]);
    const bad = fs.find((f) => !f || f.error);
    if (bad) {
      out.metrics[id] = bad ?? { error: 'missing in a pass' };
      continue;
    }
    const values = fs.map((f) => f.value);
    out.metrics[id] = {
      value: median(values),
      spread: spread(values),
      passValues: values,
      samples: fs.flatMap((f) => f.samples),
      warnings: [...new Set(fs.flatMap((f) => f.warnings ?? []))],
    };
  }
  return out;
}
const totalSeconds = (performance.now() - t0) / 1000;

// ---------------------------------------------------------------------------
// Ratios: for each figure, ratio = how many times slower than the fastest
// library (1.00 = fastest), whether the figure is a rate or a time.
// ---------------------------------------------------------------------------

function figure(r, m) {
  if (r.error) return { error: r.error };
  return r.metrics?.[m.id] ?? r.metrics?.[m.workload] ?? { error: 'no result' };
}

const onlyIds = onlyArg ? onlyArg.slice('--only='.length).split(',') : null;
const shown = onlyIds ? metrics.filter((m) => onlyIds.includes(m.workload)) : metrics;
const table = shown.map((m) => {
  const cells = {};
  for (const r of results) cells[r.library] = { ...figure(r, m) };
  const ok = Object.values(cells).filter((c) => typeof c.value === 'number');
  const best = ok.length
    ? m.better === 'higher'
      ? Math.max(...ok.map((c) => c.value))
      : Math.min(...ok.map((c) => c.value))
    : undefined;
  for (const c of ok) c.ratio = m.better === 'higher' ? best / c.value : c.value / best;
  return { ...m, cells };
});

// slowdown of a relative to b for metric m (>1 means a is slower)
function slowdown(m, a, b) {
  return m.better === 'higher' ? b / a : a / b;
}

let target;
if (selected.includes('memocell')) {
  target = { ...TARGET, rows: [], pass: true };
  for (const row of table) {
    const mine = row.cells.memocell;
    const check = { metric: row.id };
    if (typeof mine?.value !== 'number') {
      check.pass = false;
      check.note = 'memocell has no figure';
    } else {
      const ref = row.cells[TARGET.reference];
      check.vsReference = typeof ref?.value === 'number' ? slowdown(row, mine.value, ref.value) : null;
      check.vsPeers = {};
      let pass = check.vsReference === null || check.vsReference <= TARGET.within;
      for (const p of TARGET.ahead) {
        const c = row.cells[p];
        if (typeof c?.value !== 'number') continue;
        const s = slowdown(row, mine.value, c.value);
        check.vsPeers[p] = s;
        if (!(s < 1)) pass = false;
      }
      check.pass = pass;
    }
    if (!check.pass) target.pass = false;
    target.rows.push(check);
  }
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

function fmtValue(v, unit) {
  if (unit.startsWith('ms')) return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

function fmtCell(c, unit) {
  if (!c) return '-';
  if (typeof c.value !== 'number') return 'error';
  const warn = c.warnings?.length ? ' !' : '';
  return `${fmtValue(c.value, unit)} (${c.ratio.toFixed(2)}x)${warn}`;
}

const cpus = os.cpus();
const meta = {
  date: startedAt.toISOString(),
  node: process.version,
  v8: process.versions.v8,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  cpu: cpus[0]?.model?.trim() ?? 'unknown',
  cores: cpus.length,
  memoryGB: Math.round(os.totalmem() / 2 ** 30),
  nodeEnv: childEnv.NODE_ENV,
  quick,
  repeat,
  only: onlyArg ? onlyArg.slice('--only='.length) : null,
  totalSeconds,
};
const libLabel = (r) => (r.version ? `${r.library} ${r.version}` : r.library);

// Plain-text table
const headers = ['workload', 'unit', ...results.map(libLabel)];
const rows = table.map((row) => [row.label, row.unit, ...results.map((r) => fmtCell(row.cells[r.library], row.unit))]);
const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cols) => cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log('');
console.log(`Reactive benchmark — ${meta.date}, Node ${meta.node}, ${meta.cpu} (${meta.cores} cores), ${meta.platform}`);
console.log(
  `Figure (ratio to the fastest library for that row; 1.00x = fastest). Median of the rounds` +
    (repeat > 1 ? `, then median of ${repeat} passes.` : '.'),
);
console.log('');
console.log(line(headers));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));

const problems = [];
for (const r of results) {
  if (r.error) problems.push(`${r.library}: ERROR ${r.error}`);
  else {
    for (const [id, f] of Object.entries(r.metrics ?? {})) {
      if (f.error) problems.push(`${r.library}: ${id} ERROR ${f.error}`);
    }
  }
}
const warnings = new Set();
for (const row of table) {
  for (const [lib, c] of Object.entries(row.cells)) for (const w of c.warnings ?? []) warnings.add(`${lib}: ${w}`);
}
const NOISY = 0.15;
const noisy = [];
for (const row of table) {
  for (const [lib, c] of Object.entries(row.cells)) {
    if (typeof c.spread === 'number' && c.spread > NOISY) noisy.push(`${lib} ${row.id} ${Math.round(c.spread * 100)}%`);
  }
}
if (problems.length || warnings.size || noisy.length) {
  console.log('');
  for (const p of problems) console.log(p);
  for (const w of warnings) console.log(`warning (marked !) ${w}`);
  if (noisy.length) {
    console.log(
      `noisy (spread of the ${repeat > 1 ? 'passes' : 'rounds'}, interquartile range / median, over ${NOISY * 100}%): ${noisy.join(', ')}` +
        (repeat > 1 ? '' : '; consider --repeat=3 on a quiet machine'),
    );
  }
}

if (target) {
  console.log('');
  console.log(
    `Target: memocell within ${TARGET.within}x of ${TARGET.reference} and ahead of ${TARGET.ahead.join(' and ')} on every workload: ${target.pass ? 'PASS' : 'FAIL'}`,
  );
  for (const t of target.rows) {
    const label = metrics.find((m) => m.id === t.metric).label;
    if (t.note) {
      console.log(`  FAIL  ${label}: ${t.note}`);
      continue;
    }
    const parts = [];
    if (t.vsReference !== null) parts.push(`${t.vsReference.toFixed(2)}x of ${TARGET.reference}`);
    for (const [p, s] of Object.entries(t.vsPeers)) parts.push(`${s.toFixed(2)}x of ${p}`);
    console.log(`  ${t.pass ? 'pass' : 'FAIL'}  ${label}: ${parts.join(', ')}  (x = memocell time / peer time)`);
  }
}

// JSON
const json = {
  meta,
  target: target ?? null,
  libraries: results.map((r) => ({
    library: r.library,
    pkg: r.pkg,
    version: r.version,
    memoFamilyNative: r.memoFamilyNative,
    error: r.error,
    seconds: r.seconds,
    config: r.config,
  })),
  metrics: table.map((row) => ({
    id: row.id,
    label: row.label,
    unit: row.unit,
    better: row.better,
    results: row.cells,
  })),
};
writeFileSync(resultsPath, JSON.stringify(json, null, 2) + '\n');

// Markdown
const md = [];
md.push(`### Reactive core (\`npm run bench:reactive\`)`);
md.push('');
md.push(
  `${meta.date.slice(0, 10)} · Node ${meta.node} · ${meta.cpu} (${meta.cores} cores) · ${meta.platform}` +
    (quick ? ' · **quick run**' : '') +
    (repeat > 1 ? ` · median of ${repeat} passes` : ''),
);
md.push('');
md.push(`| Workload | Unit | ${results.map(libLabel).join(' | ')} |`);
md.push(`|---|---|${results.map(() => '---:').join('|')}|`);
for (const row of table) {
  const cells = results.map((r) => {
    const c = row.cells[r.library];
    if (typeof c?.value !== 'number') return 'error';
    const v = `${fmtValue(c.value, row.unit)} (${c.ratio.toFixed(2)}×)`;
    return c.ratio === 1 ? `**${v}**` : v;
  });
  md.push(`| ${row.label} | ${row.unit} | ${cells.join(' | ')} |`);
}
md.push('');
md.push(
  'Each library runs in its own Node process (`--expose-gc`); figures are the median of the timed rounds after a warm-up; ' +
    'the ratio is to the fastest library in the row (1.00× = fastest, bold). ' +
    'Peers without a memo family use a `Map` from the argument to a computed (mobx: `keepAlive` computeds). ' +
    `mobx runs its production build (NODE_ENV=${meta.nodeEnv}).`,
);
md.push('');
md.push('Workloads (one update = set one input and let every affected effect run; each run checks the values the effects saw and the number of effect runs):');
md.push('');
md.push('- **deep chain**: one input, 1,000 computeds each `previous + 1`, one effect on the last.');
md.push('- **broad fan-out**: one input, 1,000 computeds `x + i`, one effect on each.');
md.push('- **diamond**: one input, 1,000 computeds `x + i`, one computed summing them, one effect on the sum.');
md.push(
  '- **dynamic deps**: 100 inputs and a switch; 100 computeds (each with an effect) read the switch and then 10 inputs from the lower or upper half by its parity; updates alternate flipping the switch and setting one input.',
);
md.push(
  '- **memo family**: `f(i) = i * 2 + shared` over 10,000 arguments, fresh input and family per round: (a) create it and make the 10k first calls, (b) call all 10k again, (c) set `shared` and call all 10k again (the set is timed too); (b) and (c) run 5 times back to back per round, figure per pass.',
);
if (target) {
  md.push('');
  md.push(
    `Target — memocell within ${TARGET.within}× of ${TARGET.reference} and ahead of ${TARGET.ahead.join(' and ')} on every workload: **${target.pass ? 'met' : 'not met'}**.`,
  );
}
if (problems.length) {
  md.push('');
  for (const p of problems) md.push(`- ${p}`);
}

console.log('');
console.log('---- Markdown for BENCHMARKS.md ----');
console.log(md.join('\n'));
console.log('---- end ----');
console.log('');
console.log(`Results written to ${resultsPath} (${totalSeconds.toFixed(1)} s in all)`);
