// Turning palette indices into pictures: RGB for the PNG file, and a small preview in
// the terminal drawn with half blocks (two pixels a character, in 24-bit colour).
import { INSIDE } from './mand.mjs';

// A cyclic gradient through deep blue, white, gold and black.
const STOPS = [
  [0.0, [0, 7, 100]],
  [0.16, [32, 107, 203]],
  [0.42, [237, 255, 255]],
  [0.6425, [255, 170, 0]],
  [0.8575, [0, 2, 0]],
  [1.0, [0, 7, 100]],
];

/** RGB of each palette index, 256 × 3 bytes; INSIDE is black. */
const PALETTE = (() => {
  const p = Buffer.alloc(256 * 3);
  for (let i = 0; i < INSIDE; i++) {
    const t = i / INSIDE;
    const s = STOPS.findIndex(([at]) => at > t);
    const [a, ca] = STOPS[s - 1];
    const [b, cb] = STOPS[s];
    const f = (t - a) / (b - a);
    for (let c = 0; c < 3; c++) p[i * 3 + c] = Math.round(ca[c] + (cb[c] - ca[c]) * f);
  }
  return p;
})();

/**
 * The RGB bytes of a frame made of slices (palette indices, rows in order).
 *
 * @example
 * const rgb = toRgb([sliceA, sliceB]);
 * writeFileSync('m.png', encodePng(width, height, rgb));
 */
export function toRgb(slices) {
  const pixels = slices.reduce((n, s) => n + s.length, 0);
  const rgb = Buffer.allocUnsafe(pixels * 3);
  let o = 0;
  for (const slice of slices) {
    for (let i = 0; i < slice.length; i++) {
      const p = slice[i] * 3;
      rgb[o++] = PALETTE[p];
      rgb[o++] = PALETTE[p + 1];
      rgb[o++] = PALETTE[p + 2];
    }
  }
  return rgb;
}

/**
 * A preview of an RGB image for a 24-bit colour terminal, `columns` characters wide:
 * each character is an upper half block, foreground the upper pixel, background the lower.
 *
 * @example
 * process.stdout.write(terminalPreview(rgb, width, height, 72));
 */
export function terminalPreview(rgb, width, height, columns) {
  const cols = Math.min(columns, width);
  const rows = Math.max(1, Math.round((height / width) * cols / 2));
  const pixel = (x, y) => {
    const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / cols));
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / (rows * 2)));
    const o = (sy * width + sx) * 3;
    return `${rgb[o]};${rgb[o + 1]};${rgb[o + 2]}`;
  };
  let out = '';
  for (let r = 0; r < rows; r++) {
    out += '  ';
    for (let c = 0; c < cols; c++) out += `\x1b[38;2;${pixel(c, 2 * r)}m\x1b[48;2;${pixel(c, 2 * r + 1)}m▀`;
    out += '\x1b[0m\n';
  }
  return out;
}
