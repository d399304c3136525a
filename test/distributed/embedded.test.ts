/** The embedded store: the shared contract, the model run, and what only an in-process store can show. */
import { describe, expect, it } from 'vitest';
import { createEmbeddedStore, EmbeddedStore } from '../../src/distributed/embedded-store.js';
import { StoreClosedError } from '../../src/distributed/errors/store-closed-error.js';
import { keep } from '../../src/distributed/keep.js';
import type { Codec } from '../../src/distributed/codec.js';
import { contractSuite, eventually, sleep, uniqueService } from './contract.js';
import { deferred } from '../support/deferred.js';

contractSuite('embedded store', async () => {
  const store = createEmbeddedStore();
  return { store, cleanup: () => store.close() };
});

describe('embedded store specifics', () => {
  it('createEmbeddedStore checks its options', () => {
    expect(() => createEmbeddedStore({ timeoutMs: 0 })).toThrow(TypeError);
    expect(() => createEmbeddedStore({ codec: {} as Codec })).toThrow(TypeError);
    expect(createEmbeddedStore()).toBeInstanceOf(EmbeddedStore);
  });

  it('the store-wide timeoutMs is the default of every get', async () => {
    const store = createEmbeddedStore({ timeoutMs: 80 });
    try {
      const started = Date.now();
      await expect(store.get(uniqueService('none'), [1])).rejects.toMatchObject({ name: 'TimeoutError', timeoutMs: 80 });
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await store.close();
    }
  });

  it('a custom codec encodes results on the way in and decodes them on the way out', async () => {
    const codec: Codec = {
      encode: (v) => `x${JSON.stringify(v instanceof Map ? { map: [...v] } : v)}`,
      decode: (d) => {
        const v = JSON.parse(d.slice(1)) as { map?: [unknown, unknown][] };
        return v !== null && typeof v === 'object' && 'map' in v ? new Map(v.map) : v;
      },
    };
    const store = createEmbeddedStore({ codec });
    try {
      const svc = uniqueService('codec');
      store.serve(svc, ([n]) => keep(new Map([[n, 'one']]), { ttlSeconds: 60 }));
      const m = await store.get<Map<unknown, unknown>>(svc, [1]);
      expect(m).toEqual(new Map([[1, 'one']]));
      expect(await store.get(svc, [1])).not.toBe(m);
    } finally {
      await store.close();
    }
  });

  it('recursion 200 deep on a single slot completes', async () => {
    const store = createEmbeddedStore();
    try {
      const svc = uniqueService('deep');
      store.serve(svc, async ([n]) => ((n as number) === 0 ? 0 : 1 + (await store.get<number>(svc, [(n as number) - 1]))));
      expect(await store.get(svc, [200])).toBe(200);
    } finally {
      await store.close();
    }
  });

  it('a handler that returns while its own call is pending does not leak its slot', async () => {
    const store = createEmbeddedStore();
    try {
      const svc = uniqueService('leak');
      const other = uniqueService('other');
      const open = deferred();
      store.serve(other, async () => {
        await open.promise;
        return 'other';
      });
      store.serve(svc, ([n]) => {
        if (n === 'fire') void store.get(other, [1]).catch(() => undefined); // not awaited
        return n;
      });
      expect(await store.get(svc, ['fire'])).toBe('fire');
      open.resolve();
      await sleep(10);
      // With concurrency 1, a leaked slot would block every later request.
      expect(await store.get(svc, ['next'], { timeoutMs: 500 })).toBe('next');
      expect(await store.get(svc, ['again'], { timeoutMs: 500 })).toBe('again');
    } finally {
      await store.close();
    }
  });

  it('a save answers the callers of a request no server has taken yet', async () => {
    const store = createEmbeddedStore();
    try {
      const svc = uniqueService('saveanswers');
      const waiting = store.get(svc, [1], { timeoutMs: 1_000 });
      await sleep(5);
      await store.save(svc, [1], 'saved', { ttlSeconds: 60 });
      expect(await waiting).toBe('saved');
      expect((await store.stats(svc)).queued.gets).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('a result forgotten while it was computed is computed again; one saved over is answered with the saved value', async () => {
    const store = createEmbeddedStore();
    try {
      const svc = uniqueService('race');
      const open = deferred();
      let calls = 0;
      store.serve(svc, async ([n]) => {
        const call = ++calls;
        if (call <= 2) await open.promise;
        return keep(`${String(n)}#${call}`, { ttlSeconds: 60 });
      }, { concurrency: 2 });
      const a = store.get(svc, ['a']);
      const b = store.get(svc, ['b']);
      await eventually(() => expect(calls).toBe(2));
      await store.forget(svc, ['a']);
      await store.save(svc, ['b'], 'saved', { ttlSeconds: 60 });
      open.resolve();
      expect(await a).toBe('a#3');
      expect(await b).toBe('saved');
      expect(await store.get(svc, ['a'])).toBe('a#3');
      expect(await store.get(svc, ['b'])).toBe('saved');
      expect(calls).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('an abort signal gives up the wait; the handler signal aborts on close', async () => {
    const store = createEmbeddedStore();
    const svc = uniqueService('abort');
    let handlerSignal: AbortSignal | undefined;
    const open = deferred();
    store.serve(svc, async (_args, ctx) => {
      handlerSignal = ctx.signal;
      await open.promise;
      return 1;
    });
    const controller = new AbortController();
    const waiting = store.get(svc, [1], { signal: controller.signal });
    await eventually(() => expect(handlerSignal).toBeDefined());
    controller.abort(new Error('no longer needed'));
    await expect(waiting).rejects.toThrow('no longer needed');
    expect(handlerSignal?.aborted).toBe(false);
    await store.close();
    expect(handlerSignal?.aborted).toBe(true);
    expect(handlerSignal?.reason).toBeInstanceOf(StoreClosedError);
    open.resolve();
  });

  it('unsubscribing from get$ gives up the wait', async () => {
    const store = createEmbeddedStore();
    try {
      const svc = uniqueService('unsub');
      const sub = store.get$(svc, [1]).subscribe({ error: () => undefined });
      await sleep(5);
      sub.unsubscribe();
      await sleep(5);
      store.serve(svc, () => 1);
      expect(await store.get(svc, [1])).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('close() leaves no timers: the TTL cache is emptied', async () => {
    const store = createEmbeddedStore();
    const svc = uniqueService('timers');
    await store.save(svc, [1], 1, { ttlSeconds: 3_600 * 24 * 365 });
    store.serve(svc, () => keep(2, { ttlSeconds: 3_600 }));
    expect(await store.get(svc, [2])).toBe(2);
    await store.close();
    await expect(store.stats(svc)).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('a handler gets its own copy of the arguments, in canonical form, as from Redis', async () => {
    const store = createEmbeddedStore();
    try {
      const svc = uniqueService('argcopy');
      let seen: unknown;
      store.serve(svc, (args) => {
        seen = args;
        (args[0] as { list: number[] }).list.push(99);
        return 'ok';
      });
      const arg = { list: [1, 2], gone: undefined, zero: -0 };
      expect(await store.get(svc, [arg])).toBe('ok');
      expect(arg.list).toEqual([1, 2]);
      expect(seen).toEqual([{ list: [1, 2, 99], zero: 0 }]);
      expect(Object.keys((seen as [object])[0])).toEqual(['list', 'zero']);
    } finally {
      await store.close();
    }
  });

  it('two servers with one id in one service are refused', async () => {
    const store = createEmbeddedStore();
    try {
      const svc = uniqueService('dupid');
      store.serve(svc, () => 1, { id: 'same' });
      expect(() => store.serve(svc, () => 1, { id: 'same' })).toThrow(/same/);
    } finally {
      await store.close();
    }
  });
});
