/**
 * The MQTT front end against clients that misbehave, on raw sockets (the packets are written with
 * mqtt-packet, as a client library would, or by hand when they must be wrong):
 *
 * - a subscriber that never reads keeps a bounded amount queued and buffered on the server, while
 *   thousands of records are published;
 * - a publisher that never reads its PUBACKs is no longer read from;
 * - a declared packet length past the limit is refused from the fixed header (DISCONNECT 0x95);
 * - random bytes after CONNECT (fast-check) end that connection, never the server: another client
 *   publishes and receives throughout;
 * - QoS 2 resent before PUBREL is appended once; sessions that outlive their connection resend
 *   unacknowledged messages with DUP and deliver what was published meanwhile.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttFrontEnd } from '../src/server/front/mqtt/index.js';
import { type LogBroker, openLogBroker } from '../src/server/front/mqtt/testing/log-broker.js';
import { ServerMetrics } from '../src/server/metrics.js';

const SEND_BUFFERED_MAX = 64 * 1024;
const OUTBOUND_IN_FLIGHT = 16;
let logBroker: LogBroker;
let front: MqttFrontEnd;
let port: number;
const sockets: Socket[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  logBroker = await openLogBroker();
  front = new MqttFrontEnd({
    broker: logBroker.broker,
    logger: pino({ level: 'silent' }),
    metrics: new ServerMetrics({ defaultMetrics: false }),
    limits: {
      mqttSendBufferedBytesMax: SEND_BUFFERED_MAX,
      mqttOutboundInFlightMax: OUTBOUND_IN_FLIGHT,
      mqttPacketBytesMax: 64 * 1024,
    },
  });
  port = await front.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await front.close();
  await logBroker.close();
});

/** A raw connection that decodes what the server sends (with the given version). */
class RawClient {
  readonly socket: Socket;
  readonly packets: Packet[] = [];
  readonly closed: Promise<void>;
  #waiters = new Set<() => void>();

  constructor(version: 4 | 5) {
    this.socket = tcpConnect(port, '127.0.0.1');
    sockets.push(this.socket);
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (packet: Packet) => {
      this.packets.push(packet);
      for (const wake of this.#waiters) wake();
    });
    this.socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  send(packet: Packet, version: 4 | 5): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: version }));
  }

  /** Waits for a packet matching `test` (among all received so far). */
  waitFor(test: (packet: Packet) => boolean): Promise<Packet> {
    return new Promise((resolve) => {
      const check = (): void => {
        const found = this.packets.find(test);
        if (found === undefined) return;
        this.#waiters.delete(check);
        resolve(found);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

function connectPacket(clientId: string, options: Partial<mqttPacket.IConnectPacket> = {}): Packet {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId,
    clean: true,
    keepalive: 0,
    ...options,
  };
}

async function mqttClient(version: 4 | 5): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: version,
    reconnectPeriod: 0,
  });
  clients.push(c);
  return c;
}

async function pending(): Promise<{ queuedRecords: number; bufferedBytes: number; inbox: number }[]> {
  return front.pendingPerConnection();
}

