/**
 * @module server/front/mqtt/retained-extension
 * Retained messages in the MQTT front end (docs/mqtt.md, "Retained messages"): a retained
 * PUBLISH is stored in the {@link RetainedStore} once its append to the topic is durable (the
 * acknowledgement waits for both), and a new subscription gets the retained messages its filter
 * matches, retain flag set, ahead of any live message (they go through the connection's
 * delivery, so QoS 1/2 use the in-flight window like any other message).
 *
 * Which subscriptions get them: not shared ones (MQTT 5 §4.8.2); MQTT 5 Retain Handling 0
 * always, 1 only for a new subscription, 2 never; MQTT 3.1.1 always. Only topics the session may
 * `read` are looked at.
 *
 * @example
 * const retained = new MqttRetained(await RetainedStore.open(broker.forSystem(), options), metrics);
 * new MqttFrontEnd({ ..., extensions: { retained } });
 */
import type { LogRecord, RecordInput } from '../../../broker/types.js';
import type { ServerMetrics } from '../../metrics.js';
import type { MqttClient, RetainedExtension } from './context.js';
import type { RetainedStore } from './retained.js';
import type { SessionSubscription } from './session.js';

export class MqttRetained implements RetainedExtension {
  readonly #store: RetainedStore;
  readonly #metrics: ServerMetrics;

  constructor(store: RetainedStore, metrics: ServerMetrics) {
    this.#store = store;
    this.#metrics = metrics;
    metrics.mqttRetainedMessages.set(store.size);
  }

  /** Throws `RESOURCE_EXHAUSTED` when retaining would pass a limit: called before the append. */
  check(topicName: string, record: RecordInput): void {
    this.#store.check(topicName, record);
  }

  async retain(topicName: string, record: RecordInput): Promise<void> {
    await this.#store.retain(topicName, record);
    this.#metrics.mqttRetainedMessages.set(this.#store.size);
  }

  async subscribed(client: MqttClient, subscription: SessionSubscription, isNew: boolean): Promise<void> {
    if (subscription.filter.shareName !== null) return;
    if (client.version === 5) {
      if (subscription.retainHandling === 2) return;
      if (subscription.retainHandling === 1 && !isNew) return;
    }
    const messages = this.#store.matching(subscription.filter, (topic) =>
      client.auth.allowed('topic', topic, 'read'),
    );
    if (messages.length > 0) client.deliverRetained(messages, subscription);
  }

  recordAt(offset: number): Promise<LogRecord | undefined> {
    return this.#store.recordAt(offset);
  }

  close(): void {
    this.#store.close();
  }
}
