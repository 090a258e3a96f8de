/**
 * Two CONNECTs of one client id racing: the second arrives while the first is still being
 * accepted (its stored session being read). Whatever the order, the session is handed from one
 * to the other, never replaced by an empty one nor by a stale copy given back later.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import type { Packet } from 'mqtt-packet';
import * as mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, type MqttTarget, startTributaryMqtt } from './fixtures/mqtt.js';
import { sleep } from './http-helpers.js';

let target: MqttTarget;
const sockets: Socket[] = [];

beforeAll(async () => {
  target = await startTributaryMqtt();
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await target.close();
});

interface Raw {
  readonly packets: Packet[];
  closed: boolean;
  write(bytes: Buffer): void;
}

async function open(): Promise<Raw> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connectTcp({ host: '127.0.0.1', port: target.port }, () => resolve(s));
    s.once('error', reject);
  });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const raw: Raw = { packets: [], closed: false, write: (bytes) => socket.write(bytes) };
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on('packet', (packet: Packet) => raw.packets.push(packet));
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  socket.once('close', () => {
    raw.closed = true;
  });
  return raw;
}

const connectBytes = (clientId: string): Buffer =>
  mqttPacket.generate(
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: false,
      clientId,
      keepalive: 0,
      properties: { sessionExpiryInterval: 300 },
    },
    { protocolVersion: 5 },
  );

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('MQTT takeover while a CONNECT is being accepted', () => {
  for (let round = 0; round < 5; round++) {
    it(`round ${round}: the connection that stays has the stored session and its subscription`, async () => {
      const clientId = `racer-${round}`;
      const first = await connectMqtt(target, {
        protocolVersion: 5,
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      await first.client.subscribeAsync(`race${round}/#`, { qos: 1 });
      await first.end();

      const [a, b] = await Promise.all([open(), open()]);
      a.write(connectBytes(clientId));
      b.write(connectBytes(clientId));
      await until(
        () => [a, b].every((raw) => raw.closed || raw.packets.some((p) => p.cmd === 'connack')),
        'both CONNECTs answered or closed',
      );
      // The one taken over gets DISCONNECT 0x8E and closes; the other stays.
      await until(() => a.closed !== b.closed, 'exactly one connection to stay');
      const stayed = a.closed ? b : a;
      const connack = stayed.packets.find((p) => p.cmd === 'connack');
      expect(connack).toMatchObject({ sessionPresent: true, reasonCode: 0 });

      const publisher = await connectMqtt(target, { protocolVersion: 5 });
      await publisher.client.publishAsync(`race${round}/x`, 'hello', { qos: 1 });
      await publisher.end();
      await until(() => stayed.packets.some((p) => p.cmd === 'publish'), 'the subscription to deliver');
      const publish = stayed.packets.find((p) => p.cmd === 'publish');
      expect(publish).toMatchObject({ topic: `race${round}/x` });
    });
  }
});
