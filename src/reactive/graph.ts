/**
 * The dependency graph engine: nodes, the links between them, change propagation
 * (push) and freshness checks (pull). Everything above this module — inputs, cells,
 * effects, memo families — is a node with a different `_compute`.
 *
 * Two ways a node learns that it may be stale:
 * - A *watched* node (an effect, or a cell that something watched depends on) is
 *   linked into its dependencies' subscriber lists, and a write pushes `STALE` down
 *   to it. It is fresh unless flagged.
 * - An *unwatched* cell is in no subscriber list, so nothing but the user's own
 *   reference keeps it alive (it can be garbage-collected). It remembers the global
 *   write counter at its last check and, when that moved, pulls: it compares the
 *   version each dependency had when read with the version it has now.
 * Versions only move when a value really changes (equality cutoff), so a recomputation
 * that yields an equal value invalidates nothing downstream.
 *
 * @internal
 */
import { CycleError } from './cycle-error.js';

/** Linked into its dependencies' subscriber lists; receives pushed staleness. */
export const WATCHED = 1;
/** Some upstream value may have changed since the node was last checked. */
export const STALE = 2;
/** Must recompute on next read: never computed, forgotten, or evicted. */
export const DIRTY = 4;
/** Its computation is running now; reading it again is a cycle. */
export const COMPUTING = 8;
/** `value` holds a thrown error, rethrown on every read until recomputed. */
export const HAS_ERROR = 16;
/** An effect: runs when stale instead of waiting to be read. */
export const EFFECT = 32;
/** An effect waiting in the flush queue. */
export const QUEUED = 64;
/** A disposed effect: never runs again. */
export const DISPOSED = 128;

export type Equals = (a: unknown, b: unknown) => boolean;

/**
 * One link is an edge `dep -> sub`. It always sits in `sub`'s list of dependencies, and
 * also in `dep`'s list of subscribers while `sub` is watched. A re-run that reads the
 * same dependencies in the same order reuses its links, so a stable graph allocates nothing.
 */
export class Link {
  /** `dep.version` when `sub` last read it. */
  version: number;
  prevDep: Link | undefined;
  nextDep: Link | undefined;
  prevSub: Link | undefined = undefined;
  nextSub: Link | undefined = undefined;

  constructor(
    readonly dep: Node,
    readonly sub: Node,
    version: number,
    prevDep: Link | undefined,
    nextDep: Link | undefined,
  ) {
    this.version = version;
    this.prevDep = prevDep;
    this.nextDep = nextDep;
  }
}

/** Set on nodes that compute their value (cells, memo entries) rather than being set. */
export const COMPUTED = 256;

const anonymousIds = new WeakMap<Node, number>();
let nextAnonymousId = 1;

/**
 * A vertex of the graph. Inputs, cells, memo entries and effects extend it, so each
 * is one object: the graph node is the public handle.
 */
export abstract class Node {
  /** Bit set of the flags above. */
  flags: number;
  /** Moves each time `value` changes (by `equals`) or an error is stored. */
  version = 0;
  /** The current value, or the thrown error when `HAS_ERROR` is set. */
  value: unknown;
  /** `globalVersion` when this node was last known fresh (unwatched fast path). */
  checkedAt = -1;
  subs: Link | undefined = undefined;
  subsTail: Link | undefined = undefined;
  deps: Link | undefined = undefined;
  /** During a computation: the last dependency read so far (the reuse cursor). */
  depsTail: Link | undefined = undefined;
  equals: Equals;

  constructor(flags: number, equals: Equals, value: unknown) {
    this.flags = flags;
    this.equals = equals;
    this.value = value;
  }

  /** Computes the value (nodes flagged `COMPUTED`); the effect module runs effects itself. */
  _compute(): unknown {
    return this.value;
  }

  /** Runs an effect that is due (nodes flagged `EFFECT`); the effect module implements it. */
  _run(): void {}

  /** The name shown in errors. */
  abstract get name(): string | undefined;

  get label(): string {
    const name = this.name;
    if (name !== undefined) return name;
    let id = anonymousIds.get(this);
    if (id === undefined) anonymousIds.set(this, (id = nextAnonymousId++));
    return `cell#${id}`;
  }
}

// ---- runtime state ---------------------------------------------------------------

/** The node whose computation is recording dependencies now, if any. */
export let activeSub: Node | undefined;
/** Counts every write; an unwatched node checked at the current count is fresh. */
export let globalVersion = 0;
let batchDepth = 0;
/** How many computations (and dependency checks) are running now, nested. */
let computeDepth = 0;
/**
 * Cycles found but not yet reported whole. A CycleError is thrown where a node is read
 * while it computes; each computation it unwinds through adds its name, until it
 * reaches the frame of that node, which closes the path. No stack is kept for this on
 * the hot path.
 */
