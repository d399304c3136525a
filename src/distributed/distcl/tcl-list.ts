/**
 * Tcl lists as strings, the way Tcl 8.6 writes and reads them.
 *
 * DisTcl keys a request by the *string* of its argument list (`v:SERVICE:$args`), so a
 * peer that renders the same words even slightly differently from Tcl (braces where Tcl
 * uses backslashes, say) names a different key and never meets the Tcl side's cache or
 * waiters. Hence rendering follows Tcl's own choice between bare, braced and escaped
 * forms rule for rule (tclUtil.c: TclScanElement / TclConvertElement / Tcl_Merge), and
 * parsing follows TclFindElement / TclCopyAndCollapse / TclParseBackslash, including
 * what tclsh 8.6 does in the odd corners (checked against a real tclsh by the tests).
 *
 * Strings here are JavaScript strings; Tcl 8.6 strings are sequences of UTF-16 code
 * units too (characters outside the BMP are surrogate pairs), so the two line up one
 * to one. Every character that matters to list syntax is ASCII; everything else,
 * NUL included, is an ordinary character.
 */

/** Why a string is not a Tcl list; mirrors the last word of Tcl's `-errorcode {TCL VALUE LIST ...}`. */
export type TclListErrorCode = 'BRACE' | 'QUOTE' | 'JUNK';

/**
 * A string that Tcl would refuse as a list, with Tcl's own message for it.
 *
 * @example
 * ```ts
 * try { parseTclList('{a}b'); }
 * catch (e) { if (e instanceof TclListError) console.log(e.code, e.message); }
 * // JUNK list element in braces followed by "b" instead of space
 * ```
 */
export class TclListError extends Error {
  /** `BRACE`: unmatched `{`; `QUOTE`: unmatched `"`; `JUNK`: something other than space after a closing brace or quote. */
  readonly code: TclListErrorCode;
  /** Index in the parsed text of the opening brace or quote at fault, or of the junk. */
  readonly offset: number;

  constructor(message: string, code: TclListErrorCode, offset: number) {
    super(message);
    this.name = 'TclListError';
    this.code = code;
    this.offset = offset;
  }
}

const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const HASH = 0x23;

/** Tcl's list whitespace (TclIsSpaceProc): space and \t \n \v \f \r — no Unicode spaces. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

// ---------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------

/**
 * Tcl's four element forms. `escaped`: backslash before every special character, braces
 * included; `escaped-keep-braces` (Tcl's CONVERT_MASK): the same but braces left alone,
 * used when only `]` or `"` forced quoting.
 */
type Form = 'bare' | 'braced' | 'escaped' | 'escaped-keep-braces';

/** Which form Tcl picks for one element (TclScanElement), leaving aside a leading `#`. */
function chooseForm(word: string): Form {
  let nesting = 0;
  let needsQuoting = false;
  let bracesUnusable = false;
  // Tcl keeps a historical preference: an element quoted only because of `]` or a
  // non-leading `"` gets backslashes rather than braces (a\]b, not {a]b}).
  let preferEscape = false;
  let preferBrace = false;
  const first = word.charCodeAt(0);
  if (first === OPEN_BRACE || first === QUOTE) {
    // Would otherwise be read back as the start of a braced or quoted element.
    needsQuoting = true;
    preferBrace = true;
  }
  const n = word.length;
  for (let i = 0; i < n; i++) {
    const c = word.charCodeAt(i);
    switch (c) {
      case OPEN_BRACE:
        nesting++;
        break;
      case CLOSE_BRACE:
        // A `}` with nothing open would close the enclosing braces early.
        if (nesting-- < 1) bracesUnusable = true;
        break;
      case 0x5d: // ]
      case QUOTE:
        needsQuoting = true;
        preferEscape = true;
        break;
      case 0x5b: // [
      case 0x24: // $
      case 0x3b: // ;
        needsQuoting = true;
        preferBrace = true;
        break;
      case BACKSLASH: {
        if (i === n - 1) {
          // `{a\}` would read the final brace as escaped.
          bracesUnusable = true;
          break;
        }
        const next = word.charCodeAt(i + 1);
        if (next === 0x0a) {
          // Backslash-newline inside braces still collapses to a space when the list
          // is evaluated as a script, so braces would not preserve it.
          bracesUnusable = true;
          i++;
          break;
        }
        // An escaped brace or backslash doesn't count towards brace balance.
        if (next === OPEN_BRACE || next === CLOSE_BRACE || next === BACKSLASH) i++;
        needsQuoting = true;
        preferBrace = true;
        break;
      }
      default:
        if (isSpace(c)) {
          needsQuoting = true;
          preferBrace = true;
        }
    }
  }
  if (nesting !== 0) bracesUnusable = true;
  if (bracesUnusable) return 'escaped';
  if (needsQuoting) return preferEscape && !preferBrace ? 'escaped-keep-braces' : 'braced';
  return 'bare';
}

