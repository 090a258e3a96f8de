/**
 * MQTT 5 features with mqtt.js and raw packets against a Tributary server's MQTT listener, as the
 * Eclipse Paho MQTT 5 interoperability tests check them: user properties (order and repeats
 * kept), content type and payload format, request/response (response topic, correlation
 * data), message expiry, topic aliases both ways, maximum packet size both ways, receive
 * maximum both ways (flow control), subscription identifiers, no local, retain as published,
 * retain handling, reason codes of refused publishes, DISCONNECT with will.
 *
 * TRIBUTARY_MQTT_TARGET=mosquitto runs them against a Mosquitto on a free port.
 */
import { describe, expect, it } from 'vitest';
import { connectMqtt, RawMqtt, servedByTarget, type TestClient, targetSuite } from './fixtures/mqtt.js';
import { sleep } from './kafka-harness.js';

const suite = targetSuite('v5t');
const freshTopic = suite.freshTopic;
const onMosquitto = process.env.TRIBUTARY_MQTT_TARGET === 'mosquitto';

function connect5(options: Parameters<typeof connectMqtt>[1] = {}): Promise<TestClient> {
  return connectMqtt(suite.target, { protocolVersion: 5, ...options });
}

/**
 * Publishes a QoS 2 marker on `topic` from `publisher` and waits until `client` got it (QoS 2, so
 * that it is handed over after QoS 2 messages sent before it).
 */
async function barrier(publisher: TestClient, client: TestClient, topic: string): Promise<void> {
  const before = client.messages.length;
  await publisher.client.publishAsync(topic, 'barrier', { qos: 2 });
  const deadline = Date.now() + 10_000;
  while (!client.messages.slice(before).some((m) => m.topic === topic && m.payload === 'barrier')) {
    if (Date.now() > deadline) throw new Error(`the barrier on ${topic} did not arrive`);
    await sleep(20);
  }
}

describe('MQTT 5 properties', () => {
  it('carries user properties, repeats and order kept, at every QoS', async () => {
    const topic = `${freshTopic()}/props`;
    const client = await connect5();
    await client.client.subscribeAsync(topic, { qos: 2 });
    const userProperties = { a: '2', c: ['3', '4'], 'with space': 'ünïcode' };
    for (const qos of [0, 1, 2] as const)
      await client.client.publishAsync(topic, `qos ${qos}`, { qos, properties: { userProperties } });
    const got = await client.waitFor(3);
    for (const message of got) expect(message.packet.properties?.userProperties).toEqual(userProperties);
    expect(got.map((m) => m.qos)).toEqual([0, 1, 2]);
    await client.end();
  });

  it('carries content type and payload format indicator', async () => {
    const topic = `${freshTopic()}/format`;
    const client = await connect5();
    await client.client.subscribeAsync(topic, { qos: 2 });
    await client.client.publishAsync(topic, '{"t":21.5}', {
      qos: 1,
      properties: { contentType: 'application/json', payloadFormatIndicator: true },
    });
    const [message] = await client.waitFor(1);
    expect(message?.packet.properties?.contentType).toBe('application/json');
    expect(message?.packet.properties?.payloadFormatIndicator).toBe(true);
    await client.end();
  });

  it('request/response: the responder answers on the response topic with the correlation data', async () => {
    const first = freshTopic();
    const requester = await connect5();
    const responder = await connect5();
    await requester.client.subscribeAsync(`${first}/responses/req1`, { qos: 1 });
    await responder.client.subscribeAsync(`${first}/requests`, { qos: 1, nl: true });
    await requester.client.publishAsync(`${first}/requests`, 'what time is it', {
      qos: 1,
      properties: {
        responseTopic: `${first}/responses/req1`,
        correlationData: Buffer.from([0, 1, 254, 255]),
      },
    });
    const [request] = await responder.waitFor(1);
    const properties = request?.packet.properties;
    expect(properties?.responseTopic).toBe(`${first}/responses/req1`);
    expect(Buffer.from(properties?.correlationData ?? [])).toEqual(Buffer.from([0, 1, 254, 255]));
    await responder.client.publishAsync(properties?.responseTopic ?? '', 'noon', {
      qos: 1,
      properties: { correlationData: properties?.correlationData ?? Buffer.alloc(0) },
    });
    const [response] = await requester.waitFor(1);
    expect(response?.payload).toBe('noon');
    expect(Buffer.from(response?.packet.properties?.correlationData ?? [])).toEqual(
      Buffer.from([0, 1, 254, 255]),
    );
    await Promise.all([requester.end(), responder.end()]);
  });

  it('forwards the message expiry interval, never longer than published', async () => {
    const topic = `${freshTopic()}/expiry`;
    const client = await connect5();
    await client.client.subscribeAsync(topic, { qos: 1 });
    await client.client.publishAsync(topic, 'lasts a minute', {
      qos: 1,
      properties: { messageExpiryInterval: 60 },
    });
    await client.client.publishAsync(topic, 'forever', { qos: 1 });
    const [expiring, forever] = await client.waitFor(2);
    const interval = expiring?.packet.properties?.messageExpiryInterval;
    expect(interval).toBeGreaterThan(0);
    expect(interval).toBeLessThanOrEqual(60);
    expect(forever?.packet.properties?.messageExpiryInterval).toBeUndefined();
    await client.end();
  });

  it.skipIf(!servedByTarget('retained'))(
    'does not give an expired retained message to a later subscriber',
    async () => {
      const first = freshTopic();
      const publisher = await connect5();
      await publisher.client.publishAsync(`${first}/short`, 'expires', {
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: 1 },
      });
      await publisher.client.publishAsync(`${first}/long`, 'stays', {
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: 3600 },
      });
      // Past the one-second expiry with room to spare.
      await sleep(2500);
      const subscriber = await connect5();
      await subscriber.client.subscribeAsync(`${first}/+`, { qos: 1 });
      const [kept] = await subscriber.waitFor(1);
      await barrier(publisher, subscriber, `${first}/barrier`);
      expect(subscriber.messages.map((m) => m.payload)).toEqual(['stays', 'barrier']);
      expect(kept?.packet.properties?.messageExpiryInterval).toBeLessThan(3600);
      expect(kept?.packet.properties?.messageExpiryInterval).toBeGreaterThan(3500);
      for (const level of ['short', 'long'])
        await publisher.client.publishAsync(`${first}/${level}`, '', { qos: 1, retain: true });
      await Promise.all([publisher.end(), subscriber.end()]);
    },
  );
});