const openCycles = new WeakMap<CycleError, { readonly closing: Node; readonly unwound: string[] }>();
/** Due effects, in the order they were reached. Slots are reused: it never shrinks. */
const effectQueue: (Node | undefined)[] = [];
let queueLength = 0;
let flushing = false;
/** Effects whose function is running now (outside a flush: being created). */
let effectsRunning = 0;
/**
 * Effects that keep re-triggering each other (an effect writing an input it reads)
 * would loop forever; one flush may run at most this many effects.
 */
const MAX_EFFECT_RUNS_PER_FLUSH = 1_000_000;


export function setActiveSub(sub: Node | undefined): Node | undefined {
  const prev = activeSub;
  activeSub = sub;
  return prev;
}

// ---- links ---------------------------------------------------------------------

/** Records that `sub` read `dep` (after `dep` was refreshed). */
export function track(dep: Node, sub: Node): void {
  const prev = sub.depsTail;
  // Read again right after the last read of this run: keep the version of the first
  // read, so a change between the two (across an `await`) is still seen as a change.
  if (prev !== undefined && prev.dep === dep) return;
  const next = prev !== undefined ? prev.nextDep : sub.deps;
  if (next !== undefined && next.dep === dep) {
    next.version = dep.version;
    sub.depsTail = next;
    return;
  }
  const link = new Link(dep, sub, dep.version, prev, next);
  if (next !== undefined) next.prevDep = link;
  if (prev !== undefined) prev.nextDep = link;
  else sub.deps = link;
  sub.depsTail = link;
  if (sub.flags & WATCHED) addSub(dep, link);
}

function addSub(dep: Node, link: Link): void {
  const tail = dep.subsTail;
  link.prevSub = tail;
  link.nextSub = undefined;
  dep.subsTail = link;
  if (tail !== undefined) tail.nextSub = link;
  else {
    dep.subs = link;
    // Last: on a cycle, watching reaches back and appends to this very list.
    if (dep.flags & COMPUTED && !(dep.flags & WATCHED)) watch(dep);
  }
}

function removeSub(dep: Node, link: Link): void {
  const { prevSub, nextSub } = link;
  if (nextSub !== undefined) nextSub.prevSub = prevSub;
  else dep.subsTail = prevSub;
  if (prevSub !== undefined) prevSub.nextSub = nextSub;
  else if ((dep.subs = nextSub) === undefined && dep.flags & WATCHED && !(dep.flags & EFFECT)) unwatch(dep);
  link.prevSub = link.nextSub = undefined;
}

/** A node gained its first subscriber: subscribe it to its own dependencies. */
function watch(node: Node): void {
  // Until now nothing pushed staleness to it. A watched node counts as fresh unless
  // flagged, and flagging it here would not reach its new subscriber, so bring it up
  // to date first (reads refresh before they link, so this rarely has work to do).
  if ((node.checkedAt !== globalVersion || node.flags & DIRTY) && !(node.flags & COMPUTING)) refresh(node);
  node.flags |= WATCHED;
  for (let link = node.deps; link !== undefined; link = link.nextDep) addSub(link.dep, link);
}

/** A node lost its last subscriber: let go of its dependencies so it can be collected. */
function unwatch(node: Node): void {
  node.flags &= ~WATCHED;
  node.checkedAt = node.flags & (STALE | DIRTY) ? -1 : globalVersion;
  for (let link = node.deps; link !== undefined; link = link.nextDep) removeSub(link.dep, link);
}

/** Drops the links after the cursor: dependencies the last computation no longer read. */
function purgeDeps(node: Node): void {
  const tail = node.depsTail;
  let link = tail !== undefined ? tail.nextDep : node.deps;
  if (link === undefined) return;
  if (tail !== undefined) tail.nextDep = undefined;
  else node.deps = undefined;
  const watched = node.flags & WATCHED;
  while (link !== undefined) {
    const next: Link | undefined = link.nextDep;
    link.prevDep = link.nextDep = undefined;
    if (watched) removeSub(link.dep, link);
    link = next;
  }
}

/** Unlinks every dependency (a disposed effect, an evicted memo entry). */
export function dropDeps(node: Node): void {
  node.depsTail = undefined;
  purgeDeps(node);
}

// ---- push ----------------------------------------------------------------------

/** Marks everything downstream of `node` stale and queues the effects among it. */
export function propagate(node: Node): void {
  for (let link = node.subs; link !== undefined; link = link.nextSub) {
    const sub = link.sub;
    const flags = sub.flags;
    if (flags & STALE) continue;
    sub.flags = flags | STALE;
    if (flags & EFFECT) {
      if (!(flags & (QUEUED | DISPOSED))) {
        sub.flags |= QUEUED;
        effectQueue[queueLength++] = sub;
      }
    } else if (sub.subs !== undefined) {
      propagate(sub);
    }
  }
}

