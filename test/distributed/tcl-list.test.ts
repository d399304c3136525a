/**
 * Tcl list strings, rendered and parsed the way tclsh 8.6 does it. DisTcl names its
 * keys and queue entries by the string of a Tcl list, so "close enough" is a cache
 * miss at best: the tables pin the tricky cases, and the properties hold our code to a
 * real tclsh (one child for the whole file, see test/support/tclsh.ts).
 *
 * FC_NUM_RUNS sets the runs per property (default keeps the file around a second or two).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTclList, renderTclList, TclListError } from '../../src/distributed/distcl/tcl-list.js';
import { startTclsh, TCLSH_MISSING, tclshVersion, type Tclsh } from '../support/tclsh.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS) || 1000;

/** [words, what `list {*}$words` gives in tclsh 8.6] */
const RENDERED: ReadonlyArray<readonly [readonly string[], string]> = [
  [[], ''],
  [[''], '{}'],
  [['a', '', 'b'], 'a {} b'],
  [['a b'], '{a b}'],
  [['a\nb', 'a\tb', 'a\rb', 'a\vb', 'a\fb'], '{a\nb} {a\tb} {a\rb} {a\vb} {a\fb}'],
  [[' ', '\n'], '{ } {\n}'],
  // Braces: kept bare when balanced and nothing else needs protection, braced when
  // something else does, escaped when they don't balance.
  [['a{b}c', '{a}', '{a} b', 'a{', '}', '}{', 'a}b{'], 'a{b}c {{a}} {{a} b} a\\{ \\} \\}\\{ a\\}b\\{'],
  [['{', '}', '{}', '{{}'], '\\{ \\} {{}} \\{\\{\\}'],
  // A trailing backslash would escape the closing brace; backslash-newline would
  // collapse inside braces when evaluated; other backslashes are fine in braces.
  [['a\\', '\\', 'a\\\nb', '\\\\', 'a\\b', '\\{', 'a\\}'], 'a\\\\ \\\\ a\\\\\\nb {\\\\} {a\\b} {\\{} {a\\}}'],
  [['a\\ b\\', 'x y\\'], 'a\\\\\\ b\\\\ x\\ y\\\\'],
  // Only `]` or a non-leading `"`: backslashes, braces left alone.
  [['a]b', 'a"b', ']', 'a{b}]', 'a"{}', '"'], 'a\\]b a\\"b \\] a{b}\\] a\\"{} {"}'],
  [['"ab', '[ab', 'a[b]', '$x', 'a;b', 'a$'], '{"ab} {[ab} {a[b]} {$x} {a;b} {a$}'],
  // A leading # quoted only in the first element (so the list is never a comment).
  [['#'], '{#}'],
  [['#a', '#b'], '{#a} #b'],
  [['#a b', '#'], '{#a b} #'],
  [['#a"'], '{#a"}'],
  [['#a]'], '{#a]}'],
  [['#}', '#}'], '\\#\\} #\\}'],
  [['#\\'], '\\#\\\\'],
  [['#a"{'], '\\#a\\"\\{'],
  [['a#', 'x'], 'a# x'],
  // Numbers and anything else plain are left alone.
  [['1', '-1.5e3', '0x1F', '+', 'abc_def:ghi', 'a.b/c'], '1 -1.5e3 0x1F + abc_def:ghi a.b/c'],
  // Unicode (incl. astral and Unicode spaces) and NUL are ordinary characters.
  [['é', '😀', 'a😀 b', '\u00a0', '\u2028', '\u3000x', 'a\u0000b', '\u0000', '\u007f'], 'é 😀 {a😀 b} \u00a0 \u2028 \u3000x a\u0000b \u0000 \u007f'],
  // Lone surrogates are just characters too (Tcl 8.6 can hold them; UTF-8 can't).
  [['\ud800', 'a \udfff'], '\ud800 {a \udfff}'],
];

