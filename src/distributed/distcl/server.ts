/**
 * A memocell server that speaks DisTcl: it takes requests from `q:SERVICE` and
 * `p:SERVICE` (gets first, as DisTcl's own BLPOP order), deduplicates concurrent gets
 * through the `r:` run list the way DisTcl servers do, and answers `w:` wait lists, so
 * Tcl servers and memocell servers can serve one queue together. Each DisTcl step that
 * took several commands is one script here.
 */
import { randomBytes } from 'node:crypto';
import { popForLoop } from '../blocking.js';
import type { Connection, RedisClient } from '../connection.js';
import { isKept } from '../keep.js';
import { SlotPool } from '../slots.js';
import type { Kept, ServerHandle } from '../types.js';
import { distclControl, distclKeys, type DistclKeys } from './keys.js';
import { formatResult } from './result.js';
import { parseTclList } from './tcl-list.js';

/** What a DisTcl handler receives: the request's words, as strings. */
export type DistclHandler = (words: string[]) => unknown;

/** Tcl values are strings; numbers and booleans become their usual text, anything else is refused. */
function asTclString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw new TypeError(
    `A DisTcl handler must return a string (or a number), got ${value === null ? 'null' : typeof value}: DisTcl values are strings`,
  );
}

export class DistclServer implements ServerHandle {
  readonly id: string;
  readonly stopped: Promise<void>;
  verbose: boolean;
  private readonly keys: DistclKeys;
  private readonly pool: SlotPool;
  private readonly runs = new Set<Promise<void>>();
  private stopping = false;
  private blocking: RedisClient | undefined;
  private resolveStopped!: () => void;

  constructor(
    readonly service: string,
    private readonly handler: DistclHandler,
    private readonly connection: Connection,
    concurrency: number,
    id: string | undefined,
    verbose: boolean,
    private readonly onStopped: (server: DistclServer) => void,
  ) {
    this.id = id ?? `${process.pid}-${randomBytes(3).toString('hex')}`;
    this.keys = distclKeys(service);
    this.pool = new SlotPool(concurrency);
    this.verbose = verbose;
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  start(): void {
    this.blocking = this.connection.dedicated();
    if (this.verbose) process.stderr.write(`Control queue is '${distclControl(this.id)}'\n`);
    void this.loop();
  }

  private log(text: string): void {
    if (this.verbose) process.stderr.write(`${text}\n`);
  }

  private async loop(): Promise<void> {
    const control = distclControl(this.id);
    const k = this.keys;
    while (!this.stopping) {
      await this.pool.whenFree();
      if (this.stopping) break;
      const popped = await popForLoop(this.blocking as RedisClient, [control, k.gets, k.prefetches], 5, () => this.stopping);
      if (popped === null) continue;
      const [queue, request] = popped;
      this.log(`QUEUE ${queue} REQUEST '${request}'`);
      if (queue === control) {
        if (request === 'stop') void this.stop();
        else if (request.startsWith('v')) this.verbose = true;
        else if (request.startsWith('q')) this.verbose = false;
        continue;
      }
      const isGet = queue === k.gets ? '1' : '0';
      let recorded: number;
      try {
        recorded = (await this.connection.script('distclstart', [k.run(request)], [isGet])) as number;
      } catch {
        continue;
      }
      // Already being computed (by this server or another, Tcl or memocell): the one
      // computing it answers this get too.
      if (recorded > 1) continue;
      await this.pool.acquire();
      const run = this.serve(request).finally(() => {
        this.pool.release();
        this.runs.delete(run);
      });
      this.runs.add(run);
    }
  }

  private async serve(request: string): Promise<void> {
    const k = this.keys;
    let result: string;
    let keepSeconds = 0;
    try {
      const words = parseTclList(request);
      let value: unknown = await this.handler(words);
      if (isKept(value)) {
        // DisTcl's `ex` takes whole seconds.
        keepSeconds = Math.max(1, Math.round((value as Kept<unknown>).ttlSeconds));
        value = (value as Kept<unknown>).value;
      }
      result = formatResult(0, asTclString(value));
    } catch (error) {
      keepSeconds = 0;
      result = formatResult(1, error instanceof Error ? error.message : String(error));
    }
    try {
      await this.connection.script(
        'distclfinish',
        [k.value(request), k.run(request), k.waiters(request)],
        [result, keepSeconds],
      );
    } catch (error) {
      this.log(`could not deliver '${request}': ${(error as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    if (this.blocking !== undefined) this.connection.drop(this.blocking);
    while (this.runs.size > 0) await Promise.allSettled([...this.runs]);
    this.onStopped(this);
    this.resolveStopped();
    return this.stopped;
  }
}
