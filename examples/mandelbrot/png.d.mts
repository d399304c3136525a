// Types of png.mjs, for the tests (which are TypeScript).
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer;
export function crc32(bytes: Uint8Array): number;
