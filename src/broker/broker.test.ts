import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLog, type MemoryLog } from '../log/memory/memory-log.js';
import { createBroker, type TributaryBroker } from './broker.js';
import { CONSUMER_OFFSETS_TOPIC, PRODUCER_IDS_TOPIC } from './internal-topics.js';
import { expectCode, Recorder, values } from './testing/helpers.js';

describe('broker: topics admin', () => {
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

  it('creates the internal topics, compacted and fsynced, on first start', async () => {
    const offsets = await log.describeTopic(CONSUMER_OFFSETS_TOPIC);
    const producerIds = await log.describeTopic(PRODUCER_IDS_TOPIC);
    for (const topic of [offsets, producerIds]) {
      expect(topic.config.compact).toBe(true);
      expect(topic.config.fsync).toBe('always');
    }
  });

  it('starts again on a log that already has the internal topics', async () => {
    const again = await createBroker(log);
    expect(await again.listTopics()).toEqual([]);
    await again.close();
  });

  it('creates, describes, lists and deletes user topics, hiding internal ones', async () => {
    const created = await broker.createTopic('orders', { partitions: 3 });
    expect(created.name).toBe('orders');
    expect(created.partitions).toHaveLength(3);
    await broker.createTopic('audit');
    expect((await broker.listTopics()).map((t) => t.name)).toEqual(['audit', 'orders']);
    expect((await broker.describeTopic('orders')).config.partitions).toBe(3);
    await broker.deleteTopic('audit');
    expect((await broker.listTopics()).map((t) => t.name)).toEqual(['orders']);
    // The log itself still has the internal topics.
    expect((await log.listTopics()).map((t) => t.name)).toContain(CONSUMER_OFFSETS_TOPIC);
  });

  it('reports existing and missing topics with typed errors', async () => {
    await broker.createTopic('orders');
    await expectCode(broker.createTopic('orders'), 'TOPIC_EXISTS');
    await expectCode(broker.deleteTopic('nope'), 'TOPIC_NOT_FOUND');
    await expectCode(broker.describeTopic('nope'), 'TOPIC_NOT_FOUND');
    await expectCode(broker.createTopic('bad name!'), 'INVALID_TOPIC_NAME');
    await expectCode(broker.createTopic('orders2', { partitions: 0 }), 'INVALID_ARGUMENT');
  });

  it('protects internal topics from user create, delete, describe, produce, append and subscribe', async () => {
    for (const name of [CONSUMER_OFFSETS_TOPIC, PRODUCER_IDS_TOPIC, '__mine']) {
      await expectCode(broker.createTopic(name), 'INVALID_TOPIC_NAME');
      await expectCode(broker.deleteTopic(name), 'INVALID_TOPIC_NAME');
      await expectCode(broker.describeTopic(name), 'INVALID_TOPIC_NAME');
      await expectCode(broker.produce(name, values(1)), 'INVALID_TOPIC_NAME');
      await expectCode(broker.appendBatch(name, 0, values(1)), 'INVALID_TOPIC_NAME');
      await expectCode(broker.fetch(name, 0, 0), 'INVALID_TOPIC_NAME');
      await expectCode(broker.offsets(name, 0), 'INVALID_TOPIC_NAME');
      const recorder = new Recorder();
      await expectCode(
        broker.subscribe({ topic: name, partition: 0, from: 'earliest', onRecords: recorder.onRecords }),
        'INVALID_TOPIC_NAME',
      );
    }
    expect(await log.describeTopic(CONSUMER_OFFSETS_TOPIC)).toBeDefined();
    expect((await log.offsets(PRODUCER_IDS_TOPIC, 0)).next).toBe(0);
  });

  it('lets the system view use internal topics, which users still cannot see or touch', async () => {
    const system = broker.forSystem();
    await system.createTopic('__collection.c', { compact: true });
    const [first] = await system.produce('__collection.c', [
      { key: new TextEncoder().encode('k'), value: null },
    ]);
    expect(first).toEqual({ partition: 0, offset: 0 });
    expect((await system.fetch('__collection.c', 0, 0)).map((r) => r.offset)).toEqual([0]);
    expect((await broker.listTopics()).map((t) => t.name)).not.toContain('__collection.c');
    await expectCode(broker.produce('__collection.c', values(1)), 'INVALID_TOPIC_NAME');
    await expectCode(broker.fetch('__collection.c', 0, 0), 'INVALID_TOPIC_NAME');
    // The view's permission ends with each call: the same broker is strict again right after.
    await expectCode(broker.describeTopic('__collection.c'), 'INVALID_TOPIC_NAME');
    await expectCode(system.createTopic('bad/name'), 'INVALID_TOPIC_NAME');
  });

  it('rejects calls after close with SHUTTING_DOWN and leaves the log open', async () => {
    await broker.createTopic('orders');
    await broker.close();
    await broker.close(); // idempotent
    await expectCode(broker.produce('orders', values(1)), 'SHUTTING_DOWN');
    await expectCode(broker.listTopics(), 'SHUTTING_DOWN');
    await expectCode(broker.initProducer(), 'SHUTTING_DOWN');
    expect((await log.listTopics()).map((t) => t.name)).toContain('orders');
  });

  it('waits for writes in flight when closing', async () => {
    await broker.createTopic('orders');
    const produced = broker.produce('orders', values(10));
    await broker.close();
    await expect(produced).resolves.toHaveLength(10);
  });
});
