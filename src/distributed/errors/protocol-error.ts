/**
 * Something in Redis under our prefix is not in the form this library writes: another
 * tool or an incompatible version wrote it. Carries the key and a sample of the data.
 */
export class ProtocolError extends Error {
  readonly key: string;

  constructor(key: string, problem: string) {
    super(`Malformed data at Redis key '${key}': ${problem}. Was it written by another tool or version?`);
    this.name = 'ProtocolError';
    this.key = key;
  }
}