/** Backslash escapes for the whitespace Tcl never writes literally in escaped form. */
const ESCAPED_SPACE: Record<string, string> = {
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

function escapeElement(word: string, from: number, keepBraces: boolean): string {
  let out = '';
  for (let i = from; i < word.length; i++) {
    const ch = word[i] as string;
    switch (ch) {
      case ']':
      case '[':
      case '$':
      case ';':
      case ' ':
      case '\\':
      case '"':
        out += '\\' + ch;
        break;
      case '{':
      case '}':
        out += keepBraces ? ch : '\\' + ch;
        break;
      default:
        out += ESCAPED_SPACE[ch] ?? ch;
    }
  }
  return out;
}

function renderElement(word: string, quoteHash: boolean): string {
  if (word === '') return '{}';
  let form = chooseForm(word);
  let prefix = '';
  let from = 0;
  if (quoteHash && word.charCodeAt(0) === HASH) {
    // A list starting with `#` would be a comment if evaluated as a script.
    if (form === 'escaped') {
      prefix = '\\#';
      from = 1;
    } else {
      form = 'braced';
    }
  }
  switch (form) {
    case 'bare':
      return word;
    case 'braced':
      return '{' + word + '}';
    case 'escaped':
      return prefix + escapeElement(word, from, false);
    case 'escaped-keep-braces':
      return prefix + escapeElement(word, from, true);
  }
}

/**
 * The string Tcl gives for a list of these words: exactly what `list {*}$words` returns
 * in tclsh 8.6, byte for byte. Words that need no protection stay bare, others are
 * braced when braces can hold them (balanced, no trailing backslash, no
 * backslash-newline) and backslash-escaped otherwise; the empty word is `{}`; a `#`
 * at the start of the first word is quoted so the list is never read as a comment.
 *
 * Non-ASCII characters, NUL and lone surrogates pass through untouched (they mean
 * nothing to list syntax), though a lone surrogate will not survive UTF-8 encoding.
 *
 * @example
 * ```ts
 * renderTclList(['get', 'a b', '', 'x]', '#1', '{']); // 'get {a b} {} x\\] #1 \\{'
 * renderTclList(['#x']);                               // '{#x}'
 * renderTclList([]);                                   // ''
 * ```
 */
export function renderTclList(words: readonly string[]): string {
  let out = '';
  for (let i = 0; i < words.length; i++) {
    if (i > 0) out += ' ';
    out += renderElement(words[i] as string, i === 0);
  }
  return out;
}

// ---------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------

interface Backslash {
  /** What the sequence stands for. */
  readonly text: string;
  /** How many code units of the source it spans, backslash included. */
  readonly length: number;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function isOctal(code: number): boolean {
  return code >= 0x30 && code <= 0x37;
}

/** Hex digits from `at`, at most `max` of them and stopping before the value would pass U+10FFFF (as Tcl 8.6 does). */
function scanHex(s: string, at: number, end: number, max: number): { value: number; digits: number } {
  let value = 0;
  let digits = 0;
  while (digits < max && at + digits < end) {
    const d = hexValue(s.charCodeAt(at + digits));
    if (d < 0 || value > 0x10fff) break;
    value = value * 16 + d;
    digits++;
  }
  return { value, digits };
}

/** The backslash sequence at `s[at]` (which is `\`), reading no further than `end` (TclParseBackslash). */
function scanBackslash(s: string, at: number, end: number): Backslash {
  if (at + 1 >= end) return { text: '\\', length: 1 };
  const c = s.charCodeAt(at + 1);
  switch (c) {
    case 0x61: // a
      return { text: '\x07', length: 2 };
    case 0x62: // b
      return { text: '\b', length: 2 };
    case 0x66: // f
      return { text: '\f', length: 2 };
    case 0x6e: // n
      return { text: '\n', length: 2 };
    case 0x72: // r
      return { text: '\r', length: 2 };
    case 0x74: // t
      return { text: '\t', length: 2 };
    case 0x76: // v
      return { text: '\v', length: 2 };
    case 0x78: // x: up to two hex digits since Tcl 8.6
    case 0x75: // u: up to four
    case 0x55: {
      // U: up to eight, but tclsh 8.6 (16-bit characters) turns anything beyond the
      // BMP into U+FFFD; Tcl 8.7/9 would give the real character.
      const max = c === 0x78 ? 2 : c === 0x75 ? 4 : 8;
      const { value, digits } = scanHex(s, at + 2, end, max);
      if (digits === 0) return { text: s[at + 1] as string, length: 2 };
      const text = value > 0xffff ? '\ufffd' : String.fromCharCode(value);
      return { text, length: 2 + digits };
    }
    case 0x0a: {
      // Backslash-newline eats the spaces and tabs that follow (the way a script line
      // continuation does), all standing for one space.
      let length = 2;
      while (at + length < end) {
        const w = s.charCodeAt(at + length);
        if (w !== 0x20 && w !== 0x09) break;
        length++;
      }
      return { text: ' ', length };
    }
    default:
      break;
  }
  if (isOctal(c)) {
    let value = c - 0x30;
    let length = 2;
    if (at + 2 < end && isOctal(s.charCodeAt(at + 2))) {
      value = value * 8 + (s.charCodeAt(at + 2) - 0x30);
      length = 3;
      // A third digit only while the result stays within a byte (\377 at most).
      if (at + 3 < end && isOctal(s.charCodeAt(at + 3)) && value < 0o40) {
        value = value * 8 + (s.charCodeAt(at + 3) - 0x30);
        length = 4;
      }
    }
    return { text: String.fromCharCode(value), length };
  }
  if (c >= 0xd800 && c <= 0xdbff && at + 2 < end) {
    const low = s.charCodeAt(at + 2);
    if (low >= 0xdc00 && low <= 0xdfff) {
      // tclsh 8.6 can't hold a non-BMP character in one Tcl_UniChar, so an escaped
      // one comes out as U+FFFD (the whole pair is consumed).
      return { text: '\ufffd', length: 3 };
    }
  }
  return { text: s[at + 1] as string, length: 2 };
}

/** Backslash substitution over `s[start, end)` (TclCopyAndCollapse). */
function collapse(s: string, start: number, end: number): string {
  let i = s.indexOf('\\', start);
  if (i < 0 || i >= end) return s.slice(start, end);
  let out = s.slice(start, i);
  while (i < end) {
    const next = s.indexOf('\\', i);
    if (next < 0 || next >= end) {
      out += s.slice(i, end);
      break;
    }
    out += s.slice(i, next);
    const seq = scanBackslash(s, next, end);
    out += seq.text;
    i = next + seq.length;
  }
  return out;
}

/** Bytes a code unit takes in Tcl 8.6's internal string form (NUL is C0 80, surrogates 3 bytes each). */
function tclByteLength(code: number): number {
  if (code === 0) return 2;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return 3;
}

/**
 * The start of the junk after a closing brace or quote, cut as Tcl cuts it: at most 20
 * bytes (of Tcl's internal UTF-8), up to the next space. Unlike Tcl, a surrogate pair
 * straddling the cut is dropped whole, so the message stays well-formed.
 */
function junkSnippet(s: string, at: number): string {
  let bytes = 0;
  let i = at;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) break;
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const size = pair ? 6 : tclByteLength(c);
    if (bytes + size > 20) break;
    bytes += size;
    i += pair ? 2 : 1;
  }
  return s.slice(at, i);
}

