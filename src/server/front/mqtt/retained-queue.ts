/**
 * @module server/front/mqtt/retained-queue
 * Retained messages waiting to be sent to one client after a SUBSCRIBE (docs/mqtt.md,
 * "Retained messages"). The connection's delivery drains this queue before any live record, so
 * retained messages arrive first; QoS 1/2 ones take slots of the same in-flight window.
 *
 * Bounded: a subscription subscribed again replaces its waiting messages, and at most
 * `queuedMax` wait in all (the rest of a match is not sent, and counted as an error), so a client
 * that subscribes to `#` over and over without reading holds no more than that.
 *
 * @example
 * const retained = new RetainedQueue({ session, sink, inFlightMax, sendBufferedBytesMax, queuedMax, metrics });
 * retained.add(store.matching(filter), subscription);
 * if (!retained.drain(now)) return; // live records wait behind retained ones
 */
import type { IPublishPacket, QoS } from 'mqtt-packet';
import type { ServerMetrics } from '../../metrics.js';
import { encodePacket } from './codec.js';
import type { PacketSink } from './delivery.js';
import { messageOfRecord } from './record-shape.js';
import { MQTT_RETAINED_TOPIC, type RetainedMessage } from './retained.js';
import type { MqttSession, SessionSubscription } from './session.js';

export interface RetainedQueueOptions {
  readonly session: MqttSession;
  readonly sink: PacketSink;
  readonly inFlightMax: number;
  /** Sending pauses while the socket holds this many bytes. */
  readonly sendBufferedBytesMax: number;
  /** Most retained messages waiting for this client. */
  readonly queuedMax: number;
  readonly metrics: ServerMetrics;
}

interface Waiting {
  readonly message: RetainedMessage;
  readonly subscription: SessionSubscription;
}

export class RetainedQueue {
  readonly #o: RetainedQueueOptions;
  #waiting: Waiting[] = [];
  #head = 0;

  constructor(options: RetainedQueueOptions) {
    this.#o = options;
  }

  /** Retained messages waiting. */
  get size(): number {
    return this.#waiting.length - this.#head;
  }

  /** Queues `messages` for `subscription`, replacing what an earlier subscribe to its filter left. */
  add(messages: readonly RetainedMessage[], subscription: SessionSubscription): void {
    const filter = subscription.filter.filter;
    const kept = this.#waiting.slice(this.#head).filter((w) => w.subscription.filter.filter !== filter);
    const room = Math.max(0, this.#o.queuedMax - kept.length);
    if (messages.length > room) {
      this.#o.metrics.errors.inc({ frontend: 'mqtt', code: 'RESOURCE_EXHAUSTED' });
    }
    for (const message of messages.slice(0, room)) kept.push({ message, subscription });
    this.#waiting = kept;
    this.#head = 0;
  }

  /** Sends what may be sent now; true once nothing waits (live records may go). */
  drain(now: number): boolean {
    const { sink } = this.#o;
    while (this.#head < this.#waiting.length) {
      if (sink.bufferedBytes >= this.#o.sendBufferedBytesMax) return false;
      if (!this.#send(this.#waiting[this.#head] as Waiting, now)) return false;
      this.#head++;
    }
    this.#waiting = [];
    this.#head = 0;
    return true;
  }

  clear(): void {
    this.#waiting = [];
    this.#head = 0;
  }

  /** Sends one retained message (or skips it); false when the in-flight window is full. */
  #send({ message, subscription }: Waiting, now: number): boolean {
    const { session, sink } = this.#o;
    // Unsubscribed (or subscribed again) since: this match is stale.
    if (session.subscriptions.get(subscription.filter.filter) !== subscription) return true;
    const outbound = messageOfRecord(message.record, now);
    if (outbound === null) return true; // expired
    const granted = subscription.qos;
    const qos: QoS = Math.min(outbound.publishedQos ?? granted, granted) as QoS;
    if (qos > 0 && session.outbound.size >= this.#o.inFlightMax) return false;
    const packetId = qos > 0 ? session.allocatePacketId() : null;
    if (qos > 0 && packetId === null) return false;
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: message.topicName,
      payload: outbound.payload,
      qos,
      dup: false,
      retain: true,
      ...(packetId === null ? {} : { messageId: packetId }),
      ...(sink.version === 5
        ? {
            properties: {
              ...outbound.properties,
              ...(subscription.identifier === null
                ? {}
                : { subscriptionIdentifier: subscription.identifier }),
            },
          }
        : {}),
    };
    const bytes = encodePacket(packet, sink.version);
    if (bytes.length > sink.packetBytesMax) return true; // MQTT 5 §3.1.2.11.4: as if sent
    sink.write(bytes);
    this.#o.metrics.recordsOut.inc({ frontend: 'mqtt' });
    this.#o.metrics.bytesOut.inc({ frontend: 'mqtt' }, outbound.payload.length);
    if (packetId !== null) {
      // Resent from the retained topic if the session resumes before the acknowledgement.
      session.outbound.set(packetId, {
        packetId,
        qos: qos as 1 | 2,
        topic: MQTT_RETAINED_TOPIC,
        partition: 0,
        offset: message.record.offset,
        phase: 'publish',
      });
    }
    return true;
  }
}
