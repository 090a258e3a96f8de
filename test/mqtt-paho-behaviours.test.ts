/**
 * Behaviours the Eclipse Paho interoperability suites (client_test.py, client_test5.py) check,
 * each as it first failed against Tributary, with mqtt.js against a real server: No Local on a
 * topic that already exists, and the MQTT topic layouts of those suites.
 */
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { mqttSuite } from './fixtures/mqtt.js';
import { createTopic } from './http-helpers.js';

const suite = mqttSuite('tributary-mqtt-paho-');
const client = suite.client;

/**
 * Messages a client receives as `<topic> <payload>`; `next(n)` waits for the n first ones,
 * `until(line)` for that one.
 */
function inbox(c: MqttClient): {
  messages: string[];
  next(n: number): Promise<string[]>;
  until(line: string): Promise<string[]>;
} {
  const messages: string[] = [];
  let waiters: (() => void)[] = [];
  c.on('message', (topic, payload) => {
    messages.push(`${topic} ${payload.toString()}`);
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
    until: (line) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (messages.includes(line)) resolve(messages);
          else waiters.push(check);
        };
        check();
      }),
  };
}

describe('MQTT 5 No Local', () => {
  it('does not send a client its own message on a topic that exists already (live delivery races the produce)', async () => {
    const topic = 'paho-nolocal';
    await createTopic(suite.server.url, topic);
    const a = await client(5);
    const b = await client(5);
    const toA = inbox(a);
    const toB = inbox(b);
    await a.subscribeAsync(topic, { qos: 2, nl: true });
    await b.subscribeAsync(topic, { qos: 2, nl: true });
    await a.publishAsync(topic, 'from a', { qos: 1 });
    await b.publishAsync(topic, 'from b', { qos: 1 });
    // One MQTT topic is one key, so one partition, read in order: when b's message reached a,
    // a's own one (before it in the log) was passed over.
    expect(await toA.next(1)).toEqual([`${topic} from b`]);
    expect(await toB.next(1)).toEqual([`${topic} from a`]);
    expect(toA.messages).toEqual([`${topic} from b`]);
  });
});

describe.each([4, 5] as const)('MQTT %s topic names with an empty first level', (version) => {
  it('"/TopicA" is its own MQTT topic, stored in the Tributary topic of its second level and matched by "/#", "/+" and "+/+"', async () => {
    const topic = `paho-slash-v${version}`;
    const subscriber = await client(version);
    const got = inbox(subscriber);
    await subscriber.subscribeAsync(`/${topic}`, { qos: 1 });
    await subscriber.subscribeAsync('/#', { qos: 1 });
    await subscriber.subscribeAsync(`/+`, { qos: 1 });
    await subscriber.subscribeAsync(`+/${topic}`, { qos: 1 });
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const publisher = await client(version);
    await publisher.publishAsync(`/${topic}`, 'slash', { qos: 1 });
    await publisher.publishAsync(topic, 'plain', { qos: 1 });
    // Overlapping subscriptions give one copy each; both names live in one topic, one key each.
    // ("/#" also gets the retained messages of other tests' names.)
    await publisher.publishAsync(`/${topic}/end`, 'end', { qos: 1 });
    const all = await got.until(`/${topic}/end end`);
    expect(all.filter((m) => m.includes(topic))).toEqual([
      `/${topic} slash`,
      `${topic} plain`,
      `/${topic}/end end`,
    ]);
    const answer = await fetch(`${suite.server.url}/v1/topics/${topic}/partitions/0/records?offset=0&max=10`);
    const { records } = (await answer.json()) as { records: { key: string }[] };
    expect(records.map((r) => r.key)).toEqual([`/${topic}`, topic, `/${topic}/end`]);
  });

  it('a retained message on "/TopicA" reaches a later "#" subscriber, and a will may use such a name', async () => {
    const topic = `paho-slash-retained-v${version}`;
    const publisher = await client(version);
    await publisher.publishAsync(`/${topic}/r`, 'kept', { qos: 1, retain: true });
    const subscriber = await client(version);
    const got = inbox(subscriber);
    await subscriber.subscribeAsync(`/${topic}/#`, { qos: 1 });
    expect(await got.next(1)).toEqual([`/${topic}/r kept`]);
    const dying = await client(version, {
      will: { topic: `/${topic}/will`, payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    (dying as unknown as { stream: { destroy(): void } }).stream.destroy();
    expect(await got.next(2)).toEqual([`/${topic}/r kept`, `/${topic}/will gone`]);
  });
});