/**
 * The words of a Tcl list string, as Tcl parses it: what `lrange $s 0 end` or `{*}$s`
 * yields in tclsh 8.6. Elements are separated by runs of space, tab, newline, CR, VT or
 * FF; an element is braced (taken literally, nested braces counted, `\` only
 * protecting the next character from counting), quoted (up to the next unescaped `"`,
 * with backslash substitution) or bare (up to whitespace, with backslash
 * substitution: `\n`, `\t`, `\a`…`\v`, `\xHH`, `\uHHHH`, `\UHHHHHHHH`, octal `\NNN`,
 * backslash-newline-plus-blanks → one space, `\` + any other character → that character).
 *
 * @throws {TclListError} where Tcl would refuse the string, with Tcl's message
 *   ("unmatched open brace in list", "unmatched open quote in list",
 *   `list element in braces followed by "…" instead of space`, and the same for quotes).
 *
 * @example
 * ```ts
 * parseTclList('get {a b} {} x\\] "q\\tq" \\u00e9'); // ['get', 'a b', '', 'x]', 'q\tq', 'é']
 * parseTclList('  ');                                  // []
 * parseTclList('{a');                                  // throws TclListError (BRACE)
 * ```
 */
export function parseTclList(text: string): string[] {
  const words: string[] = [];
  const limit = text.length;
  let p = 0;
  for (;;) {
    while (p < limit && isSpace(text.charCodeAt(p))) p++;
    if (p >= limit) return words;
    const opener = text.charCodeAt(p);
    if (opener === OPEN_BRACE) {
      const open = p;
      const start = ++p;
      let depth = 1;
      for (;;) {
        if (p >= limit) throw new TclListError('unmatched open brace in list', 'BRACE', open);
        const c = text.charCodeAt(p);
        if (c === OPEN_BRACE) depth++;
        else if (c === CLOSE_BRACE && --depth === 0) break;
        // Inside braces a backslash keeps its sequence from being read as a brace,
        // but the text itself is taken as written.
        p += c === BACKSLASH ? scanBackslash(text, p, limit).length : 1;
      }
      words.push(text.slice(start, p));
      p++;
      if (p < limit && !isSpace(text.charCodeAt(p))) {
        throw new TclListError(
          `list element in braces followed by "${junkSnippet(text, p)}" instead of space`,
          'JUNK',
          p,
        );
      }
    } else if (opener === QUOTE) {
      const open = p;
      const start = ++p;
      for (;;) {
        if (p >= limit) throw new TclListError('unmatched open quote in list', 'QUOTE', open);
        const c = text.charCodeAt(p);
        if (c === QUOTE) break;
        p += c === BACKSLASH ? scanBackslash(text, p, limit).length : 1;
      }
      words.push(collapse(text, start, p));
      p++;
      if (p < limit && !isSpace(text.charCodeAt(p))) {
        throw new TclListError(
          `list element in quotes followed by "${junkSnippet(text, p)}" instead of space`,
          'JUNK',
          p,
        );
      }
    } else {
      const start = p;
      while (p < limit) {
        const c = text.charCodeAt(p);
        if (isSpace(c)) break;
        p += c === BACKSLASH ? scanBackslash(text, p, limit).length : 1;
      }
      words.push(collapse(text, start, p));
    }
  }
}
