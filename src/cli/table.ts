/** Plain-text tables for listings: a header row, columns padded, numbers right-aligned. */

export type Cell = string | number;

/** Cells right-aligned when the whole column looks like this: numbers, percentages, `-`. */
const NUMERIC = /^(-?\d+(\.\d+)?%?|-)$/;

/**
 * Renders rows under their headers, two spaces between columns.
 *
 * @example
 * ```ts
 * renderTable(['SERVICE', 'HITS'], [['square', 12]]);
 * // 'SERVICE  HITS\nsquare     12\n'
 * ```
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => NUMERIC.test(String(row[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}

/**
 * A duration in ms as a short human figure: `850ms`, `12s`, `5m03s`, `2h07m`, `3d04h`.
 *
 * @example
 * ```ts
 * shortDuration(303_000); // '5m03s'
 * ```
 */
export function shortDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/**
 * A ratio as a percentage with one decimal, or `-` when there is nothing to divide.
 *
 * @example
 * ```ts
 * percent(3, 4); // '75.0%'
 * ```
 */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}
