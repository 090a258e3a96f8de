/**
 * Debian's MQTT clients, unmodified, against a Tributary server's MQTT listener:
 * `mosquitto_pub` / `mosquitto_sub` 2.0 (MQTT 3.1.1 and 5, every pairing of versions; QoS 0, 1
 * and 2; retained set and cleared; MQTT 5 properties; the will of a killed subscriber) and
 * python3-paho-mqtt 1.6.1 (publish/subscribe at every QoS, user properties in order with
 * repeats, content type and correlation data, unsubscribe, zero-length client id, will).
 *
 * Each suite is skipped when its client is not installed, and fails then under
 * TRIBUTARY_REQUIRE_SERVICES=1 (CI). TRIBUTARY_MQTT_TARGET=mosquitto runs them against Mosquitto.
 */
import { afterEach, expect, it } from 'vitest';
import {
  connectMqtt,
  describeWithMqtt,
  hasMosquittoClients,
  hasPahoMqtt,
  type MqttVersionName,
  mosquittoPub,
  runPaho,
  servedByTarget,
  startMosquittoSub,
  targetSuite,
} from './fixtures/mqtt.js';
import { killChildren } from './kafka-harness.js';

const suite = targetSuite('clients');
const freshTopic = suite.freshTopic;

afterEach(() => {
  killChildren();
});

const VERSIONS: readonly MqttVersionName[] = ['mqttv311', 'mqttv5'];

describeWithMqtt(
  'mosquitto_pub and mosquitto_sub',
  hasMosquittoClients(),
  'apt-get install -y mosquitto-clients',
  () => {
    for (const pubVersion of VERSIONS) {
      for (const subVersion of VERSIONS) {
        it(`${pubVersion} publisher to ${subVersion} subscriber at QoS 0, 1 and 2`, async () => {
          const topic = `${freshTopic()}/sensor/1`;
          const sub = await startMosquittoSub(suite.target, subVersion, ['-q', '2', '-t', topic, '-C', '3']);
          for (const qos of ['0', '1', '2']) {
            const result = await mosquittoPub(suite.target, pubVersion, [
              '-t',
              topic,
              '-q',
              qos,
              '-m',
              `qos ${qos}`,
            ]);
            expect(result.code, result.stderr).toBe(0);
          }
          const got = await sub.waitFor(3);
          expect(got.map((m) => [m.topic, m.payload, m.qos, m.retain]).sort()).toEqual([
            [topic, 'qos 0', 0, false],
            [topic, 'qos 1', 1, false],
            [topic, 'qos 2', 2, false],
          ]);
          expect((await sub.child.done).code).toBe(0);
        });
      }
    }

    it('several messages on one connection keep their order (mosquitto_pub -l)', async () => {
      const topic = `${freshTopic()}/lines`;
      const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
      const sub = await startMosquittoSub(suite.target, 'mqttv5', [
        '-q',
        '1',
        '-t',
        topic,
        '-C',
        String(lines.length),
      ]);
      const result = await mosquittoPub(
        suite.target,
        'mqttv311',
        ['-t', topic, '-q', '1', '-l'],
        `${lines.join('\n')}\n`,
      );
      expect(result.code, result.stderr).toBe(0);
      expect((await sub.waitFor(lines.length)).map((m) => m.payload)).toEqual(lines);
    });

    for (const version of VERSIONS) {
      it.skipIf(!servedByTarget('retained'))(
        `${version}: a retained message reaches a later subscriber flagged retained; -r -n clears it`,
        async () => {
          const first = freshTopic();
          const topic = `${first}/status`;
          expect(
            (await mosquittoPub(suite.target, version, ['-t', topic, '-q', '1', '-r', '-m', 'online'])).code,
          ).toBe(0);
          const sub = await startMosquittoSub(suite.target, version, [
            '-q',
            '1',
            '-t',
            `${first}/#`,
            '-C',
            '1',
          ]);
          expect(await sub.waitFor(1)).toEqual([{ qos: 1, retain: true, topic, payload: 'online' }]);

          expect((await mosquittoPub(suite.target, version, ['-t', topic, '-q', '1', '-r', '-n'])).code).toBe(
            0,
          );
          const later = await startMosquittoSub(suite.target, version, [
            '-q',
            '1',
            '-t',
            `${first}/#`,
            '-C',
            '1',
          ]);
          expect(
            (await mosquittoPub(suite.target, version, ['-t', `${first}/marker`, '-q', '1', '-m', 'marker']))
              .code,
          ).toBe(0);
          expect(await later.waitFor(1)).toEqual([
            { qos: 1, retain: false, topic: `${first}/marker`, payload: 'marker' },
          ]);
        },
      );
    }

    it('mqttv5: user properties (repeats and order), content type, response topic, correlation data, expiry', async () => {
      const topic = `${freshTopic()}/props`;
      const sub = await startMosquittoSub(suite.target, 'mqttv5', [
        ...['-q', '1', '-t', topic, '-C', '1'],
        ...['-F', 'PROPS %C|%P|%R|%D|%E|%p'],
      ]);
      const result = await mosquittoPub(suite.target, 'mqttv5', [
        ...['-t', topic, '-q', '1', '-m', 'hello'],
        ...['-D', 'publish', 'user-property', 'k1', 'v1'],
        ...['-D', 'publish', 'user-property', 'k2', 'v2'],
        ...['-D', 'publish', 'user-property', 'k1', 'v3'],
        ...['-D', 'publish', 'content-type', 'text/x-reading'],
        ...['-D', 'publish', 'response-topic', `${topic}/reply`],
        ...['-D', 'publish', 'correlation-data', 'req-17'],
        ...['-D', 'publish', 'message-expiry-interval', '3600'],
      ]);
      expect(result.code, result.stderr).toBe(0);
      await sub.child.until((out) => out.includes('PROPS '), 15_000, 'the message');
      const line =
        sub.child
          .stdout()
          .split('\n')
          .find((l) => l.startsWith('PROPS ')) ?? '';
      const [contentType, userProperties, responseTopic, correlation, expiry, payload] = line
        .slice(6)
        .split('|');
      // Repeats and the order of each name's values are kept. Interleaving across names may be
      // grouped by name: mqtt-packet decodes user properties into an object of name → values.
      expect(['k1:v1 k2:v2 k1:v3', 'k1:v1 k1:v3 k2:v2']).toContain(userProperties);
      expect([contentType, responseTopic, correlation, payload]).toEqual([
        'text/x-reading',
        `${topic}/reply`,
        'req-17',
        'hello',
      ]);
      expect(Number(expiry)).toBeGreaterThan(3500);
      expect(Number(expiry)).toBeLessThanOrEqual(3600);
    });

    for (const version of VERSIONS) {
      it.skipIf(!servedByTarget('wills'))(
        `${version}: the will of a killed mosquitto_sub is published`,
        async () => {
          const first = freshTopic();
          const watcher = await startMosquittoSub(suite.target, version, [
            '-q',
            '1',
            '-t',
            `${first}/will`,
            '-C',
            '1',
          ]);
          const doomed = await startMosquittoSub(suite.target, version, [
            ...['-t', `${first}/other`, '--will-topic', `${first}/will`],
            ...['--will-payload', 'sensor lost', '--will-qos', '1'],
          ]);
          doomed.child.process.kill('SIGKILL');
          expect(await watcher.waitFor(1)).toEqual([
            { qos: 1, retain: false, topic: `${first}/will`, payload: 'sensor lost' },
          ]);
        },
      );
    }
  },
);

