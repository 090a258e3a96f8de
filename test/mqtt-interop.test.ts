/**
 * The behaviours the Eclipse Paho interoperability tests check, with mqtt.js over MQTT 3.1.1
 * and 5.0 against a Tributary server's MQTT listener: publish/subscribe at QoS 0, 1 and 2,
 * retained messages (set, read by a later subscriber, cleared by an empty payload), the will
 * message (sent on a lost connection, not on DISCONNECT), zero-length client ids, overlapping
 * subscriptions (one copy at the highest granted QoS), keep-alive (a silent client is dropped
 * after 1.5 x keep-alive and its will published), `$` topics not matched by wildcards,
 * unsubscribe, and a refused subscription.
 *
 * TRIBUTARY_MQTT_TARGET=mosquitto runs the same tests against a Mosquitto started on a free
 * port (the reference they were written against); tests of Tributary-only rules are skipped then.
 */
import { describe, expect, it } from 'vitest';
import { connectMqtt, RawMqtt, servedByTarget, type TestClient, targetSuite } from './fixtures/mqtt.js';
import { sleep } from './kafka-harness.js';

const suite = targetSuite('interop');
const freshTopic = suite.freshTopic;

/**
 * Publishes a non-retained QoS 2 marker on `topic` and waits until `client` got it: everything
 * published before it on the same connection has been routed (QoS 2, so that mqtt.js hands it
 * over after QoS 2 messages sent before it).
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

for (const protocolVersion of [4, 5] as const) {
  const v = protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1';

  describe(`${v} with mqtt.js`, () => {
    it('publishes at QoS 0, 1 and 2 to a subscriber at QoS 2, in order and at the published QoS', async () => {
      const topic = `${freshTopic()}/a`;
      const client = await connectMqtt(suite.target, { protocolVersion });
      await client.client.subscribeAsync(topic, { qos: 2 });
      await client.client.publishAsync(topic, 'qos 0', { qos: 0 });
      await client.client.publishAsync(topic, 'qos 1', { qos: 1 });
      await client.client.publishAsync(topic, 'qos 2', { qos: 2 });
      const got = await client.waitFor(3);
      expect(got.map((m) => [m.topic, m.payload, m.qos, m.retain])).toEqual([
        [topic, 'qos 0', 0, false],
        [topic, 'qos 1', 1, false],
        [topic, 'qos 2', 2, false],
      ]);
      await client.end();
    });

    it('delivers at the lower of the published and the granted QoS', async () => {
      const topic = `${freshTopic()}/a`;
      const subscriber = await connectMqtt(suite.target, { protocolVersion });
      const granted = await subscriber.client.subscribeAsync(topic, { qos: 1 });
      expect(granted.map((g) => g.qos)).toEqual([1]);
      const publisher = await connectMqtt(suite.target, { protocolVersion });
      await publisher.client.publishAsync(topic, 'two', { qos: 2 });
      await publisher.client.publishAsync(topic, 'zero', { qos: 0 });
      const got = await subscriber.waitFor(2);
      expect(got.map((m) => [m.payload, m.qos])).toEqual([
        ['two', 1],
        ['zero', 0],
      ]);
      await publisher.end();
      await subscriber.end();
    });

    it.skipIf(!servedByTarget('retained'))(
      'keeps the last retained message per topic for later subscribers; an empty payload clears it',
      async () => {
        const first = freshTopic();
        const publisher = await connectMqtt(suite.target, { protocolVersion });
        await publisher.client.publishAsync(`${first}/qos0`, 'qos 0', { qos: 0, retain: true });
        await publisher.client.publishAsync(`${first}/qos1`, 'old', { qos: 1, retain: true });
        await publisher.client.publishAsync(`${first}/qos1`, 'qos 1', { qos: 1, retain: true });
        await publisher.client.publishAsync(`${first}/qos2`, 'qos 2', { qos: 2, retain: true });
        // A QoS 0 publish has no acknowledgement: the QoS 2 one after it on the same connection
        // was routed after it.
        const subscriber = await connectMqtt(suite.target, { protocolVersion });
        await subscriber.client.subscribeAsync(`${first}/+`, { qos: 2 });
        const got = await subscriber.waitFor(3);
        expect(
          got
            .map((m) => [m.topic, m.payload, m.qos, m.retain])
            .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
        ).toEqual([
          [`${first}/qos0`, 'qos 0', 0, true],
          [`${first}/qos1`, 'qos 1', 1, true],
          [`${first}/qos2`, 'qos 2', 2, true],
        ]);
        // A live message to a subscriber is not flagged retained, even when it is retained.
        await publisher.client.publishAsync(`${first}/qos1`, 'live', { qos: 1, retain: true });
        const live = await subscriber.waitFor(4);
        expect([live[3]?.payload, live[3]?.retain]).toEqual(['live', false]);
        await subscriber.end();

        for (const topic of ['qos0', 'qos1', 'qos2'])
          await publisher.client.publishAsync(`${first}/${topic}`, '', { qos: 1, retain: true });
        const later = await connectMqtt(suite.target, { protocolVersion });
        await later.client.subscribeAsync(`${first}/+`, { qos: 2 });
        await barrier(publisher, later, `${first}/barrier`);
        expect(later.messages.map((m) => m.payload)).toEqual(['barrier']);
        await later.end();
        await publisher.end();
      },
    );

    it.skipIf(!servedByTarget('wills'))(
      'publishes the will message when the connection is lost, not after DISCONNECT',
      async () => {
        const topic = `${freshTopic()}/will`;
        const watcher = await connectMqtt(suite.target, { protocolVersion });
        await watcher.client.subscribeAsync(topic, { qos: 2 });

        const polite = await connectMqtt(suite.target, {
          protocolVersion,
          will: { topic, payload: Buffer.from('polite left'), qos: 1, retain: false },
        });
        await polite.end();
        const lost = await connectMqtt(suite.target, {
          protocolVersion,
          will: { topic, payload: Buffer.from('client not disconnected'), qos: 2, retain: false },
        });
        lost.client.stream.destroy();
        const got = await watcher.waitFor(1);
        await barrier(watcher, watcher, topic);
        expect(got.map((m) => [m.payload, m.qos])).toEqual([
          ['client not disconnected', 2],
          ['barrier', 2],
        ]);
        await watcher.end();
      },
    );

    it('assigns a client id to a zero-length one with a clean session, and refuses it without', async () => {
      const client = await connectMqtt(suite.target, { protocolVersion, clientId: '', clean: true });
      if (protocolVersion === 5) {
        expect(typeof client.connackProperties.assignedClientIdentifier).toBe('string');
        expect(String(client.connackProperties.assignedClientIdentifier).length).toBeGreaterThan(0);
      }
      const topic = `${freshTopic()}/zero`;
      await client.client.subscribeAsync(topic, { qos: 1 });
      await client.client.publishAsync(topic, 'works', { qos: 1 });
      await client.waitFor(1);
      await client.end();

      if (protocolVersion === 4) {
        // MQTT-3.1.3-8: CONNACK return code 2 (identifier rejected), then the connection closes.
        const raw = await RawMqtt.open(suite.target.port, 4);
        // CONNECT, 'MQTT' level 4, flags 0 (clean session off), keep-alive 60, client id ''
        // (mqtt-packet refuses to build it).
        raw.write(Buffer.from('100c00044d5154540400003c0000', 'hex'));
        const connack = await raw.next('connack');
        expect(connack.returnCode).toBe(2);
        expect(await raw.waitClosed()).toBe(true);
      }
    });

    it('sends one copy at the highest QoS to overlapping subscriptions', async () => {
      const first = freshTopic();
      const client = await connectMqtt(suite.target, { protocolVersion });
      await client.client.subscribeAsync({ [`${first}/+`]: { qos: 2 }, [`${first}/#`]: { qos: 1 } });
      await client.client.publishAsync(`${first}/c`, 'overlapping topic filters', { qos: 2 });
      await barrier(client, client, `${first}/barrier`);
      const copies = client.messages.filter((m) => m.topic === `${first}/c`);
      if (suite.target.kind === 'tributary') {
        // Tributary's rule (docs/mqtt.md): one copy at the highest granted QoS.
        expect(copies.map((m) => m.qos)).toEqual([2]);
      } else {
        // Paho accepts one copy at QoS 2 or one per subscription (Mosquitto's default).
        expect([[2], [1, 2]]).toContainEqual(copies.map((m) => m.qos).sort());
      }
      if (protocolVersion === 5 && copies.length === 1) {
        // Both subscriptions matched; without identifiers there are none to list.
        expect(copies[0]?.packet.properties?.subscriptionIdentifier).toBeUndefined();
      }
      await client.end();
    });

    it.skipIf(!servedByTarget('wills'))(
      'drops a client that stays silent past 1.5 x its keep-alive and publishes its will',
      async () => {
        const topic = `${freshTopic()}/keepalive`;
        const watcher = await connectMqtt(suite.target, { protocolVersion });
        await watcher.client.subscribeAsync(topic, { qos: 1 });
        const started = Date.now();
        // A raw client never sends PINGREQ.
        const silent = await RawMqtt.connect(suite.target.port, protocolVersion, {
          keepalive: 1,
          will: { topic, payload: Buffer.from('keepalive expiry'), qos: 1, retain: false },
        });
        expect(await silent.waitClosed(10_000)).toBe(true);
        const elapsedMs = Date.now() - started;
        // Not before the keep-alive ran out (MQTT-3.1.2-24 allows up to 1.5 x keep-alive).
        expect(elapsedMs).toBeGreaterThanOrEqual(1000);
        const got = await watcher.waitFor(1);
        expect(got[0]?.payload).toBe('keepalive expiry');
        await watcher.end();
      },
    );

    it('does not match topics starting with $ with + or # (MQTT-4.7.2-1)', async () => {
      const first = freshTopic();
      const watcher = await connectMqtt(suite.target, { protocolVersion });
      await watcher.client.subscribeAsync({ '#': { qos: 1 }, [`+/${first}`]: { qos: 1 } });
      const publisher = await connectMqtt(suite.target, { protocolVersion });
      // Tributary refuses to publish a $ name (3.1.1: by closing the connection, 5: with a
      // reason code), Mosquitto takes it; either way no wildcard subscriber may get it.
      const outcome = await Promise.race([
        publisher.client.publishAsync(`$${first}/${first}`, 'dollar', { qos: 1 }).then(
          () => 'acknowledged',
          () => 'refused',
        ),
        publisher.closed.then(() => 'closed'),
      ]);
      // Behind the barrier on the same connection, the $ message was routed (when it was taken).
      const marker = outcome === 'closed' ? await connectMqtt(suite.target, { protocolVersion }) : publisher;
      await barrier(marker, watcher, `${first}/barrier`);
      expect(watcher.messages.filter((m) => m.topic.startsWith('$') || m.topic.startsWith('__'))).toEqual([]);
      await Promise.all([watcher.end(), publisher.end(), marker.end()]);
    });

    it('stops delivering a filter after UNSUBSCRIBE and keeps the others', async () => {
      const first = freshTopic();
      const client = await connectMqtt(suite.target, { protocolVersion });
      await client.client.subscribeAsync([`${first}/a`, `${first}/b`, `${first}/c`], { qos: 2 });
      await client.client.unsubscribeAsync(`${first}/a`);
      const publisher = await connectMqtt(suite.target, { protocolVersion });
      for (const level of ['a', 'b', 'c'])
        await publisher.client.publishAsync(`${first}/${level}`, level, { qos: 1 });
      await barrier(publisher, client, `${first}/c`);
      expect(client.messages.map((m) => m.topic)).toEqual([`${first}/b`, `${first}/c`, `${first}/c`]);
      await Promise.all([client.end(), publisher.end()]);
    });

    describe.skipIf(!servedByTarget('sessions'))('persistent sessions', () => {
      const sessionOptions = (clientId: string): Parameters<typeof connectMqtt>[1] =>
        protocolVersion === 5
          ? { protocolVersion, clientId, clean: false, properties: { sessionExpiryInterval: 300 } }
          : { protocolVersion, clientId, clean: false };

      it('queues QoS 1 and 2 messages for an offline client and replays them on reconnect, session present', async () => {
        const first = freshTopic();
        const clientId = `offline-${first}`;
        const fresh = await connectMqtt(suite.target, { protocolVersion, clientId, clean: true });
        await fresh.end();
        const subscriber = await connectMqtt(suite.target, sessionOptions(clientId));
        expect(subscriber.sessionPresent).toBe(false);
        await subscriber.client.subscribeAsync(`${first}/+`, { qos: 2 });
        await subscriber.end();

        const publisher = await connectMqtt(suite.target, { protocolVersion });
        await publisher.client.publishAsync(`${first}/a`, 'qos 0', { qos: 0 });
        await publisher.client.publishAsync(`${first}/b`, 'qos 1', { qos: 1 });
        await publisher.client.publishAsync(`${first}/c`, 'qos 2', { qos: 2 });
        await publisher.end();

        const back = await connectMqtt(suite.target, sessionOptions(clientId));
        expect(back.sessionPresent).toBe(true);
        await back.waitFor(2);
        const barrierClient = await connectMqtt(suite.target, { protocolVersion });
        await barrier(barrierClient, back, `${first}/barrier`);
        const replayed = back.messages.filter((m) => m.payload !== 'barrier').map((m) => [m.payload, m.qos]);
        // QoS 0 messages may or may not be queued (MQTT-3.1.2-5); QoS 1 and 2 must be, in order.
        expect([
          [
            ['qos 1', 1],
            ['qos 2', 2],
          ],
          [
            ['qos 0', 0],
            ['qos 1', 1],
            ['qos 2', 2],
          ],
        ]).toContainEqual(replayed);
        await Promise.all([back.end(), barrierClient.end()]);
      });

      it('redelivers unacknowledged QoS 1 and 2 messages on reconnect, flagged duplicate', async () => {
        const first = freshTopic();
        const clientId = `redeliver-${first}`;
        const connect = {
          clientId,
          clean: false,
          ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
        };
        const raw = await RawMqtt.connect(suite.target.port, protocolVersion, connect);
        raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${first}/#`, qos: 2 }] });
        await raw.next('suback');
        const publisher = await connectMqtt(suite.target, { protocolVersion });
        await publisher.client.publishAsync(`${first}/one`, 'qos 1', { qos: 1 });
        await publisher.client.publishAsync(`${first}/two`, 'qos 2', { qos: 2 });
        // Received, never acknowledged.
        await raw.next('publish', 1);
        raw.destroy();
        await raw.closedAt;

        const again = await RawMqtt.connect(suite.target.port, protocolVersion, connect);
        expect(again.all('connack')[0]?.sessionPresent).toBe(true);
        const one = await again.next('publish', 0);
        const two = await again.next('publish', 1);
        expect([one.payload.toString(), one.qos, one.dup]).toEqual(['qos 1', 1, true]);
        expect([two.payload.toString(), two.qos, two.dup]).toEqual(['qos 2', 2, true]);
        again.send({ cmd: 'puback', messageId: one.messageId ?? 0 });
        again.send({ cmd: 'pubrec', messageId: two.messageId ?? 0 });
        expect((await again.next('pubrel')).messageId).toBe(two.messageId);
        again.send({ cmd: 'pubcomp', messageId: two.messageId ?? 0 });
        again.destroy();
        await publisher.end();
      });

      it('a clean session discards the stored one', async () => {
        const first = freshTopic();
        const clientId = `discard-${first}`;
        const persistent = await connectMqtt(suite.target, sessionOptions(clientId));
        await persistent.client.subscribeAsync(`${first}/x`, { qos: 1 });
        await persistent.end();
        const clean = await connectMqtt(suite.target, { protocolVersion, clientId, clean: true });
        expect(clean.sessionPresent).toBe(false);
        await clean.end();
        const later = await connectMqtt(suite.target, sessionOptions(clientId));
        expect(later.sessionPresent).toBe(false);
        await later.end();
      });
    });

    it.skipIf(process.env.TRIBUTARY_MQTT_TARGET === 'mosquitto')(
      'refuses a subscription to a topic filter that names no valid topic, in its SUBACK',
      async () => {
        const raw = await RawMqtt.connect(suite.target.port, protocolVersion);
        raw.send({
          cmd: 'subscribe',
          messageId: 9,
          subscriptions: [
            { topic: 'not a topic!/x', qos: 1 },
            { topic: `${freshTopic()}/ok`, qos: 1 },
          ],
        });
        const suback = await raw.next('suback');
        // 3.1.1: 0x80 Failure. 5: a reason code of 0x80 or more (0x8F Topic Filter invalid).
        if (protocolVersion === 4) expect(suback.granted).toEqual([0x80, 1]);
        else expect(suback.granted[0]).toBeGreaterThanOrEqual(0x80);
        expect(suback.granted[1]).toBe(1);
        raw.destroy();
      },
    );
  });
}
