/**
 * A property test of the one promise memoisation rests on: a memoised call returns what
 * evaluating the function afresh would return now, whatever was called, forgotten or
 * set before it.
 */
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';
import { canonicalKey } from '../reactive/key.js';
import { deepEqual } from './equality.js';

/**
 * Something the function reads and the check may change: a reactive `input()`, a
 * store's shared `store.input()`, or a plain variable wrapped as `{ get, set }` (to
 * show that reading it is unsafe).
 */
export interface Settable<T> {
  get(): T | Promise<T>;
  set(value: T): void | Promise<void>;
  readonly name?: string | undefined;
}

/** A value the function reads, with the values the check may set it to. */
export interface InputValues<T = unknown> {
  /** An `input()`, a `store.input()`, or any `{ get, set }` that the function reads. */
  readonly input: Settable<T>;
  /** Values to set it to; the initial value is restored before each run. */
  readonly values: Arbitrary<T>;
  /** Shown in counter-examples. Default: the input's own name, else `inputs[i]`. */
  readonly name?: string;
}

/**
 * A memoised function as the check uses it: a local `memo()` family, a store's
 * `store.memo()`, or any memoiser with a `forget`.
 */
export interface Memoised<A extends unknown[], R> {
  (...args: A): R | Promise<R>;
  forget(...args: A): void | Promise<void>;
}

/** A memoised function with the unmemoised one to compare it against. */
export interface MemoisedAndDirect<A extends unknown[], R> {
  readonly memoised: Memoised<A, R>;
  /**
   * Computes the same thing without the memo. Default: the memo's own body (`f.body`
   * of a store memo, the function given to `memo()`).
   */
  readonly direct?: (...args: A) => R | Promise<R>;
  /** Shown in messages. Default: the memo's family or service name. */
  readonly name?: string;
}

/** One arbitrary per parameter of the function. */
export type ArgumentArbitraries<A extends unknown[]> = { readonly [K in keyof A]: Arbitrary<A[K]> };

/** Options of `checkReferentialTransparency`, each with its default. */
export interface ReferentialTransparencyOptions<R = unknown> {
  /** How many random command sequences to run. Default: 100. */
  readonly numRuns?: number;
  /** Inputs the function reads and values to set them to, so sequences include sets. Default: none. */
  readonly inputs?: readonly InputValues[];
  /** Whether two results are the same. Default: deep equality of JSON-like values. */
  readonly equals?: (a: R, b: R) => boolean;
  /** Longest command sequence. Default: 20. */
  readonly maxCommands?: number;
  /**
   * How many distinct argument lists one sequence draws its calls from. Few, so that
   * calls repeat and meet cached values. Default: 3.
   */
  readonly maxArgumentLists?: number;
  /** Runs before each sequence (after inputs are restored): reset state of your own here. */
  readonly reset?: () => void | Promise<void>;
  /** fast-check's seed, to replay a failure (the error message gives it). */
  readonly seed?: number;
  /** fast-check's path, with `seed`, to replay the shrunk failure directly. */
  readonly path?: string;
}

/** What went wrong: the memo disagreed with a fresh evaluation, or fresh evaluations disagreed. */
export type ReferentialTransparencyFailure = 'differs' | 'nondeterministic';

/** Thrown by `checkReferentialTransparency` with the shrunk counter-example. */
export class ReferentialTransparencyError extends Error {
  constructor(
    message: string,
    /** `differs`: memoised and fresh results disagree; `nondeterministic`: two fresh ones do. */
    readonly kind: ReferentialTransparencyFailure,
    /** The arguments of the failing call. */
    readonly args: readonly unknown[],
    /** The shrunk command sequence, one readable line per command, the failing one last. */
    readonly steps: readonly string[],
    /** fast-check's seed and path: pass them as options to replay this failure. */
    readonly seed: number,
    readonly path: string | undefined,
  ) {
    super(message);
    this.name = 'ReferentialTransparencyError';
  }
}

const SAFE_ONLY_IF =
  'memoising is only safe for functions whose result depends only on their arguments and the reactive values they read';

type Command =
  | { readonly kind: 'call'; readonly slot: number }
  | { readonly kind: 'forget'; readonly slot: number }
  | { readonly kind: 'set'; readonly input: number; readonly value: unknown };

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** A failure found in one run; the last (shrunk) one becomes the reported error. */
class Finding extends Error {
  constructor(
    readonly kind: ReferentialTransparencyFailure,
    readonly args: readonly unknown[],
    /** One sentence: what went wrong, for which call. */
    readonly headline: string,
    readonly details: readonly string[],
    readonly steps: readonly string[],
  ) {
    super(headline);
  }
}

