// Runs every workload for ONE library, in its own process:
//   node --expose-gc bench/reactive/worker.mjs <library> [--quick]
// <library> is the name of a file in ./adapters (memocell, alien-signals, preact, mobx).
// Progress goes to stderr; the result is one line on stdout: "@@RESULT <json>".
import { workloads, conformance, BenchError } from './workloads.mjs';

const RESULT = '@@RESULT ';
const args = process.argv.slice(2);
const library = args.find((a) => !a.startsWith('--'));
const quick = args.includes('--quick');
// --only=id1,id2 runs a subset of the workloads (deep-chain, fan-out, diamond, dynamic, memo)
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? onlyArg.slice('--only='.length).split(',') : null;

const cfg = quick
  ? { warmupMs: 50, roundMs: 25, rounds: 3, memoWarmupRounds: 2, memoRounds: 3, memoPasses: 2 }
  : { warmupMs: 500, roundMs: 100, rounds: 7, memoWarmupRounds: 10, memoRounds: 21, memoPasses: 5 };

function emit(result) {
  process.stdout.write(RESULT + JSON.stringify(result) + '\n');
}

function describe(err) {
  if (err instanceof BenchError) return err.message;
  if (err instanceof RangeError) return `${err.name}: ${err.message}`;
  const text = err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : String(err);
  return text;
}

if (!library) {
  console.error('usage: node --expose-gc bench/reactive/worker.mjs <library> [--quick]');
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  console.error('worker: run with --expose-gc');
  process.exit(2);
}

let lib;
try {
  lib = (await import(`./adapters/${library}.mjs`)).default;
} catch (err) {
  emit({ library, error: `failed to load: ${String(err?.message ?? err).split('\n')[0]}` });
  process.exit(0);
}

const result = {
  library,
  name: lib.name,
  pkg: lib.pkg,
  version: lib.version,
  memoFamilyNative: !!lib.memoFamilyNative,
  config: cfg,
  metrics: {},
};

try {
  conformance(lib);
} catch (err) {
  result.error = `conformance check failed: ${describe(err)}`;
  emit(result);
  process.exit(0);
}

const started = performance.now();
for (const w of workloads) {
  if (only && !only.includes(w.id)) continue;
  globalThis.gc();
  const t0 = performance.now();
  try {
    const figures = w.run(lib, cfg);
    Object.assign(result.metrics, figures);
    const summary = Object.entries(figures)
      .map(([id, f]) => `${id} ${f.value.toPrecision(4)}`)
      .join(', ');
    console.error(`[${library}] ${summary} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    const message = describe(err);
    result.metrics[w.id] = { error: message };
    console.error(`[${library}] ${w.id} FAILED: ${message}`);
  }
}
result.seconds = (performance.now() - started) / 1000;
emit(result);