/** [list string, the words Tcl reads from it] */
const PARSED: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['', []],
  ['   \n\t ', []],
  ['a', ['a']],
  ['  a  \n\t b  ', ['a', 'b']],
  ['\v\f\ra\v\f\rb\v', ['a', 'b']],
  ['\u00a0a\u2003b', ['\u00a0a\u2003b']],
  ['{}', ['']],
  ['""', ['']],
  ['{} {} x', ['', '', 'x']],
  ['{a b} c', ['a b', 'c']],
  ['{a {b c} d}', ['a {b c} d']],
  ['{a\\}}', ['a\\}']],
  ['{a\\{b}', ['a\\{b']],
  ['{a\\nb}', ['a\\nb']],
  ['{a\\\n   b} c', ['a\\\n   b', 'c']],
  ['"a b" c', ['a b', 'c']],
  ['"a\\"b"', ['a"b']],
  ['"a{b" "}"', ['a{b', '}']],
  ['"a\\tb\\u00e9"', ['a\tb\u00e9']],
  ['a"b"', ['a"b"']],
  ['a{b c}', ['a{b', 'c}']],
  ['a{ b} c" d"', ['a{', 'b}', 'c"', 'd"']],
  ['\\{a b\\}', ['{a', 'b}']],
  ['a\\ b', ['a b']],
  ['#a #b', ['#a', '#b']],
  ['\\#a', ['#a']],
  // Backslash sequences.
  ['\\a\\b\\f\\n\\r\\t\\v\\q\\\\', ['\x07\b\f\n\r\t\vq\\']],
  ['\\x41\\x414\\xZ\\x \\x7', ['AA4xZx', '\x07']],
  ['\\xff\\x80', ['\u00ff\u0080']],
  ['\\u00e9\\u4 \\u \\uFFFF', ['é\u0004', 'u', '\uffff']],
  ['\\uD83D\\uDE00', ['😀']],
  ['\\uD800', ['\ud800']],
  ['\\U41 \\U0000FFFF \\U', ['A', '\uffff', 'U']],
  // tclsh 8.6 has 16-bit characters: \U beyond the BMP is U+FFFD, and \U stops
  // reading digits before the value would pass U+10FFFF.
  ['\\U1F600 \\U10FFFF0 \\U110000 \\UFFFFFFFF', ['\ufffd', '\ufffd0', '\ufffd0', '\ufffdFFF']],
  ['\\0 \\101 \\1011 \\377 \\400 \\777 \\8 \\08', ['\u0000', 'A', 'A1', '\u00ff', ' 0', '?7', '8', '\u00008']],
  ['a\\\n   b c', ['a b', 'c']],
  ['"a\\\n \t b" c', ['a b', 'c']],
  ['\\\n', [' ']],
  ['a \\\n', ['a', ' ']],
  ['a\\\r\nb', ['a\r', 'b']],
  ['a\\', ['a\\']],
  ['\\', ['\\']],
  ['\\é\\\u0000', ['é\u0000']],
  ['\\😀x', ['\ufffdx']],
  ['a\\\ud83d', ['a\ud83d']],
  ['😀 {😀 x} "😀"', ['😀', '😀 x', '😀']],
];

/** [string, Tcl's error message] */
const REJECTED: ReadonlyArray<readonly [string, string]> = [
  ['{', 'unmatched open brace in list'],
  ['{a', 'unmatched open brace in list'],
  ['{a\\}', 'unmatched open brace in list'],
  ['x {a {b}', 'unmatched open brace in list'],
  ['"', 'unmatched open quote in list'],
  ['"a\\"', 'unmatched open quote in list'],
  ['{a}b', 'list element in braces followed by "b" instead of space'],
  ['{}{}', 'list element in braces followed by "{}" instead of space'],
  ['{a}"b', 'list element in braces followed by ""b" instead of space'],
  ['{a}\\ b', 'list element in braces followed by "\\" instead of space'],
  ['"a"b c', 'list element in quotes followed by "b" instead of space'],
  ['""x', 'list element in quotes followed by "x" instead of space'],
  // The junk is quoted up to 20 bytes of Tcl's UTF-8 (NUL takes two), whole characters only.
  ['{a}x1234567890123456789012345', 'list element in braces followed by "x1234567890123456789" instead of space'],
  ['{a}é1234567890123456789', 'list element in braces followed by "é123456789012345678" instead of space'],
  ['{a}1234567890123456789é', 'list element in braces followed by "1234567890123456789" instead of space'],
  ['{a}\u00001234567890123456789', 'list element in braces followed by "\u0000123456789012345678" instead of space'],
];

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('renderTclList', () => {
  it.each(RENDERED)('%j → %j', (words, expected) => {
    expect(renderTclList(words)).toBe(expected);
  });
});

describe('parseTclList', () => {
  it.each(PARSED)('%j → %j', (text, expected) => {
    expect(parseTclList(text)).toEqual(expected);
  });

  it.each(REJECTED)('%j is not a list: %s', (text, message) => {
    const error = thrown(() => parseTclList(text));
    expect(error).toBeInstanceOf(TclListError);
    expect((error as TclListError).message).toBe(message);
  });

  it('says which kind of error, and where', () => {
    expect(thrown(() => parseTclList('a {b'))).toMatchObject({ name: 'TclListError', code: 'BRACE', offset: 2 });
    expect(thrown(() => parseTclList('a "b'))).toMatchObject({ code: 'QUOTE', offset: 2 });
    expect(thrown(() => parseTclList('{a}bc'))).toMatchObject({ code: 'JUNK', offset: 3 });
  });

  it('reads back every rendered table entry', () => {
    for (const [words] of RENDERED) expect(parseTclList(renderTclList(words))).toEqual(words);
  });
});