describe('bounded memory', () => {
  it('a subscriber that never reads pins at most its credit and its send buffer while 20,000 records are published', async () => {
    await logBroker.broker.createTopic('flood', { partitions: 2 });
    const stalled = new RawClient(4);
    stalled.send(connectPacket('stalled'), 4);
    await stalled.waitFor((p) => p.cmd === 'connack');
    stalled.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 0 }] }, 4);
    await stalled.waitFor((p) => p.cmd === 'suback');
    stalled.socket.pause(); // never reads again: the kernel buffers fill, then the server's
    const payload = Buffer.alloc(1024, 7);
    let maxQueued = 0;
    let maxBuffered = 0;
    for (let batch = 0; batch < 40; batch++) {
      const records = Array.from({ length: 500 }, (_, i) => ({
        key: Buffer.from(`flood/d${i % 7}`),
        value: payload,
      }));
      await logBroker.broker.produce('flood', records);
      for (const p of await pending()) {
        maxQueued = Math.max(maxQueued, p.queuedRecords);
        maxBuffered = Math.max(maxBuffered, p.bufferedBytes);
      }
      await new Promise((resolve) => setTimeout(resolve, 20)); // deliveries behind the tail go out one per event-loop turn
    }
    // Two partitions × the credit per partition; the buffer at most its limit and one packet.
    expect(maxQueued).toBeLessThanOrEqual(2 * OUTBOUND_IN_FLIGHT);
    expect(maxBuffered).toBeLessThanOrEqual(SEND_BUFFERED_MAX + 2 * 1024);
    // It really is stalled (the log is far ahead of it), and others are still served.
    expect(maxBuffered).toBeGreaterThan(SEND_BUFFERED_MAX / 2);
    const other = await mqttClient(5);
    const got = new Promise<string>((resolve) => other.once('message', (_t, p) => resolve(p.toString())));
    await other.subscribeAsync('flood/other', { qos: 1 });
    await other.publishAsync('flood/other', 'still served', { qos: 1 });
    expect(await got).toBe('still served');
    stalled.socket.destroy();
  });

  it('a publisher that never reads its PUBACKs is no longer read from', async () => {
    const publisher = new RawClient(5);
    publisher.send(connectPacket('deaf', { protocolVersion: 5 }), 5);
    await publisher.waitFor((p) => p.cmd === 'connack');
    publisher.socket.pause();
    // A QoS 1 PUBLISH to a name that cannot be published: each is answered by a PUBACK 0x90 with
    // a reason string, several times its size, so the answers outgrow the kernel's buffers fast.
    const one = mqttPacket.generate(
      {
        cmd: 'publish',
        topic: '$x',
        payload: Buffer.alloc(0),
        qos: 1,
        dup: false,
        retain: false,
        messageId: 1,
      },
      { protocolVersion: 5 },
    );
    const burst = Buffer.concat(Array.from({ length: 20_000 }, () => one));
    for (let i = 0; i < 30; i++) {
      publisher.socket.write(burst);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const deaf = (await pending()).reduce((max, p) => Math.max(max, p.bufferedBytes), 0);
    // Reading stopped once the answers filled the send buffer (past the kernel's share).
    expect(deaf).toBeGreaterThan(SEND_BUFFERED_MAX / 2);
    expect(deaf).toBeLessThanOrEqual(SEND_BUFFERED_MAX + 64 * 1024);
    publisher.socket.destroy();
  });
});

describe('bad packets', () => {
  it('a declared length past the limit gets DISCONNECT 0x95 from the fixed header alone', async () => {
    const client = new RawClient(5);
    client.send(connectPacket('big', { protocolVersion: 5 }), 5);
    await client.waitFor((p) => p.cmd === 'connack');
    // PUBLISH declaring 200 MB; only the header is sent.
    client.socket.write(Buffer.from([0x30, 0x80, 0x80, 0xe8, 0x5f]));
    const disconnect = await client.waitFor((p) => p.cmd === 'disconnect');
    expect((disconnect as mqttPacket.IDisconnectPacket).reasonCode).toBe(0x95);
    await client.closed;
  });

  it('a remaining length of five bytes is malformed (0x81)', async () => {
    const client = new RawClient(5);
    client.send(connectPacket('five', { protocolVersion: 5 }), 5);
    await client.waitFor((p) => p.cmd === 'connack');
    client.socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    const disconnect = await client.waitFor((p) => p.cmd === 'disconnect');
    expect((disconnect as mqttPacket.IDisconnectPacket).reasonCode).toBe(0x81);
  });

  it('a first packet that is not CONNECT closes the connection', async () => {
    const client = new RawClient(4);
    client.send({ cmd: 'pingreq' }, 4);
    await client.closed;
    expect(client.packets).toEqual([]);
  });

  it('random bytes after CONNECT end that connection only; another client is served throughout', async () => {
    const watcher = await mqttClient(5);
    const seen: string[] = [];
    watcher.on('message', (_t, p) => seen.push(p.toString()));
    await watcher.subscribeAsync('fuzz/#', { qos: 1 });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (bytes, v5) => {
        const version = v5 ? 5 : 4;
        const client = new RawClient(version);
        client.send(connectPacket(`fuzz-${round}`, { protocolVersion: version }), version);
        await client.waitFor((p) => p.cmd === 'connack');
        client.socket.write(bytes);
        // Closed, or still open and answering: either way it must not have hurt the others.
        await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 20))]);
        client.socket.destroy();
        round++;
        await watcher.publishAsync('fuzz/alive', String(round), { qos: 1 });
      }),
      { numRuns: 60 },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toContain(String(round));
  });
});

