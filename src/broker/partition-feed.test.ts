import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLog, type MemoryLog } from '../log/memory/memory-log.js';
import { type FeedWaker, PartitionFeed, WAKE_SLICE_WAKERS } from './partition-feed.js';

function waker(): FeedWaker & { woken: number; failed: unknown[] } {
  const state = {
    woken: 0,
    failed: [] as unknown[],
    wake: () => {
      state.woken++;
    },
    fail: (error: unknown) => {
      state.failed.push(error);
    },
  };
  return state;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PartitionFeed.readReady', () => {
  it('hands the batch at hand to every caller without waiting: one read, shared; undefined past the tail', async () => {
    const log = createMemoryLog();
    await log.createTopic('t', { partitions: 1 });
    const feed = new PartitionFeed(log, 't', 0);
    try {
      await log.append('t', 0, [
        { key: null, value: new Uint8Array([1]) },
        { key: null, value: new Uint8Array([2]) },
      ]);
      const first = feed.readReady(0, 100) ?? (await feed.read(0, 100));
      expect(first.records.map((record) => record.offset)).toEqual([0, 1]);
      const reads = feed.stats.reads;
      // Ready now, whatever the log is: the same batch, and the same as `read` gives.
      expect(feed.readReady(0, 100)).toBe(first);
      expect(await feed.read(0, 100)).toBe(first);
      expect(feed.stats.reads).toBe(reads);
      // Nothing past the tail is at hand.
      expect(feed.readReady(2, 100)?.records.length ?? 0).toBe(0);
    } finally {
      feed.dispose();
      await log.close();
    }
  });
});

describe('PartitionFeed waits', () => {
  let log: MemoryLog;
  let feed: PartitionFeed;

  beforeEach(async () => {
    log = createMemoryLog();
    await log.createTopic('t', { partitions: 1 });
    feed = new PartitionFeed(log, 't', 0);
  });
  afterEach(async () => {
    feed.dispose();
    await log.close();
  });

  it('shares one log wait and wakes every waiter once on the append', async () => {
    const a = waker();
    const b = waker();
    const wait = feed.acquireWait(0, a);
    expect(feed.acquireWait(0, b)).toBe(wait);
    expect(feed.stats.waits).toBe(1);
    await log.append('t', 0, [{ key: null, value: new Uint8Array([1]) }]);
    await flush();
    expect([a.woken, b.woken]).toEqual([1, 1]);
    expect(wait.wakers.length).toBe(0);
  });

  it('wakes a large fan-out in slices, one per turn, so other work runs between them', async () => {
    const count = WAKE_SLICE_WAKERS * 3 + 5;
    const order: string[] = [];
    const wakers = Array.from({ length: count }, (_, i) => {
      const each = waker();
      const wake = each.wake;
      each.wake = () => {
        wake();
        order.push(`w${i}`);
      };
      return each;
    });
    for (const each of wakers) feed.acquireWait(0, each);
    const appended = log.append('t', 0, [{ key: null, value: new Uint8Array([1]) }]);
    // Work that arrives as the append is acknowledged (its own continuation, the next request).
    void appended.then(() => setImmediate(() => order.push('io')));
    await appended;
    for (let turn = 0; turn < 6; turn++) await flush();
    expect(wakers.map((each) => each.woken)).toEqual(Array(count).fill(1));
    // The first slice at once, in wait order; the rest do not all run before the other work.
    expect(order.slice(0, WAKE_SLICE_WAKERS)).toEqual(
      Array.from({ length: WAKE_SLICE_WAKERS }, (_, i) => `w${i}`),
    );
    expect(order.indexOf('io')).toBeGreaterThanOrEqual(WAKE_SLICE_WAKERS);
    expect(order.indexOf('io')).toBeLessThan(count);
  });

  it("wakes a later append's waiters after the earlier append's, whose fan-out goes on in slices", async () => {
    const order: string[] = [];
    const tracked = (name: string): FeedWaker => ({ wake: () => order.push(name), fail: () => undefined });
    const early = WAKE_SLICE_WAKERS * 2 + 1;
    for (let i = 0; i < early; i++) feed.acquireWait(0, tracked('early'));
    for (let i = 0; i < 3; i++) feed.acquireWait(1, tracked('late'));
    await log.append('t', 0, [{ key: null, value: new Uint8Array([1]) }]);
    // The second append comes while the first one's waiters are still being woken.
    await log.append('t', 0, [{ key: null, value: new Uint8Array([2]) }]);
    for (let turn = 0; turn < 6; turn++) await flush();
    expect(order.length).toBe(early + 3);
    expect(order.indexOf('late')).toBe(early);
  });

  it('lets a waiter go at once while others keep waiting, and aborts the log wait with the last', async () => {
    const stays = waker();
    const wait = feed.acquireWait(0, stays);
    // Subscribers that come and go on an idle partition leave nothing behind.
    for (let i = 0; i < 1000; i++) {
      const leaves = waker();
      feed.releaseWait(feed.acquireWait(0, leaves), leaves);
    }
    expect(wait.wakers.length).toBe(1);
    expect(wait.controller.signal.aborted).toBe(false);
    feed.releaseWait(wait, stays);
    expect(wait.controller.signal.aborted).toBe(true);
    // A new waiter starts a new log wait, which the next append ends.
    const next = waker();
    expect(feed.acquireWait(0, next)).not.toBe(wait);
    await log.append('t', 0, [{ key: null, value: new Uint8Array([1]) }]);
    await flush();
    expect([stays.woken, next.woken]).toEqual([0, 1]);
  });

  it('keeps live waits at other offsets when one is left, and still wakes them on their append', async () => {
    const tail = waker();
    const ahead = waker();
    const leaves = waker();
    feed.acquireWait(0, tail);
    const far = feed.acquireWait(5, ahead);
    feed.releaseWait(feed.acquireWait(2, leaves), leaves);
    expect(far.controller.signal.aborted).toBe(false);
    await log.append('t', 0, [{ key: null, value: new Uint8Array([1]) }]);
    await flush();
    expect([tail.woken, ahead.woken, leaves.woken]).toEqual([1, 0, 0]);
    await log.append(
      't',
      0,
      Array.from({ length: 5 }, () => ({ key: null, value: new Uint8Array([2]) })),
    );
    await flush();
    expect(ahead.woken).toBe(1);
    expect([tail.failed, ahead.failed]).toEqual([[], []]);
  });

  it('lets go of parked log waits past a bound; live waiters are woken to check again, not failed', async () => {
    const live = waker();
    feed.acquireWait(1_000, live);
    // Subscribers from many distinct future offsets that come and go would each park a log wait.
    for (let offset = 0; offset < 100; offset++) {
      const leaves = waker();
      feed.releaseWait(feed.acquireWait(offset, leaves), leaves);
    }
    await flush();
    expect(live.failed).toEqual([]);
    expect(live.woken).toBe(1);
    // Waiting again works as before.
    const again = waker();
    feed.acquireWait(0, again);
    await log.append('t', 0, [{ key: null, value: new Uint8Array([1]) }]);
    await flush();
    expect(again.woken).toBe(1);
  });

  it('tells waiters when the log fails instead of leaving them parked', async () => {
    const a = waker();
    feed.acquireWait(0, a);
    await log.close();
    await flush();
    expect(a.woken).toBe(0);
    expect(a.failed).toHaveLength(1);
  });
});
