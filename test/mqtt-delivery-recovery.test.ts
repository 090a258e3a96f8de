/**
 * Deliveries when a topic under a subscription goes away: a deleted topic stops only its own
 * delivery (the subscriber stays connected, other topics keep flowing), and a topic created again
 * under that name is read from its beginning when a filter still matches it. Driven with mqtt.js.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, type MqttTarget, startTributaryMqtt, type TestClient } from './fixtures/mqtt.js';
import { call } from './http-helpers.js';

let target: MqttTarget;
const clients: TestClient[] = [];

beforeAll(async () => {
  target = await startTributaryMqtt();
});

afterAll(async () => {
  for (const client of clients) await client.end();
  await target.close();
});

async function client(): Promise<TestClient> {
  const connected = await connectMqtt(target, { protocolVersion: 5 });
  clients.push(connected);
  return connected;
}

async function deleteTopic(name: string): Promise<void> {
  const answer = await call(target.http as string, 'DELETE', `/v1/topics/${name}`);
  expect(answer.status).toBeLessThan(300);
}

const topicsOf = (subscriber: TestClient): string[] =>
  subscriber.messages.map((m) => `${m.topic}=${m.payload}`);

describe('MQTT delivery when a topic is deleted', () => {
  for (const filters of [['gone/#', 'stay/#'], ['#']]) {
    it(`filters ${filters.join(', ')}: the subscriber stays, other topics flow, a re-created topic is read again`, async () => {
      const suffix = filters.length;
      const gone = `gone${suffix}`;
      const stay = `stay${suffix}`;
      const publisher = await client();
      await publisher.client.publishAsync(`${gone}/a`, 'before', { qos: 1 });
      await publisher.client.publishAsync(`${stay}/a`, 'first', { qos: 1 });
      const subscriber = await client();
      await subscriber.client.subscribeAsync(
        filters.map((f) => f.replace('gone', gone).replace('stay', stay)),
        { qos: 1 },
      );
      await publisher.client.publishAsync(`${gone}/a`, 'one', { qos: 1 });
      await publisher.client.publishAsync(`${stay}/a`, 'two', { qos: 1 });
      await subscriber.waitFor(2);

      await deleteTopic(gone);
      await publisher.client.publishAsync(`${stay}/a`, 'three', { qos: 1 });
      await subscriber.waitFor(3);
      // Created again by this publish (auto-create): read from its beginning.
      await publisher.client.publishAsync(`${gone}/b`, 'again', { qos: 1 });
      await publisher.client.publishAsync(`${stay}/a`, 'four', { qos: 1 });
      await subscriber.waitFor(5);

      expect(subscriber.client.connected).toBe(true);
      expect(topicsOf(subscriber).sort()).toEqual(
        [`${gone}/a=one`, `${stay}/a=two`, `${stay}/a=three`, `${gone}/b=again`, `${stay}/a=four`].sort(),
      );
      await publisher.client.publishAsync(`${gone}/c`, 'still', { qos: 1 });
      await subscriber.waitFor(6);
      expect(topicsOf(subscriber)[5]).toBe(`${gone}/c=still`);
    });
  }
});
