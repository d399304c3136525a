/**
 * DisTcl's value format, `STATUS:VALUE`, where STATUS is a Tcl return code: 0 ok,
 * 1 error, 2 return, 3 break, 4 continue. Mapping for memocell callers: 0 and 2 give
 * the value (a `return` code ends a Tcl caller's own procedure with the value, the
 * nearest thing to success); 1 is a RemoteError carrying the Tcl message; 3 and 4 are
 * RemoteErrors named TclBreak and TclContinue, since a value cannot break a caller's loop.
 */
import { RemoteError } from '../errors/remote-error.js';
import type { Args } from '../types.js';

const NAMES: Record<string, string> = { '1': 'TclError', '3': 'TclBreak', '4': 'TclContinue' };

export function formatResult(status: 0 | 1, value: string): string {
  return `${status}:${value}`;
}

/** The value of a DisTcl result, or a thrown RemoteError. */
export function parseResult(result: string, service: string, words: Args): string {
  if (result[1] !== ':' || !/^[0-9]$/.test(result[0] ?? '')) {
    throw new RemoteError(service, words, {
      name: 'ProtocolError',
      message: `malformed DisTcl result '${result.slice(0, 80)}': expected STATUS:VALUE`,
      chain: [],
    });
  }
  const status = result[0] as string;
  const value = result.slice(2);
  if (status === '0' || status === '2') return value;
  throw new RemoteError(service, words, {
    name: NAMES[status] ?? `TclCode${status}`,
    message: value,
    chain: [],
  });
}