/**
 * Pushes a change of `node`'s own value: its direct subscribers read the old value,
 * so they must recompute (DIRTY, no check needed); everything further down may have
 * to (STALE, checked when read).
 */
function propagateChange(node: Node): void {
  for (let link = node.subs; link !== undefined; link = link.nextSub) {
    const sub = link.sub;
    const flags = sub.flags;
    sub.flags = flags | DIRTY | STALE;
    if (flags & EFFECT) {
      if (!(flags & (QUEUED | DISPOSED))) {
        sub.flags |= QUEUED;
        effectQueue[queueLength++] = sub;
      }
    } else if (!(flags & STALE) && sub.subs !== undefined) {
      propagate(sub);
    }
  }
}

/** Stores a new value in an input (or any node) and pushes the change; returns false if equal. */
export function write(node: Node, value: unknown): boolean {
  if (!(node.flags & HAS_ERROR) && node.version !== 0 && node.equals(node.value, value)) return false;
  node.value = value;
  node.flags &= ~HAS_ERROR;
  node.version++;
  globalVersion++;
  propagateChange(node);
  flushIfIdle();
  return true;
}

/** Stores an error in an input (a stream that failed): its readers rethrow it. */
export function writeError(node: Node, error: unknown): void {
  node.value = error;
  node.flags |= HAS_ERROR;
  node.version++;
  globalVersion++;
  propagateChange(node);
  flushIfIdle();
}

/** Forces `node` to recompute on its next read and tells everything downstream. */
export function invalidate(node: Node): void {
  node.flags |= DIRTY;
  globalVersion++;
  propagate(node);
  flushIfIdle();
}

// ---- pull ----------------------------------------------------------------------

/** Brings a computed node up to date, recomputing it only if a dependency changed. */
export function refresh(node: Node): void {
  const flags = node.flags;
  if (flags & COMPUTING) throw cycleThrough(node);
  if (!(flags & (STALE | DIRTY)) && (flags & WATCHED || node.checkedAt === globalVersion)) return;
  if (!(flags & DIRTY)) {
    if (!inputsChanged(node)) {
      node.flags &= ~STALE;
      node.checkedAt = globalVersion;
      return;
    }
  }
  recompute(node);
  node.checkedAt = globalVersion;
}

/**
 * Did a dependency of `node` change? Inputs are compared directly; from the first
 * computed dependency on, checking counts as computing: a dependency that reads this
 * node back closes a cycle, and the CycleError should name this node too.
 */
function inputsChanged(node: Node): boolean {
  for (let link = node.deps; link !== undefined; link = link.nextDep) {
    const dep = link.dep;
    if (dep.flags & COMPUTED) {
      node.flags |= COMPUTING;
      computeDepth++;
      let changed: boolean;
      try {
        changed = depsChangedFrom(link);
      } catch (error) {
        computeDepth--;
        node.flags &= ~COMPUTING;
        unwindCycle(error, node);
        throw error;
      }
      computeDepth--;
      node.flags &= ~COMPUTING;
      return changed;
    }
    if (dep.version !== link.version) return true;
  }
  return false;
}

function depsChanged(node: Node): boolean {
  return depsChangedFrom(node.deps);
}

function depsChangedFrom(first: Link | undefined): boolean {
  for (let link = first; link !== undefined; link = link.nextDep) {
    const dep = link.dep;
    if (dep.flags & COMPUTED) refresh(dep);
    if (dep.version !== link.version) return true;
  }
  return false;
}

/** Runs the node's computation, recording what it reads; an error becomes its value. */
export function recompute(node: Node): void {
  const prevSub = activeSub;
  activeSub = node;
  node.depsTail = undefined;
  node.flags = (node.flags & ~(STALE | DIRTY)) | COMPUTING;
  computeDepth++;
  let value: unknown;
  let threw = false;
  try {
    value = node._compute();
  } catch (error) {
    value = error;
    threw = true;
    unwindCycle(error, node);
  } finally {
    computeDepth--;
    activeSub = prevSub;
    node.flags &= ~COMPUTING;
    const tail = node.depsTail as Link | undefined; // set by the computation's reads
    if (tail !== undefined ? tail.nextDep !== undefined : node.deps !== undefined) purgeDeps(node);
  }
  if (threw) {
    if (!(node.flags & HAS_ERROR) || node.value !== value) {
      node.value = value;
      node.flags |= HAS_ERROR;
      node.version++;
    }
  } else if (node.flags & HAS_ERROR || node.version === 0 || !node.equals(node.value, value)) {
    node.value = value;
    node.flags &= ~HAS_ERROR;
    node.version++;
  }
}

