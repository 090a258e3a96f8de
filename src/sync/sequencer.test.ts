/**
 * The sequencer answers every command, success or refusal, only from durable state: a refusal
 * that rests on an earlier write of its batch waits for that write (and fails with it), a
 * refusal is planned again when the append is retried, and a batch with nothing to write is
 * answered only once the state holds every acknowledged write. Faults a single server cannot
 * produce (another writer appending first, a tail that lags, an append that fails) come from a
 * thin layer over a real broker on the memory log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../broker/broker.js';
import type { AppendResult, Broker, SubscribeOptions, Subscription } from '../broker/types.js';
import { isTributaryError, TributaryError } from '../errors.js';
import { createMemoryLog } from '../log/memory/memory-log.js';
import type { Collection } from './collection.js';
import { encodeStrong } from './record-codec.js';
import { CollectionService } from './service.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A broker whose tail deliveries can be held back and whose appends can be delayed or failed. */
class FaultyBroker {
  #held: (() => void)[] | undefined;
  /** Called for each `appendBatch`; may delay or replace its outcome. */
  onAppend: ((append: () => Promise<AppendResult>) => Promise<AppendResult>) | undefined;
  readonly broker: Broker;

  constructor(readonly inner: Broker) {
    this.broker = new Proxy(inner, {
      get: (target, name, receiver) => {
        if (name === 'subscribe') return (options: SubscribeOptions) => this.#subscribe(options);
        if (name === 'appendBatch') {
          return (...args: Parameters<Broker['appendBatch']>) => {
            const append = () => target.appendBatch(...args);
            return this.onAppend === undefined ? append() : this.onAppend(append);
          };
        }
        const value: unknown = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** Tail deliveries wait until `release`. */
  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const deliver of held) deliver();
  }

  #subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe({
      ...options,
      onRecords: (delivery) => {
        if (this.#held === undefined) options.onRecords(delivery);
        else this.#held.push(() => options.onRecords(delivery));
      },
    });
  }
}

async function setup(
  onAppendConflict?: () => void,
): Promise<{ faulty: FaultyBroker; collection: Collection; topic: string }> {
  const log = createMemoryLog();
  const inner = (await createBroker(log)).forSystem();
  const faulty = new FaultyBroker(inner);
  const service = await CollectionService.open(
    faulty.broker,
    onAppendConflict === undefined ? {} : { onAppendConflict },
  );
  cleanups.push(async () => {
    faulty.release();
    await service.close();
    await inner.close();
    await log.close();
  });
  const info = await service.create('cas', { mode: 'strong' });
  return { faulty, collection: service.collection('cas'), topic: info.topic };
}

/** Another writer of the same log (a second gateway): one strong record, acknowledged. */
async function writeElsewhere(faulty: FaultyBroker, topic: string, key: string, v: string): Promise<number> {
  const appended = await faulty.inner.appendBatch(topic, 0, [encodeStrong(key, { v }, undefined)]);
  return appended.baseOffset;
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (error) {
    return isTributaryError(error) ? error.code : error;
  }
}

