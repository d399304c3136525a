/**
 * Random graphs of async cells for the model-based test: each cell reads inputs and
 * earlier async cells, with awaits (released by a fast-check scheduler) between reads.
 */
import fc from 'fast-check';
import { mod, valOf, type Val } from './graph.js';

export const A_INPUTS = 2;
export const A_CELLS = 4;

export type ASource = { readonly t: 'in'; readonly i: number } | { readonly t: 'cell'; readonly i: number };
export type AStep = { readonly t: 'read'; readonly src: ASource } | { readonly t: 'await' };

export interface ACellSpec {
  readonly steps: readonly AStep[];
  /** Reduce the sum `mod k` (equal settled values from different inputs). */
  readonly modK: number | undefined;
  /** Throw `a<i>: boom <v>` when the result `mod 5` is this. */
  readonly boom: number | undefined;
}

export interface AGraph {
  readonly init: readonly number[];
  readonly cells: readonly ACellSpec[];
}

const showSource = (s: ASource): string => (s.t === 'in' ? `in${s.i}` : `await a${s.i}`);

export function showACell(spec: ACellSpec): string {
  const body = spec.steps.map((s) => (s.t === 'await' ? 'tick' : showSource(s.src))).join(', ');
  let text = `sum(${body})`;
  if (spec.modK !== undefined) text = `${text} mod ${spec.modK}`;
  if (spec.boom !== undefined) text = `boomIf(${text} mod 5 == ${spec.boom})`;
  return text;
}

export function showAGraph(g: AGraph): string {
  return `{ ${[g.init.map((v, i) => `in${i} = ${v}`).join(', '), ...g.cells.map((c, i) => `a${i} = ${showACell(c)}`)].join('; ')} }`;
}

/** The result of a cell's formula, given its sources' values (which may throw). */
export function finish(spec: ACellSpec, total: number, owner: string): number {
  const v = spec.modK === undefined ? total : mod(total, spec.modK);
  if (spec.boom !== undefined && mod(v, 5) === spec.boom) throw new Error(`${owner}: boom ${v}`);
  return v;
}

/** Every async cell's value for these inputs, from scratch. */
export function naiveAsync(g: AGraph, inputs: readonly number[]): Val[] {
  const vals: Val[] = [];
  g.cells.forEach((spec, i) => {
    vals.push(
      valOf(() => {
        let total = 0;
        for (const step of spec.steps) {
          if (step.t === 'await') continue;
          if (step.src.t === 'in') total += inputs[step.src.i] as number;
          else {
            const v = vals[step.src.i] as Val;
            if (!v.ok) throw new Error(v.msg);
            total += v.v;
          }
        }
        return finish(spec, total, `a${i}`);
      }),
    );
  });
  return vals;
}

function stepArb(cells: number): fc.Arbitrary<AStep> {
  const sources: fc.Arbitrary<ASource>[] = [fc.nat({ max: A_INPUTS - 1 }).map((i): ASource => ({ t: 'in', i }))];
  if (cells > 0) sources.push(fc.nat({ max: cells - 1 }).map((i): ASource => ({ t: 'cell', i })));
  return fc.oneof(
    { arbitrary: fc.oneof(...sources).map((src): AStep => ({ t: 'read', src })), weight: 3 },
    { arbitrary: fc.constant<AStep>({ t: 'await' }), weight: 2 },
  );
}

export const aGraphArb: fc.Arbitrary<AGraph> = fc
  .record({
    init: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: A_INPUTS, maxLength: A_INPUTS }),
    cells: fc.tuple(
      ...Array.from({ length: A_CELLS }, (_, i) =>
        fc.record({
          steps: fc.array(stepArb(i), { minLength: 1, maxLength: 5 }),
          modK: fc.option(fc.integer({ min: 2, max: 3 }), { nil: undefined }),
          boom: fc.option(fc.nat({ max: 4 }), { nil: undefined, freq: 3 }),
        }),
      ),
    ),
  })
  .map((g): AGraph => {
    const graph: AGraph = { init: g.init, cells: g.cells };
    Object.defineProperty(graph, fc.toStringMethod, { value: () => showAGraph(graph) });
    return graph;
  });
