/**
 * @module server/front/mqtt/record-shape
 * An MQTT message as a record of the log, and back (docs/mqtt.md, "Record shape"):
 *
 * - value = the payload bytes; key = the whole MQTT topic name (UTF-8);
 * - MQTT 5 user properties → headers as they are (name → key, UTF-8 value → bytes, order and
 *   repeats kept);
 * - MQTT metadata under the reserved prefix `mqtt.`: `mqtt.qos` (the published QoS),
 *   `mqtt.content-type`, `mqtt.response-topic`, `mqtt.correlation-data`, `mqtt.payload-format`
 *   (`1` = UTF-8), `mqtt.expires-at` (ms since the epoch, from the message expiry interval),
 *   `mqtt.retain` (`1` when published with the retain flag, for MQTT 5 Retain As Published).
 *
 * On the way out, headers whose names start with `mqtt.` are never user properties; a record
 * whose `mqtt.expires-at` has passed is not delivered, and one that has not carries the
 * remaining interval. Records of other front ends (no `mqtt.qos`) are delivered at the
 * subscription's QoS.
 *
 * @example
 * const record = recordOfPublish(packet, 'sensors/t1', Date.now());
 * const outbound = messageOfRecord(stored, 5, Date.now()); // null: expired
 */
import type { IPublishPacket, QoS, UserProperties } from 'mqtt-packet';
import type { LogRecord, RecordHeader, RecordInput } from '../../../broker/types.js';

export const MQTT_HEADER_PREFIX = 'mqtt.';
export const Header = {
  qos: 'mqtt.qos',
  contentType: 'mqtt.content-type',
  responseTopic: 'mqtt.response-topic',
  correlationData: 'mqtt.correlation-data',
  payloadFormat: 'mqtt.payload-format',
  expiresAt: 'mqtt.expires-at',
  retain: 'mqtt.retain',
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The record a PUBLISH becomes (the key is the whole MQTT topic name). */
export function recordOfPublish(packet: IPublishPacket, topicName: string, now: number): RecordInput {
  const headers: RecordHeader[] = [];
  const properties = packet.properties;
  if (properties?.userProperties !== undefined) pushUserProperties(headers, properties.userProperties);
  headers.push({ key: Header.qos, value: encoder.encode(String(packet.qos)) });
  if (packet.retain) headers.push({ key: Header.retain, value: encoder.encode('1') });
  if (properties !== undefined) {
    const text = (key: string, value: string | undefined): void => {
      if (value !== undefined) headers.push({ key, value: encoder.encode(value) });
    };
    text(Header.contentType, properties.contentType);
    text(Header.responseTopic, properties.responseTopic);
    if (properties.correlationData !== undefined) {
      headers.push({ key: Header.correlationData, value: new Uint8Array(properties.correlationData) });
    }
    if (properties.payloadFormatIndicator === true) text(Header.payloadFormat, '1');
    if (properties.messageExpiryInterval !== undefined) {
      text(Header.expiresAt, String(now + properties.messageExpiryInterval * 1000));
    }
  }
  const payload = typeof packet.payload === 'string' ? encoder.encode(packet.payload) : packet.payload;
  return { key: encoder.encode(topicName), value: new Uint8Array(payload), headers };
}

function pushUserProperties(headers: RecordHeader[], properties: UserProperties): void {
  for (const [name, value] of Object.entries(properties)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      headers.push({ key: name, value: encoder.encode(one) });
    }
  }
}

/** What a stored record says about the MQTT message it is. */
export interface OutboundMessage {
  readonly payload: Buffer;
  /** The published QoS; null for records of other front ends (delivered at the granted QoS). */
  readonly publishedQos: QoS | null;
  /** Published with the retain flag (MQTT 5 Retain As Published forwards it so). */
  readonly publishedRetained: boolean;
  /** MQTT 5 properties (also what a 3.1.1 connection leaves out). */
  readonly properties: NonNullable<IPublishPacket['properties']>;
}

/** The message `record` carries, or null once its message expiry has passed. */
export function messageOfRecord(record: LogRecord, now: number): OutboundMessage | null {
  let publishedQos: QoS | null = null;
  let publishedRetained = false;
  let userProperties: Record<string, string | string[]> | undefined;
  const properties: NonNullable<IPublishPacket['properties']> = {};
  for (const header of record.headers) {
    if (!header.key.startsWith(MQTT_HEADER_PREFIX)) {
      userProperties ??= {};
      addUserProperty(userProperties, header.key, decoder.decode(header.value));
      continue;
    }
    switch (header.key) {
      case Header.qos: {
        const qos = Number(decoder.decode(header.value));
        publishedQos = qos === 0 || qos === 1 || qos === 2 ? qos : null;
        break;
      }
      case Header.retain:
        publishedRetained = decoder.decode(header.value) === '1';
        break;
      case Header.contentType:
        properties.contentType = decoder.decode(header.value);
        break;
      case Header.responseTopic:
        properties.responseTopic = decoder.decode(header.value);
        break;
      case Header.correlationData:
        properties.correlationData = Buffer.from(header.value);
        break;
      case Header.payloadFormat:
        properties.payloadFormatIndicator = decoder.decode(header.value) === '1';
        break;
      case Header.expiresAt: {
        const expiresAt = Number(decoder.decode(header.value));
        if (!Number.isFinite(expiresAt)) break;
        if (expiresAt <= now) return null;
        properties.messageExpiryInterval = Math.ceil((expiresAt - now) / 1000);
        break;
      }
    }
  }
  if (userProperties !== undefined) properties.userProperties = userProperties;
  const value = record.value ?? new Uint8Array(0);
  return {
    payload: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    publishedQos,
    publishedRetained,
    properties,
  };
}

function addUserProperty(into: Record<string, string | string[]>, name: string, value: string): void {
  const existing = into[name];
  if (existing === undefined) into[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else into[name] = [existing, value];
}