const deferred = () => {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('sequencer: answers rest on durable state only', () => {
  it('a refusal that rests on an earlier write of its batch fails with that write', async () => {
    const { faulty, collection } = await setup();
    const v0 = (await collection.write({ op: 'put', key: 'x', value: { v: 'init' } })).version;
    let appends = 0;
    faulty.onAppend = (append) => {
      appends++;
      // The second batch (A then B) fails as storage would.
      return appends === 2
        ? Promise.reject(new TributaryError('STORAGE_ERROR', { reason: 'injected' }))
        : append();
    };
    const d = collection.write({ op: 'put', key: 'y', value: { v: 'd' } });
    const a = collection.write({ op: 'put', key: 'x', value: { v: 'a' } });
    const b = collection.write({ op: 'put', key: 'x', value: { v: 'b' }, ifVersion: v0 });
    expect(await outcome(d)).toMatchObject({ key: 'y' });
    expect(await outcome(a)).toBe('STORAGE_ERROR');
    // B was refused against A's write, which never became durable: it must not hear VERSION_MISMATCH.
    expect(await outcome(b)).toBe('STORAGE_ERROR');
    expect(appends).toBe(2);
    expect((await collection.get('x', 'linearizable')).version).toBe(v0);
  });

  it('so does a guard refused because of an earlier write of its batch (PRECONDITION_FAILED)', async () => {
    const { faulty, collection } = await setup();
    const v0 = (await collection.write({ op: 'put', key: 'x', value: { n: 1 } })).version;
    let appends = 0;
    faulty.onAppend = (append) =>
      ++appends === 2
        ? Promise.reject(new TributaryError('STORAGE_ERROR', { reason: 'injected' }))
        : append();
    const d = collection.write({ op: 'put', key: 'y', value: { v: 'd' } });
    const a = collection.write({ op: 'put', key: 'x', value: { n: -1 } });
    const b = collection.transact({
      ops: [{ op: 'increment', key: 'x', field: 'n', by: 1 }],
      conditions: [{ key: 'x', field: 'n', op: '>=', value: 0 }],
    });
    expect(await outcome(d)).toMatchObject({ key: 'y' });
    expect(await outcome(a)).toBe('STORAGE_ERROR');
    expect(await outcome(b)).toBe('STORAGE_ERROR');
    const x = await collection.get('x', 'linearizable');
    expect([x.version, x.value]).toEqual([v0, { n: 1 }]);
  });

  it('plans refused commands again when the append is retried after EXPECTED_OFFSET_MISMATCH', async () => {
    let conflicts = 0;
    const { faulty, collection, topic } = await setup(() => conflicts++);
    await collection.write({ op: 'put', key: 'x', value: { v: 'init' } });
    // D's append is durable at once but its answer waits, so B and A queue behind it.
    const gate = deferred();
    faulty.onAppend = async (append) => {
      const result = await append();
      await gate.promise;
      return result;
    };
    const d = collection.write({ op: 'put', key: 'y', value: { v: 'd' } });
    await new Promise((resolve) => setTimeout(resolve, 10));
    faulty.onAppend = undefined;
    // Another writer's put of x is acknowledged; this server's state has not applied it yet.
    faulty.hold();
    const external = await writeElsewhere(faulty, topic, 'x', 'elsewhere');
    const b = collection.write({ op: 'put', key: 'x', value: { v: 'b' }, ifVersion: external });
    const a = collection.write({ op: 'put', key: 'z', value: { v: 'a' } });
    gate.resolve();
    setTimeout(() => faulty.release(), 20);
    expect(await outcome(d)).toMatchObject({ key: 'y' });
    // The first plan refuses B (stale state) and the append fails: B is planned again, and holds.
    expect(await outcome(b)).toMatchObject({ key: 'x', version: external + 1 });
    expect(await outcome(a)).toMatchObject({ key: 'z', version: external + 2 });
    expect((await collection.get('x', 'linearizable')).value).toEqual({ v: 'b' });
    // The lost append was told (tributary_collection_append_conflicts_total counts them).
    expect(conflicts).toBe(1);
  });

  it('a batch with nothing to write is answered only once the state holds every acknowledged write', async () => {
    const { faulty, collection, topic } = await setup();
    await collection.write({ op: 'put', key: 'x', value: { v: 'init' } });
    faulty.hold();
    const external = await writeElsewhere(faulty, topic, 'x', 'elsewhere');
    // Against the stale state alone this CAS would be refused, with no append to notice.
    const b = collection.write({ op: 'put', key: 'x', value: { v: 'b' }, ifVersion: external });
    setTimeout(() => faulty.release(), 20);
    expect(await outcome(b)).toMatchObject({ key: 'x', version: external + 1 });
  });
});

describe('sequencer: group commit', () => {
  it('with slow appends, the writers a batch answered share the next append instead of splitting in two', async () => {
    const { faulty, collection } = await setup();
    const sizes: number[] = [];
    // An fdatasync of 5 ms (a slow disk), and each writer's next write arriving a turn after its answer.
    faulty.onAppend = async (append) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const appended = await append();
      sizes.push(appended.lastOffset - appended.baseOffset + 1);
      return appended;
    };
    const writers = 8;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < 6; i++) {
          await collection.write({ op: 'put', key: `k${w}`, value: { i } });
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    // The first write starts alone and the others follow together; from then on every append
    // carries all eight (without gathering they alternate between cohorts of 1 and 7: 12 appends).
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(writers * 6);
    expect(sizes.slice(2, -2)).toEqual(sizes.slice(2, -2).map(() => writers));
    expect(sizes.length).toBeLessThanOrEqual(8);
  });
});