/**
 * Property-tests that a memoised function is referentially transparent: for random
 * argument lists and random sequences of calls, forgets and input sets, every memoised
 * call returns what a fresh, unmemoised evaluation returns at that moment, and two
 * fresh evaluations with the same arguments agree. Works with a local `memo()` family
 * (sync or async) and with a store's `store.memo()` (serve it first).
 *
 * Rejects with a `ReferentialTransparencyError` whose message shows the shrunk
 * counter-example: the arguments, what the memo returned, what a fresh evaluation
 * returned, and the commands that led there. An error thrown by the function is a
 * result like any other: memoised and fresh evaluations must both throw it.
 *
 * @param fn The memo (its body is the fresh evaluation), or `{ memoised, direct }`.
 * @param argumentArbitraries One fast-check arbitrary per parameter.
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { input, memo } from 'memocell';
 * import { checkReferentialTransparency } from 'memocell/testing';
 *
 * const offset = input(0);
 * const shifted = memo((n: number) => n + offset.get());
 * await checkReferentialTransparency(shifted, [fc.integer({ min: 0, max: 20 })], {
 *   inputs: [{ input: offset, values: fc.integer() }],
 * });
 *
 * const fib = memo((n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2)));
 * await checkReferentialTransparency({ memoised: fib, direct: naiveFib }, [fc.nat(25)], { numRuns: 50 });
 * ```
 */