describeWithMqtt('paho-mqtt 1.6.1 (Python)', hasPahoMqtt(), 'apt-get install -y python3-paho-mqtt', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 5 ? '5' : '3.1.1'}: subscribe at QoS 2, publish at QoS 0, 1 and 2, in order`, async () => {
      const topic = `${freshTopic()}/paho`;
      const events = await runPaho(suite.target, [
        { op: 'connect', id: `paho-${topic}`, version, clean: true },
        { op: 'subscribe', filter: topic, qos: 2 },
        { op: 'publish', topic, payload: 'qos 0', qos: 0 },
        { op: 'publish', topic, payload: 'qos 1', qos: 1 },
        { op: 'publish', topic, payload: 'qos 2', qos: 2 },
        { op: 'wait', messages: 3 },
        { op: 'disconnect' },
      ]);
      expect(events.find((e) => e.event === 'connack')).toMatchObject({ rc: 0, session_present: false });
      expect(events.find((e) => e.event === 'suback')).toMatchObject({ granted: [2] });
      expect(events.filter((e) => e.event === 'message').map((e) => [e.topic, e.payload, e.qos])).toEqual([
        [topic, 'qos 0', 0],
        [topic, 'qos 1', 1],
        [topic, 'qos 2', 2],
      ]);
    });

    it(`MQTT ${version === 5 ? '5' : '3.1.1'}: unsubscribe stops one filter, the other keeps delivering`, async () => {
      const first = freshTopic();
      const events = await runPaho(suite.target, [
        { op: 'connect', id: `paho-${first}`, version },
        { op: 'subscribe', filter: `${first}/a`, qos: 1 },
        { op: 'subscribe', filter: `${first}/b`, qos: 1 },
        { op: 'unsubscribe', filter: `${first}/a` },
        { op: 'publish', topic: `${first}/a`, payload: 'a', qos: 1 },
        { op: 'publish', topic: `${first}/b`, payload: 'b', qos: 1 },
        { op: 'wait', messages: 1 },
        // A second round trip on b: had `a` been delivered it would have come before.
        { op: 'publish', topic: `${first}/b`, payload: 'b2', qos: 1 },
        { op: 'wait', messages: 2 },
        { op: 'disconnect' },
      ]);
      expect(events.filter((e) => e.event === 'message').map((e) => e.payload)).toEqual(['b', 'b2']);
    });

    it.skipIf(!servedByTarget('wills'))(
      `MQTT ${version === 5 ? '5' : '3.1.1'}: the will of a paho client that vanishes is published`,
      async () => {
        const topic = `${freshTopic()}/will`;
        const watcher = await connectMqtt(suite.target, { protocolVersion: version });
        await watcher.client.subscribeAsync(topic, { qos: 1 });
        await runPaho(suite.target, [
          {
            op: 'connect',
            id: `paho-will-${topic}`,
            version,
            will: { topic, payload: 'client not disconnected', qos: 1 },
            keepalive: 2,
          },
          { op: 'abort' },
        ]);
        const [will] = await watcher.waitFor(1);
        expect(will?.payload).toBe('client not disconnected');
        await watcher.end();
      },
    );
  }

  it('MQTT 5: user properties keep their repeats and per-name order; content type and correlation data travel', async () => {
    const topic = `${freshTopic()}/props`;
    const userProperty = [
      ['a', '2'],
      ['c', '3'],
      ['a', '4'],
    ];
    const events = await runPaho(suite.target, [
      { op: 'connect', id: `paho-props-${topic}`, version: 5 },
      { op: 'subscribe', filter: topic, qos: 2 },
      ...[0, 1, 2].map((qos) => ({
        op: 'publish',
        topic,
        payload: `qos ${qos}`,
        qos,
        props: {
          UserProperty: userProperty,
          ContentType: 'My name',
          PayloadFormatIndicator: 1,
          CorrelationData: 'c-1',
        },
      })),
      { op: 'wait', messages: 3 },
      { op: 'disconnect' },
    ]);
    const messages = events.filter((e) => e.event === 'message');
    expect(messages.map((m) => m.qos)).toEqual([0, 1, 2]);
    for (const message of messages) {
      // Grouped by name is allowed too (see the mosquitto_sub properties test).
      expect([userProperty, groupedByName(userProperty)]).toContainEqual(
        (message.props as Record<string, unknown>).UserProperty,
      );
      expect(message.props).toMatchObject({
        ContentType: 'My name',
        PayloadFormatIndicator: 1,
        CorrelationData: 'c-1',
      });
    }
  });

  it.skipIf(!servedByTarget('sessions'))(
    'MQTT 3.1.1: a clean-session-false paho client gets what was published while it was away',
    async () => {
      const first = freshTopic();
      const id = `paho-offline-${first}`;
      const subscribe = await runPaho(suite.target, [
        { op: 'connect', id, version: 4, clean: false },
        { op: 'subscribe', filter: `${first}/+`, qos: 2 },
        { op: 'disconnect' },
      ]);
      expect(subscribe.find((e) => e.event === 'suback')).toMatchObject({ granted: [2] });
      const publisher = await connectMqtt(suite.target, { protocolVersion: 4 });
      await publisher.client.publishAsync(`${first}/one`, 'qos 1', { qos: 1 });
      await publisher.client.publishAsync(`${first}/two`, 'qos 2', { qos: 2 });
      await publisher.end();
      const back = await runPaho(suite.target, [
        { op: 'connect', id, version: 4, clean: false },
        { op: 'wait', messages: 2 },
        { op: 'disconnect' },
      ]);
      expect(back.find((e) => e.event === 'connack')).toMatchObject({ rc: 0, session_present: true });
      expect(back.filter((e) => e.event === 'message').map((e) => [e.payload, e.qos])).toEqual([
        ['qos 1', 1],
        ['qos 2', 2],
      ]);
    },
  );

  it('MQTT 5: a zero-length client id is assigned one', async () => {
    const events = await runPaho(suite.target, [
      { op: 'connect', id: '', version: 5, clean: true },
      { op: 'disconnect' },
    ]);
    const connack = events.find((e) => e.event === 'connack');
    expect(connack).toMatchObject({ rc: 0 });
    const props = (connack?.props ?? {}) as Record<string, unknown>;
    expect(String(props.AssignedClientIdentifier ?? '')).not.toBe('');
  });
});

/** Name/value pairs grouped by name in order of first appearance, each name's values in order. */
function groupedByName(pairs: readonly string[][]): string[][] {
  const names = [...new Set(pairs.map(([name]) => name))];
  return names.flatMap((name) => pairs.filter(([n]) => n === name));
}
