/**
 * @module server/front/mqtt/publish
 * An inbound PUBLISH onto the log: the topic name (or MQTT 5 topic alias) mapped to a topic and
 * key (`topics.ts`), the message to a record (`record-shape.ts`), then `broker.produce`. The
 * answer (PUBACK, PUBREC, a refusal, or closing the connection) is decided only once the
 * produce has resolved, so an acknowledgement always means durable under the topic's fsync
 * policy (docs/mqtt.md, "QoS and durability").
 *
 * Refusals follow the versions: MQTT 5 answers QoS 1/2 with a reason code (0x87 not
 * authorized, 0x90 topic name invalid, …) and drops a refused QoS 0 message; MQTT 3.1.1 has no
 * negative acknowledgement, so the connection is closed (§3.3.5) rather than lie with a
 * positive one.
 *
 * QoS 2: the packet id is remembered in the session from the PUBLISH until PUBREL, and a
 * PUBLISH repeating a remembered id is answered PUBREC without producing again.
 *
 * @example
 * const publisher = new InboundPublisher(context);
 * const outcome = await publisher.publish(packet); // { kind: 'ack', reasonCode: 0 } …
 */
import type { IPublishPacket } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Broker, ProducedOffset, RecordInput } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import { kafkaPartition } from '../../../protocol/kafka/primitives/murmur2.js';
import type { ServerMetrics } from '../../metrics.js';
import type { MqttVersion } from './codec.js';
import type { ExactlyOnceInbound } from './inbound-qos2.js';
import { ReasonCode, reasonCodeFor, reasonCodeOf } from './reason-codes.js';
import { recordOfPublish } from './record-shape.js';
import type { MqttSession } from './session.js';
import { MqttTopicError, mqttTopicToLog } from './topics.js';

/** What the connection does once a PUBLISH has been handled. */
export type PublishOutcome =
  /** QoS 1: PUBACK; QoS 2: PUBREC; with this reason code (MQTT 5; always 0 for 3.1.1). */
  | { readonly kind: 'ack'; readonly reasonCode: number; readonly reason?: string }
  /** Nothing to answer (QoS 0). */
  | { readonly kind: 'none' }
  /** A protocol error, or a refusal 3.1.1 cannot express: DISCONNECT (MQTT 5) and close. */
  | { readonly kind: 'disconnect'; readonly reasonCode: number; readonly reason: string };

/**
 * A retained message store (docs/mqtt.md, "Retained messages"). `check` is called before the
 * append (it throws `RESOURCE_EXHAUSTED` past the store's limits, so nothing is written);
 * `retain` after the message was made durable in its topic, and the PUBLISH is acknowledged
 * once it resolves too.
 */
export interface RetainedMessages {
  check(topicName: string, record: RecordInput): void;
  retain(topicName: string, record: RecordInput): Promise<void>;
}

export interface PublishContext {
  /** The broker as the session may use it (guarded with security on). */
  readonly broker: Broker;
  readonly version: MqttVersion;
  readonly session: MqttSession;
  readonly autoCreateTopics: boolean;
  /** Topic Alias Maximum announced in CONNACK (MQTT 5); 0: none accepted. */
  readonly topicAliasMax: number;
  readonly retained: RetainedMessages | undefined;
  /** Creates missing topics, once for all connections. */
  readonly topicCreator: TopicCreator;
  /**
   * MQTT 5 No Local: `producing` is called before each append to `topic`, and `produced` once
   * after it (no offsets when it failed), so live delivery can tell this connection's records.
   */
  readonly producing: (topic: string) => void;
  readonly produced: (topic: string, offsets: readonly ProducedOffset[]) => void;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly now?: () => number;
}

/**
 * Creates topics on first publish. Concurrent publishes to a new topic (any connection) wait
 * for the one creation: a second `createTopic` would answer TOPIC_EXISTS before the topic is
 * ready to take records.
 */
export class TopicCreator {
  readonly #creating = new Map<string, Promise<void>>();
  /** Called once a topic was created (deliveries with wildcard filters look at once). */
  readonly #onCreated: (topic: string) => void;

  constructor(onCreated: (topic: string) => void = () => undefined) {
    this.#onCreated = onCreated;
  }

  /** Resolves once `topic` exists (created here with 1 partition, or by someone else). */
  ensure(broker: Broker, topic: string): Promise<void> {
    let creating = this.#creating.get(topic);
    if (creating === undefined) {
      creating = (async () => {
        try {
          await broker.createTopic(topic, { partitions: 1 });
          this.#onCreated(topic);
        } catch (error) {
          if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
        } finally {
          this.#creating.delete(topic);
        }
      })();
      this.#creating.set(topic, creating);
    }
    return creating;
  }
}

