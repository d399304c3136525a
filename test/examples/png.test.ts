import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng } from '../../examples/mandelbrot/png.mjs';
import { decodePng, pixelAt } from './png-file.js';

describe('the demo PNG encoder', () => {
  it('computes CRC-32 as PNG and zlib define it', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926); // the standard check value
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082); // every PNG ends with this CRC
    expect(crc32(Buffer.alloc(0))).toBe(0);
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff));
    expect(crc32(bytes)).toBe(bitwiseCrc32(bytes));
    // zlib.crc32 exists from Node 20.15 on: a second opinion where it is available.
    const zlibCrc = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
    if (zlibCrc) expect(crc32(bytes)).toBe(zlibCrc(bytes));
  });

  it('round-trips an RGB image through zlib inflate, with correct chunk CRCs', () => {
    const width = 7;
    const height = 5;
    const rgb = Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + 11) & 0xff));
    const file = encodePng(width, height, rgb);
    const png = decodePng(file); // checks signature and every CRC
    expect(png).toMatchObject({ width, height, bitDepth: 8, colourType: 2, chunks: ['IHDR', 'IDAT', 'IEND'] });
    expect(png.raw.length).toBe((width * 3 + 1) * height);
    for (let y = 0; y < height; y++) {
      expect(png.raw[y * (width * 3 + 1)]).toBe(0); // filter None
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        expect(pixelAt(png, x, y)).toEqual([rgb[o], rgb[o + 1], rgb[o + 2]]);
      }
    }
  });

  it('refuses pixel data of the wrong length and sizes that are not positive integers', () => {
    expect(() => encodePng(2, 2, Buffer.alloc(11))).toThrow(/expected 12 bytes of RGB for 2×2, got 11/);
    expect(() => encodePng(0, 2, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => encodePng(1.5, 2, Buffer.alloc(9))).toThrow(RangeError);
  });
});

/** CRC-32 bit by bit, straight from the definition (the encoder uses a table). */
function bitwiseCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
