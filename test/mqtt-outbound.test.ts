/**
 * MQTT 5 flow control and properties on the way out, with a bare connection that controls its
 * acknowledgements (`RawMqtt` of test/fixtures/mqtt.ts): the client's Receive Maximum bounds the QoS 1
 * messages in flight, its Maximum Packet Size makes larger messages skipped, an expired message
 * is not delivered and a live one carries the remaining interval, topic aliases set by the server,
 * No Local, subscription
 * identifiers and one copy at the highest QoS for overlapping subscriptions, a takeover that
 * hands the session over, and the front end's metrics.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { mqttSuite, type RawMqtt } from './fixtures/mqtt.js';
import { createTopic, metricValue, produce } from './http-helpers.js';

const suite = mqttSuite('tributary-mqtt-v5-');
const raw = suite.raw;

async function subscribe(client: RawMqtt, topic: string, qos: 0 | 1 | 2, identifier?: number): Promise<void> {
  const messageId = client.all('suback').length + 1;
  client.send({
    cmd: 'subscribe',
    messageId,
    subscriptions: [{ topic, qos }],
    ...(identifier === undefined ? {} : { properties: { subscriptionIdentifier: identifier } }),
  });
  await client.next('suback', messageId - 1);
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 150));

describe('MQTT 5 on the way out', () => {
  it("the client's Receive Maximum bounds QoS 1 messages in flight; each PUBACK lets one more out", async () => {
    await createTopic(suite.server.url, 'window');
    const client = await raw({ properties: { receiveMaximum: 2 } });
    await subscribe(client, 'window/#', 1);
    await produce(
      suite.server.url,
      'window',
      Array.from({ length: 5 }, (_, i) => ({ key: 'window/x', value: i })),
    );
    await client.next('publish', 1);
    await settle();
    expect(client.all('publish')).toHaveLength(2);
    client.send({ cmd: 'puback', messageId: client.all('publish')[0]?.messageId as number });
    await client.next('publish', 2);
    await settle();
    expect(client.all('publish')).toHaveLength(3);
    for (const p of client.all('publish').slice(1))
      client.send({ cmd: 'puback', messageId: p.messageId as number });
    await client.next('publish', 4);
    expect(client.all('publish').map((p) => p.payload.toString())).toEqual(['0', '1', '2', '3', '4']);
  });

  it("a message larger than the client's Maximum Packet Size is skipped, the next one delivered", async () => {
    await createTopic(suite.server.url, 'small');
    const client = await raw({ properties: { maximumPacketSize: 200 } });
    await subscribe(client, 'small/#', 0);
    await produce(suite.server.url, 'small', [
      { key: 'small/x', value: 'x'.repeat(500) },
      { key: 'small/x', value: 'fits' },
    ]);
    await client.next('publish', 0);
    await settle();
    expect(client.all('publish').map((p) => p.payload.toString())).toEqual(['"fits"']);
  });

  it('topic aliases on the way out: the first message of a name sets an alias, the next ones use it alone', async () => {
    await createTopic(suite.server.url, 'aliased');
    const client = await raw({ properties: { topicAliasMaximum: 1 } });
    await subscribe(client, 'aliased/#', 0);
    await produce(suite.server.url, 'aliased', [
      { key: 'aliased/a', value: 1 },
      { key: 'aliased/a', value: 2 },
      { key: 'aliased/b', value: 3 },
    ]);
    await client.next('publish', 2);
    expect(client.all('publish').map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
      ['aliased/a', 1],
      ['', 1],
      ['aliased/b', undefined], // the one alias allowed is taken
    ]);
  });

  it('an expired message is not delivered; a live one carries the remaining expiry interval', async () => {
    await createTopic(suite.server.url, 'expiry');
    const client = await raw();
    await subscribe(client, 'expiry/#', 1);
    const now = Date.now();
    await produce(suite.server.url, 'expiry', [
      { key: 'expiry/x', value: 'gone', headers: { 'mqtt.expires-at': String(now - 1000) } },
      { key: 'expiry/x', value: 'live', headers: { 'mqtt.expires-at': String(now + 60_000) } },
    ]);
    const message = await client.next('publish', 0);
    await settle();
    expect(client.all('publish')).toHaveLength(1);
    expect(message.payload.toString()).toBe('"live"');
    expect(message.properties?.messageExpiryInterval).toBeGreaterThan(50);
    expect(message.properties?.messageExpiryInterval).toBeLessThanOrEqual(60);
  });

  it('No Local: messages a client published are not sent back to that subscription; others are', async () => {
    const client = await raw();
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'nolocal/#', qos: 1, nl: true }],
    });
    await client.next('suback');
    const other = await raw();
    const publish = (c: RawMqtt, payload: string, messageId: number): void =>
      c.send({ cmd: 'publish', topic: 'nolocal/a', payload, qos: 1, dup: false, retain: false, messageId });
    publish(client, 'mine', 1);
    await client.next('puback');
    publish(other, 'theirs', 1);
    await client.next('publish', 0);
    await settle();
    expect(client.all('publish').map((p) => p.payload.toString())).toEqual(['theirs']);
  });

  it('overlapping subscriptions: one copy, at the highest granted QoS, with every subscription identifier', async () => {
    await createTopic(suite.server.url, 'overlap');
    const client = await raw();
    await subscribe(client, 'overlap/#', 0, 7);
    await subscribe(client, 'overlap/+/temp', 1, 9);
    await subscribe(client, 'overlap/room/humidity', 1, 11);
    const publisher = await raw();
    publisher.send({
      cmd: 'publish',
      topic: 'overlap/room/temp',
      payload: '21',
      qos: 2,
      dup: false,
      retain: false,
      messageId: 3,
    });
    await publisher.next('pubrec');
    const message: IPublishPacket = await client.next('publish', 0);
    await settle();
    expect(client.all('publish')).toHaveLength(1);
    expect(message.qos).toBe(1);
    expect([message.properties?.subscriptionIdentifier].flat().sort()).toEqual([7, 9]);
  });

  it('a takeover with clean start 0 hands the session over: its subscriptions keep delivering', async () => {
    await createTopic(suite.server.url, 'handover');
    const first = await raw({
      clientId: 'handover-1',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await subscribe(first, 'handover/#', 1);
    const second = await raw({
      clientId: 'handover-1',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    expect(second.connack.sessionPresent).toBe(true);
    expect((await first.next('disconnect')).reasonCode).toBe(0x8e);
    await produce(suite.server.url, 'handover', [{ key: 'handover/a', value: 'after' }]);
    expect((await second.next('publish', 0)).payload.toString()).toBe('"after"');
    expect(first.all('publish')).toHaveLength(0);
  });

  it('counts connections, records and errors under frontend="mqtt"', async () => {
    const before = await metricValue(suite.server.url, 'tributary_records_in_total', 'frontend="mqtt"');
    const client = await raw();
    client.send({
      cmd: 'publish',
      topic: 'counted/a',
      payload: 'x',
      qos: 1,
      dup: false,
      retain: false,
      messageId: 1,
    });
    await client.next('puback');
    expect(await metricValue(suite.server.url, 'tributary_records_in_total', 'frontend="mqtt"')).toBe(
      before + 1,
    );
    expect(await metricValue(suite.server.url, 'tributary_connections', 'frontend="mqtt"')).toBeGreaterThan(
      0,
    );
  });
});
