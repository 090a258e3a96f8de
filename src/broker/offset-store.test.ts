import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryLog } from '../log/memory/memory-log.js';
import type { Log, LogRecord } from '../log/types.js';
import { CONSUMER_OFFSETS_TOPIC } from './internal-topics.js';
import { OffsetStore } from './offset-store.js';

const silent = pino({ level: 'silent' });

/**
 * A log whose reads of `__consumer_offsets` (once `gate()` is called) wait to be released one at a
 * time, each returning at most one record: the follower of a gateway lagging behind its own
 * commits, as a JetStream consumer can.
 */
function laggingLog(inner: Log) {
  let gated = false;
  const pending: Array<() => void> = [];
  const waiters: Array<() => void> = [];
  const log = new Proxy(inner, {
    get(target, property) {
      if (property === 'read') {
        return async (...args: Parameters<Log['read']>): Promise<LogRecord[]> => {
          if (gated && args[0] === CONSUMER_OFFSETS_TOPIC) {
            await new Promise<void>((release) => {
              pending.push(release);
              for (const wake of waiters.splice(0)) wake();
            });
            return (await target.read(...args)).slice(0, 1);
          }
          return target.read(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  /** Resolves once the follower waits in a read. */
  const readWaiting = async (): Promise<void> => {
    if (pending.length > 0) return;
    await new Promise<void>((wake) => waiters.push(wake));
  };
  return {
    log,
    gate: () => {
      gated = true;
    },
    readWaiting,
    /** Lets the follower's waiting read go on and (unless `last`) waits until it waits in its next read. */
    releaseOne: async (last = false): Promise<void> => {
      await readWaiting();
      pending.shift()?.();
      if (!last) await readWaiting();
    },
  };
}

describe('OffsetStore following __consumer_offsets', () => {
  it('never brings back a commit it deleted while its follower replays the older commit', async () => {
    const memory = createMemoryLog();
    await memory.createTopic(CONSUMER_OFFSETS_TOPIC);
    const lagging = laggingLog(memory);
    const store = await OffsetStore.load(lagging.log, silent, { follow: true });
    lagging.gate();

    await store.commit('g', [{ topic: 't', partition: 0, offset: 10 }]);
    await lagging.readWaiting();
    await store.deleteGroupOffsets('g', null);
    await store.commit('other', [{ topic: 't', partition: 0, offset: 1 }]);
    expect(store.get('g', 't', 0)).toBeUndefined();

    // The follower applies the commit at log offset 0, then waits before the tombstone at 1.
    await lagging.releaseOne();
    expect(store.get('g', 't', 0)).toBeUndefined();
    await lagging.releaseOne();
    expect(store.get('g', 't', 0)).toBeUndefined();
    await lagging.releaseOne(true);
    await expect.poll(() => store.get('other', 't', 0)).toBe(1);

    store.close();
    await memory.close();
  });

  it('never moves a commit back to one of its own older commits while its follower replays them', async () => {
    const memory = createMemoryLog();
    await memory.createTopic(CONSUMER_OFFSETS_TOPIC);
    const lagging = laggingLog(memory);
    const store = await OffsetStore.load(lagging.log, silent, { follow: true });
    lagging.gate();

    for (const offset of [10, 20, 30]) await store.commit('g', [{ topic: 't', partition: 0, offset }]);
    await store.commit('other', [{ topic: 't', partition: 0, offset: 1 }]);
    expect(store.get('g', 't', 0)).toBe(30);
    for (let i = 0; i < 3; i++) {
      await lagging.releaseOne();
      expect(store.get('g', 't', 0)).toBe(30);
    }
    await lagging.releaseOne(true);
    await expect.poll(() => store.get('other', 't', 0)).toBe(1);

    store.close();
    await memory.close();
  });

  it('applies commits made through another store (another gateway) in log order', async () => {
    const log = createMemoryLog();
    await log.createTopic(CONSUMER_OFFSETS_TOPIC);
    const a = await OffsetStore.load(log, silent, { follow: true });
    const b = await OffsetStore.load(log, silent, { follow: true });

    await a.commit('g', [{ topic: 't', partition: 0, offset: 5 }]);
    await b.commit('g', [{ topic: 't', partition: 0, offset: 3 }]);
    await expect.poll(() => a.get('g', 't', 0)).toBe(3);
    await b.deleteGroupOffsets('g', null);
    await expect.poll(() => a.get('g', 't', 0)).toBeUndefined();
    await a.commit('g', [{ topic: 't', partition: 0, offset: 7 }]);
    await expect.poll(() => b.get('g', 't', 0)).toBe(7);
    expect(a.get('g', 't', 0)).toBe(7);

    a.close();
    b.close();
    await log.close();
  });
});
