// Starting and stopping the demo's worker processes.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));
const STOP_GRACE_MS = 3_000;

/**
 * A set of worker processes serving `mand.slice` from one Redis. Each is a child with an
 * IPC channel: when this process ends, however it ends, the channel closes and they leave.
 *
 * @example
 * const pool = new WorkerPool(redisUrl);
 * pool.start(2);
 * await pool.waitServing(store, 2);
 * ...
 * await pool.stopAll();
 */
export class WorkerPool {
  constructor(redisUrl) {
    this.redisUrl = redisUrl;
    /** @type {import('node:child_process').ChildProcess[]} */
    this.children = [];
  }

  /** Starts `count` more workers. */
  start(count) {
    for (let i = 0; i < count; i++) {
      const child = fork(WORKER, [], {
        env: { ...process.env, REDIS_URL: this.redisUrl },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.exitedPromise = new Promise((resolve) => child.once('exit', resolve));
      child.computed = 0;
      child.on('message', (message) => {
        if (message?.type === 'computed') child.computed++;
      });
      this.children.push(child);
    }
  }

  get pids() {
    return this.children.map((child) => child.pid);
  }

  /** How many slices each worker has computed so far, by pid. */
  computedByPid() {
    return new Map(this.children.map((child) => [child.pid, child.computed]));
  }

  /** Waits until the store's registry lists `count` live servers of the service. */
  async waitServing(store, service, count, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const servers = await store.distributed.servers(service);
      const ours = servers.filter((s) => this.pids.includes(s.pid));
      if (ours.length >= count) return ours;
      const dead = this.children.find((child) => child.exitCode !== null || child.signalCode !== null);
      if (dead) throw new Error(`worker ${dead.pid} exited (${dead.exitCode ?? dead.signalCode}) before serving`);
      if (Date.now() > deadline) throw new Error(`only ${ours.length} of ${count} workers serving after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Asks one worker to forget some slices and waits until it has. */
  forgetIn(index, view, bands) {
    const child = this.children[index];
    return new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message?.type !== 'forgot') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message.count);
      };
      const onExit = () => reject(new Error(`worker ${child.pid} exited before forgetting`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'forget', view, bands });
    });
  }

  /** Stops every worker: SIGTERM (each finishes its slice in hand), SIGKILL after a grace period. */
  async stopAll() {
    const children = this.children.splice(0);
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await child.exitedPromise;
        clearTimeout(timer);
      }),
    );
  }

  /** The last resort from an 'exit' handler, where nothing asynchronous runs. */
  killAllNow() {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
