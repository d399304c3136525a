/**
 * DisTcl's own key layout, which the `distcl` protocol must use byte for byte so that
 * Tcl clients and servers share queues and results with memocell. No prefix and no
 * hash tag: DisTcl has neither, so this mode needs a single Redis (not a Cluster).
 */
export interface DistclKeys {
  /** Get requests: Tcl lists of words. */
  readonly gets: string;
  /** Prefetch requests. */
  readonly prefetches: string;
  /** A request's cached result, `STATUS:VALUE`. */
  value(args: string): string;
  /** A request's run list: one entry per get (1) or prefetch (0) while it is computed. */
  run(args: string): string;
  /** A request's wait list: one copy of the result per waiting get. */
  waiters(args: string): string;
}

export function distclKeys(service: string): DistclKeys {
  return {
    gets: `q:${service}`,
    prefetches: `p:${service}`,
    value: (args) => `v:${service}:${args}`,
    run: (args) => `r:${service}:${args}`,
    waiters: (args) => `w:${service}:${args}`,
  };
}

/** A server's control queue: `stop`, `v…` (verbose), `q…` (quiet). */
export function distclControl(serverId: string): string {
  return `z:${serverId}`;
}
