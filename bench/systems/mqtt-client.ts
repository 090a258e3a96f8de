/**
 * @module bench/systems/mqtt-client
 * The load-generator side of every MQTT system (Tributary's MQTT front end, Mosquitto, Aedes):
 * mqtt.js, one connection per publisher, per subscriber and per idle connection, MQTT 3.1.1
 * (the version all three speak; Aedes has no MQTT 5), clean sessions, keep-alive 60 s, no
 * automatic reconnect, TCP_NODELAY on (mqtt.js leaves Nagle's algorithm on, which alone put
 * QoS 0 latencies at tens of ms). The MQTT topic is the run's topic name (one level), published and
 * subscribed at `target.qos` (default 1).
 *
 * - QoS 1: `publish()` resolves on the PUBACK.
 * - QoS 0: `publish()` resolves when mqtt.js has written the packet to the socket (at once, or on
 *   the socket's `drain`: the socket's back-pressure is the only flow control QoS 0 has), and
 *   `confirm()` (the publish workload) publishes a QoS 1 fence on the same connection and waits
 *   for its PUBACK: a broker handles a connection's packets in order, so then it has taken in
 *   every message before it. The fence's payload is not a benchmark payload, so subscribers
 *   ignore it.
 * - `flush()` (latency and fan-out) waits until the socket has written everything: not a fence,
 *   since a broker may hold a PUBACK back until it has fanned out what came before (Aedes does,
 *   under the subscribers' back-pressure), which is delivery, measured by the subscribers.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { sleep } from '../lib/procs.js';
import type { Endpoint, OnMessage, Publisher, Subscription, SystemClient, Target } from './types.js';

const FENCE = Buffer.from('fence');
let nextClientId = 0;

function clientId(): string {
  return `bench-${process.pid}-${++nextClientId}`;
}

async function connectMqtt(endpoint: Endpoint): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://${endpoint.host}:${endpoint.port}`, {
    protocolVersion: 4,
    clientId: clientId(),
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: 60_000,
  });
  // A broken connection fails its pending publishes; the error event must not crash the process.
  client.on('error', () => undefined);
  // Small packets go out at once, as from every other client in the harness (ws sets TCP_NODELAY).
  (client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
  return client;
}

function close(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(true, {}, () => resolve()));
}

function publishOne(client: MqttClient, topic: string, payload: Buffer, qos: 0 | 1): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(topic, payload, { qos }, (error) => (error ? reject(error) : resolve()));
  });
}

function asBuffer(payload: Uint8Array | string): Buffer {
  return typeof payload === 'string'
    ? Buffer.from(payload)
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

async function openPublisher(target: Target): Promise<Publisher> {
  const client = await connectMqtt(target.endpoint);
  const qos = target.qos ?? 1;
  return {
    text: false,
    publish: (payload) => publishOne(client, target.topic, asBuffer(payload), qos),
    flush: async () => {
      const socket = client.stream as { writableLength?: number; destroyed?: boolean };
      while ((socket.writableLength ?? 0) > 0 && socket.destroyed !== true) await sleep(1);
    },
    ...(qos === 0 ? { confirm: () => publishOne(client, target.topic, FENCE, 1) } : {}),
    close: () => close(client),
  };
}

async function subscribe(
  target: Target,
  _from: 'latest' | 'earliest',
  onMessage: OnMessage,
): Promise<Subscription> {
  const client = await connectMqtt(target.endpoint);
  client.on('message', (_topic, payload) => onMessage(payload));
  const granted = await client.subscribeAsync(target.topic, { qos: target.qos ?? 1 });
  if (granted.some((grant) => grant.qos === 128)) {
    await close(client);
    throw new Error(`subscription to ${target.topic} refused`);
  }
  return { close: () => close(client) };
}

async function connectIdle(target: Target): Promise<Subscription> {
  const client = await connectMqtt(target.endpoint);
  return { close: () => close(client) };
}

export const mqttClient: SystemClient = { openPublisher, subscribe, connectIdle };
