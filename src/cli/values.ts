/**
 * Arguments in, results out: a shell word is JSON when it parses as JSON and a string
 * otherwise; a result is printed as JSON, so a string and a number never look alike.
 */

/**
 * One shell word as a service argument: `12` is a number, `"12"` and `abc` are strings,
 * `[1,2]`, `{"a":1}`, `true` and `null` are what JSON says.
 *
 * @example
 * ```ts
 * ['12', '"12"', 'abc', '[1,2]'].map(parseArgument); // [12, '12', 'abc', [1, 2]]
 * ```
 */
export function parseArgument(word: string): unknown {
  try {
    return JSON.parse(word) as unknown;
  } catch {
    return word;
  }
}

/**
 * A result as printed by `get`: JSON on one line (strings too, quoted), `null` for
 * `undefined`, and byte arrays as `{"base64":"..."}`. With `raw`, strings are printed
 * as they are and byte arrays as the bytes themselves, with nothing added.
 *
 * @example
 * ```ts
 * formatValue('hi', false); // '"hi"\n'
 * formatValue('hi', true);  // 'hi'
 * ```
 */
export function formatValue(value: unknown, raw: boolean): string | Uint8Array {
  if (value instanceof Uint8Array) {
    return raw ? value : `${JSON.stringify({ base64: Buffer.from(value).toString('base64') })}\n`;
  }
  if (raw && typeof value === 'string') return value;
  return `${JSON.stringify(value) ?? 'null'}\n`;
}
