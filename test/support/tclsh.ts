/**
 * A real tclsh as a test oracle: one long-lived child per test file, asked over
 * stdin/stdout one line per request so that hundreds of property-test cases cost
 * about a second. Everything on the wire is hex of UTF-8, so no character (newline,
 * NUL, braces, non-ASCII) can be mangled by line framing or channel encodings.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the tclsh-backed tests are skipped, and how to stop them being skipped. */
export const TCLSH_MISSING =
  'tclsh is missing (not on PATH), so the checks against real Tcl are SKIPPED. ' +
  'Install Tcl 8.6 to run them, e.g. `apt-get install -y tcl` (.ci/run does this).';

/** tclsh's `info patchlevel`, or undefined when there is no runnable tclsh on PATH. */
export function tclshVersion(): string | undefined {
  const probe = spawnSync('tclsh', [], { input: 'puts [info patchlevel]\n', encoding: 'utf8', timeout: 10_000 });
  if (probe.error || probe.status !== 0) return undefined;
  const version = probe.stdout.trim();
  return /^\d+\.\d+/.test(version) ? version : undefined;
}

/** tclsh's answer to splitting a string as a list. */
export type TclSplit = { readonly ok: true; readonly words: string[] } | { readonly ok: false; readonly message: string };

export interface Tclsh {
  readonly version: string;
  /** What `list {*}$words` gives. */
  list(words: readonly string[]): Promise<string>;
  /** What `lrange $text 0 end` gives, or the error message Tcl raises. */
  split(text: string): Promise<TclSplit>;
  close(): Promise<void>;
}

// Each token is `x` + hex, so that an empty string is still a token.
const SERVER = String.raw`
fconfigure stdin -translation lf -encoding iso8859-1
fconfigure stdout -translation lf -encoding iso8859-1 -buffering line
proc dec {token} { encoding convertfrom utf-8 [binary decode hex [string range $token 1 end]] }
proc enc {s} { return x[binary encode hex [encoding convertto utf-8 $s]] }
puts "ready [info patchlevel]"
while {[gets stdin line] >= 0} {
    set tokens [split $line " "]
    if {[catch {
        switch -- [lindex $tokens 0] {
            list {
                set words {}
                foreach token [lrange $tokens 1 end] { lappend words [dec $token] }
                set reply "ok [enc [list {*}$words]]"
            }
            split {
                set text [dec [lindex $tokens 1]]
                if {[catch {lrange $text 0 end} elements]} {
                    set reply "error [enc $elements]"
                } else {
                    set reply ok
                    foreach element $elements { append reply " " [enc $element] }
                }
            }
            default { error "unknown request [lindex $tokens 0]" }
        }
    } problem]} { set reply "fail [enc $problem]" }
    puts $reply
}
`;

/**
 * UTF-8 that also carries lone surrogates as their 3-byte forms (WTF-8): Tcl 8.6 holds
 * such strings (e.g. from parsing `\uD800`) and prints them that way, and a test
 * must be able to see that rather than get U+FFFD from Buffer's decoder.
 */
export function encodeWtf8(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Buffer.from(bytes);
}

/** Inverse of encodeWtf8; throws on anything else, so a surprise from Tcl is seen, not papered over. */
export function decodeWtf8(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    const size = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (size === 0 || i + size > bytes.length) throw new Error(`not WTF-8 at byte ${i}: ${Buffer.from(bytes).toString('hex')}`);
    let c = size === 1 ? b : b & (0xff >> (size + 1));
    for (let k = 1; k < size; k++) {
      const cont = bytes[i + k] as number;
      if ((cont & 0xc0) !== 0x80) throw new Error(`not WTF-8 at byte ${i + k}: ${Buffer.from(bytes).toString('hex')}`);
      c = (c << 6) | (cont & 0x3f);
    }
    out += String.fromCodePoint(c);
    i += size;
  }
  return out;
}

const token = (s: string): string => 'x' + encodeWtf8(s).toString('hex');
const untoken = (t: string): string => decodeWtf8(Buffer.from(t.slice(1), 'hex'));

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the tclsh oracle; call tclshVersion() first to know whether there is one. */
export async function startTclsh(): Promise<Tclsh> {
  const dir = mkdtempSync(join(tmpdir(), 'memocell-tclsh-'));
  const script = join(dir, 'oracle.tcl');
  writeFileSync(script, SERVER);
  const child = spawn('tclsh', [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);

  const waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  let buffered = '';
  let stderr = '';
  let dead: Error | undefined;
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      waiting.shift()?.resolve(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
      dead = new Error(`tclsh exited (${code ?? signal}); stderr: ${stderr}`);
      for (const w of waiting.splice(0)) w.reject(dead);
      resolve();
    });
  });
  child.on('error', (e) => {
    dead = e;
    for (const w of waiting.splice(0)) w.reject(e);
  });

  // Replies come back in request order, so a FIFO of waiters pairs them up.
  const nextLine = (): Promise<string> =>
    new Promise((resolve, reject) => {
      if (dead) return reject(dead);
      waiting.push({ resolve, reject });
    });
  const ask = (line: string): Promise<string> => {
    const reply = nextLine();
    if (!dead) child.stdin.write(line + '\n');
    return reply;
  };
  const answer = (line: string): string[] => {
    const [status, ...rest] = line.split(' ');
    if (status === 'fail') throw new Error(`tclsh oracle failed: ${untoken(rest[0] ?? 'x')}`);
    return [status ?? '', ...rest];
  };

  const version = (await nextLine()).replace(/^ready /, '');

  return {
    version,
    async list(words) {
      const [, rendered] = answer(await ask(['list', ...words.map(token)].join(' ')));
      return untoken(rendered ?? 'x');
    },
    async split(text) {
      const [status, ...rest] = answer(await ask(`split ${token(text)}`));
      if (status === 'error') return { ok: false, message: untoken(rest[0] ?? 'x') };
      return { ok: true, words: rest.map(untoken) };
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}
