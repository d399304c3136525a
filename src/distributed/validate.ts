/** Checks of names and options shared by both stores: bad input is refused before anything is sent. */
import { canonicalKey } from '../reactive/key.js';
import { bytesOver, TooLargeError } from './errors/too-large-error.js';
import type { Args } from './types.js';

/** Default `maxRequestBytes`: 1 MiB of encoded arguments. */
export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;
/** Default `maxResultBytes`: 16 MiB of encoded result. */
export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;

/** Refuses a request whose encoded arguments are over `limit` bytes (`TooLargeError`). */
export function checkRequestSize(service: string, canonical: string, limit: number): void {
  const bytes = bytesOver(canonical, limit);
  if (bytes !== undefined) throw new TooLargeError(service, 'arguments', bytes, limit);
}

/** Whether `service` is a service name: printable, no control characters, at most 200 characters. */
export function isServiceName(service: unknown): service is string {
  return typeof service === 'string' && service.length > 0 && service.length <= 200 && !/[\u0000-\u001f\u007f]/.test(service);
}

/** Service names: printable, no control characters, at most 200 characters. */
export function checkService(service: unknown): string {
  if (!isServiceName(service)) {
    throw new TypeError(
      `Expected \`service\` to be a non-empty string of at most 200 printable characters, got \`${String(service)}\` (${typeof service})`,
    );
  }
  return service;
}

/** The canonical key of the arguments; refuses arguments that cannot be encoded (TypeError). */
export function keyOfArgs(args: Args): string {
  if (!Array.isArray(args)) {
    throw new TypeError(`Expected \`args\` to be an array of arguments, got \`${String(args)}\` (${typeof args})`);
  }
  return canonicalKey(args);
}

export function checkPositiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`Expected \`${name}\` to be an integer >= 1, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

export function checkPositiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new TypeError(`Expected \`${name}\` to be a finite number > 0, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

export function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`Expected \`${name}\` to be true or false, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}
