/**
 * MQTT retained messages and wills at their edges, with mqtt.js (3.1.1 and 5) and raw packets:
 * access rules (a will refused at CONNECT, retained messages only from readable topics), the
 * retained limits (refused before anything is appended), and the ways a connection ends that
 * publish a will: takeover, keep-alive timeout, a session that expires before the will delay,
 * a clean-start reconnect.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allow, type SecureServer, startSecureServer } from './fixtures/secure-server.js';
import { start, type TestServer, tempDir } from './http-helpers.js';
import { metric, waitFor } from './kafka-harness.js';

type Version = 4 | 5;
interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

const clients: MqttClient[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.allSettled(clients.splice(0).map((client) => client.endAsync(true)));
});

async function connectTo(port: number, version: Version, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: version,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
  clients.push(client);
  return client;
}

/** The CONNACK code of a refused connection (mqtt.js reports it as the error's `code`). */
function refusedWith(port: number, version: Version, options: IClientOptions): Promise<number | undefined> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: version,
    reconnectPeriod: 0,
    ...options,
  });
  clients.push(client);
  return new Promise((resolve) => {
    client.once('connect', () => resolve(undefined));
    client.once('error', (error) => resolve((error as { code?: number }).code));
  });
}

function collect(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), retain: packet.retain });
  });
  return received;
}

async function until(received: Received[], topic: string): Promise<Received[]> {
  await waitFor(() => received.some((m) => m.topic === topic), 10_000, `a message on ${topic}`);
  return received.slice(
    0,
    received.findIndex((m) => m.topic === topic),
  );
}

/** A raw MQTT 5 client: packets written with mqtt-packet, every packet the server sends kept. */
async function rawClient(port: number, connect: Partial<mqttPacket.IConnectPacket>) {
  const socket = connectTcp(port, '127.0.0.1');
  sockets.push(socket);
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const packets: mqttPacket.Packet[] = [];
  parser.on('packet', (packet: mqttPacket.Packet) => packets.push(packet));
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  const send = (packet: mqttPacket.Packet) =>
    socket.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
  const next = async (cmd: string, from = 0): Promise<mqttPacket.Packet> => {
    await waitFor(() => packets.slice(from).some((p) => p.cmd === cmd), 10_000, `a ${cmd} packet`);
    return packets.slice(from).find((p) => p.cmd === cmd) as mqttPacket.Packet;
  };
  send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: '',
    clean: true,
    keepalive: 0,
    ...connect,
  });
  expect(await next('connack')).toMatchObject({ reasonCode: 0 });
  return { socket, packets, send, next };
}

const will = (topic: string, extra: Partial<NonNullable<IClientOptions['will']>> = {}) => ({
  topic,
  payload: Buffer.from('gone'),
  qos: 1 as const,
  retain: false,
  ...extra,
});

describe('retained messages and wills with security on', () => {
  let secure: SecureServer;
  const port = () => secure.server.mqtt!.port;

  beforeAll(async () => {
    secure = await startSecureServer(
      {
        users: { alice: 'alice-pw', bob: 'bob-pw' },
        acls: [
          allow('alice', 'topic', 'plant', ['read', 'write', 'create']),
          allow('alice', 'topic', 'office', ['read', 'write', 'create']),
          allow('bob', 'topic', 'plant', ['read']),
        ],
      },
      { mqtt: { port: 0 } },
    );
  });
  afterAll(async () => {
    await secure.close();
  });

  const alice = { username: 'alice', password: 'alice-pw' };
  const bob = { username: 'bob', password: 'bob-pw' };

  it.each([
    [5, 0x87],
    [4, 5],
  ] as const)(
    'refuses at CONNECT a will to a topic the client may not write (level %i: %i)',
    async (version, code) => {
      expect(await refusedWith(port(), version, { ...bob, will: will('plant/bob/status') })).toBe(code);
      expect(await refusedWith(port(), version, { ...alice, will: will('secret/x') })).toBe(code);
      expect(
        await refusedWith(port(), version, { ...alice, will: will('plant/alice/status') }),
      ).toBeUndefined();
    },
  );

  it('publishes an allowed will after the connection and its session are gone', async () => {
    const watcher = await connectTo(port(), 5, bob);
    const received = collect(watcher);
    await watcher.subscribeAsync('plant/#', { qos: 1 });
    const device = await connectTo(port(), 5, {
      ...alice,
      clientId: 'alice-device',
      will: will('plant/alice/status'),
    });
    device.stream.destroy();
    await until(received, 'plant/alice/status');
  });

  it('sends a subscriber the retained messages of readable topics only; a reader cannot retain', async () => {
    const writer = await connectTo(port(), 5, alice);
    await writer.publishAsync('plant/r/1', 'p', { qos: 1, retain: true });
    await writer.publishAsync('office/r/1', 'o', { qos: 1, retain: true });
    const reader = await connectTo(port(), 5, bob);
    const received = collect(reader);
    await reader.subscribeAsync('#', { qos: 1 });
    await writer.publishAsync('plant/marker', 'live', { qos: 1 });
    const retained = await until(received, 'plant/marker');
    expect(retained.map((m) => m.topic)).toContain('plant/r/1');
    expect(retained.map((m) => m.topic)).not.toContain('office/r/1');
    // bob may read plant, not write it: the retained PUBLISH is refused (PUBACK 0x87).
    const refused = await reader
      .publishAsync('plant/r/1', 'bob was here', { qos: 1, retain: true })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 0x87 });
    const again = await connectTo(port(), 5, bob);
    const second = collect(again);
    await again.subscribeAsync('plant/r/+', { qos: 1 });
    await writer.publishAsync('plant/r/marker', 'live', { qos: 1 });
    expect(await until(second, 'plant/r/marker')).toEqual([
      { topic: 'plant/r/1', payload: 'p', retain: true },
    ]);
  });
});

