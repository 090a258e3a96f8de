import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../../broker/broker.js';
import type { Broker } from '../../../broker/types.js';
// biome-ignore lint/style/noRestrictedImports: the test is a composition root: it builds a broker on a log.
import { createMemoryLog, type MemoryLog } from '../../../log/memory/memory-log.js';
import { ServerMetrics } from '../../metrics.js';
import type { MqttClient } from './context.js';
import { RetainedStore } from './retained.js';
import { MqttRetained } from './retained-extension.js';
import type { SessionSubscription } from './session.js';
import { parseTopicFilter } from './topics.js';

const encoder = new TextEncoder();

describe('retained messages for a new subscription', () => {
  let log: MemoryLog;
  let broker: Broker;
  let store: RetainedStore;
  let retained: MqttRetained;
  let metrics: ServerMetrics;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = (await createBroker(log)).forSystem();
    store = await RetainedStore.open(broker, {
      messagesMax: 100,
      bytesMax: 1 << 20,
      logger: pino({ level: 'silent' }),
    });
    metrics = new ServerMetrics({ defaultMetrics: false });
    retained = new MqttRetained(store, metrics);
    for (const name of ['open/a', 'open/b', 'secret/a']) {
      await retained.retain(name, { key: null, value: encoder.encode(name) });
    }
  });
  afterEach(async () => {
    retained.close();
    await broker.close();
    await log.close();
  });

  /** What `subscribed` hands the connection, by topic name. */
  async function sent(
    version: 4 | 5,
    filter: string,
    options: Partial<SessionSubscription> = {},
    isNew = true,
  ): Promise<string[]> {
    const names: string[] = [];
    const client = {
      version,
      auth: { allowed: (_type: string, topic: string) => topic !== 'secret' },
      deliverRetained: (messages: readonly { topicName: string }[]) => {
        names.push(...messages.map((m) => m.topicName));
      },
    } as unknown as MqttClient;
    const subscription: SessionSubscription = {
      filter: parseTopicFilter(filter),
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
      identifier: null,
      ...options,
    };
    await retained.subscribed(client, subscription, isNew);
    return names.sort();
  }

  it('sends what the filter matches among the topics the session may read', async () => {
    expect(await sent(4, '#')).toEqual(['open/a', 'open/b']);
    expect(await sent(5, '+/a')).toEqual(['open/a']);
    expect(await sent(5, 'secret/#')).toEqual([]);
  });

  it('follows MQTT 5 Retain Handling; MQTT 3.1.1 always sends', async () => {
    expect(await sent(5, 'open/+', { retainHandling: 1 }, true)).toEqual(['open/a', 'open/b']);
    expect(await sent(5, 'open/+', { retainHandling: 1 }, false)).toEqual([]);
    expect(await sent(5, 'open/+', { retainHandling: 0 }, false)).toEqual(['open/a', 'open/b']);
    expect(await sent(5, 'open/+', { retainHandling: 2 }, true)).toEqual([]);
    expect(await sent(4, 'open/+', { retainHandling: 2 }, false)).toEqual(['open/a', 'open/b']);
  });

  it('sends nothing to a shared subscription (MQTT 5 §4.8.2)', async () => {
    expect(await sent(5, '$share/g/open/#')).toEqual([]);
  });

  it('keeps the retained-messages gauge in step', async () => {
    const gauge = async () =>
      (await metrics.registry.getSingleMetricAsString('tributary_mqtt_retained_messages')).split('\n').at(-1);
    expect(await gauge()).toBe('tributary_mqtt_retained_messages 3');
    await retained.retain('open/a', { key: null, value: new Uint8Array(0) });
    expect(await gauge()).toBe('tributary_mqtt_retained_messages 2');
  });
});
