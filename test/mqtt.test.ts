/**
 * The MQTT front end with mqtt.js (MQTT 3.1.1 and 5) against a real server: connect, publish and
 * subscribe at QoS 0, 1 and 2, wildcard filters, records crossing front ends (HTTP ↔ MQTT),
 * MQTT over WebSocket on /mqtt, client-id takeover, keep-alive, protocol levels not served.
 */
import { connect as tcpConnect } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { mqttSuite } from './fixtures/mqtt.js';
import { call, createTopic, produce, type RecordData, start, tempDir } from './http-helpers.js';

const suite = mqttSuite('tributary-mqtt-');
const client = suite.client;
const url = suite.url;

interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly properties: Record<string, unknown> | undefined;
}

/** Collects messages; `next(n)` waits for the n first ones. */
function collect(c: MqttClient): { messages: Received[]; next(n: number): Promise<Received[]> } {
  const messages: Received[] = [];
  let waiters: (() => void)[] = [];
  c.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, properties: packet.properties });
    const waking = waiters;
    waiters = [];
    for (const wake of waking) wake();
  });
  return {
    messages,
    next: (n) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (messages.length >= n) resolve(messages.slice(0, n));
          else waiters.push(check);
        };
        check();
      }),
  };
}

async function readAll(topic: string, partition = 0): Promise<RecordData[]> {
  const answer = await call<{ records: RecordData[] }>(
    suite.server.url,
    'GET',
    `/v1/topics/${topic}/partitions/${partition}/records?offset=0&max=1000`,
  );
  expect(answer.status).toBe(200);
  return answer.body.records;
}

describe.each([4, 5] as const)('MQTT %s', (version) => {
  it('publishes and subscribes at QoS 0, 1 and 2; each message arrives once at min(published, granted)', async () => {
    const topic = `qos-v${version}`;
    const subscriber = await client(version);
    const inbox = collect(subscriber);
    const granted = await subscriber.subscribeAsync(`${topic}/#`, { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    const publisher = await client(version);
    await publisher.publishAsync(`${topic}/a`, 'zero', { qos: 0 });
    await publisher.publishAsync(`${topic}/a`, 'one', { qos: 1 });
    await publisher.publishAsync(`${topic}/b`, 'two', { qos: 2 });
    const got = await inbox.next(3);
    expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([
      [`${topic}/a`, 'zero', 0],
      [`${topic}/a`, 'one', 1],
      [`${topic}/b`, 'two', 1],
    ]);
    // Durable before the acknowledgement: the records are in the log with the MQTT topic name as key.
    const records = await readAll(topic);
    expect(records.map((r) => r.key)).toEqual([`${topic}/a`, `${topic}/a`, `${topic}/b`]);
    expect(records.map((r) => r.headers['mqtt.qos'])).toEqual(['0', '1', '2']);
  });

  it('matches + and # filters level by level, and a first-level wildcard reads every topic', async () => {
    const topic = `wild-v${version}`;
    const subscriber = await client(version);
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync(`${topic}/+/temp`, { qos: 1 });
    await subscriber.subscribeAsync('+/only-here', { qos: 1 });
    const publisher = await client(version);
    await publisher.publishAsync(`${topic}/room1/temp`, '1', { qos: 1 });
    await publisher.publishAsync(`${topic}/room1/humidity`, 'no', { qos: 1 });
    await publisher.publishAsync(`${topic}/room1/temp/x`, 'no', { qos: 1 });
    await publisher.publishAsync(`${topic}/room2/temp`, '2', { qos: 1 });
    await publisher.publishAsync(`${topic}/only-here`, '3', { qos: 1 });
    const got = await inbox.next(3);
    expect(got.map((m) => m.payload).sort()).toEqual(['1', '2', '3']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inbox.messages).toHaveLength(3);
  });

  it('delivers records produced over HTTP under the mapped MQTT topic name', async () => {
    const topic = `http-v${version}`;
    await createTopic(suite.server.url, topic, { partitions: 3 });
    const subscriber = await client(version);
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync(`${topic}/#`, { qos: 1 });
    await subscriber.subscribeAsync(topic, { qos: 0 });
    await produce(suite.server.url, topic, [
      { key: `${topic}/dev1`, value: 'a' },
      { key: 'dev2', value: 'b' },
      { value: 'c' },
    ]);
    const got = await inbox.next(3);
    expect(got.map((m) => [m.topic, m.payload]).sort()).toEqual([
      [topic, '"c"'],
      [`${topic}/dev1`, '"a"'],
      [`${topic}/dev2`, '"b"'],
    ]);
    // Records of other front ends carry no mqtt.qos: delivered at the granted QoS.
    expect(got.find((m) => m.topic === `${topic}/dev1`)?.qos).toBe(1);
  });

  it('subscriptions start at the tail: nothing published before SUBSCRIBE is delivered', async () => {
    const topic = `tail-v${version}`;
    const publisher = await client(version);
    await publisher.publishAsync(`${topic}/x`, 'old', { qos: 1 });
    const subscriber = await client(version);
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync(`${topic}/x`, { qos: 1 });
    await publisher.publishAsync(`${topic}/x`, 'new', { qos: 1 });
    expect((await inbox.next(1)).map((m) => m.payload)).toEqual(['new']);
  });
});

describe('topics that appear later', () => {
  it('a filter on a topic that does not exist yet, and a first-level wildcard, pick it up when HTTP creates it', async () => {
    const subscriber = await client(5);
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync('ghost/#', { qos: 1 });
    await subscriber.subscribeAsync('+/late-sensor', { qos: 1 });
    await createTopic(suite.server.url, 'ghost');
    await createTopic(suite.server.url, 'late');
    await produce(suite.server.url, 'ghost', [{ key: 'ghost/a', value: 1 }]);
    await produce(suite.server.url, 'late', [{ key: 'late/late-sensor', value: 2 }]);
    const got = await inbox.next(2);
    expect(got.map((m) => m.topic).sort()).toEqual(['ghost/a', 'late/late-sensor']);
  });
});

describe('MQTT 5 specifics', () => {
  it('assigns a client id to an empty one and announces its limits in CONNACK', async () => {
    const c = mqtt.connect(url(), { protocolVersion: 5, clientId: '', reconnectPeriod: 0 });
    suite.track(c);
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => c.once('connect', resolve));
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^tributary-/);
    expect(connack.properties?.receiveMaximum).toBe(64);
    expect(connack.properties?.maximumPacketSize).toBe(1024 * 1024);
  });

  it('tells the client a shorter keep-alive (Server Keep Alive) when mqttKeepAliveMsMax lowers it', async () => {
    const other = await tempDir('tributary-mqtt-ka-');
    const capped = await start(other.path, { mqtt: { port: 0 }, mqttKeepAliveMsMax: 30_000 });
    try {
      const c = mqtt.connect(`mqtt://127.0.0.1:${capped.mqtt?.port}`, {
        protocolVersion: 5,
        keepalive: 0,
        reconnectPeriod: 0,
      });
      const connack = await new Promise<mqtt.IConnackPacket>((resolve) => c.once('connect', resolve));
      expect(connack.properties?.serverKeepAlive).toBe(30);
      await c.endAsync();
    } finally {
      await capped.close();
      await other.remove();
    }
  });

  it('carries user properties, content type, response topic and correlation data through the log', async () => {
    const topic = 'props';
    const subscriber = await client(5);
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync(`${topic}/#`, { qos: 1 });
    const publisher = await client(5);
    await publisher.publishAsync(`${topic}/req`, '{"q":1}', {
      qos: 1,
      properties: {
        userProperties: { site: 'north', tag: ['a', 'b'] },
        contentType: 'application/json',
        responseTopic: 'props/reply',
        correlationData: Buffer.from('c-1'),
        payloadFormatIndicator: true,
        messageExpiryInterval: 600,
      },
    });
    const [message] = await inbox.next(1);
    expect(message?.properties).toMatchObject({
      userProperties: { site: 'north', tag: ['a', 'b'] },
      contentType: 'application/json',
      responseTopic: 'props/reply',
      correlationData: Buffer.from('c-1'),
      payloadFormatIndicator: true,
    });
    expect(message?.properties?.messageExpiryInterval).toBeGreaterThan(590);
    const [record] = await readAll(topic);
    expect(record?.headers).toMatchObject({ site: 'north', 'mqtt.content-type': 'application/json' });
  });

  it('refuses a topic name whose first level is not a topic with PUBACK 0x90', async () => {
    const c = await client(5);
    const error = await c.publishAsync('bad topic!/x', 'v', { qos: 1 }).then(
      () => null,
      (e: unknown) => e as { code?: number },
    );
    expect(error?.code).toBe(0x90);
  });

  it('resolves topic aliases set by the client', async () => {
    const subscriber = await client(5);
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync('alias/#', { qos: 1 });
    const publisher = await client(5);
    await publisher.publishAsync('alias/long/name', '1', { qos: 1, properties: { topicAlias: 3 } });
    await publisher.publishAsync('', '2', { qos: 1, properties: { topicAlias: 3 } });
    expect((await inbox.next(2)).map((m) => [m.topic, m.payload])).toEqual([
      ['alias/long/name', '1'],
      ['alias/long/name', '2'],
    ]);
  });
});