export async function checkReferentialTransparency<A extends unknown[], R>(
  fn: Memoised<A, R> | MemoisedAndDirect<A, R>,
  argumentArbitraries: ArgumentArbitraries<A>,
  options?: ReferentialTransparencyOptions<R>,
): Promise<void> {
  const { memoised, direct, name } = resolveFunctions(fn);
  checkArbitraries(argumentArbitraries);
  const numRuns = positiveInteger('numRuns', options?.numRuns ?? 100);
  const maxCommands = positiveInteger('maxCommands', options?.maxCommands ?? 20);
  const maxArgumentLists = positiveInteger('maxArgumentLists', options?.maxArgumentLists ?? 3);
  const equals = (options?.equals ?? deepEqual) as (a: unknown, b: unknown) => boolean;
  const inputs = options?.inputs ?? [];
  inputs.forEach((spec, i) => {
    if (typeof spec?.input?.get !== 'function' || typeof spec.input.set !== 'function' || !isArbitrary(spec.values)) {
      throw new TypeError(`Expected inputs[${i}] to be { input, values } with an input() and a fast-check arbitrary`);
    }
  });
  const inputNames = inputs.map((spec, i) => spec.name ?? spec.input.name ?? `inputs[${i}]`);
  // Captured once, so every run (and every replay while shrinking) starts from the same
  // state: fast-check can only shrink a failure that reproduces.
  const initialValues = await Promise.all(inputs.map((spec) => currentValue(spec.input)));
  const used = new Map<string, A>();
  const describeCall = (args: readonly unknown[]): string => `${name}(${args.map((a) => fc.stringify(a)).join(', ')})`;

  const describeInputs = async (): Promise<string> => {
    const values = await Promise.all(inputs.map((spec) => currentValue(spec.input)));
    return values.map((value, i) => `${inputNames[i]} = ${fc.stringify(value)}`).join(', ');
  };

  async function reset(): Promise<void> {
    for (const [i, spec] of inputs.entries()) await spec.input.set(initialValues[i]);
    await options?.reset?.();
    const clear = (memoised as { clear?: unknown }).clear;
    if (typeof clear === 'function') {
      (clear as () => void).call(memoised);
    } else {
      for (const args of used.values()) await memoised.forget(...args);
    }
    used.clear();
  }

  async function run(pool: readonly A[], commands: readonly Command[]): Promise<void> {
    await reset();
    const steps: string[] = [];
    for (const command of commands) {
      if (command.kind === 'set') {
        const spec = inputs[command.input] as InputValues;
        await spec.input.set(command.value);
        steps.push(`set ${inputNames[command.input]} = ${fc.stringify(command.value)}`);
        continue;
      }
      const args = pool[command.slot % pool.length] as A;
      const call = describeCall(args);
      if (command.kind === 'forget') {
        await memoised.forget(...args);
        steps.push(`forget ${call}`);
        continue;
      }
      const values = inputs.length === 0 ? [] : [`with ${await describeInputs()}`];
      // Two fresh evaluations first: if they disagree, no memo could be right, and
      // saying "not deterministic" points at the cause better than a mismatch would.
      const first = await outcome(() => direct(...args));
      const second = await outcome(() => direct(...args));
      if (!sameFresh(first, second, equals)) {
        steps.push(`${call} → fresh ${show(first)}, again ${show(second)}   ✗`);
        const headline =
          `${call} is not deterministic: two fresh evaluations with the same arguments, ` +
          'one right after the other, returned different results.';
        const details = [`first fresh evaluation:  ${show(first)}`, `second fresh evaluation: ${show(second)}`, ...values];
        throw new Finding('nondeterministic', args, headline, details, steps);
      }
      const cached = await outcome(() => memoised(...args));
      used.set(keyOf(args), args);
      if (!sameAsFresh(cached, second, equals)) {
        steps.push(`${call} → memoised ${show(cached)}, fresh ${show(second)}   ✗`);
        const headline = `${call} returned ${show(cached)} from the memo, but a fresh evaluation returns ${show(second)}.`;
        const details = [
          `memoised, it returned:       ${show(cached)}`,
          `a fresh evaluation returned: ${show(second)}`,
          ...values,
        ];
        throw new Finding('differs', args, headline, details, steps);
      }
      steps.push(`${call} → ${show(cached)}`);
    }
  }

  const argumentLists = fc.tuple(...(argumentArbitraries as readonly Arbitrary<unknown>[])) as unknown as Arbitrary<A>;
  // Calls draw from a small pool of argument lists so they repeat and meet cached
  // values; commands are plain records pointing into the pool (rather than fc.commands
  // objects) so a sequence is immutable data that replays and shrinks like any array.
  const pool = fc.uniqueArray(argumentLists, { minLength: 1, maxLength: maxArgumentLists, selector: keyOf });
  const slot = fc.nat({ max: maxArgumentLists - 1 });
  const kinds: Array<{ arbitrary: Arbitrary<Command>; weight: number }> = [
    { arbitrary: slot.map((s): Command => ({ kind: 'call', slot: s })), weight: 5 },
    { arbitrary: slot.map((s): Command => ({ kind: 'forget', slot: s })), weight: 2 },
  ];
  if (inputs.length > 0) {
    const sets = inputs.map((spec, i) => spec.values.map((value): Command => ({ kind: 'set', input: i, value })));
    kinds.push({ arbitrary: fc.oneof(...sets), weight: 3 });
  }
  const commands = fc.array(fc.oneof(...kinds), { minLength: 1, maxLength: maxCommands });

  const details = await fc.check(
    fc.asyncProperty(pool, commands, (p, c) => run(p, c)),
    {
      numRuns,
      ...(options?.seed === undefined ? {} : { seed: options.seed }),
      ...(options?.path === undefined ? {} : { path: options.path }),
    },
  );
  // Leave the inputs as the caller set them, and no results cached from random sets.
  await reset();
  if (!details.failed) return;

  const finding = details.errorInstance;
  if (!(finding instanceof Finding)) {
    const message = finding instanceof Error ? finding.message : String(finding);
    throw new Error(`checkReferentialTransparency could not run ${name}: ${message}`, { cause: finding });
  }
  const path = details.counterexamplePath ?? undefined;
  const why =
    finding.kind === 'nondeterministic'
      ? `Same arguments, different results: ${SAFE_ONLY_IF}. This one depends on something else ` +
        '(Math.random(), the clock, a counter it updates), so a memoised value would be whichever result came first.'
      : `The memo kept a value that is no longer right: ${SAFE_ONLY_IF}. This one reads something the memo cannot ` +
        'see change (a plain variable instead of an input(), a value read with peek() or untracked(), a clock), ' +
        'or keeps state of its own.';
  const message = [
    `checkReferentialTransparency: ${finding.headline}`,
    ...finding.details.map((line) => `  ${line}`),
    why,
    '',
    `Counter-example (found after ${plural(details.numRuns, 'run')}, shrunk ${plural(details.numShrinks, 'time')}), ` +
      `${plural(finding.steps.length, 'command')}:`,
    ...finding.steps.map((step, i) => `  ${i + 1}. ${step}`),
    `Replay it with the options { seed: ${details.seed}${path === undefined ? '' : `, path: ${JSON.stringify(path)}`} }.`,
  ].join('\n');
  throw new ReferentialTransparencyError(message, finding.kind, finding.args, finding.steps, details.seed, path);
}

