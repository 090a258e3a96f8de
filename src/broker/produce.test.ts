import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLog, type MemoryLog } from '../log/memory/memory-log.js';
import { kafkaPartition } from '../protocol/kafka/primitives/murmur2.js';
import { createBroker, type TributaryBroker } from './broker.js';
import { bytes, expectCode, text, values } from './testing/helpers.js';
import type { BrokerObserver } from './types.js';

describe('broker: produce', () => {
  let log: MemoryLog;
  let broker: TributaryBroker;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = await createBroker(log);
    await broker.createTopic('orders', { partitions: 4 });
  });
  afterEach(async () => {
    await broker.close();
    await log.close();
  });

  it('puts a keyed record on the partition Kafka would pick (murmur2)', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
    const produced = await broker.produce(
      'orders',
      keys.map((key) => ({ key: bytes(key), value: bytes(`order of ${key}`) })),
    );
    keys.forEach((key, i) => {
      expect(produced[i]!.partition).toBe(kafkaPartition(bytes(key), 4));
    });
    // The same key always lands on the same partition, after the earlier records of that key.
    const again = await broker.produce('orders', [{ key: bytes('customer-7'), value: bytes('second') }]);
    expect(again[0]!.partition).toBe(produced[7]!.partition);
    expect(again[0]!.offset).toBeGreaterThan(produced[7]!.offset);
  });

  it('uses an explicit partition and checks it', async () => {
    const produced = await broker.produce('orders', [
      { key: bytes('k'), value: bytes('a'), partition: 2 },
      { key: null, value: bytes('b'), partition: 3 },
    ]);
    expect(produced).toEqual([
      { partition: 2, offset: 0 },
      { partition: 3, offset: 0 },
    ]);
    await expectCode(
      broker.produce('orders', [{ key: null, value: bytes('x'), partition: 4 }]),
      'PARTITION_NOT_FOUND',
    );
    await expectCode(
      broker.produce('orders', [{ key: null, value: bytes('x'), partition: -1 }]),
      'PARTITION_NOT_FOUND',
    );
    await expectCode(
      broker.produce('orders', [{ key: null, value: bytes('x'), partition: 1.5 }]),
      'PARTITION_NOT_FOUND',
    );
    // A bad partition anywhere in the call appends nothing.
    await expectCode(
      broker.produce('orders', [
        { key: null, value: bytes('ok'), partition: 0 },
        { key: null, value: bytes('bad'), partition: 9 },
      ]),
      'PARTITION_NOT_FOUND',
    );
    expect((await log.offsets('orders', 0)).next).toBe(0);
  });

  it('sends all keyless records of one call to one partition, rotating per call (sticky)', async () => {
    const seen: number[] = [];
    for (let call = 0; call < 8; call++) {
      const produced = await broker.produce('orders', values(5, `c${call}-`));
      const partitions = new Set(produced.map((p) => p.partition));
      expect(partitions.size).toBe(1);
      seen.push(produced[0]!.partition);
      expect(produced.map((p) => p.offset)).toEqual([0, 1, 2, 3, 4].map((i) => produced[0]!.offset + i));
    }
    // Consecutive calls move on: every partition is used, twice over 8 calls.
    expect(seen.slice(0, 4).sort()).toEqual([0, 1, 2, 3]);
    expect(seen.slice(4)).toEqual(seen.slice(0, 4));
  });

  it('returns offsets in input order and keeps order within each partition', async () => {
    const records = Array.from({ length: 60 }, (_, i) => ({
      key: i % 3 === 0 ? null : bytes(`k${i % 7}`),
      value: bytes(`r${i}`),
    }));
    const produced = await broker.produce('orders', records);
    expect(produced).toHaveLength(60);
    for (let p = 0; p < 4; p++) {
      const stored = await log.read('orders', p, 0);
      const expected = records
        .map((r, i) => ({ r, at: produced[i]! }))
        .filter(({ at }) => at.partition === p);
      expect(stored.map((r) => text(r.value))).toEqual(expected.map(({ r }) => text(r.value)));
      expect(stored.map((r) => r.offset)).toEqual(expected.map(({ at }) => at.offset));
    }
  });

  it('keeps the call order of pipelined produce calls', async () => {
    const calls = Array.from({ length: 50 }, (_, i) =>
      broker.produce('orders', [{ key: null, value: bytes(`m${i}`), partition: 1 }]),
    );
    const produced = await Promise.all(calls);
    expect(produced.map((p) => p[0]!.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('keeps call order even while the topic metadata is first loaded', async () => {
    await log.createTopic('fresh', { partitions: 2 }); // created behind the broker: not cached
    const calls = Array.from({ length: 20 }, (_, i) =>
      broker.produce('fresh', [{ key: null, value: bytes(`m${i}`), partition: 0 }]),
    );
    const produced = await Promise.all(calls);
    expect(produced.map((p) => p[0]!.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('rejects bad input with typed errors', async () => {
    await expectCode(broker.produce('missing', values(1)), 'TOPIC_NOT_FOUND');
    await expectCode(broker.produce('orders', []), 'INVALID_RECORD');
    await expectCode(broker.produce('orders', [null as never]), 'INVALID_RECORD');
    await expectCode(broker.produce('orders', [{ key: 'text' as never, value: null }]), 'INVALID_RECORD');
    await expectCode(
      broker.produce('orders', [{ key: null, value: 'text' as never, partition: 0 }]),
      'INVALID_RECORD',
    );
  });

  it('notices a topic deleted and recreated behind its back', async () => {
    await broker.produce('orders', values(1));
    await log.deleteTopic('orders');
    await expectCode(broker.produce('orders', values(1)), 'TOPIC_NOT_FOUND');
    await log.createTopic('orders', { partitions: 2 });
    const produced = await broker.produce('orders', [{ key: null, value: bytes('x'), partition: 1 }]);
    expect(produced).toEqual([{ partition: 1, offset: 0 }]);
  });
});

describe('broker: appendBatch and producer ids', () => {
  let log: MemoryLog;
  let broker: TributaryBroker;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = await createBroker(log);
    await broker.createTopic('events', { partitions: 2 });
  });
  afterEach(async () => {
    await broker.close();
    await log.close();
  });

  it('hands out unique producer ids from 1, epoch 0', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => broker.initProducer()));
    expect(new Set(ids.map((id) => id.producerId)).size).toBe(20);
    expect(Math.min(...ids.map((id) => id.producerId))).toBe(1);
    expect(ids.every((id) => id.producerEpoch === 0)).toBe(true);
  });

  it('treats an idempotent retry as a duplicate with the original offsets', async () => {
    const { producerId, producerEpoch } = await broker.initProducer();
    const batch = values(3);
    const producer = { producerId, producerEpoch, baseSequence: 0 };
    const first = await broker.appendBatch('events', 1, batch, { producer });
    const retry = await broker.appendBatch('events', 1, batch, { producer });
    expect(first.duplicate).toBe(false);
    expect(retry).toMatchObject({
      baseOffset: first.baseOffset,
      lastOffset: first.lastOffset,
      duplicate: true,
    });
    expect((await log.offsets('events', 1)).next).toBe(3);
    const next = await broker.appendBatch('events', 1, values(1), {
      producer: { producerId, producerEpoch, baseSequence: 3 },
    });
    expect(next.baseOffset).toBe(3);
    await expectCode(
      broker.appendBatch('events', 1, values(1), {
        producer: { producerId, producerEpoch, baseSequence: 9 },
      }),
      'OUT_OF_ORDER_SEQUENCE',
    );
  });

  it('passes offset expectations through', async () => {
    await broker.appendBatch('events', 0, values(2), { expectedLastOffset: -1 });
    await expectCode(
      broker.appendBatch('events', 0, values(1), { expectedLastOffset: 0 }),
      'EXPECTED_OFFSET_MISMATCH',
    );
    const result = await broker.appendBatch('events', 0, values(1), { expectedLastOffset: 1 });
    expect(result.baseOffset).toBe(2);
    await expectCode(broker.appendBatch('events', 5, values(1)), 'PARTITION_NOT_FOUND');
  });

  it('reports produced records, bytes and latency to the observer', async () => {
    const observer = {
      recordsProduced: vi.fn<NonNullable<BrokerObserver['recordsProduced']>>(),
      appendLatencyMs: vi.fn<NonNullable<BrokerObserver['appendLatencyMs']>>(),
    };
    const observed = await createBroker(log, { observer });
    await observed.produce('events', [
      { key: bytes('ab'), value: bytes('cde') },
      { key: null, value: bytes('f') },
    ]);
    expect(observer.recordsProduced).toHaveBeenCalledWith('events', 2, 6);
    expect(observer.appendLatencyMs).toHaveBeenCalledTimes(1);
    expect(observer.appendLatencyMs.mock.calls[0]![0]).toBeGreaterThanOrEqual(0);
    const { producerId } = await observed.initProducer();
    const producer = { producerId, producerEpoch: 0, baseSequence: 0 };
    await observed.appendBatch('events', 0, values(1), { producer });
    await observed.appendBatch('events', 0, values(1), { producer }); // duplicate: not counted
    expect(observer.recordsProduced).toHaveBeenCalledTimes(2);
    await observed.close();
  });

  it('survives an observer that throws', async () => {
    const observed = await createBroker(log, {
      observer: {
        recordsProduced: () => {
          throw new Error('metrics down');
        },
      },
    });
    await expect(observed.produce('events', values(1))).resolves.toHaveLength(1);
    await observed.close();
  });
});