describe('MQTT 5 topic aliases', () => {
  it('client to server: an alias set with the topic name stands for it afterwards', async () => {
    const topic = `${freshTopic()}/alias`;
    const client = await connect5();
    const maximum = Number(client.connackProperties.topicAliasMaximum ?? 0);
    if (!onMosquitto) expect(maximum).toBeGreaterThanOrEqual(1);
    await client.client.subscribeAsync(topic, { qos: 1 });
    await client.client.publishAsync(topic, 'sets alias 1', { qos: 1, properties: { topicAlias: 1 } });
    await client.client.publishAsync('', 'uses alias 1', { qos: 1, properties: { topicAlias: 1 } });
    const got = await client.waitFor(2);
    expect(got.map((m) => [m.topic, m.payload])).toEqual([
      [topic, 'sets alias 1'],
      [topic, 'uses alias 1'],
    ]);
    await client.end();
  });

  it('client to server: alias 0, an alias above the maximum, or an unknown alias end the connection', async () => {
    const topic = `${freshTopic()}/alias`;
    const probe = await RawMqtt.connect(suite.target.port, 5);
    const maximum = (await probe.next('connack')).properties?.topicAliasMaximum ?? 0;
    probe.destroy();
    const cases: { what: string; topic: string; alias: number; reasons: number[] }[] = [
      // 0x94 Topic Alias invalid; an empty name without a known alias is a Protocol Error (0x82).
      // Mosquitto calls alias 0 a Malformed Packet (0x81).
      { what: 'alias 0', topic, alias: 0, reasons: [0x81, 0x82, 0x94] },
      { what: 'above the maximum', topic, alias: maximum + 1, reasons: [0x94] },
      { what: 'unknown alias', topic: '', alias: 1, reasons: [0x82, 0x94] },
    ];
    for (const c of cases) {
      const raw = await RawMqtt.connect(suite.target.port, 5);
      // mqtt-packet refuses alias 0 and an empty name; the packet is written by hand.
      raw.write(publishWithAlias(c.topic, c.alias, 'x'));
      expect(await raw.waitClosed(), c.what).toBe(true);
      const reason = raw.all('disconnect')[0]?.reasonCode;
      expect(c.reasons, `${c.what}: DISCONNECT ${reason}`).toContain(reason);
    }
  });

  it('server to client: every message arrives under its topic name when the client accepts aliases', async () => {
    const first = freshTopic();
    const client = await connect5({ properties: { topicAliasMaximum: 2 } });
    await client.client.subscribeAsync(`${first}/#`, { qos: 2 });
    const topics = [`${first}/a`, `${first}/b`, `${first}/c`, `${first}/a`, `${first}/c`, `${first}/b`];
    for (const [index, topic] of topics.entries())
      await client.client.publishAsync(topic, String(index), { qos: 1 });
    const got = await client.waitFor(topics.length);
    expect(got.map((m) => m.topic)).toEqual(topics);
    for (const message of got) {
      const alias = message.packet.properties?.topicAlias;
      if (alias !== undefined) expect(alias).toBeGreaterThanOrEqual(1);
      if (alias !== undefined) expect(alias).toBeLessThanOrEqual(2);
    }
    await client.end();
  });

  it('server to client: no aliases to a client that accepts none', async () => {
    const topic = `${freshTopic()}/noalias`;
    const raw = await RawMqtt.connect(suite.target.port, 5);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await raw.next('suback');
    for (let i = 0; i < 3; i += 1)
      raw.send({ cmd: 'publish', topic, payload: String(i), qos: 0, retain: false, dup: false });
    for (let i = 0; i < 3; i += 1) {
      const message = await raw.next('publish', i);
      expect(message.topic).toBe(topic);
      expect(message.properties?.topicAlias).toBeUndefined();
    }
    raw.destroy();
  });
});

