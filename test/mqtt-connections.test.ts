/**
 * 10,000 simultaneous device connections on one `tributary serve` (a child process, so the
 * server and the clients each have their own file descriptors): every device is a raw TCP socket
 * that sends an MQTT 3.1.1 CONNECT built with mqtt-packet and gets CONNACK 0; with all of them
 * open, a sample of them subscribes and one publish reaches every subscriber of the sample. The
 * server's resident set at 10,000 idle connections is printed.
 *
 * TRIBUTARY_MQTT_TARGET=mosquitto runs it against Mosquitto.
 */
import { connect, type Socket } from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectMqtt, type MqttTarget, rssBytes, startTargetProcess } from './fixtures/mqtt.js';
import { sleep } from './kafka-harness.js';

const DEVICES = 10_000;
/** Connections being opened at once (below the listen backlog). */
const OPENING_AT_ONCE = 400;
const SAMPLE_EVERY = 100;
const MiB = 1024 * 1024;

let target: MqttTarget;

beforeAll(async () => {
  target = await startTargetProcess();
}, 60_000);

afterAll(async () => {
  await target?.close();
});

interface Device {
  readonly socket: Socket;
  received: Buffer;
}

/** Opens a device connection, sends CONNECT and resolves once CONNACK 0 arrived. */
function openDevice(port: number, index: number): Promise<Device> {
  const connectBytes = mqttPacket.generate(
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: `device-${index}`,
      keepalive: 300,
    },
    { protocolVersion: 4 },
  );
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const device: Device = { socket, received: Buffer.alloc(0) };
    let accepted = false;
    socket.on('error', (error) => {
      if (!accepted) reject(new Error(`device ${index}: ${error.message}`));
    });
    socket.once('close', () => {
      if (!accepted) reject(new Error(`device ${index}: closed before CONNACK`));
    });
    socket.on('data', (chunk: Buffer) => {
      device.received = Buffer.concat([device.received, chunk]);
      if (!accepted && device.received.length >= 4) {
        // CONNACK: 0x20, remaining length 2, session present 0, return code 0.
        if (device.received.subarray(0, 4).equals(Buffer.from([0x20, 0x02, 0x00, 0x00]))) {
          accepted = true;
          device.received = device.received.subarray(4);
          resolve(device);
        } else {
          reject(
            new Error(`device ${index}: not CONNACK 0: ${device.received.subarray(0, 4).toString('hex')}`),
          );
        }
      }
    });
    socket.once('connect', () => socket.write(connectBytes));
  });
}

it(`${DEVICES} simultaneous device connections each get CONNACK, and a publish reaches a sample of subscribers`, async () => {
  const started = Date.now();
  const rssBefore = rssBytes(target.pid!);
  const devices: Device[] = new Array(DEVICES);
  let next = 0;
  async function opener(): Promise<void> {
    while (next < DEVICES) {
      const index = next;
      next += 1;
      devices[index] = await openDevice(target.port, index);
    }
  }
  try {
    await Promise.all(Array.from({ length: OPENING_AT_ONCE }, opener));
    const connectedMs = Date.now() - started;
    // Let the server settle, then read its memory with every connection idle.
    await sleep(1000);
    const rssIdle = rssBytes(target.pid!);
    console.log(
      `${DEVICES} connections in ${connectedMs} ms; server RSS ${(rssBefore / MiB).toFixed(0)} MiB before, ` +
        `${(rssIdle / MiB).toFixed(0)} MiB at ${DEVICES} idle connections ` +
        `(${((rssIdle - rssBefore) / DEVICES / 1024).toFixed(1)} KiB each)`,
    );
    expect(devices.filter((d) => d.socket.destroyed)).toEqual([]);

    const sample = devices.filter((_, index) => index % SAMPLE_EVERY === 0);
    const subscribe = mqttPacket.generate(
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fleet/all', qos: 1 }] },
      { protocolVersion: 4 },
    );
    for (const device of sample) device.socket.write(subscribe);
    await waitUntil(
      () => sample.every((d) => d.received.length >= 5 && d.received[0] === 0x90),
      15_000,
      'every SUBACK of the sample',
    );
    for (const device of sample) {
      // SUBACK 0x90, length 3, packet id 1, granted QoS 1.
      expect(device.received.subarray(0, 5).toString('hex')).toBe('9003000101');
      device.received = device.received.subarray(5);
    }
    const publisher = await connectMqtt(target, { protocolVersion: 5 });
    await publisher.client.publishAsync('fleet/all', 'firmware 2.1 available', { qos: 1 });
    await waitUntil(
      () => sample.every((d) => d.received.includes('firmware 2.1 available')),
      15_000,
      'the publish at every subscriber of the sample',
    );
    await publisher.end();
    expect(target.alive()).toBe(true);
  } finally {
    for (const device of devices) device?.socket.destroy();
  }
  // The whole run, server start aside, stays within a minute.
}, 60_000);

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
