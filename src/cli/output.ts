/**
 * Everything the command prints goes through here, so that secrets (the password of a
 * Redis URL) are masked wherever they would appear, and a closed pipe (`| head`) ends
 * the command quietly.
 */
const secrets = new Set<string>();

/** Masks `secret` (and its URL-encoded form) in everything printed from now on. */
export function addSecret(secret: string): void {
  if (secret.length === 0) return;
  secrets.add(secret);
  secrets.add(encodeURIComponent(secret));
  try {
    secrets.add(decodeURIComponent(secret));
  } catch {
    // Not valid percent-encoding: the raw form is masked already.
  }
}

/**
 * The text with every registered secret replaced by `***`.
 *
 * @example
 * ```ts
 * addSecret('hunter2');
 * redact('auth hunter2 failed'); // 'auth *** failed'
 * ```
 */
export function redact(text: string): string {
  let result = text;
  // Longest first, so a secret containing another is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) result = result.split(secret).join('***');
  }
  return result;
}

let pipeClosed = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // The reader went away (`memocell top | head`): nothing more to say to anyone.
  if (error.code === 'EPIPE') {
    pipeClosed = true;
    process.exit(0);
  }
  throw error;
});

/** Writes text to stdout, secrets masked. */
export function print(text: string): void {
  if (!pipeClosed) process.stdout.write(redact(text));
}

/** Writes raw bytes to stdout, untouched (`get --raw` of a byte value). */
export function printBytes(bytes: Uint8Array): void {
  if (!pipeClosed) process.stdout.write(bytes);
}

/** Writes a line to stderr, secrets masked. */
export function warn(line: string): void {
  process.stderr.write(`${redact(line)}\n`);
}