export class InboundPublisher {
  readonly #c: PublishContext;
  /** MQTT 5 topic aliases the client set on this connection (§3.3.2.3.4). */
  readonly #aliases = new Map<number, string>();

  constructor(context: PublishContext) {
    this.#c = context;
  }

  /**
   * Checks the packet at once (aliases are set in arrival order) and returns the produce as a
   * promise of the outcome; never rejects.
   */
  publish(packet: IPublishPacket): Promise<PublishOutcome> {
    const name = this.#topicName(packet);
    if (typeof name !== 'string') return Promise.resolve(name);
    const { session, version } = this.#c;
    // A durable session keeps its QoS 2 state on the log (`inbound-qos2.ts`), not in this set.
    if (
      packet.qos === 2 &&
      session.durability === null &&
      session.inboundQos2.has(packet.messageId as number)
    ) {
      // A resend of a message already received: answered again, never produced twice.
      return Promise.resolve({ kind: 'ack', reasonCode: ReasonCode.Success });
    }
    let address: { topic: string; key: string };
    try {
      address = mqttTopicToLog(name);
    } catch (error) {
      const reason = error instanceof MqttTopicError ? error.reason : String(error);
      return Promise.resolve(this.#refused(packet, ReasonCode.TopicNameInvalid, reason));
    }
    if (packet.retain && this.#c.retained === undefined && version === 5) {
      return Promise.resolve({
        kind: 'disconnect',
        reasonCode: ReasonCode.RetainNotSupported,
        reason: 'retained messages are not available',
      });
    }
    const now = (this.#c.now ?? Date.now)();
    const record = recordOfPublish(packet, name, now);
    if (packet.retain && this.#c.retained !== undefined) {
      try {
        this.#c.retained.check(name, record);
      } catch (error) {
        this.#c.metrics.errors.inc({
          frontend: 'mqtt',
          code: isTributaryError(error) ? error.code : 'INTERNAL',
        });
        return Promise.resolve(this.#refused(packet, reasonCodeOf(error), String((error as Error).message)));
      }
    }
    if (packet.qos === 2 && session.durability === null) session.inboundQos2.add(packet.messageId as number);
    return this.#produce(packet, address.topic, name, record, now);
  }

  /** PUBREL: the QoS 2 id is released. False when it was not known (MQTT 5 PUBCOMP 0x92). */
  release(packetId: number): Promise<boolean> {
    const { session } = this.#c;
    if (session.durability !== null) return session.durability.inbound.release(packetId);
    return Promise.resolve(session.inboundQos2.delete(packetId));
  }

  async #produce(
    packet: IPublishPacket,
    topic: string,
    name: string,
    record: RecordInput,
    started: number,
  ): Promise<PublishOutcome> {
    const { metrics } = this.#c;
    try {
      const durability = this.#c.session.durability;
      let offsets: readonly ProducedOffset[] = [];
      this.#c.producing(topic);
      try {
        offsets =
          packet.qos === 2 && durability !== null
            ? await this.#appendExactlyOnce(packet, topic, record, durability.inbound)
            : await this.#produceCreating(topic, record);
      } finally {
        this.#c.produced(topic, offsets);
      }
      if (packet.retain && this.#c.retained !== undefined) await this.#c.retained.retain(name, record);
      metrics.recordsIn.inc({ frontend: 'mqtt' });
      metrics.bytesIn.inc({ frontend: 'mqtt' }, record.value?.length ?? 0);
      metrics.appendLatency.observe({ frontend: 'mqtt' }, ((this.#c.now ?? Date.now)() - started) / 1000);
      return packet.qos === 0 ? { kind: 'none' } : { kind: 'ack', reasonCode: ReasonCode.Success };
    } catch (error) {
      if (packet.qos === 2) this.#c.session.inboundQos2.delete(packet.messageId as number);
      const code = isTributaryError(error) ? error.code : 'INTERNAL';
      metrics.errors.inc({ frontend: 'mqtt', code });
      if (!isTributaryError(error)) this.#c.logger.error({ err: error }, 'MQTT publish failed');
      return this.#refused(packet, reasonCodeOf(error), isTributaryError(error) ? error.message : 'failed');
    }
  }

  /**
   * QoS 2 of a durable session: appended once across reconnects and crashes through the
   * session's idempotent producer (`inbound-qos2.ts`), to the partition of the record's key.
   */
  async #appendExactlyOnce(
    packet: IPublishPacket,
    topic: string,
    record: RecordInput,
    inbound: ExactlyOnceInbound,
  ): Promise<ProducedOffset[]> {
    const { broker } = this.#c;
    let partitions: number;
    try {
      partitions = (await broker.describeTopic(topic)).partitions.length;
    } catch (error) {
      if (!this.#c.autoCreateTopics || !isTributaryError(error, 'TOPIC_NOT_FOUND')) throw error;
      await this.#c.topicCreator.ensure(broker, topic);
      partitions = (await broker.describeTopic(topic)).partitions.length;
    }
    const partition = kafkaPartition(record.key as Uint8Array, partitions);
    inbound.bindBroker(broker);
    const { offset } = await inbound.receive(packet.messageId as number, topic, partition, record);
    return offset === undefined ? [] : [{ partition, offset }];
  }

  #produceCreating(topic: string, record: RecordInput): Promise<ProducedOffset[]> {
    return produceCreating(this.#c, topic, record);
  }

  /** The refusal of `packet` in the connection's version (see the module comment). */
  #refused(packet: IPublishPacket, reasonCode: number, reason: string): PublishOutcome {
    if (this.#c.version === 4) return { kind: 'disconnect', reasonCode, reason };
    if (packet.qos === 0) {
      this.#c.logger.debug({ reasonCode, reason }, 'MQTT QoS 0 message dropped');
      return { kind: 'none' };
    }
    return { kind: 'ack', reasonCode: reasonCodeFor('puback', reasonCode), reason };
  }

  /** The topic name, resolving an MQTT 5 topic alias; or the outcome of a bad one. */
  #topicName(packet: IPublishPacket): string | PublishOutcome {
    const alias = packet.properties?.topicAlias;
    if (alias === undefined) {
      if (packet.topic === '') {
        return { kind: 'disconnect', reasonCode: ReasonCode.ProtocolError, reason: 'empty topic name' };
      }
      return packet.topic;
    }
    if (alias === 0 || alias > this.#c.topicAliasMax) {
      return {
        kind: 'disconnect',
        reasonCode: ReasonCode.TopicAliasInvalid,
        reason: `topic alias ${alias} is not from 1 to ${this.#c.topicAliasMax}`,
      };
    }
    if (packet.topic !== '') {
      this.#aliases.set(alias, packet.topic);
      return packet.topic;
    }
    const name = this.#aliases.get(alias);
    if (name === undefined) {
      return {
        kind: 'disconnect',
        reasonCode: ReasonCode.ProtocolError,
        reason: `topic alias ${alias} is not set`,
      };
    }
    return name;
  }
}

/** Appends `record` to `topic`, creating the topic first when it is missing and that is on. */
async function produceCreating(
  c: Pick<PublishContext, 'broker' | 'autoCreateTopics' | 'topicCreator'>,
  topic: string,
  record: RecordInput,
): Promise<ProducedOffset[]> {
  const { broker } = c;
  try {
    return await broker.produce(topic, [record]);
  } catch (error) {
    if (!c.autoCreateTopics || !isTributaryError(error, 'TOPIC_NOT_FOUND')) throw error;
  }
  await c.topicCreator.ensure(broker, topic);
  return broker.produce(topic, [record]);
}

/**
 * Publishes a message no PUBLISH packet carried (a last will), through the same steps as one:
 * topic name mapping, record shape, retained-store limits, auto-create, the durable append (as
 * the session's broker view, so its access rules apply), then the retained store. Rejects with
 * the refusal (an MqttTopicError or a typed error).
 */
export async function publishMessage(
  c: Pick<PublishContext, 'broker' | 'autoCreateTopics' | 'topicCreator' | 'retained' | 'metrics'>,
  packet: IPublishPacket,
  now: number,
): Promise<void> {
  const { topic } = mqttTopicToLog(packet.topic);
  const record = recordOfPublish(packet, packet.topic, now);
  const retained = packet.retain ? c.retained : undefined;
  retained?.check(packet.topic, record);
  await produceCreating(c, topic, record);
  await retained?.retain(packet.topic, record);
  c.metrics.recordsIn.inc({ frontend: 'mqtt' });
  c.metrics.bytesIn.inc({ frontend: 'mqtt' }, record.value?.length ?? 0);
}
