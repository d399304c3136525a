/**
 * Child processes at a lower CPU priority, for tests that load the machine on purpose
 * (soaks, load tests): on a small machine a dozen busy processes would otherwise starve
 * the test files running beside them, whose deadlines are checked to the millisecond.
 */
import { setPriority } from 'node:os';
import { startNode, type Child } from './processes.js';

/** How much lower: nice 10 (of 19). */
const NICENESS = 10;

/**
 * `startNode`, then lowers the child's priority (left as it is where that is not allowed).
 *
 * @example
 * const client = startNodeLowly('test/reliability/fixtures/load-client.mjs', ['0'], { REDIS_URL: url });
 */
export function startNodeLowly(script: string, args: readonly string[], env: Record<string, string>): Child {
  const child = startNode(script, args, env);
  try {
    setPriority(child.pid, NICENESS);
  } catch {
    // Gone already, or not permitted here: it runs at normal priority.
  }
  return child;
}
