/**
 * Delivery on a real broker whose first subscribe to a partition fails as a storage error would:
 * the partition is opened again with backoff instead of staying silent.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../../broker/broker.js';
import type { Broker, SubscribeOptions } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
// biome-ignore lint/style/noRestrictedImports: the test is a composition root: it builds a broker on a log.
import { createMemoryLog, type MemoryLog } from '../../../log/memory/memory-log.js';
import { ServerMetrics } from '../../metrics.js';
import { Delivery } from './delivery.js';
import { MqttSession } from './session.js';
import { parseTopicFilter } from './topics.js';

const encoder = new TextEncoder();

describe('a partition subscription that fails to open', () => {
  let log: MemoryLog;
  let broker: Broker;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = await createBroker(log);
  });
  afterEach(async () => {
    await broker.close();
    await log.close();
  });

  it('is opened again after a transient failure and delivers from then on', async () => {
    await broker.createTopic('flaky');
    let failures = 0;
    // The real broker, whose first subscribe to the topic fails as a storage error would.
    const flaky: Broker = new Proxy(broker, {
      get(target, property, receiver) {
        if (property === 'subscribe') {
          return (options: SubscribeOptions) => {
            if (failures++ === 0)
              return Promise.reject(new TributaryError('CONNECTION_LOST', { reason: 'disk' }));
            return target.subscribe(options);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const session = new MqttSession('c', 'local');
    session.subscriptions.set('flaky/#', {
      filter: parseTopicFilter('flaky/#'),
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
      identifier: null,
    });
    const written: Buffer[] = [];
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const delivery = new Delivery({
      broker: flaky,
      session,
      sink: {
        version: 5,
        packetBytesMax: Number.POSITIVE_INFINITY,
        topicAliasMax: 0,
        bufferedBytes: 0,
        write: (b) => written.push(b),
      },
      inFlightMax: 10,
      creditRecords: 10,
      sendBufferedBytesMax: 1 << 20,
      canRead: () => true,
      publishedHere: () => false,
      logger: pino({ level: 'silent' }),
      metrics,
      retryDelayMs: 1,
    });
    await delivery.start();
    const opened = Date.now() + 5000;
    // Open again once the session has a position in the partition.
    while (session.positions.size === 0 && Date.now() < opened) await new Promise((r) => setTimeout(r, 5));
    await broker.produce('flaky', [{ key: encoder.encode('flaky/a'), value: encoder.encode('one') }]);
    const deadline = Date.now() + 5000;
    while (written.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    delivery.stop();
    expect(failures).toBe(2);
    expect(written).toHaveLength(1);
    expect(written[0]?.includes(Buffer.from('flaky/a'))).toBe(true);
  });
});
