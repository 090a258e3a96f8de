/**
 * MQTT persistent sessions, QoS 2 exactly once and shared subscriptions with real clients (mqtt.js
 * 3.1.1 and 5, and raw mqtt-packet connections where packet ids and DUP must be exact), across
 * reconnects and restarts of an in-process server on the same data directory. Crashes (SIGKILL of
 * `tributary serve`) are in mqtt-sessions-crash.test.ts.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawMqtt } from './fixtures/mqtt.js';
import { call, createTopic, produce, start, type TestServer, tempDir } from './http-helpers.js';

let dir: { path: string; remove(): Promise<void> };
let server: TestServer;
const clients: MqttClient[] = [];
const raws: RawMqtt[] = [];

beforeEach(async () => {
  dir = await tempDir('tributary-mqtt-sessions-');
  server = await start(dir.path, { mqtt: { port: 0 } });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  for (const raw of raws.splice(0)) raw.destroy();
  await server.close();
  await dir.remove();
});

/** Closes the server and starts it again on the same data directory (a new MQTT port). */
async function restart(): Promise<void> {
  await server.close();
  server = await start(dir.path, { mqtt: { port: 0 } });
}

function mqttPort(): number {
  return server.mqtt?.port as number;
}

async function connect(options: IClientOptions): Promise<MqttClient & { received: string[] }> {
  const received: string[] = [];
  const c = mqtt.connect(`mqtt://127.0.0.1:${mqttPort()}`, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  // In arrival order (mqtt.js emits a QoS 2 message only at its PUBREL, after later QoS 1 ones).
  c.on('packetreceive', (packet) => {
    if (packet.cmd === 'publish') received.push(`${packet.topic} ${packet.payload.toString()}`);
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  clients.push(c);
  return Object.assign(c, { received });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function persistent(version: 4 | 5, clientId: string): IClientOptions {
  return version === 5
    ? { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 600 } }
    : { protocolVersion: 4, clientId, clean: false };
}

async function publishAll(version: 4 | 5, messages: readonly [string, string, 0 | 1 | 2][]): Promise<void> {
  const publisher = await connect({ protocolVersion: version, clientId: `pub-${Math.random()}` });
  for (const [topic, payload, qos] of messages) await publisher.publishAsync(topic, payload, { qos });
  await publisher.endAsync();
}

describe.each([4, 5] as const)('MQTT %s persistent sessions', (version) => {
  it('replays, in order, every message published to its filters while the client was away', async () => {
    const first = await connect(persistent(version, 'sensor-a'));
    expect(first.received).toEqual([]);
    await first.subscribeAsync({ 'plant/+/temp': { qos: 2 }, 'plant/line1/#': { qos: 1 } });
    await publishAll(version, [['plant/line1/temp', 'live', 1]]);
    await until(() => first.received.length === 1, 'the live message');
    await first.endAsync();

    const away: [string, string, 0 | 1 | 2][] = [];
    for (let i = 0; i < 30; i++) away.push([`plant/line${i % 3}/temp`, `m${i}`, (1 + (i % 2)) as 1 | 2]);
    away.push(['plant/line1/pressure', 'p', 1], ['plant/line2/pressure', 'not matched', 1]);
    await publishAll(version, away);

    const back = await connect(persistent(version, 'sensor-a'));
    await until(() => back.received.length === 31, '31 replayed messages');
    expect(back.received).toEqual([
      ...away.slice(0, 30).map(([topic, payload]) => `${topic} ${payload}`),
      'plant/line1/pressure p',
    ]);
  });

  it('keeps subscriptions and positions across a server restart, and a clean start discards them', async () => {
    const first = await connect(persistent(version, 'sensor-b'));
    await first.subscribeAsync('yard/#', { qos: 1 });
    await first.endAsync();
    await publishAll(version, [['yard/gate', 'before restart', 1]]);
    await restart();
    await publishAll(version, [['yard/gate', 'after restart', 2]]);

    let sessionPresent = false;
    const back = mqtt.connect(`mqtt://127.0.0.1:${mqttPort()}`, {
      reconnectPeriod: 0,
      ...persistent(version, 'sensor-b'),
    });
    clients.push(back);
    const received: string[] = [];
    back.on('message', (_topic, payload) => received.push(payload.toString()));
    await new Promise<void>((resolve) =>
      back.once('connect', (connack) => {
        sessionPresent = connack.sessionPresent;
        resolve();
      }),
    );
    expect(sessionPresent).toBe(true);
    await until(() => received.length === 2, 'both messages');
    expect(received).toEqual(['before restart', 'after restart']);
    await back.endAsync();

    const clean = await connect({ ...persistent(version, 'sensor-b'), clean: true });
    await clean.endAsync();
    await publishAll(version, [['yard/gate', 'nobody listens', 1]]);
    await restart();
    const fresh = await connect(persistent(version, 'sensor-b'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fresh.received).toEqual([]);
  });
});

describe('QoS 2 with a raw client: packet ids and DUP', () => {
  it('a PUBLISH resent after a restart with the same packet id is not appended twice', async () => {
    await createTopic(server.url, 'meters', { partitions: 2 });
    const device = await RawMqtt.connect(mqttPort(), 4, { clientId: 'meter-1', clean: false });
    raws.push(device);
    device.send({
      cmd: 'publish',
      topic: 'meters/m1',
      payload: Buffer.from('kwh=5'),
      qos: 2,
      messageId: 7,
      dup: false,
      retain: false,
    });
    expect((await device.next('pubrec')).messageId).toBe(7);
    device.destroy();
    await restart();
    // The client never saw the PUBREC (as far as it knows): it resends, DUP, same packet id.
    const again = await RawMqtt.connect(mqttPort(), 4, { clientId: 'meter-1', clean: false });
    raws.push(again);
    expect(again.connack.sessionPresent).toBe(true);
    again.send({
      cmd: 'publish',
      topic: 'meters/m1',
      payload: Buffer.from('kwh=5'),
      qos: 2,
      messageId: 7,
      dup: true,
      retain: false,
    });
    expect((await again.next('pubrec')).messageId).toBe(7);
    again.send({ cmd: 'pubrel', messageId: 7 });
    expect((await again.next('pubcomp')).messageId).toBe(7);
    // Packet id 7 is free again: the same id carries a new message.
    again.send({
      cmd: 'publish',
      topic: 'meters/m1',
      payload: Buffer.from('kwh=6'),
      qos: 2,
      messageId: 7,
      dup: false,
      retain: false,
    });
    await again.next('pubrec', 1);
    const values = await readValues('meters');
    expect(values).toEqual(['kwh=5', 'kwh=6']);
  });

  it('an unacknowledged QoS 2 delivery is resent after a restart with its packet id; a released one gets only its PUBREL', async () => {
    const reader = await RawMqtt.connect(mqttPort(), 5, {
      clientId: 'reader-1',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    raws.push(reader);
    reader.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'orders/#', qos: 2 }] });
    await reader.next('suback');
    await publishAll(5, [
      ['orders/1', 'first', 2],
      ['orders/2', 'second', 2],
    ]);
    const first = await reader.next('publish', 0);
    const second = await reader.next('publish', 1);
    // PUBREC for the first only; the server answers PUBREL; then the connection drops.
    reader.send({ cmd: 'pubrec', messageId: first.messageId as number });
    await reader.next('pubrel');
    reader.destroy();
    await restart();
    await publishAll(5, [['orders/3', 'third', 2]]);
    const back = await RawMqtt.connect(mqttPort(), 5, {
      clientId: 'reader-1',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    raws.push(back);
    expect(back.connack.sessionPresent).toBe(true);
    const pubrel = await back.next('pubrel');
    expect(pubrel.messageId).toBe(first.messageId);
    const resent = await back.next('publish', 0);
    expect(resent).toMatchObject({ messageId: second.messageId, dup: true, topic: 'orders/2' });
    expect(resent.payload.toString()).toBe('second');
    const third = await back.next('publish', 1);
    expect(third.payload.toString()).toBe('third');
    back.send({ cmd: 'pubcomp', messageId: first.messageId as number });
    for (const p of [resent, third]) {
      back.send({ cmd: 'pubrec', messageId: p.messageId as number });
    }
    await back.next('pubrel', 2);
    for (const p of [resent, third]) back.send({ cmd: 'pubcomp', messageId: p.messageId as number });
    // Completed: after another restart nothing is sent again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    back.destroy();
    await restart();
    const last = await RawMqtt.connect(mqttPort(), 5, {
      clientId: 'reader-1',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    raws.push(last);
    await publishAll(5, [['orders/4', 'fourth', 1]]);
    const fourth = await last.next('publish', 0);
    expect(fourth.payload.toString()).toBe('fourth');
    expect(last.all('pubrel')).toEqual([]);
  });
});

async function readValues(topic: string): Promise<string[]> {
  const description = await call<{ partitions: { partition: number }[] }>(
    server.url,
    'GET',
    `/v1/topics/${topic}`,
  );
  const values: string[] = [];
  for (const { partition } of description.body.partitions) {
    const answer = await call<{ records: { valueBase64?: string }[] }>(
      server.url,
      'GET',
      `/v1/topics/${topic}/partitions/${partition}/records?offset=0&max=1000`,
    );
    for (const record of answer.body.records) {
      values.push(Buffer.from(record.valueBase64 ?? '', 'base64').toString());
    }
  }
  return values;
}

void produce;

describe('MQTT shared subscriptions with real clients', () => {
  it('spreads a group over its members by partition, each message to one member', async () => {
    await createTopic(server.url, 'work', { partitions: 4 });
    const a = await connect({ protocolVersion: 5, clientId: 'worker-a' });
    const b = await connect({ protocolVersion: 4, clientId: 'worker-b' });
    await a.subscribeAsync('$share/pool/work/#', { qos: 1 });
    await b.subscribeAsync('$share/pool/work/#', { qos: 1 });
    const sent: [string, string, 1][] = Array.from({ length: 80 }, (_, i) => [
      `work/job${i % 10}`,
      `j${i}`,
      1,
    ]);
    await publishAll(5, sent);
    await until(() => a.received.length + b.received.length >= 80, 'every job');
    const all = [...a.received, ...b.received].sort();
    expect(all).toEqual(sent.map(([topic, payload]) => `${topic} ${payload}`).sort());
    expect(a.received.length).toBeGreaterThan(0);
    expect(b.received.length).toBeGreaterThan(0);
    // Each MQTT topic is in one partition, hence with one member, in order.
    for (const member of [a, b]) {
      for (let t = 0; t < 10; t++) {
        const seqs = member.received
          .filter((r) => r.startsWith(`work/job${t} `))
          .map((r) => Number(r.split(' j')[1]));
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      }
    }
  });

  it('a member that disconnects without acknowledging: its messages go to another member', async () => {
    await createTopic(server.url, 'tasks', { partitions: 2 });
    const silent = await RawMqtt.connect(mqttPort(), 4, { clientId: 'silent' });
    raws.push(silent);
    silent.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: '$share/crew/tasks/#', qos: 1 }],
    });
    await silent.next('suback');
    const sent: [string, string, 1][] = Array.from({ length: 30 }, (_, i) => [
      `tasks/t${i % 6}`,
      `task${i}`,
      1,
    ]);
    await publishAll(4, sent);
    // The only member gets them all and acknowledges none.
    await silent.next('publish', 29);
    const other = await connect({ protocolVersion: 5, clientId: 'other' });
    await other.subscribeAsync('$share/crew/tasks/#', { qos: 1 });
    silent.destroy();
    await until(() => new Set(other.received).size === 30, 'the unacknowledged tasks on the other member');
    expect([...new Set(other.received)].sort()).toEqual(
      sent.map(([topic, payload]) => `${topic} ${payload}`).sort(),
    );
  });

  it('a persistent session keeps its shared subscription across a restart and gets what its group was owed', async () => {
    const member = await connect(persistent(5, 'shared-persistent'));
    await member.subscribeAsync('$share/keep/jobs/#', { qos: 1 });
    await publishAll(5, [['jobs/a', 'one', 1]]);
    await until(() => member.received.length === 1, 'the first job');
    await member.endAsync();
    await publishAll(5, [['jobs/a', 'two', 1]]);
    await restart();
    await publishAll(5, [['jobs/a', 'three', 1]]);
    const back = await connect(persistent(5, 'shared-persistent'));
    await until(() => back.received.length === 2, 'the jobs published while away');
    expect(back.received).toEqual(['jobs/a two', 'jobs/a three']);
  });
});

describe('MQTT session expiry', () => {
  it('a session expires its interval after the disconnect, time the server was down included', async () => {
    const short = await connect({
      protocolVersion: 5,
      clientId: 'short-lived',
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    await short.subscribeAsync('yard/#', { qos: 1 });
    await short.endAsync();
    const long = await connect(persistent(5, 'long-lived'));
    await long.subscribeAsync('yard/#', { qos: 1 });
    await long.endAsync();
    await restart();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const [clientId, present] of [
      ['short-lived', false],
      ['long-lived', true],
    ] as const) {
      const c = mqtt.connect(`mqtt://127.0.0.1:${mqttPort()}`, {
        reconnectPeriod: 0,
        ...persistent(5, clientId),
      });
      clients.push(c);
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => c.once('connect', resolve));
      expect(connack.sessionPresent, clientId).toBe(present);
    }
  });
});

describe('mqttSessionExpiryMsMax', () => {
  it('caps the expiry a client asks for, and an MQTT 5 client is told in CONNACK', async () => {
    await server.close();
    server = await start(dir.path, { mqtt: { port: 0 }, mqttSessionExpiryMsMax: 60_000 });
    const capped = await connackProperties(5, 3600);
    expect(capped).toMatchObject({ sessionExpiryInterval: 60 });
    const under = await connackProperties(5, 30);
    expect(under?.sessionExpiryInterval).toBeUndefined();
  });
});

async function connackProperties(
  version: 5,
  sessionExpiryInterval: number,
): Promise<Record<string, unknown> | undefined> {
  const raw = await RawMqtt.connect(mqttPort(), version, {
    clientId: `capped-${sessionExpiryInterval}`,
    clean: false,
    properties: { sessionExpiryInterval },
  });
  raws.push(raw);
  return raw.connack.properties as Record<string, unknown> | undefined;
}