function cycleThrough(node: Node): CycleError {
  const error = new CycleError([node.label, node.label]);
  openCycles.set(error, { closing: node, unwound: [] });
  return error;
}

/** A computation of `node` is ending with `error`: if it is an open cycle, name `node` on it. */
function unwindCycle(error: unknown, node: Node): void {
  if (!(error instanceof CycleError)) return;
  const open = openCycles.get(error);
  if (open === undefined) return;
  if (node !== open.closing) {
    open.unwound.push(node.label);
    return;
  }
  openCycles.delete(error);
  const label = node.label;
  error._setCells([label, ...open.unwound.reverse(), label]);
}

/**
 * Reads a computed node: refresh, record the dependency, return or rethrow.
 * The hot path of every `cell.get()`.
 */
export function bumpGlobalVersion(): void {
  globalVersion++;
}

export function readComputed(node: Node): unknown {
  const sub = activeSub;
  const flags = node.flags;
  // Inline the fresh case: it is the hot path of every hit.
  if (flags & (STALE | DIRTY | COMPUTING) || (!(flags & WATCHED) && node.checkedAt !== globalVersion)) {
    try {
      refresh(node);
    } catch (error) {
      // A cycle: the reader still depends on this node, so that breaking the cycle
      // later (a new version of this node) makes the reader compute again.
      if (sub !== undefined) track(node, sub);
      throw error;
    }
  }
  if (sub !== undefined) track(node, sub);
  else if (queueLength !== 0) flushIfIdle();
  if (node.flags & HAS_ERROR) throw node.value;
  return node.value;
}

/** Is the cached value current, without computing anything? */
export function isFresh(node: Node): boolean {
  const flags = node.flags;
  return (
    node.version !== 0 &&
    !(flags & (STALE | DIRTY | COMPUTING)) &&
    ((flags & WATCHED) !== 0 || node.checkedAt === globalVersion)
  );
}

// ---- batches and effects -----------------------------------------------------------

export function flushIfIdle(): void {
  if (batchDepth === 0 && computeDepth === 0 && effectsRunning === 0 && !flushing && queueLength !== 0) flush();
}

class EffectLoopError extends Error {
  constructor() {
    super(
      `Effects ran ${MAX_EFFECT_RUNS_PER_FLUSH} times in one flush: an effect probably writes an input ` +
        'it also reads, so it re-triggers itself. Read that input with untracked(), or compute the value in a cell.',
    );
    this.name = 'EffectLoopError';
  }
}

/** Runs queued effects until none is left; rethrows the first error afterwards. */
function flush(): void {
  flushing = true;
  let firstError: unknown;
  let failed = false;
  let index = 0;
  try {
    // The try sits outside the inner loop: an error leaves it, is recorded, and the
    // outer loop goes on with the next effect.
    while (index < queueLength) {
      try {
        while (index < queueLength) {
          const node = effectQueue[index] as Node;
          effectQueue[index++] = undefined;
          node.flags &= ~QUEUED;
          if (node.flags & DISPOSED) continue;
          if (index > MAX_EFFECT_RUNS_PER_FLUSH) throw new EffectLoopError();
          node._run();
        }
      } catch (error) {
        if (error instanceof EffectLoopError) throw error;
        if (!failed) {
          failed = true;
          firstError = error;
        }
      }
    }
  } finally {
    for (let i = index; i < queueLength; i++) {
      (effectQueue[i] as Node).flags &= ~QUEUED;
      effectQueue[i] = undefined;
    }
    queueLength = 0;
    flushing = false;
  }
  if (failed) throw firstError;
}

export function startBatch(): void {
  batchDepth++;
}

export function endBatch(): void {
  if (--batchDepth === 0) flushIfIdle();
}


/** Runs the pull check for an effect node: true when it must run again. */
export function effectIsDue(node: Node): boolean {
  const flags = node.flags;
  if (flags & DIRTY) return true;
  if (!(flags & STALE)) return false;
  if (depsChanged(node)) return true;
  node.flags &= ~STALE;
  return false;
}

/** Begins an effect run: reset the cursor, mark computing. Pair with `endRun`. */
export function beginRun(node: Node): Node | undefined {
  const prevSub = activeSub;
  activeSub = node;
  node.depsTail = undefined;
  // Effects are never read, so they are never on a cycle's path: count, don't push.
  node.flags = (node.flags & ~(STALE | DIRTY)) | COMPUTING;
  effectsRunning++;
  return prevSub;
}

export function endRun(node: Node, prevSub: Node | undefined): void {
  effectsRunning--;
  activeSub = prevSub;
  node.flags &= ~COMPUTING;
  const tail = node.depsTail;
  if (tail !== undefined ? tail.nextDep !== undefined : node.deps !== undefined) purgeDeps(node);
}
