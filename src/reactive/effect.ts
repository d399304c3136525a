/**
 * Effects: computations run for their side effects, immediately and again after
 * every change to what they read. They are the graph's way out (ReacTcl's link from a
 * reactive variable to an ordinary one) and what keeps watched cells subscribed.
 */
import {
  beginRun,
  DIRTY,
  dropDeps,
  DISPOSED,
  effectIsDue,
  EFFECT,
  endRun,
  flushIfIdle,
  Node,
  setActiveSub,
  WATCHED,
} from './graph.js';
import type { EffectOptions } from './options.js';

type Cleanup = () => void;
type EffectFn = () => void | Cleanup;

const noop = (): void => {};

class EffectNode extends Node {
  cleanup: Cleanup | undefined = undefined;
  /** Effects created during this effect's last run; disposed before it runs again. */
  children: Cleanup[] | undefined = undefined;

  constructor(
    public fn: EffectFn,
    readonly name: string | undefined,
  ) {
    super(EFFECT | WATCHED | DIRTY, Object.is, undefined);
  }

  override _run(): void {
    runEffect(this);
  }

  dispose = (): void => {
    if (this.flags & DISPOSED) return;
    dropDeps(this);
    this.flags = DISPOSED;
    // The disposer may be kept long after: let go of what the function captured.
    this.fn = noop;
    this.runCleanup();
  };

  runCleanup(): void {
    const children = this.children;
    if (children !== undefined) {
      this.children = undefined;
      for (const dispose of children) dispose();
    }
    const cleanup = this.cleanup;
    if (cleanup !== undefined) {
      this.cleanup = undefined;
      const prev = setActiveSub(undefined);
      try {
        cleanup();
      } finally {
        setActiveSub(prev);
      }
    }
  }
}

/** The effect whose run is creating effects now: it owns them. */
let owner: EffectNode | undefined;

function runEffect(node: Node): void {
  if (!effectIsDue(node)) return;
  const record = node as EffectNode;
  if (record.cleanup !== undefined || record.children !== undefined) record.runCleanup();
  const prevSub = beginRun(node);
  const prevOwner = owner;
  owner = record;
  try {
    const result = record.fn();
    if (typeof result === 'function') record.cleanup = result;
  } finally {
    owner = prevOwner;
    endRun(node, prevSub);
  }
  // Disposed during its own run (an Observable that errored, say): clean up what it just made.
  if (node.flags & DISPOSED) {
    dropDeps(node);
    record.runCleanup();
  }
}

/**
 * Runs `fn` now and again whenever something it read changes. A function returned by
 * `fn` is its cleanup, run before the next run and on disposal. Effects created inside
 * an effect are disposed when it re-runs. Effects run after the change that triggered
 * them has fully propagated, so they never see a mix of old and new values.
 *
 * @returns a disposer: call it to stop the effect and run its cleanup.
 * @example
 * ```ts
 * const count = input(1);
 * const stop = effect(() => console.log('count is', count.get())); // logs 1
 * count.set(2);                                                    // logs 2
 * stop();
 * ```
 */
export function effect(fn: EffectFn, options?: EffectOptions): () => void {
  if (typeof fn !== 'function') {
    throw new TypeError(`Expected \`fn\` to be a function, got \`${String(fn)}\` (${typeof fn})`);
  }
  const record = new EffectNode(fn, options?.name);
  if (owner !== undefined) (owner.children ??= []).push(record.dispose);
  try {
    runEffect(record);
  } catch (error) {
    record.dispose();
    throw error;
  }
  flushIfIdle();
  return record.dispose;
}
