/**
 * Random acyclic formula graphs for the model-based test of the reactive layer: their
 * shape, their arbitraries, a printer, and one evaluator shared by the model and the
 * system under test (so both read their dependencies in the same order and throw the
 * same messages).
 */
import fc from 'fast-check';

/** Inputs `in0..`, cells `c0..`, memo family `f(0..)`: fixed counts keep commands simple. */
export const INPUTS = 3;
export const CELLS = 6;
export const KEYS = 4;
/** Inputs hold small integers, so `mod`, `even` and `boomIf` conditions hit often. */
export const VALUE_MAX = 9;

export type Ref = { readonly t: 'in'; readonly i: number } | { readonly t: 'cell'; readonly i: number } | { readonly t: 'memo'; readonly k: number };

export type Expr =
  | Ref
  | { readonly t: 'const'; readonly v: number }
  /** `f(of mod KEYS)`: a memo read whose key depends on a value (dynamic dependencies). */
  | { readonly t: 'memoAt'; readonly of: Expr }
  | { readonly t: 'sum'; readonly terms: readonly { readonly neg: boolean; readonly e: Expr }[] }
  /** Collapses values, so recomputations often give an equal value (equality cutoff). */
  | { readonly t: 'mod'; readonly e: Expr; readonly k: number }
  /** Reads `then` or `else` depending on `test`: dependencies change from run to run. */
  | { readonly t: 'cond'; readonly test: Expr; readonly then: Expr; readonly else: Expr }
  /** Throws `<owner>: boom <v>` when `v mod k == r`, else returns `v` (memoised errors). */
  | { readonly t: 'boomIf'; readonly e: Expr; readonly k: number; readonly r: number };

export interface Graph {
  /** The inputs' initial values. */
  readonly init: readonly number[];
  /** `cells[i]` may read inputs, cells `c0..c(i-1)` and any memo key. */
  readonly cells: readonly Expr[];
  /** `memo[k]` may read inputs and memo keys below `k` (recursion within the family). */
  readonly memo: readonly Expr[];
  /** The memo family's `max`: small, so entries are evicted. */
  readonly max: number;
}

export const mod = (x: number, k: number): number => ((x % k) + k) % k;

// ---- printing --------------------------------------------------------------------

export function showRef(ref: Ref): string {
  return ref.t === 'in' ? `in${ref.i}` : ref.t === 'cell' ? `c${ref.i}` : `f(${ref.k})`;
}

export function showExpr(e: Expr): string {
  switch (e.t) {
    case 'in':
    case 'cell':
    case 'memo':
      return showRef(e);
    case 'const':
      return String(e.v);
    case 'memoAt':
      return `f(${showExpr(e.of)} mod ${KEYS})`;
    case 'sum':
      return `(${e.terms.map((term, i) => (i === 0 ? (term.neg ? '-' : '') : term.neg ? ' - ' : ' + ') + showExpr(term.e)).join('')})`;
    case 'mod':
      return `(${showExpr(e.e)} mod ${e.k})`;
    case 'cond':
      return `(${showExpr(e.test)} even ? ${showExpr(e.then)} : ${showExpr(e.else)})`;
    case 'boomIf':
      return `boomIf(${showExpr(e.e)} mod ${e.k} == ${e.r})`;
  }
}

export function showGraph(g: Graph): string {
  const lines = [
    g.init.map((v, i) => `in${i} = ${v}`).join(', '),
    `f max ${g.max}`,
    ...g.memo.map((e, k) => `f(${k}) = ${showExpr(e)}`),
    ...g.cells.map((e, i) => `c${i} = ${showExpr(e)}`),
  ];
  return `{ ${lines.join('; ')} }`;
}

// ---- evaluation ------------------------------------------------------------------

/**
 * Evaluates a formula, reading dependencies through `read` (which throws for a
 * dependency holding an error). `owner` prefixes the message of an error it throws.
 */
export function evaluate(e: Expr, read: (ref: Ref) => number, owner: string): number {
  const go = (x: Expr): number => {
    switch (x.t) {
      case 'in':
      case 'cell':
      case 'memo':
        return read(x);
      case 'const':
        return x.v;
      case 'memoAt':
        return read({ t: 'memo', k: mod(go(x.of), KEYS) });
      case 'sum': {
        let total = 0;
        for (const term of x.terms) total += term.neg ? -go(term.e) : go(term.e);
        return total;
      }
      case 'mod':
        return mod(go(x.e), x.k);
      case 'cond':
        return mod(go(x.test), 2) === 0 ? go(x.then) : go(x.else);
      case 'boomIf': {
        const v = go(x.e);
        if (mod(v, x.k) === x.r) throw new Error(`${owner}: boom ${v}`);
        return v;
      }
    }
  };
  return go(e);
}

/** A node's value as the model sees it: a number, or the message of the error it holds. */
export type Val = { readonly ok: true; readonly v: number } | { readonly ok: false; readonly msg: string };

export const showVal = (v: Val): string => (v.ok ? String(v.v) : `Error(${JSON.stringify(v.msg)})`);
export const sameVal = (a: Val, b: Val): boolean => (a.ok ? b.ok && Object.is(a.v, b.v) : !b.ok && a.msg === b.msg);
/** Equal numbers: the case where equality cutoff promises that nothing downstream runs. */
export const sameOkVal = (a: Val, b: Val): boolean => a.ok && b.ok && Object.is(a.v, b.v);

