/**
 * Reads a PNG file the way a viewer would, for the tests: checks the signature and every
 * chunk's CRC, and inflates the image data.
 */
import { inflateSync } from 'node:zlib';
import { crc32 } from '../../examples/mandelbrot/png.mjs';

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colourType: number;
  /** Chunk types in file order. */
  readonly chunks: string[];
  /** The inflated image data: each row is a filter byte and then its pixels. */
  readonly raw: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes a PNG's structure; throws naming what is wrong.
 *
 * @example
 * const png = decodePng(readFileSync('mandelbrot.png'));
 * expect([png.width, png.height]).toEqual([240, 160]);
 */
export function decodePng(file: Buffer): DecodedPng {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG: wrong signature');
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let header: Buffer | undefined;
  for (let pos = 8; pos < file.length; ) {
    const length = file.readUInt32BE(pos);
    const type = file.toString('latin1', pos + 4, pos + 8);
    const data = file.subarray(pos + 8, pos + 8 + length);
    const crc = file.readUInt32BE(pos + 8 + length);
    if (crc !== crc32(file.subarray(pos + 4, pos + 8 + length))) throw new Error(`bad CRC in chunk ${type}`);
    chunks.push(type);
    if (type === 'IHDR') header = data;
    if (type === 'IDAT') idat.push(data);
    pos += 12 + length;
  }
  if (header === undefined || chunks[0] !== 'IHDR') throw new Error('no IHDR chunk first');
  if (chunks[chunks.length - 1] !== 'IEND') throw new Error('no IEND chunk last');
  return {
    width: header.readUInt32BE(0),
    height: header.readUInt32BE(4),
    bitDepth: header[8] as number,
    colourType: header[9] as number,
    chunks,
    raw: inflateSync(Buffer.concat(idat)),
  };
}

/** The RGB of pixel (x, y) of an 8-bit RGB image whose rows all use filter 0 (None). */
export function pixelAt(png: DecodedPng, x: number, y: number): [number, number, number] {
  const o = y * (png.width * 3 + 1) + 1 + x * 3;
  return [png.raw[o] as number, png.raw[o + 1] as number, png.raw[o + 2] as number];
}
