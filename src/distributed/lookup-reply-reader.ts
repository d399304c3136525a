/**
 * Reads the replies a lookup connection can get (RESP2): bulk strings, the null bulk
 * string, simple strings and errors. Bytes arrive in reads of any size; a reply may
 * end in the middle of one read and the next begin there, or span many reads.
 */

/** An error reply (`-ERR ...`) from Redis. */
export class LookupReplyError extends Error {
  override readonly name = 'LookupReplyError';
}

/** A reply the lookup connection never asks for, or bytes that are not RESP. */
export class LookupProtocolError extends Error {
  override readonly name = 'LookupProtocolError';
}

export type LookupReply = string | null | LookupReplyError;

const CR = 13;
const LF = 10;
const DOLLAR = 36;
const PLUS = 43;
const MINUS = 45;
/** A header line longer than this is not one we could get (a bulk length has 10 digits). */
const MAX_LINE = 4096;

/**
 * Turns the bytes of a connection into replies, in order.
 *
 * @example
 * ```ts
 * const reader = new LookupReplyReader((reply) => console.log(reply));
 * const bytes = Buffer.from('$5\r\nhel');
 * reader.feed(bytes, bytes.length);             // nothing yet
 * reader.feed(Buffer.from('lo\r\n$-1\r\n'), 9); // 'hello', then null
 * ```
 */
export class LookupReplyReader {
  /** The start of a header line that the last read cut (rare: lines are short). */
  private line: Buffer | undefined;
  /** A bulk string being gathered over several reads, and how much of it is in. */
  private body: Buffer | undefined;
  private bodyFilled = 0;

  constructor(private readonly onReply: (reply: LookupReply) => void) {}

  /**
   * Takes the first `length` bytes of `buffer`, which the caller may reuse once this
   * returns (everything kept is copied). Throws a `LookupProtocolError` on bytes that
   * are no reply of ours; the connection is unusable after that.
   */
  feed(buffer: Buffer, length: number): void {
    let at = 0;
    if (this.body !== undefined) at = this.fillBody(buffer, 0, length);
    else if (this.line !== undefined) at = this.finishLine(buffer, length);
    while (at < length) {
      const end = buffer.indexOf(LF, at);
      if (end < 0 || end >= length) {
        this.keepLine(buffer, at, length);
        return;
      }
      at = this.reply(buffer, at, end, length);
    }
  }

  /** A header line from `start` to the LF at `lf`: its reply, or the start of a bulk string. */
  private reply(buffer: Buffer, start: number, lf: number, length: number): number {
    if (lf === start || buffer[lf - 1] !== CR) throw new LookupProtocolError('a reply line not ended by CRLF');
    const type = buffer[start];
    if (type === DOLLAR) {
      const size = bulkLength(buffer, start + 1, lf - 1);
      if (size < 0) {
        this.onReply(null);
        return lf + 1;
      }
      const bodyStart = lf + 1;
      if (bodyStart + size + 2 <= length) {
        if (buffer[bodyStart + size] !== CR || buffer[bodyStart + size + 1] !== LF) {
          throw new LookupProtocolError('a bulk string not ended by CRLF');
        }
        this.onReply(buffer.toString('utf8', bodyStart, bodyStart + size));
        return bodyStart + size + 2;
      }
      // The rest comes in later reads: gather it, with its CRLF.
      this.body = Buffer.allocUnsafe(size + 2);
      this.bodyFilled = 0;
      return this.fillBody(buffer, bodyStart, length);
    }
    if (type === PLUS) {
      this.onReply(buffer.toString('utf8', start + 1, lf - 1));
      return lf + 1;
    }
    if (type === MINUS) {
      this.onReply(new LookupReplyError(buffer.toString('utf8', start + 1, lf - 1)));
      return lf + 1;
    }
    throw new LookupProtocolError(`a reply of type '${String.fromCharCode(type ?? 0)}', which a lookup never asks for`);
  }

  private fillBody(buffer: Buffer, start: number, length: number): number {
    const body = this.body as Buffer;
    const take = Math.min(body.length - this.bodyFilled, length - start);
    buffer.copy(body, this.bodyFilled, start, start + take);
    this.bodyFilled += take;
    if (this.bodyFilled < body.length) return length;
    this.body = undefined;
    if (body[body.length - 2] !== CR || body[body.length - 1] !== LF) {
      throw new LookupProtocolError('a bulk string not ended by CRLF');
    }
    this.onReply(body.toString('utf8', 0, body.length - 2));
    return start + take;
  }

  private keepLine(buffer: Buffer, start: number, length: number): void {
    const part = Buffer.from(buffer.subarray(start, length));
    this.line = this.line === undefined ? part : Buffer.concat([this.line, part]);
    if (this.line.length > MAX_LINE) throw new LookupProtocolError('a reply line longer than any reply of ours');
  }

  /** Completes a cut header line with the start of this read; returns where the read goes on. */
  private finishLine(buffer: Buffer, length: number): number {
    const end = buffer.indexOf(LF, 0);
    if (end < 0 || end >= length) {
      this.keepLine(buffer, 0, length);
      return length;
    }
    const joined = Buffer.concat([this.line as Buffer, buffer.subarray(0, end + 1)]);
    this.line = undefined;
    // The joined line holds only the header: a bulk string's body starts in `buffer`.
    const type = joined[0];
    if (type === DOLLAR) {
      const size = bulkLength(joined, 1, joined.length - 2);
      if (joined[joined.length - 2] !== CR) throw new LookupProtocolError('a reply line not ended by CRLF');
      if (size < 0) {
        this.onReply(null);
        return end + 1;
      }
      this.body = Buffer.allocUnsafe(size + 2);
      this.bodyFilled = 0;
      return this.fillBody(buffer, end + 1, length);
    }
    this.reply(joined, 0, joined.length - 1, joined.length);
    return end + 1;
  }
}

/** The length in a bulk string's header (`$12`), -1 for the null bulk string. */
function bulkLength(buffer: Buffer, from: number, to: number): number {
  if (to - from === 2 && buffer[from] === MINUS && buffer[from + 1] === 49) return -1;
  if (to <= from || to - from > 10) throw new LookupProtocolError('a bulk string length that is not a number');
  let size = 0;
  for (let i = from; i < to; i++) {
    const digit = (buffer[i] as number) - 48;
    if (digit < 0 || digit > 9) throw new LookupProtocolError('a bulk string length that is not a number');
    size = size * 10 + digit;
  }
  return size;
}