export function valOf(fn: () => number): Val {
  try {
    return { ok: true, v: fn() };
  } catch (error) {
    return { ok: false, msg: error instanceof Error ? error.message : `non-Error ${String(error)}` };
  }
}

/** Every node's value for these inputs, each formula evaluated from scratch. */
export interface Snapshot {
  readonly inputs: readonly number[];
  readonly cells: readonly Val[];
  readonly memo: readonly Val[];
}

export function naive(g: Graph, inputs: readonly number[]): Snapshot {
  const memo: Val[] = [];
  const cells: Val[] = [];
  const valueOf = (ref: Ref): Val => {
    if (ref.t === 'in') return { ok: true, v: inputs[ref.i] as number };
    if (ref.t === 'cell') return cells[ref.i] as Val;
    return (memo[ref.k] ??= valOf(() => evaluate(g.memo[ref.k] as Expr, read, `f(${ref.k})`)));
  };
  const read = (ref: Ref): number => {
    const v = valueOf(ref);
    if (!v.ok) throw new Error(v.msg);
    return v.v;
  };
  for (let k = 0; k < KEYS; k++) valueOf({ t: 'memo', k });
  g.cells.forEach((e, i) => cells.push(valOf(() => evaluate(e, read, `c${i}`))));
  return { inputs: [...inputs], cells, memo };
}

export function valueIn(s: Snapshot, ref: Ref): Val {
  if (ref.t === 'in') return { ok: true, v: s.inputs[ref.i] as number };
  return (ref.t === 'cell' ? s.cells[ref.i] : s.memo[ref.k]) as Val;
}

// ---- arbitraries -----------------------------------------------------------------

interface Scope {
  /** Cells readable from here: `c0..c(cells-1)`. */
  readonly cells: number;
  /** Memo keys readable from here: `f(0..keys-1)`. */
  readonly keys: number;
  /** May it read `f(x mod KEYS)`? Not inside the family, where that could be a cycle. */
  readonly memoAt: boolean;
}

function refArb(scope: Scope): fc.Arbitrary<Ref> {
  const options: fc.Arbitrary<Ref>[] = [fc.nat({ max: INPUTS - 1 }).map((i): Ref => ({ t: 'in', i }))];
  if (scope.cells > 0) options.push(fc.nat({ max: scope.cells - 1 }).map((i): Ref => ({ t: 'cell', i })));
  if (scope.keys > 0) options.push(fc.nat({ max: scope.keys - 1 }).map((k): Ref => ({ t: 'memo', k })));
  return fc.oneof(...options);
}

function exprArb(scope: Scope, depth: number): fc.Arbitrary<Expr> {
  const leaf = fc.oneof(
    { withCrossShrink: true },
    { arbitrary: refArb(scope), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: VALUE_MAX }).map((v): Expr => ({ t: 'const', v })), weight: 1 },
  );
  if (depth === 0) return leaf;
  const sub = exprArb(scope, depth - 1);
  const options: fc.WeightedArbitrary<Expr>[] = [
    { arbitrary: leaf, weight: 3 },
    {
      arbitrary: fc
        .array(fc.record({ neg: fc.boolean(), e: sub }), { minLength: 1, maxLength: 3 })
        .map((terms): Expr => ({ t: 'sum', terms })),
      weight: 3,
    },
    { arbitrary: fc.record({ e: sub, k: fc.integer({ min: 2, max: 4 }) }).map((r): Expr => ({ t: 'mod', ...r })), weight: 2 },
    { arbitrary: fc.record({ test: sub, then: sub, else: sub }).map((r): Expr => ({ t: 'cond', ...r })), weight: 2 },
    {
      arbitrary: fc
        .record({ e: sub, k: fc.constantFrom(5, 7, 4), r: fc.nat({ max: 3 }) })
        .map((r): Expr => ({ t: 'boomIf', e: r.e, k: r.k, r: r.r })),
      weight: 2,
    },
  ];
  if (scope.memoAt) options.push({ arbitrary: sub.map((of): Expr => ({ t: 'memoAt', of })), weight: 1 });
  return fc.oneof({ withCrossShrink: true }, ...options);
}

export const graphArb: fc.Arbitrary<Graph> = fc
  .record({
    init: fc.array(fc.integer({ min: 0, max: VALUE_MAX }), { minLength: INPUTS, maxLength: INPUTS }),
    max: fc.integer({ min: 1, max: 3 }),
    memo: fc.tuple(...Array.from({ length: KEYS }, (_, k) => exprArb({ cells: 0, keys: k, memoAt: false }, 1))),
    cells: fc.tuple(...Array.from({ length: CELLS }, (_, i) => exprArb({ cells: i, keys: KEYS, memoAt: true }, 2))),
  })
  .map((g): Graph => {
    const graph: Graph = { init: g.init, max: g.max, memo: g.memo, cells: g.cells };
    Object.defineProperty(graph, fc.toStringMethod, { value: () => showGraph(graph) });
    return graph;
  });