describe('QoS 2 and sessions', () => {
  it('a QoS 2 PUBLISH resent before PUBREL is answered PUBREC and appended once', async () => {
    await logBroker.broker.createTopic('once');
    const client = new RawClient(5);
    client.send(connectPacket('q2', { protocolVersion: 5 }), 5);
    await client.waitFor((p) => p.cmd === 'connack');
    const publish: Packet = {
      cmd: 'publish',
      topic: 'once/x',
      payload: Buffer.from('exactly'),
      qos: 2,
      dup: false,
      retain: false,
      messageId: 7,
    };
    client.send(publish, 5);
    await client.waitFor((p) => p.cmd === 'pubrec' && p.messageId === 7);
    client.send({ ...publish, dup: true }, 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.packets.filter((p) => p.cmd === 'pubrec')).toHaveLength(2);
    client.send({ cmd: 'pubrel', messageId: 7 }, 5);
    await client.waitFor((p) => p.cmd === 'pubcomp' && p.messageId === 7);
    const records = await logBroker.broker.fetch('once', 0, 0);
    expect(records.map((r) => Buffer.from(r.value as Uint8Array).toString())).toEqual(['exactly']);
  });

  it('a session that outlives its connection resends unacknowledged messages with DUP, then what came meanwhile', async () => {
    await logBroker.broker.createTopic('kept');
    const first = new RawClient(5);
    first.send(
      connectPacket('keeper', {
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      }),
      5,
    );
    expect(
      ((await first.waitFor((p) => p.cmd === 'connack')) as mqttPacket.IConnackPacket).sessionPresent,
    ).toBe(false);
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'kept/#', qos: 1 }] }, 5);
    await first.waitFor((p) => p.cmd === 'suback');
    await logBroker.broker.produce('kept', [{ key: Buffer.from('kept/a'), value: Buffer.from('m1') }]);
    const unacked = (await first.waitFor((p) => p.cmd === 'publish')) as mqttPacket.IPublishPacket;
    first.socket.destroy(); // no PUBACK
    await first.closed;
    await logBroker.broker.produce('kept', [
      { key: Buffer.from('kept/a'), value: Buffer.from('m2') },
      { key: Buffer.from('kept/b'), value: Buffer.from('m3') },
    ]);
    const second = new RawClient(5);
    second.send(connectPacket('keeper', { protocolVersion: 5, clean: false }), 5);
    const connack = (await second.waitFor((p) => p.cmd === 'connack')) as mqttPacket.IConnackPacket;
    expect(connack.sessionPresent).toBe(true);
    await second.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'm3');
    const publishes = second.packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
    // m2 and m3 may have been written to the first connection before the server saw it close:
    // then they too are resent with DUP. Either way: each once, in order.
    expect(publishes.map((p) => p.payload.toString())).toEqual(['m1', 'm2', 'm3']);
    expect(publishes[0]?.dup).toBe(true);
    expect(publishes[0]?.messageId).toBe(unacked.messageId);
    second.socket.destroy();
  });
});
