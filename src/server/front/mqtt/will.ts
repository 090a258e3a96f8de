/**
 * @module server/front/mqtt/will
 * The last will of a CONNECT (MQTT 3.1.1 §3.1.2.5, 5.0 §3.1.2.5 and §3.1.3.2), read once at
 * CONNECT: checked there (its topic name must map to a Tributary topic) and turned into the
 * PUBLISH it will be, so that when it goes out it takes the same path as any PUBLISH of that
 * client (auto-create, access check, record shape, retained store, durable append).
 *
 * When it goes out is `will-scheduler.ts`'s business; what ends a connection "without a normal
 * DISCONNECT" is the connection's: see {@link publishesWill}.
 *
 * @example
 * const will = willOfConnect(packet); // throws MqttTopicError; null without a will
 * if (will !== null && security) session.authorize('topic', will.address.topic, 'write');
 */
import type { IConnectPacket, IPublishPacket, QoS } from 'mqtt-packet';
import { type LogAddress, mqttTopicToLog } from './topics.js';

/** A will as the server keeps it from CONNECT to the end of the connection. */
export interface ConnectWill {
  /** Where the will is appended. */
  readonly address: LogAddress;
  readonly qos: QoS;
  readonly retain: boolean;
  /** MQTT 5 Will Delay Interval, in ms; 0 for 3.1.1. */
  readonly delayMs: number;
  /** The will as the PUBLISH it becomes (its message expiry counts from when it is sent). */
  readonly packet: IPublishPacket;
}

/** MQTT 5 DISCONNECT reason 0x04: close, and publish the will. */
export const DISCONNECT_WITH_WILL = 0x04;

/** The will of `connect`, or null when it has none; throws MqttTopicError for a bad topic name. */
export function willOfConnect(connect: IConnectPacket): ConnectWill | null {
  const will = connect.will;
  if (will === undefined || will === null) return null;
  const address = mqttTopicToLog(will.topic);
  const qos = will.qos ?? 0;
  const retain = will.retain === true;
  const { willDelayInterval, ...messageProperties } = will.properties ?? {};
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic: will.topic,
    payload: will.payload,
    qos,
    retain,
    dup: false,
  };
  if (Object.keys(messageProperties).length > 0) packet.properties = messageProperties;
  return { address, qos, retain, delayMs: (willDelayInterval ?? 0) * 1000, packet };
}

/**
 * Whether a connection that ended this way publishes its will: every end but a normal
 * DISCONNECT (5.0 §3.1.2.5: only reason 0x00 deletes the will; a 3.1.1 DISCONNECT counts as
 * 0x00). `disconnectReason` is the reason of the client's DISCONNECT, null when it sent none
 * (socket closed, keep-alive timeout, protocol error, takeover, server shutdown).
 */
export function publishesWill(disconnectReason: number | null): boolean {
  return disconnectReason !== NORMAL_DISCONNECTION;
}

const NORMAL_DISCONNECTION = 0x00;
