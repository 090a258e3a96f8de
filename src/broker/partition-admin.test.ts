/**
 * Broker: adding partitions (catalog, key mapping, group rebalance, internal topics refused) and
 * moving a partition's log start (readers and subscriptions from `earliest`).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLog, type MemoryLog } from '../log/memory/memory-log.js';
import { kafkaPartition } from '../protocol/kafka/primitives/murmur2.js';
import { createBroker, type TributaryBroker } from './broker.js';
import { CONSUMER_OFFSETS_TOPIC } from './internal-topics.js';
import { bytes, expectCode, text, values } from './testing/helpers.js';
import type { GroupAssignment } from './types.js';

let log: MemoryLog;
let broker: TributaryBroker;

beforeEach(async () => {
  log = createMemoryLog();
  broker = await createBroker(log);
});
afterEach(async () => {
  await broker.close();
  await log.close();
});

/** A key that murmur2 maps to `partition` of `count`. */
function keyFor(partition: number, count: number): string {
  for (let i = 0; ; i++) if (kafkaPartition(bytes(`k${i}`), count) === partition) return `k${i}`;
}

describe('broker: addPartitions', () => {
  it('maps keys by the new count at once, old partitions untouched', async () => {
    await broker.createTopic('orders', { partitions: 2 });
    // Fill the catalog with the old count first, as a running server has it.
    await broker.produce('orders', [{ key: bytes('warm'), value: bytes('x') }]);
    const grown = await broker.addPartitions('orders', 4);
    expect(grown.partitions).toHaveLength(4);
    const key = keyFor(3, 4);
    const [produced] = await broker.produce('orders', [{ key: bytes(key), value: bytes('new') }]);
    expect(produced).toMatchObject({ partition: 3, offset: 0 });
    expect((await broker.fetch('orders', 3, 0)).map((r) => text(r.value))).toEqual(['new']);
    await expectCode(broker.addPartitions('orders', 4), 'INVALID_PARTITIONS');
    await expectCode(broker.addPartitions('missing', 4), 'TOPIC_NOT_FOUND');
  });

  it('rebalances a native group reading the topic so the new partitions are assigned', async () => {
    await broker.createTopic('orders', { partitions: 1 });
    const assignments: GroupAssignment[] = [];
    const member = await broker.joinGroup({
      groupId: 'g',
      topics: ['orders'],
      onAssignment: (assignment) => assignments.push(assignment),
    });
    expect(assignments.at(-1)?.partitions).toHaveLength(1);
    await broker.addPartitions('orders', 3);
    for (let i = 0; i < 100 && (assignments.at(-1)?.partitions.length ?? 0) < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(
      assignments
        .at(-1)
        ?.partitions.map((p) => p.partition)
        .sort(),
    ).toEqual([0, 1, 2]);
    await member.leave();
  });

  it('refuses internal topics: users cannot name them, system callers get INVALID_PARTITIONS', async () => {
    await expectCode(broker.addPartitions(CONSUMER_OFFSETS_TOPIC, 2), 'INVALID_TOPIC_NAME');
    await expectCode(broker.forSystem().addPartitions(CONSUMER_OFFSETS_TOPIC, 2), 'INVALID_PARTITIONS');
    await broker.forSystem().createTopic('__collection.stock', { partitions: 2, compact: true });
    await expectCode(broker.forSystem().addPartitions('__collection.stock', 3), 'INVALID_PARTITIONS');
    expect((await log.describeTopic('__collection.stock')).partitions).toHaveLength(2);
  });
});

describe('broker: deleteRecords', () => {
  it('moves earliest: fetch below is refused, subscriptions from earliest start there', async () => {
    await broker.createTopic('t');
    await broker.produce(
      't',
      values(6).map((r) => ({ ...r, partition: 0 })),
    );
    expect(await broker.deleteRecords('t', 0, 4)).toEqual({ earliest: 4 });
    await expectCode(broker.fetch('t', 0, 3), 'OFFSET_OUT_OF_RANGE');
    expect(await broker.resolvePosition('t', 0, 'earliest')).toBe(4);
    const seen: number[] = [];
    const subscription = await broker.subscribe({
      topic: 't',
      partition: 0,
      from: 'earliest',
      onRecords: (delivery) => {
        for (const r of delivery.records) seen.push(r.offset);
      },
    });
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toEqual([4, 5]);
    await subscription.close();
    await expectCode(broker.deleteRecords('t', 0, 7), 'OFFSET_OUT_OF_RANGE');
    await expectCode(broker.deleteRecords(CONSUMER_OFFSETS_TOPIC, 0, 0), 'INVALID_TOPIC_NAME');
  });
});
