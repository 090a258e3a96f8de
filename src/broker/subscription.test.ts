import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.js';
import { createMemoryLog, type MemoryLog } from '../log/memory/memory-log.js';
import { createBroker, type TributaryBroker } from './broker.js';
import {
  bytes,
  type CallCounts,
  countingLog,
  eventually,
  expectCode,
  Recorder,
  settle,
  sleep,
  values,
} from './testing/helpers.js';
import type { Subscription } from './types.js';

describe('broker: subscribe', () => {
  let memory: MemoryLog;
  let counts: CallCounts;
  let broker: TributaryBroker;
  const subscriptions: Subscription[] = [];

  beforeEach(async () => {
    memory = createMemoryLog();
    const counted = countingLog(memory);
    counts = counted.counts;
    broker = await createBroker(counted.log);
    await broker.createTopic('feed', { partitions: 2 });
  });
  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.close();
    await broker.close();
    await memory.close();
  });

  async function subscribe(
    recorder: Recorder,
    options: {
      from?: Parameters<TributaryBroker['resolvePosition']>[2];
      credit?: number;
      partition?: number;
    } = {},
  ): Promise<Subscription> {
    const subscription = await broker.subscribe({
      topic: 'feed',
      partition: options.partition ?? 0,
      from: options.from ?? 'earliest',
      ...(options.credit === undefined ? {} : { credit: options.credit }),
      onRecords: recorder.onRecords,
      onError: recorder.onError,
    });
    subscriptions.push(subscription);
    return subscription;
  }

  const append = (count: number, prefix = 'v', partition = 0) =>
    broker.appendBatch('feed', partition, values(count, prefix));

  it('starts from earliest, latest, an offset or a timestamp', async () => {
    await broker.appendBatch('feed', 0, [
      { key: null, value: bytes('a'), timestamp: 1000 },
      { key: null, value: bytes('b'), timestamp: 2000 },
      { key: null, value: bytes('c'), timestamp: 3000 },
    ]);
    const earliest = new Recorder();
    const latest = new Recorder();
    const atOffset = new Recorder();
    const atTime = new Recorder();
    const afterAll = new Recorder();
    await subscribe(earliest, { from: 'earliest' });
    const latestSub = await subscribe(latest, { from: 'latest' });
    await subscribe(atOffset, { from: { offset: 1 } });
    await subscribe(atTime, { from: { timestamp: 2500 } });
    await subscribe(afterAll, { from: { timestamp: 9_000_000_000_000 } });
    expect(latestSub.position).toBe(3);
    await eventually(() => {
      expect(earliest.values).toEqual(['a', 'b', 'c']);
      expect(atOffset.values).toEqual(['b', 'c']);
      expect(atTime.values).toEqual(['c']);
    });
    expect(latest.values).toEqual([]);
    expect(afterAll.values).toEqual([]);
    await broker.appendBatch('feed', 0, [{ key: null, value: bytes('d') }]);
    await eventually(() => {
      for (const recorder of [earliest, latest, atOffset, atTime, afterAll])
        expect(recorder.values.at(-1)).toBe('d');
    });
    expect(latest.values).toEqual(['d']);
    expect(afterAll.values).toEqual(['d']);
    expect(await broker.resolvePosition('feed', 0, { timestamp: 1500 })).toBe(1);
    expect(await broker.resolvePosition('feed', 0, 'latest')).toBe(4);
  });

  it('waits at the tail (offset = next); refuses an offset past it with OFFSET_OUT_OF_RANGE, never a skip', async () => {
    await append(2);
    const recorder = new Recorder();
    await subscribe(recorder, { from: { offset: 2 } });
    await settle();
    expect(recorder.offsets).toEqual([]);
    for (const offset of [3, 5, 1_000]) {
      await expectCode(subscribe(new Recorder(), { from: { offset } }), 'OFFSET_OUT_OF_RANGE');
      await expectCode(broker.resolvePosition('feed', 0, { offset }), 'OFFSET_OUT_OF_RANGE');
      await expectCode(broker.fetch('feed', 0, offset), 'OFFSET_OUT_OF_RANGE');
    }
    expect(await broker.fetch('feed', 0, 2)).toEqual([]);
    await append(3);
    await eventually(() => expect(recorder.offsets).toEqual([2, 3, 4]));
    expect((await broker.fetch('feed', 0, 5)).length).toBe(0);
  });

  it('rejects bad start positions and options with typed errors', async () => {
    const recorder = new Recorder();
    await expectCode(subscribe(recorder, { from: { offset: -1 } }), 'INVALID_ARGUMENT');
    await expectCode(subscribe(recorder, { from: 'middle' as never }), 'INVALID_ARGUMENT');
    await expectCode(subscribe(recorder, { partition: 2 }), 'PARTITION_NOT_FOUND');
    await expectCode(subscribe(recorder, { credit: -1 }), 'INVALID_ARGUMENT');
    await expectCode(
      broker.subscribe({ topic: 'missing', partition: 0, from: 'earliest', onRecords: recorder.onRecords }),
      'TOPIC_NOT_FOUND',
    );
  });

  it('rejects a start offset below earliest with OFFSET_OUT_OF_RANGE', async () => {
    await broker.createTopic('short', { segmentBytes: 4096, retentionMs: 1000 });
    for (let i = 0; i < 4; i++) {
      await broker.appendBatch('short', 0, [{ key: null, value: new Uint8Array(3000), timestamp: 1 }]);
    }
    await memory.enforceRetention('short');
    const { earliest } = await broker.offsets('short', 0);
    expect(earliest).toBeGreaterThan(0);
    const recorder = new Recorder();
    await expectCode(
      broker.subscribe({ topic: 'short', partition: 0, from: { offset: 0 }, onRecords: recorder.onRecords }),
      'OFFSET_OUT_OF_RANGE',
    );
    expect(await broker.resolvePosition('short', 0, 'earliest')).toBe(earliest);
  });

  it('tells a subscriber whose position retention deleted: OFFSET_OUT_OF_RANGE, never a gap', async () => {
    await broker.createTopic('short', { segmentBytes: 4096, retentionMs: 1000 });
    const recorder = new Recorder();
    const subscription = await broker.subscribe({
      topic: 'short',
      partition: 0,
      from: 'earliest',
      credit: 1,
      onRecords: recorder.onRecords,
      onError: recorder.onError,
    });
    subscriptions.push(subscription);
    for (let i = 0; i < 4; i++) {
      await broker.appendBatch('short', 0, [{ key: null, value: new Uint8Array(3000), timestamp: 1 }]);
    }
    await eventually(() => expect(recorder.offsets).toEqual([0]));
    await memory.enforceRetention('short');
    subscription.grant(10);
    await eventually(() => expect(recorder.errors).toHaveLength(1));
    expect(recorder.errors[0]).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect(recorder.offsets).toEqual([0]);
  });

  it('delivers exactly the granted credit, then waits for grant()', async () => {
    await append(100);
    const recorder = new Recorder();
    const subscription = await subscribe(recorder, { credit: 10 });
    await eventually(() => expect(recorder.records).toHaveLength(10));
    await sleep(30);
    await append(5);
    await settle();
    expect(recorder.offsets).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(subscription.position).toBe(10);
    subscription.grant(25);
    await eventually(() => expect(recorder.records).toHaveLength(35));
    await settle();
    expect(recorder.records).toHaveLength(35);
    subscription.grant(1000);
    await eventually(() => expect(recorder.records).toHaveLength(105));
    expect(recorder.offsets).toEqual(Array.from({ length: 105 }, (_, i) => i));
    for (const delivery of recorder.deliveries) {
      expect(delivery.topic).toBe('feed');
      expect(delivery.partition).toBe(0);
      expect(delivery.highWatermark).toBeGreaterThan(delivery.records.at(-1)!.offset);
    }
    expect(() => subscription.grant(-1)).toThrow(/credit/);
  });

  it('costs no reads while it has no credit', async () => {
    const recorder = new Recorder();
    await subscribe(recorder, { credit: 0 });
    await append(10);
    await settle();
    const before = { read: counts.read, wait: counts.waitForAppend };
    await append(10);
    await settle();
    expect(recorder.records).toHaveLength(0);
    expect(counts.read).toBe(before.read);
    expect(counts.waitForAppend).toBe(before.wait);
  });

  it('never calls onRecords re-entrantly, even when it grants credit from inside', async () => {
    await append(50);
    let depth = 0;
    let maxDepth = 0;
    const offsets: number[] = [];
    let subscription: Subscription | undefined;
    const ready = new Promise<void>((resolve) => {
      void broker
        .subscribe({
          topic: 'feed',
          partition: 0,
          from: 'earliest',
          credit: 1,
          onRecords: (delivery) => {
            depth++;
            maxDepth = Math.max(maxDepth, depth);
            offsets.push(...delivery.records.map((r) => r.offset));
            subscription?.grant(1);
            subscription?.grant(1);
            depth--;
            if (offsets.length >= 60) resolve();
          },
        })
        .then((s) => {
          subscription = s;
          subscriptions.push(s);
        });
    });
    await eventually(() => expect(subscription).toBeDefined());
    await append(20);
    await ready;
    expect(maxDepth).toBe(1);
    expect(offsets.slice(0, 60)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('wakes a subscription at the tail when records are appended', async () => {
    const recorder = new Recorder();
    await subscribe(recorder, { from: 'latest' });
    await settle();
    expect(counts.waitForAppend).toBeGreaterThan(0);
    await append(3);
    await eventually(() => expect(recorder.values).toEqual(['v0', 'v1', 'v2']));
    await append(1, 'w');
    await eventually(() => expect(recorder.values).toEqual(['v0', 'v1', 'v2', 'w0']));
  });

  it('serves many caught-up subscribers with shared reads of the same frozen records', async () => {
    const recorders = Array.from({ length: 100 }, () => new Recorder());
    for (const recorder of recorders) await subscribe(recorder, { from: 'latest' });
    await settle();
    const readsBefore = counts.read;
    const appends = 20;
    for (let i = 0; i < appends; i++) {
      await append(5, `a${i}-`);
      await eventually(() => {
        for (const recorder of recorders) expect(recorder.records).toHaveLength(5 * (i + 1));
      });
    }
    const reads = counts.read - readsBefore;
    // One shared read per append (not one per subscriber and append).
    expect(reads).toBeLessThanOrEqual(appends * 2);
    expect(reads).toBeLessThan(100 * appends);
    // Everyone got the very same array of records, and nobody can change a record.
    const first = recorders[0]!.deliveries[0]!;
    for (const recorder of recorders) expect(recorder.deliveries[0]!.records).toBe(first.records);
    expect(first.records.every((record) => Object.isFrozen(record))).toBe(true);
  });

  it('acknowledges an append before a large fan-out of it is done, and still delivers it to everyone once', async () => {
    const recorders = Array.from({ length: 300 }, () => new Recorder());
    for (const recorder of recorders) await subscribe(recorder, { from: 'latest' });
    await settle();
    const reads = counts.read;
    // What the event loop runs next once the append is acknowledged (a response, the next
    // request) comes before the subscribers woken in later turns are served.
    const servedThen = await new Promise<number>((resolve, reject) => {
      broker
        .appendBatch('feed', 0, [{ key: null, value: bytes('x') }])
        .then(
          () => setImmediate(() => resolve(recorders.filter((each) => each.records.length > 0).length)),
          reject,
        );
    });
    expect(servedThen).toBeLessThan(recorders.length);
    await eventually(() => {
      for (const recorder of recorders) expect(recorder.values).toEqual(['x']);
    });
    // Every subscriber got the same shared batch, read once.
    expect(counts.read - reads).toBeLessThanOrEqual(1);
    for (const recorder of recorders)
      expect(recorder.deliveries[0]!.records).toBe(recorders[0]!.deliveries[0]!.records);
  });

  it('lets subscribers behind the tail catch up on their own and then join the shared reads', async () => {
    await append(500);
    const tail = Array.from({ length: 20 }, () => new Recorder());
    for (const recorder of tail) await subscribe(recorder, { from: 'latest' });
    const behind = new Recorder();
    await subscribe(behind, { from: 'earliest', credit: 10_000 });
    await eventually(() => expect(behind.records).toHaveLength(500));
    await settle();
    const readsBefore = counts.read;
    for (let i = 0; i < 10; i++) {
      await append(3);
      await eventually(() => {
        expect(behind.records).toHaveLength(500 + 3 * (i + 1));
        for (const recorder of tail) expect(recorder.records).toHaveLength(3 * (i + 1));
      });
    }
    expect(counts.read - readsBefore).toBeLessThanOrEqual(20);
    expect(behind.offsets).toEqual(Array.from({ length: 530 }, (_, i) => i));
    expect(behind.deliveries.at(-1)!.records).toBe(tail[0]!.deliveries.at(-1)!.records);
  });

  it('ends subscriptions with TOPIC_NOT_FOUND when the topic is deleted, idle ones too', async () => {
    const active = new Recorder();
    const idle = new Recorder();
    await subscribe(active, { from: 'latest' });
    await subscribe(idle, { credit: 0 });
    await subscribe(new Recorder(), { partition: 1 });
    await settle();
    await broker.deleteTopic('feed');
    await eventually(() => {
      expect(active.errors).toHaveLength(1);
      expect(idle.errors).toHaveLength(1);
    });
    expect(isTributaryError(active.errors[0], 'TOPIC_NOT_FOUND')).toBe(true);
    expect(isTributaryError(idle.errors[0], 'TOPIC_NOT_FOUND')).toBe(true);
  });

  it('ends subscriptions with TOPIC_NOT_FOUND when the topic is deleted directly in the log', async () => {
    const recorder = new Recorder();
    const idle = new Recorder();
    await subscribe(recorder, { from: 'latest' });
    await subscribe(idle, { credit: 0 });
    await settle();
    await memory.deleteTopic('feed');
    await eventually(() => expect(recorder.errors).toHaveLength(1));
    expect(recorder.errors[0]).toMatchObject({ code: 'TOPIC_NOT_FOUND' });
    // The idle one ends with it instead of later reading a new topic of the same name.
    expect(idle.errors[0]).toMatchObject({ code: 'TOPIC_NOT_FOUND' });
    await broker.createTopic('feed');
    await broker.appendBatch('feed', 0, values(2, 'new'));
    const fresh = new Recorder();
    await subscribe(fresh);
    await eventually(() => expect(fresh.values).toEqual(['new0', 'new1']));
  });

  it('never delivers more than maxDeliveryRecords at once', async () => {
    const small = await createBroker(memory, { maxDeliveryRecords: 7 });
    await small.appendBatch('feed', 1, values(30));
    const recorder = new Recorder();
    await small.subscribe({ topic: 'feed', partition: 1, from: 'earliest', onRecords: recorder.onRecords });
    await eventually(() => expect(recorder.records).toHaveLength(30));
    expect(Math.max(...recorder.deliveries.map((d) => d.records.length))).toBe(7);
    expect(recorder.offsets).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await small.close();
    await expectCode(createBroker(memory, { maxDeliveryRecords: 0 }), 'INVALID_ARGUMENT');
  });

  it('reads ahead behind the tail: few log reads, every record once and in order', async () => {
    for (let i = 0; i < 6; i++) await append(500, `b${i}-`);
    const recorder = new Recorder();
    const readsBefore = counts.read;
    // Credit in small grants, as the WebSocket bridge passes it on: each delivery asks for more.
    const subscription = await broker.subscribe({
      topic: 'feed',
      partition: 0,
      from: { offset: 7 },
      credit: 50,
      onRecords: (delivery) => {
        recorder.onRecords(delivery);
        subscription.grant(delivery.records.length);
      },
      onError: recorder.onError,
    });
    subscriptions.push(subscription);
    await eventually(() => expect(recorder.records).toHaveLength(2993));
    expect(recorder.offsets).toEqual(Array.from({ length: 2993 }, (_, i) => i + 7));
    expect(recorder.errors).toEqual([]);
    expect(Math.max(...recorder.deliveries.map((d) => d.records.length))).toBeLessThanOrEqual(50);
    // 60 deliveries of 50; the read-ahead (8 × maxDeliveryRecords) answers them from 1 read.
    expect(recorder.deliveries.length).toBeGreaterThanOrEqual(60);
    expect(counts.read - readsBefore).toBeLessThanOrEqual(2);
    await broker.appendBatch('feed', 0, values(3, 'late'));
    await eventually(() => expect(recorder.records).toHaveLength(2996));
    expect(recorder.offsets.slice(-4)).toEqual([2999, 3000, 3001, 3002]);
  });

  it('rejects a bad readAheadBytes', async () => {
    await expectCode(createBroker(memory, { readAheadBytes: 0 }), 'INVALID_ARGUMENT');
    await expectCode(createBroker(memory, { readAheadBytes: 1.5 }), 'INVALID_ARGUMENT');
  });

  it('ends subscriptions with SHUTTING_DOWN when the broker closes, and the log stays open', async () => {
    const waiting = new Recorder();
    const idle = new Recorder();
    await subscribe(waiting, { from: 'latest' });
    await subscribe(idle, { credit: 0 });
    await settle();
    await broker.close();
    expect(waiting.errors).toHaveLength(1);
    expect(idle.errors).toHaveLength(1);
    expect(waiting.errors[0]).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(idle.errors[0]).toMatchObject({ code: 'SHUTTING_DOWN' });
    // The log wait was aborted and the log is still usable.
    expect(counts.signals.every((signal) => signal?.aborted)).toBe(true);
    await expect(memory.append('feed', 0, values(1))).resolves.toMatchObject({ baseOffset: 0 });
  });

  it('close() stops the wait on the log at once and delivers nothing more', async () => {
    const recorder = new Recorder();
    const subscription = await subscribe(recorder, { from: 'latest' });
    await settle();
    const signal = counts.signals.at(-1);
    expect(signal?.aborted).toBe(false);
    subscription.close();
    expect(signal?.aborted).toBe(true);
    await append(3);
    await settle();
    expect(recorder.records).toHaveLength(0);
    expect(recorder.errors).toHaveLength(0);
  });

  it('keeps the shared wait while other subscribers still wait', async () => {
    const a = new Recorder();
    const b = new Recorder();
    const subA = await subscribe(a, { from: 'latest' });
    await subscribe(b, { from: 'latest' });
    await settle();
    expect(counts.waitForAppend).toBe(1);
    subA.close();
    expect(counts.signals[0]?.aborted).toBe(false);
    await append(1);
    await eventually(() => expect(b.records).toHaveLength(1));
    expect(a.records).toHaveLength(0);
  });

  it('ends a subscription whose onRecords throws, with that error', async () => {
    await append(3);
    const errors: unknown[] = [];
    const boom = new Error('subscriber bug');
    await broker.subscribe({
      topic: 'feed',
      partition: 0,
      from: 'earliest',
      onRecords: () => {
        throw boom;
      },
      onError: (error) => errors.push(error),
    });
    await eventually(() => expect(errors).toEqual([boom]));
  });

  it('skips offsets that compaction removed', async () => {
    await broker.createTopic('table', { compact: true, segmentBytes: 4096 });
    const put = (key: string, value: string) =>
      broker.appendBatch('table', 0, [{ key: bytes(key), value: bytes(value.padEnd(1500, '.')) }]);
    for (let i = 0; i < 6; i++) await put('k', `v${i}`);
    await put('other', 'x');
    await memory.compact('table');
    const recorder = new Recorder();
    const subscription = await broker.subscribe({
      topic: 'table',
      partition: 0,
      from: 'earliest',
      onRecords: recorder.onRecords,
    });
    subscriptions.push(subscription);
    const all = (await memory.read('table', 0, 0)).map((r) => r.offset);
    expect(all.length).toBeLessThan(7);
    await eventually(() => expect(recorder.offsets).toEqual(all));
    expect(subscription.position).toBe(7);
  });

  it('reports deliveries to the observer', async () => {
    const delivered: [number, number][] = [];
    const observed = await createBroker(memory, {
      observer: { recordsDelivered: (count, size) => delivered.push([count, size]) },
    });
    await observed.appendBatch('feed', 1, values(4)); // 'v0'..'v3': 2 bytes each
    const recorder = new Recorder();
    await observed.subscribe({
      topic: 'feed',
      partition: 1,
      from: 'earliest',
      credit: 3,
      onRecords: recorder.onRecords,
    });
    await eventually(() => expect(delivered).toEqual([[3, 6]]));
    await observed.close();
  });
});