describe('retained limits and the ends that publish a will', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: TestServer;
  const port = () => server.mqtt!.port;
  const wills = (outcome: string) =>
    metric(`http://127.0.0.1:${server.port}`, 'tributary_mqtt_wills_total', { outcome });

  beforeEach(async () => {
    dir = await tempDir('trb-mqtt-rwl-');
    server = await start(dir.path, { mqtt: { port: 0 }, mqttRetainedMessagesMax: 2 });
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.allSettled(clients.splice(0).map((client) => client.endAsync(true)));
    await server.close();
    await dir.remove();
  });

  it('refuses a retained message past mqttRetainedMessagesMax before appending it (MQTT 5: 0x97)', async () => {
    const watcher = await connectTo(port(), 5);
    const received = collect(watcher);
    await watcher.subscribeAsync('q/#', { qos: 1 });
    const publisher = await connectTo(port(), 5);
    await publisher.publishAsync('q/1', 'one', { qos: 1, retain: true });
    await publisher.publishAsync('q/2', 'two', { qos: 1, retain: true });
    const refused = await publisher
      .publishAsync('q/3', 'three', { qos: 1, retain: true })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 0x97 });
    await publisher.publishAsync('q/1', 'one again', { qos: 1, retain: true }); // replacing is fine
    await publisher.publishAsync('q/marker', 'live', { qos: 1 });
    // The refused message was not appended either: live subscribers never saw it.
    expect((await until(received, 'q/marker')).map((m) => m.payload)).toEqual(['one', 'two', 'one again']);
  });

  it('closes an MQTT 3.1.1 connection whose retained message is refused (no negative PUBACK)', async () => {
    const publisher = await connectTo(port(), 4);
    await publisher.publishAsync('q/1', 'one', { qos: 1, retain: true });
    await publisher.publishAsync('q/2', 'two', { qos: 1, retain: true });
    const closed = new Promise<void>((resolve) => publisher.once('close', () => resolve()));
    publisher.publish('q/3', 'three', { qos: 1, retain: true });
    await closed;
  });

  it.each([4, 5] as const)('a takeover publishes the old connection’s will (level %i)', async (version) => {
    const watcher = await connectTo(port(), 5);
    const received = collect(watcher);
    await watcher.subscribeAsync('to/#', { qos: 1 });
    await connectTo(port(), version, { clientId: `taken-${version}`, will: will('to/old') });
    await connectTo(port(), version, { clientId: `taken-${version}` });
    await until(received, 'to/old');
  });

  it('resends a retained message the client had not acknowledged when its session resumes', async () => {
    const publisher = await connectTo(port(), 5);
    await publisher.publishAsync('rr/x', 'kept', { qos: 1, retain: true });
    const session = { clientId: 'slow-acker', clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = await rawClient(port(), session);
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rr/#', qos: 1 }] });
    const sent = (await first.next('publish')) as mqttPacket.IPublishPacket;
    expect(sent).toMatchObject({ topic: 'rr/x', qos: 1, retain: true, dup: false });
    const connections = () =>
      metric(`http://127.0.0.1:${server.port}`, 'tributary_connections', { frontend: 'mqtt' });
    const open = await connections();
    first.socket.destroy(); // no PUBACK
    await waitFor(async () => (await connections()) < open, 10_000, 'the connection to close');
    const second = await rawClient(port(), session);
    const resent = (await second.next('publish')) as mqttPacket.IPublishPacket;
    expect(resent).toMatchObject({
      topic: 'rr/x',
      qos: 1,
      retain: true,
      dup: true,
      messageId: sent.messageId,
    });
    expect(resent.payload.toString()).toBe('kept');
  });

  it('a keep-alive timeout publishes the will', async () => {
    const watcher = await connectTo(port(), 5);
    const received = collect(watcher);
    await watcher.subscribeAsync('ka/#', { qos: 1 });
    // A raw client that connects with a 1 s keep-alive and then says nothing.
    const socket = connectTcp(port(), '127.0.0.1');
    sockets.push(socket);
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'silent',
        clean: true,
        keepalive: 1,
        will: { topic: 'ka/silent', payload: Buffer.from('timed out'), qos: 1, retain: false },
      }),
    );
    await until(received, 'ka/silent');
    expect(received.find((m) => m.topic === 'ka/silent')?.payload).toBe('timed out');
  });

  it('a session that expires before the will delay publishes the will when it ends', async () => {
    const watcher = await connectTo(port(), 5);
    const received = collect(watcher);
    await watcher.subscribeAsync('se/#', { qos: 1 });
    const device = await connectTo(port(), 5, {
      clientId: 'short-session',
      properties: { sessionExpiryInterval: 1 },
      will: will('se/x', { properties: { willDelayInterval: 3600 } }),
    });
    const lostAt = Date.now();
    device.stream.destroy();
    await until(received, 'se/x');
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(900);
    expect(Date.now() - lostAt).toBeLessThan(60_000);
  });

  it('a clean-start reconnect ends the old session: its delayed will goes out at once', async () => {
    const watcher = await connectTo(port(), 5);
    const received = collect(watcher);
    await watcher.subscribeAsync('cs/#', { qos: 1 });
    const options: IClientOptions = {
      clientId: 'restarts-clean',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      will: will('cs/x', { properties: { willDelayInterval: 3600 } }),
    };
    const device = await connectTo(port(), 5, options);
    device.stream.destroy();
    await waitFor(async () => (await wills('delayed')) === 1, 10_000, 'the will to be held');
    await connectTo(port(), 5, { clientId: 'restarts-clean', clean: true });
    await until(received, 'cs/x');
    expect(await wills('cancelled')).toBe(0);
  });
});