function resolveFunctions<A extends unknown[], R>(
  fn: Memoised<A, R> | MemoisedAndDirect<A, R>,
): { memoised: Memoised<A, R>; direct: (...args: A) => unknown; name: string } {
  const pair: MemoisedAndDirect<A, R> | undefined = typeof fn === 'function' ? undefined : fn;
  const memoised = typeof fn === 'function' ? fn : fn?.memoised;
  if (typeof memoised !== 'function' || typeof (memoised as { forget?: unknown }).forget !== 'function') {
    throw new TypeError(
      'Expected a memoised function (from memo() or store.memo()) or { memoised, direct }, ' +
        `got \`${String(memoised)}\` (${typeof memoised})`,
    );
  }
  const described = memoised as { familyName?: unknown; service?: unknown };
  const name =
    pair?.name ??
    (typeof described.familyName === 'string' ? described.familyName : undefined) ??
    (typeof described.service === 'string' ? described.service : undefined) ??
    (memoised.name || 'memoised');
  const direct = pair?.direct ?? bodyOf(memoised, name);
  if (typeof direct !== 'function') {
    throw new TypeError(`Expected \`direct\` to be a function, got \`${String(direct)}\` (${typeof direct})`);
  }
  return { memoised, direct, name };
}

/**
 * The function a memo wraps, to evaluate afresh. A store memo exposes it as `body`; a
 * local family does not, but each of its entries holds it (`family.fn`), so it is read
 * from the first entry asked for: once, so the memo's map is touched only that once.
 */
function bodyOf(memoised: object, name: string): (...args: unknown[]) => unknown {
  const { body, cell, service } = memoised as { body?: unknown; cell?: unknown; service?: unknown };
  if (typeof body === 'function') return body as (...args: unknown[]) => unknown;
  const noBody = (): TypeError =>
    new TypeError(
      `Cannot evaluate ${name} afresh: this process has no body for it. Pass { memoised, direct } with the unmemoised function.`,
    );
  if (typeof service === 'string' || typeof cell !== 'function') throw noBody();
  let found: ((...args: unknown[]) => unknown) | undefined;
  return (...args) => {
    if (found === undefined) {
      const entry = (cell as (...args: unknown[]) => { family?: { fn?: unknown } }).apply(memoised, args);
      const fn = entry?.family?.fn;
      if (typeof fn !== 'function') throw noBody();
      found = fn as (...args: unknown[]) => unknown;
    }
    return found(...args);
  };
}

function checkArbitraries(arbitraries: unknown): void {
  if (!Array.isArray(arbitraries)) {
    throw new TypeError(
      `Expected an array of fast-check arbitraries, one per parameter, got \`${String(arbitraries)}\` (${typeof arbitraries})`,
    );
  }
  arbitraries.forEach((arbitrary, i) => {
    if (!isArbitrary(arbitrary)) {
      throw new TypeError(
        `Expected argument ${i} to be a fast-check arbitrary, got \`${String(arbitrary)}\` (${typeof arbitrary})`,
      );
    }
  });
}

/** Duck-typed: a user's fast-check may be another copy than ours, so `instanceof` could lie. */
function isArbitrary(value: unknown): boolean {
  return typeof (value as { generate?: unknown } | null)?.generate === 'function';
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`Expected \`${option}\` to be an integer >= 1, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

/** An input's value without recording a dependency, when it can say so. */
async function currentValue(settable: Settable<unknown>): Promise<unknown> {
  const peek = (settable as { peek?: unknown }).peek;
  return typeof peek === 'function' ? (peek as () => unknown).call(settable) : await settable.get();
}

function keyOf(args: readonly unknown[]): string {
  try {
    return canonicalKey(args);
  } catch {
    return fc.stringify(args);
  }
}

async function outcome(evaluate: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await evaluate() };
  } catch (error) {
    return { ok: false, error };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Two fresh evaluations: the same value, or the same error message. */
function sameFresh(a: Outcome, b: Outcome, equals: (a: unknown, b: unknown) => boolean): boolean {
  if (a.ok && b.ok) return equals(a.value, b.value);
  if (!a.ok && !b.ok) return messageOf(a.error) === messageOf(b.error);
  return false;
}

/**
 * A memoised result against a fresh one. A store wraps a body's error (a RemoteError
 * quoting its message), so an error matches one whose message contains the fresh one's.
 */
function sameAsFresh(cached: Outcome, fresh: Outcome, equals: (a: unknown, b: unknown) => boolean): boolean {
  if (cached.ok && fresh.ok) return equals(cached.value, fresh.value);
  if (!cached.ok && !fresh.ok) return messageOf(cached.error).includes(messageOf(fresh.error));
  return false;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function show(result: Outcome): string {
  if (result.ok) return fc.stringify(result.value);
  const error = result.error;
  return error instanceof Error ? `threw ${error.name}: ${error.message}` : `threw ${fc.stringify(error)}`;
}