// Characters that matter to list syntax or to backslash sequences, and a few that
// don't, so that generated words and lists keep hitting the interesting cases.
const SPECIAL = [
  ' ', '\t', '\n', '\r', '\v', '\f', '{', '}', '[', ']', '$', ';', '"', '\\', '#',
  'a', 'b', 'n', 'x', 'u', 'U', '0', '7', '8', 'F', 'D', 'é', '😀', '\u0000', '\u00a0', '\u2028',
];
const specialString = fc.array(fc.constantFrom(...SPECIAL), { maxLength: 12 }).map((cs) => cs.join(''));
// Any code points, but no lone surrogates: they can't go through UTF-8 to a peer, and
// so aren't something DisTcl words can contain.
const word = fc.oneof(
  { weight: 3, arbitrary: specialString },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }) },
);
const words = fc.array(word, { maxLength: 6 });

// Pieces of list syntax, well-formed and not, for strings for the parser: most come
// out as lists, many don't, and the boundary between is where the bugs would be.
const piece = fc.oneof(
  fc.constantFrom(
    ' ', '  ', '\n', '\t', '\v', '{', '}', '{}', '"', '""', '\\', '\\\\', '\\\n', '\\\n \t ', '\\{', '\\}', '\\"',
    '\\x4', '\\x41', '\\xfg', '\\u', '\\u00e9', '\\uD83D', '\\uDE00', '\\U', '\\U1F600', '\\U10FFFF0', '\\U00000041',
    '\\0', '\\101', '\\400', '\\8', '\\n', '\\t', '\\a', '\\q', '\\😀', '\\é', '\\\u0000', '#', '$', '[', ']', ';',
  ),
  specialString,
  fc.string({ unit: 'binary', maxLength: 4 }),
  words.map(renderTclList),
  words.map((ws) => `{${renderTclList(ws)}}`),
  words.map((ws) => `"${renderTclList(ws)}"`),
);
const listText = fc.array(piece, { maxLength: 8 }).map((ps) => ps.join(''));

const hasNonBmp = (s: string): boolean => /[\ud800-\udfff]/.test(s);

describe('renderTclList and parseTclList together', () => {
  it('parse(render(words)) gives the words back', () => {
    fc.assert(
      fc.property(words, (ws) => {
        expect(parseTclList(renderTclList(ws))).toEqual(ws);
      }),
      { numRuns: NUM_RUNS * 5 },
    );
  });

  it('parsing never fails other than with TclListError', () => {
    fc.assert(
      fc.property(listText, (text) => {
        try {
          parseTclList(text);
        } catch (e) {
          expect(e).toBeInstanceOf(TclListError);
        }
      }),
      { numRuns: NUM_RUNS * 5 },
    );
  });
});

const version = tclshVersion();
if (!version) console.warn(`tcl-list.test.ts: ${TCLSH_MISSING}`);

describe.skipIf(!version)(version ? `against tclsh ${version}` : `against tclsh — ${TCLSH_MISSING}`, () => {
  let tcl: Tclsh;
  beforeAll(async () => {
    tcl = await startTclsh();
  });
  afterAll(async () => {
    await tcl?.close();
  });

  it('the tables above are what tclsh says', async () => {
    for (const [ws, rendered] of RENDERED) expect(await tcl.list(ws), JSON.stringify(ws)).toBe(rendered);
    for (const [text, ws] of PARSED) expect(await tcl.split(text), JSON.stringify(text)).toEqual({ ok: true, words: ws });
    for (const [text, message] of REJECTED) expect(await tcl.split(text), JSON.stringify(text)).toEqual({ ok: false, message });
  });

  it('renderTclList(words) is what `list {*}$words` gives', async () => {
    await fc.assert(
      fc.asyncProperty(words, async (ws) => {
        expect(renderTclList(ws)).toBe(await tcl.list(ws));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('parseTclList reads what tclsh reads, and refuses what it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(listText, async (text) => {
        const expected = await tcl.split(text);
        if (expected.ok) {
          expect(parseTclList(text)).toEqual(expected.words);
        } else {
          const error = thrown(() => parseTclList(text));
          expect(error).toBeInstanceOf(TclListError);
          // Tcl cuts the quoted junk by bytes, which can split a surrogate pair; we
          // keep pairs whole, so the messages may differ only there.
          if (!hasNonBmp(text)) expect((error as TclListError).message).toBe(expected.message);
        }
      }),
      { numRuns: NUM_RUNS * 2 },
    );
  });
});
