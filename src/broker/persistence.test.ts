import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileLog } from '../log/file/file-log.js';
import { createBroker } from './broker.js';
import { eventually, Recorder, values } from './testing/helpers.js';
import type { GroupAssignment } from './types.js';

describe('broker on the file log: state survives a restart', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-broker-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps committed offsets and never reuses producer ids', async () => {
    let log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    let broker = await createBroker(log);
    await broker.createTopic('orders', { partitions: 3 });
    const firstIds = [await broker.initProducer(), await broker.initProducer()];
    let assignment: GroupAssignment | undefined;
    const member = await broker.joinGroup({
      groupId: 'billing',
      topics: ['orders'],
      onAssignment: (a) => {
        assignment = a;
      },
    });
    await broker.commitOffsets('billing', member.memberId, assignment!.generation, [
      { topic: 'orders', partition: 0, offset: 7 },
      { topic: 'orders', partition: 2, offset: 3 },
    ]);
    await broker.commitOffsets('billing', member.memberId, assignment!.generation, [
      { topic: 'orders', partition: 0, offset: 9 },
    ]);
    await broker.commitOffsets('manual', '', -1, [{ topic: 'orders', partition: 1, offset: 1 }]);
    // A Kafka client's negative commit (kafkajs resetOffsets: -2 earliest) replaces the earlier one.
    await broker.kafkaGroups.commit('kafka', [{ topic: 'orders', partition: 0, offset: 5 }]);
    await broker.kafkaGroups.commit('kafka', [{ topic: 'orders', partition: 0, offset: -2 }]);
    await expect(
      broker.commitOffsets('manual', '', -1, [{ topic: 'orders', partition: 1, offset: -2 }]),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' }); // the native API has no such marker
    await broker.close();
    await log.close();

    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    broker = await createBroker(log);
    const partitions = [0, 1, 2].map((partition) => ({ topic: 'orders', partition }));
    expect(await broker.fetchOffsets('billing', partitions)).toEqual([
      { topic: 'orders', partition: 0, offset: 9 },
      { topic: 'orders', partition: 2, offset: 3 },
    ]);
    expect(await broker.fetchOffsets('manual', partitions)).toEqual([
      { topic: 'orders', partition: 1, offset: 1 },
    ]);
    expect(await broker.fetchOffsets('kafka', partitions)).toEqual([
      { topic: 'orders', partition: 0, offset: -2 },
    ]);
    const nextId = await broker.initProducer();
    expect(firstIds.map((id) => id.producerId)).toEqual([1, 2]);
    expect(nextId.producerId).toBe(3);
    expect((await broker.listTopics()).map((t) => t.name)).toEqual(['orders']);

    // Compaction of the internal topics keeps both intact.
    await log.compact('__consumer_offsets');
    await log.compact('__producer_ids');
    await broker.close();
    await log.close();
    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    broker = await createBroker(log);
    expect(await broker.fetchOffsets('billing', partitions)).toHaveLength(2);
    expect((await broker.initProducer()).producerId).toBe(4);
    await broker.close();
    await log.close();
  });

  it('delivers produced records to a subscriber and shares tail reads on the file log', async () => {
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    const broker = await createBroker(log);
    await broker.createTopic('events', { fsync: 'never' });
    await broker.produce('events', values(50));
    const recorders = Array.from({ length: 10 }, () => new Recorder());
    for (const recorder of recorders) {
      await broker.subscribe({
        topic: 'events',
        partition: 0,
        from: 'earliest',
        onRecords: recorder.onRecords,
      });
    }
    await broker.produce('events', values(50, 'w'));
    await eventually(() => {
      for (const recorder of recorders)
        expect(recorder.offsets).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });
    await broker.close();
    await log.close();
  });
});
