/**
 * MQTT and the other front ends read and write the same log (docs/mqtt.md "Topic mapping"):
 * a message from `mosquitto_pub` is the record a kafkajs consumer and the HTTP API read, at the
 * same partition and offset, with key = the MQTT topic name and the `mqtt.` headers; MQTT 5 user
 * properties are Kafka headers and back; records produced over HTTP and Kafka reach
 * `mosquitto_sub` and mqtt.js subscribers under the MQTT topic names their keys map to.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  connectMqtt,
  describeWithMqtt,
  hasMosquittoClients,
  type MqttTarget,
  mosquittoPub,
  startMosquittoSub,
  startTributaryMqtt,
} from './fixtures/mqtt.js';
import { call, createTopic } from './http-helpers.js';
import { killChildren, waitFor } from './kafka-harness.js';

let target: MqttTarget;
let http: string;

beforeAll(async () => {
  target = await startTributaryMqtt({ kafka: { port: 0 } });
  http = target.http!;
});

afterEach(() => {
  killChildren();
});

afterAll(async () => {
  await target?.close();
});

interface HttpRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value?: unknown;
  readonly valueBase64?: string;
  readonly headers?: Record<string, string>;
}

async function httpRecords(topic: string): Promise<HttpRecord[]> {
  const answer = await call<{ records: HttpRecord[] }>(
    http,
    'GET',
    `/v1/topics/${topic}/partitions/0/records?offset=0&max=100`,
  );
  expect(answer.status).toBe(200);
  return answer.body.records;
}

interface KafkaSeen {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/** Reads `topic` from the beginning with a kafkajs consumer until `count` records arrived. */
async function kafkaRead(topic: string, count: number): Promise<KafkaSeen[]> {
  const kafka = new Kafka({
    clientId: 'mqtt-cross',
    brokers: [target.bootstrap!],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({
    groupId: `cross-${topic}`,
    maxWaitTimeInMs: 200,
    heartbeatInterval: 300,
  });
  await consumer.connect();
  const seen: KafkaSeen[] = [];
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        seen.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers,
        });
      },
    });
    await waitFor(() => seen.length >= count, 20_000, `${count} records of ${topic} at kafkajs`);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describeWithMqtt(
  'MQTT and the other front ends share the log',
  hasMosquittoClients(),
  'apt-get install -y mosquitto-clients',
  () => {
    it('mosquitto_pub QoS 1 → the same record at the same offset for kafkajs and HTTP: key = MQTT topic name', async () => {
      for (const [i, version] of (['mqttv311', 'mqttv5'] as const).entries()) {
        const result = await mosquittoPub(target, version, [
          '-t',
          'plant/line-1/temp',
          '-q',
          '1',
          '-m',
          `temp=2${i}.5`,
        ]);
        expect(result.code, result.stderr).toBe(0);
      }
      const overHttp = await httpRecords('plant');
      expect(
        overHttp.map((r) => [
          r.offset,
          r.key,
          Buffer.from(r.valueBase64 ?? '', 'base64').toString(),
          r.headers?.['mqtt.qos'],
        ]),
      ).toEqual([
        [0, 'plant/line-1/temp', 'temp=20.5', '1'],
        [1, 'plant/line-1/temp', 'temp=21.5', '1'],
      ]);
      const overKafka = await kafkaRead('plant', 2);
      expect(overKafka.map((r) => [r.partition, r.offset, r.key, r.value, r.headers['mqtt.qos']])).toEqual([
        [0, 0, 'plant/line-1/temp', 'temp=20.5', '1'],
        [0, 1, 'plant/line-1/temp', 'temp=21.5', '1'],
      ]);
    });

    it('MQTT 5 user properties and content type become Kafka headers', async () => {
      const result = await mosquittoPub(target, 'mqttv5', [
        ...['-t', 'meters/m-9', '-q', '1', '-m', 'kwh=3'],
        ...['-D', 'publish', 'user-property', 'site', 'north'],
        ...['-D', 'publish', 'content-type', 'text/plain'],
      ]);
      expect(result.code, result.stderr).toBe(0);
      const [record] = await kafkaRead('meters', 1);
      expect(record?.key).toBe('meters/m-9');
      expect(record?.headers).toMatchObject({
        site: 'north',
        'mqtt.content-type': 'text/plain',
        'mqtt.qos': '1',
      });
    });

    it('records produced over HTTP reach mosquitto_sub under the MQTT names their keys map to', async () => {
      await createTopic(http, 'fleet');
      const sub = await startMosquittoSub(target, 'mqttv311', ['-q', '1', '-t', 'fleet/#', '-C', '3']);
      const produced = await call(http, 'POST', '/v1/topics/fleet/records', {
        records: [
          { key: 'truck-7', value: { speed: 61 } },
          { key: 'fleet/truck-8/gps', value: 'n52e13' },
          { value: 'no key' },
        ],
      });
      expect(produced.status).toBe(200);
      const got = await sub.waitFor(3);
      // Records from other front ends carry no mqtt.qos: delivered at the granted QoS.
      expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([
        ['fleet/truck-7', '{"speed":61}', 1],
        ['fleet/truck-8/gps', '"n52e13"', 1],
        ['fleet', '"no key"', 1],
      ]);
    });

    it('a Kafka record with headers reaches an MQTT 5 subscriber with them as user properties', async () => {
      await createTopic(http, 'alerts');
      const subscriber = await connectMqtt(target, { protocolVersion: 5 });
      await subscriber.client.subscribeAsync('alerts/#', { qos: 1 });
      const kafka = new Kafka({
        clientId: 'mqtt-cross',
        brokers: [target.bootstrap!],
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: 'alerts',
        messages: [
          { key: 'alerts/boiler', value: 'overheat', headers: { severity: 'high', 'mqtt.qos': '1' } },
        ],
      });
      await producer.disconnect();
      const [message] = await subscriber.waitFor(1);
      expect([message?.topic, message?.payload]).toEqual(['alerts/boiler', 'overheat']);
      expect(message?.packet.properties?.userProperties).toEqual({ severity: 'high' });
      await subscriber.end();
    });
  },
);