/** A QoS 0 MQTT 5 PUBLISH with a topic alias property, built byte by byte. */
function publishWithAlias(topic: string, alias: number, payload: string): Buffer {
  const name = Buffer.from(topic);
  const properties = Buffer.from([0x23, alias >> 8, alias & 0xff]);
  const body = Buffer.concat([
    Buffer.from([name.length >> 8, name.length & 0xff]),
    name,
    Buffer.from([properties.length]),
    properties,
    Buffer.from(payload),
  ]);
  if (body.length > 127) throw new Error('keep it short');
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

describe('MQTT 5 maximum packet size', () => {
  it('never sends a client a packet larger than its Maximum Packet Size; smaller ones still arrive', async () => {
    const topic = `${freshTopic()}/size`;
    const client = await connect5({ properties: { maximumPacketSize: 64 } });
    await client.client.subscribeAsync(topic, { qos: 1 });
    const publisher = await connect5();
    await publisher.client.publishAsync(topic, '.'.repeat(20), { qos: 1 });
    await publisher.client.publishAsync(topic, '.'.repeat(64), { qos: 1 });
    await publisher.client.publishAsync(topic, 'after', { qos: 1 });
    await client.waitFor(2);
    await barrier(publisher, client, topic);
    expect(client.messages.map((m) => m.payload.length)).toEqual([20, 5, 7]);
    expect(client.client.connected).toBe(true);
    await Promise.all([client.end(), publisher.end()]);
  });

  it('a packet above the server Maximum Packet Size gets DISCONNECT 0x95 Packet too large', async () => {
    const probe = await RawMqtt.connect(suite.target.port, 5);
    const maximum = (await probe.next('connack')).properties?.maximumPacketSize;
    probe.destroy();
    if (!onMosquitto) expect(maximum).toBeDefined();
    if (maximum === undefined) return;
    const raw = await RawMqtt.connect(suite.target.port, 5);
    raw.send({
      cmd: 'publish',
      topic: `${freshTopic()}/big`,
      payload: Buffer.alloc(maximum),
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    });
    expect(await raw.waitClosed()).toBe(true);
    expect(raw.all('disconnect')[0]?.reasonCode).toBe(0x95);
    expect(raw.all('puback')).toEqual([]);
  });
});

describe('MQTT 5 receive maximum (flow control)', () => {
  it('sends a client no more unacknowledged QoS 1 messages than its Receive Maximum', async () => {
    const topic = `${freshTopic()}/flow`;
    const raw = await RawMqtt.connect(suite.target.port, 5, { properties: { receiveMaximum: 2 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await raw.next('suback');
    const publisher = await connect5();
    for (let i = 1; i <= 4; i += 1) await publisher.client.publishAsync(topic, `message ${i}`, { qos: 1 });
    const first = await raw.next('publish', 0);
    const second = await raw.next('publish', 1);
    // Everything was acknowledged to the publisher; the server holds back the rest.
    await sleep(500);
    expect(raw.all('publish').map((p) => p.payload.toString())).toEqual(['message 1', 'message 2']);
    raw.send({ cmd: 'puback', messageId: first.messageId ?? 0 });
    const third = await raw.next('publish', 2);
    expect(third.payload.toString()).toBe('message 3');
    raw.send({ cmd: 'puback', messageId: second.messageId ?? 0 });
    raw.send({ cmd: 'puback', messageId: third.messageId ?? 0 });
    expect((await raw.next('publish', 3)).payload.toString()).toBe('message 4');
    raw.destroy();
    await publisher.end();
  });

  // Mosquitto 2.0.11 queues past its Receive Maximum instead (not checked against it); Tributary
  // does not refuse it yet either (it acknowledges every PUBLISH and stops reading).
  it.skipIf(onMosquitto || !servedByTarget('receiveMaximumExceeded'))(
    'a client over the server Receive Maximum of unfinished QoS 2 exchanges gets DISCONNECT 0x93',
    async () => {
      const topic = `${freshTopic()}/flow2`;
      const raw = await RawMqtt.connect(suite.target.port, 5);
      const receiveMaximum = (await raw.next('connack')).properties?.receiveMaximum ?? 65535;
      // Never sends PUBREL: every exchange stays open.
      for (let id = 1; id <= receiveMaximum + 1; id += 1)
        raw.send({ cmd: 'publish', topic, payload: 'x', qos: 2, messageId: id, retain: false, dup: false });
      expect(await raw.waitClosed(20_000)).toBe(true);
      expect(raw.all('disconnect')[0]?.reasonCode).toBe(0x93);
      expect(raw.all('pubrec').length).toBeLessThanOrEqual(receiveMaximum);
    },
  );
});

describe('MQTT 5 subscription options', () => {
  it('subscription identifiers: each message lists the identifiers of every matching subscription', async () => {
    const first = freshTopic();
    const one = await connect5();
    await one.client.subscribeAsync(`${first}/x`, { qos: 2, properties: { subscriptionIdentifier: 456789 } });
    const two = await connect5();
    await two.client.subscribeAsync(`${first}/x`, { qos: 2, properties: { subscriptionIdentifier: 2 } });
    await two.client.subscribeAsync(`${first}/#`, { qos: 2, properties: { subscriptionIdentifier: 3 } });
    await two.client.publishAsync(`${first}/x`, 'sub identifier test', { qos: 1 });
    const [forOne] = await one.waitFor(1);
    const [forTwo] = await two.waitFor(1);
    expect([forOne?.packet.properties?.subscriptionIdentifier].flat()).toEqual([456789]);
    const ids = [forTwo?.packet.properties?.subscriptionIdentifier].flat();
    if (onMosquitto && two.messages.length > 1) return; // Mosquitto may send one copy per subscription.
    expect(ids.sort()).toEqual([2, 3]);
    await barrier(two, two, `${first}/barrier`);
    expect(two.messages.filter((m) => m.topic === `${first}/x`)).toHaveLength(1);
    await Promise.all([one.end(), two.end()]);
  });

  it('no local: a subscriber does not get what it published itself, others do', async () => {
    const first = freshTopic();
    const a = await connect5();
    const b = await connect5();
    await a.client.subscribeAsync(`${first}/x`, { qos: 2, nl: true });
    await a.client.subscribeAsync(`${first}/barrier`, { qos: 1 });
    await b.client.subscribeAsync(`${first}/x`, { qos: 2, nl: true });
    await a.client.publishAsync(`${first}/x`, 'noLocal test', { qos: 1 });
    await b.waitFor(1);
    await barrier(a, a, `${first}/barrier`);
    expect(a.messages.map((m) => m.topic)).toEqual([`${first}/barrier`]);
    expect(b.messages.map((m) => m.payload)).toEqual(['noLocal test']);
    await Promise.all([a.end(), b.end()]);
  });

  it.skipIf(!servedByTarget('retained'))(
    'retain as published keeps the retain flag on live messages',
    async () => {
      const topic = `${freshTopic()}/rap`;
      const client = await connect5();
      await client.client.subscribeAsync(topic, { qos: 2, rap: true });
      await client.client.publishAsync(topic, 'retain as published false', { qos: 1 });
      await client.client.publishAsync(topic, 'retain as published true', { qos: 1, retain: true });
      const got = await client.waitFor(2);
      expect(got.map((m) => m.retain)).toEqual([false, true]);
      await client.client.publishAsync(topic, '', { qos: 1, retain: true });
      await client.end();
    },
  );

  it.skipIf(!servedByTarget('retained'))(
    'retain handling: 0 sends retained messages on every subscribe, 1 on a new subscription only, 2 never',
    async () => {
      const first = freshTopic();
      const publisher = await connect5();
      for (const [qos, level] of [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
      ] as const)
        await publisher.client.publishAsync(`${first}/${level}`, `qos ${qos}`, { qos, retain: true });

      async function retainedAfter(client: TestClient, rh: 0 | 1 | 2): Promise<number> {
        const before = client.messages.length;
        await client.client.subscribeAsync(`${first}/+`, { qos: 2, rh });
        await barrier(publisher, client, `${first}/barrier`);
        return client.messages.slice(before).filter((m) => m.retain).length;
      }

      const c1 = await connect5();
      expect(await retainedAfter(c1, 1)).toBe(3);
      expect(await retainedAfter(c1, 1)).toBe(0);
      const c2 = await connect5();
      expect(await retainedAfter(c2, 2)).toBe(0);
      expect(await retainedAfter(c2, 2)).toBe(0);
      const c0 = await connect5();
      expect(await retainedAfter(c0, 0)).toBe(3);
      expect(await retainedAfter(c0, 0)).toBe(3);
      for (const level of ['a', 'b', 'c'])
        await publisher.client.publishAsync(`${first}/${level}`, '', { qos: 1, retain: true });
      await Promise.all([publisher.end(), c0.end(), c1.end(), c2.end()]);
    },
  );
});

describe('MQTT 5 session expiry and shared subscriptions', () => {
  async function reconnect(clientId: string, sessionExpiryInterval: number): Promise<TestClient> {
    return connect5({ clientId, clean: false, properties: { sessionExpiryInterval } });
  }

  it.skipIf(!servedByTarget('sessions'))(
    'Session Expiry Interval 0 ends the session with the connection; a longer one keeps it',
    async () => {
      const clientId = `expiry-${freshTopic()}`;
      const first = await connect5({ clientId, clean: true, properties: { sessionExpiryInterval: 0 } });
      await first.client.subscribeAsync(`${clientId}/x`, { qos: 1 });
      await first.end();
      const second = await reconnect(clientId, 300);
      expect(second.sessionPresent).toBe(false);
      await second.client.subscribeAsync(`${clientId}/x`, { qos: 1 });
      await second.end();
      const third = await reconnect(clientId, 300);
      expect(third.sessionPresent).toBe(true);
      await third.end();
    },
  );

  it.skipIf(!servedByTarget('sessions'))(
    'the Session Expiry Interval of DISCONNECT replaces the one of CONNECT',
    async () => {
      const clientId = `expiry-dc-${freshTopic()}`;
      const first = await connect5({ clientId, clean: true, properties: { sessionExpiryInterval: 300 } });
      await new Promise<void>((resolve) =>
        first.client.end(false, { properties: { sessionExpiryInterval: 0 } }, () => resolve()),
      );
      const second = await reconnect(clientId, 300);
      expect(second.sessionPresent).toBe(false);
      await second.end();
    },
  );

  it.skipIf(!servedByTarget('sessions'))(
    'a session is gone once its expiry interval has passed',
    async () => {
      const clientId = `expiry-passes-${freshTopic()}`;
      const first = await connect5({ clientId, clean: true, properties: { sessionExpiryInterval: 1 } });
      await first.client.subscribeAsync(`${clientId}/x`, { qos: 1 });
      await first.end();
      // Past the one-second expiry with room to spare.
      await sleep(2500);
      const second = await reconnect(clientId, 0);
      expect(second.sessionPresent).toBe(false);
      await second.end();
    },
  );

  /** Two members of `$share/workers/<first>/#` and a plain subscriber; 20 jobs published. */
  async function sharedGroupWithJobs(first: string): Promise<{
    a: TestClient;
    b: TestClient;
    plain: TestClient;
    publisher: TestClient;
  }> {
    const filter = `$share/workers/${first}/#`;
    const a = await connect5();
    const b = await connect5();
    const plain = await connect5();
    await a.client.subscribeAsync(filter, { qos: 1 });
    await b.client.subscribeAsync(filter, { qos: 1 });
    await plain.client.subscribeAsync(`${first}/#`, { qos: 1 });
    const publisher = await connect5();
    for (let i = 0; i < 20; i += 1)
      await publisher.client.publishAsync(`${first}/job`, `job ${i}`, { qos: 1 });
    await plain.waitFor(20);
    await waitForTotal([a, b], 20);
    return { a, b, plain, publisher };
  }

  it.skipIf(!servedByTarget('sharedSubscriptions'))(
    '$share/<group>/<filter>: each message goes to one member of the group, a plain subscriber gets them all',
    async () => {
      const { a, b, plain, publisher } = await sharedGroupWithJobs(freshTopic());
      const shared = [...a.messages, ...b.messages].map((m) => m.payload).sort();
      expect(shared).toEqual(Array.from({ length: 20 }, (_, i) => `job ${i}`).sort());
      expect(plain.messages).toHaveLength(20);
      await Promise.all([a.end(), b.end(), plain.end(), publisher.end()]);
    },
  );

  it.skipIf(!servedByTarget('sharedSubscriptionTakeOver'))(
    '$share/<group>/<filter>: when the member that got the messages leaves right after acknowledging them, the other gets what follows',
    async () => {
      const first = freshTopic();
      const { a, b, plain, publisher } = await sharedGroupWithJobs(first);
      const [leaving, staying] = a.messages.length > 0 ? [a, b] : [b, a];
      await leaving.end();
      const before = staying.messages.length;
      for (let i = 20; i < 25; i += 1)
        await publisher.client.publishAsync(`${first}/job`, `job ${i}`, { qos: 1 });
      await staying.waitFor(before + 5, 20_000);
      // Unacknowledged ones may come again (QoS 1); the five new ones come in order.
      const fresh = staying.messages.slice(before).map((m) => m.payload);
      expect(fresh.filter((p) => Number(p.slice(4)) >= 20)).toEqual([
        'job 20',
        'job 21',
        'job 22',
        'job 23',
        'job 24',
      ]);
      await Promise.all([staying.end(), plain.end(), publisher.end()]);
    },
  );
});

async function waitForTotal(clients: readonly TestClient[], count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (clients.reduce((sum, c) => sum + c.messages.length, 0) < count) {
    if (Date.now() > deadline) throw new Error(`the group got fewer than ${count} messages`);
    await sleep(20);
  }
}

describe('MQTT 5 reason codes', () => {
  it.skipIf(onMosquitto)(
    'a QoS 1 publish to an invalid topic gets PUBACK 0x90 and the connection stays',
    async () => {
      const raw = await RawMqtt.connect(suite.target.port, 5);
      raw.send({
        cmd: 'publish',
        topic: 'not a topic!/x',
        payload: 'x',
        qos: 1,
        messageId: 7,
        retain: false,
        dup: false,
      });
      const puback = await raw.next('puback');
      expect([puback.messageId, puback.reasonCode]).toEqual([7, 0x90]);
      raw.send({ cmd: 'pingreq' });
      await raw.next('pingresp');
      raw.destroy();
    },
  );

  it.skipIf(onMosquitto)(
    'a subscription to an invalid filter gets a failure reason code in SUBACK',
    async () => {
      const raw = await RawMqtt.connect(suite.target.port, 5);
      raw.send({
        cmd: 'subscribe',
        messageId: 3,
        subscriptions: [
          { topic: 'not a topic!/x', qos: 1 },
          { topic: `${freshTopic()}/ok`, qos: 1 },
        ],
      });
      const suback = await raw.next('suback');
      expect(suback.granted[0]).toBeGreaterThanOrEqual(0x80);
      expect(suback.granted[1]).toBe(1);
      raw.destroy();
    },
  );

  it.skipIf(!servedByTarget('wills'))('DISCONNECT with reason 0x04 publishes the will', async () => {
    const topic = `${freshTopic()}/will`;
    const watcher = await connect5();
    await watcher.client.subscribeAsync(topic, { qos: 1 });
    const leaving = await RawMqtt.connect(suite.target.port, 5, {
      will: { topic, payload: Buffer.from('disconnect with will'), qos: 1, retain: false },
    });
    leaving.send({ cmd: 'disconnect', reasonCode: 0x04 });
    const [will] = await watcher.waitFor(1);
    expect(will?.payload).toBe('disconnect with will');
    await watcher.end();
  });

  it.skipIf(!servedByTarget('wills'))('will properties travel with the will message', async () => {
    const topic = `${freshTopic()}/will`;
    const watcher = await connect5();
    await watcher.client.subscribeAsync(topic, { qos: 1 });
    const lost = await connect5({
      will: {
        topic,
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { userProperties: { a: '2', c: '3' }, contentType: 'text/plain' },
      },
    });
    lost.client.stream.destroy();
    const [will] = await watcher.waitFor(1);
    expect(will?.packet.properties?.userProperties).toEqual({ a: '2', c: '3' });
    expect(will?.packet.properties?.contentType).toBe('text/plain');
    await watcher.end();
  });
});
