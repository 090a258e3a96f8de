/**
 * Behaviours the Eclipse Paho interoperability suites (client_test.py, client_test5.py) check,
 * each as it first failed against Tributary, with mqtt.js against a real server: No Local on a
 * topic that already exists, and the MQTT topic layouts of those suites.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, start, type TestServer, tempDir } from './http-helpers.js';

let server: TestServer;
let dir: { path: string; remove(): Promise<void> };
const clients: MqttClient[] = [];

beforeAll(async () => {
  dir = await tempDir('tributary-mqtt-paho-');
  server = await start(dir.path, { mqtt: { port: 0 } });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await server.close();
  await dir.remove();
});

async function client(version: 4 | 5, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqtt?.port}`, {
    protocolVersion: version,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Messages a client receives; `next(n)` waits for the n first ones. */
function inbox(c: MqttClient): { messages: string[]; next(n: number): Promise<string[]> } {
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
  };
}

describe('MQTT 5 No Local', () => {
  it('does not send a client its own message on a topic that exists already (live delivery races the produce)', async () => {
    const topic = 'paho-nolocal';
    await createTopic(server.url, topic);
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