describe('MQTT over WebSocket', () => {
  it('serves mqtt.js on ws://…/mqtt, the same log as TCP', async () => {
    const ws = await mqtt.connectAsync(`${suite.server.url.replace('http', 'ws')}/mqtt`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    suite.track(ws);
    const inbox = collect(ws);
    await ws.subscribeAsync('wsmqtt/#', { qos: 1 });
    const tcp = await client(4);
    await tcp.publishAsync('wsmqtt/a', 'over tcp', { qos: 1 });
    await ws.publishAsync('wsmqtt/b', 'over ws', { qos: 1 });
    expect((await inbox.next(2)).map((m) => m.payload).sort()).toEqual(['over tcp', 'over ws']);
  });
});

describe('connections', () => {
  it('a second CONNECT with the same client id takes over: the first gets DISCONNECT 0x8E', async () => {
    const first = await client(5, { clientId: 'takeover-1' });
    const disconnected = new Promise<number | undefined>((resolve) =>
      first.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const second = await client(5, { clientId: 'takeover-1' });
    expect(await disconnected).toBe(0x8e);
    expect(second.connected).toBe(true);
  });

  it('closes a connection silent for 1.5 × its keep-alive', async () => {
    const socket = tcpConnect(suite.server.mqtt?.port as number, '127.0.0.1');
    // CONNECT, MQTT 3.1.1, clean session, keep-alive 1 s, client id "ka".
    socket.write(Buffer.from([0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 1, 0, 2, 0x6b, 0x61]));
    const started = Date.now();
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Buffer.concat(received).subarray(0, 4)).toEqual(Buffer.from([0x20, 2, 0, 0]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('answers an unserved protocol level with CONNACK 1 and closes', async () => {
    const socket = tcpConnect(suite.server.mqtt?.port as number, '127.0.0.1');
    // CONNECT, "MQIsdp" level 3 (MQTT 3.1).
    socket.write(
      Buffer.from([0x10, 16, 0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 3, 2, 0, 10, 0, 2, 0x6f, 0x6c]),
    );
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Buffer.concat(received)).toEqual(Buffer.from([0x20, 2, 0, 1]));
  });
});
