/**
 * The exit codes of the `memocell` command, and the error that carries one. Every
 * failure a command can foresee is a `CliError`; `exitCodeOf` maps the library's own
 * errors (RemoteError, TimeoutError, ...) onto the same codes.
 */
import { RemoteError } from '../distributed/errors/remote-error.js';
import { TimeoutError } from '../distributed/errors/timeout-error.js';

export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** The remote computation failed (a RemoteError), or something unexpected went wrong. */
  Failed: 1,
  /** Unknown command or option, missing or malformed argument. */
  Usage: 2,
  /** Redis could not be reached (or refused the credentials). */
  RedisUnreachable: 3,
  /** No such service (or no server is serving it), or no such server id. */
  Unknown: 4,
  /** No result within the deadline (a TimeoutError). */
  Timeout: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table printed by `--help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  the remote computation failed (or an unexpected error)
  2  usage error: unknown command or option, bad argument
  3  Redis unreachable
  4  unknown service (or no server serving it), unknown server id
  5  timeout: no result within --timeout`;

/**
 * A failure the command foresaw, with the exit code it means. The message is shown as
 * is, after `memocell: `.
 *
 * @example
 * ```ts
 * throw new CliError(ExitCode.Usage, "--concurrency expects an integer >= 1, got 'x'");
 * ```
 */
export class CliError extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Messages of ioredis errors that mean the connection to Redis is gone. */
const CONNECTION_LOST = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable/;

/**
 * The exit code an error means.
 *
 * @example
 * ```ts
 * exitCodeOf(new TimeoutError('square', [1], 100)); // 5
 * ```
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.code;
  if (error instanceof RemoteError) return ExitCode.Failed;
  if (error instanceof TimeoutError) return ExitCode.Timeout;
  // The library refuses bad names and arguments with a TypeError before sending anything.
  if (error instanceof TypeError) return ExitCode.Usage;
  if (error instanceof Error && CONNECTION_LOST.test(error.message)) return ExitCode.RedisUnreachable;
  return ExitCode.Failed;
}
