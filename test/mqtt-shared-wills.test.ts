import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamGateways } from '../src/log/jetstream/gateways.js';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { SharedWills } from '../src/server/front/mqtt/shared-wills.js';

/**
 * Delayed wills shared by gateways, on a nats-server this file starts on a free port: the wills
 * of a gateway that is gone are published by the others once each, however many sweep at once.
 */
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const logger = pino({ level: 'silent' });

describe.skipIf(NATS_SERVER_BINARY === undefined && !required)('shared MQTT wills', () => {
  let nats: NatsServers;
  let namespaces = 0;
  const opened: { connection: NatsConnection; gateways: JetStreamGateways; wills: SharedWills }[] = [];

  beforeAll(async () => {
    nats = await startNatsServers();
  }, 30_000);
  afterEach(async () => {
    for (const { connection, gateways, wills } of opened.splice(0)) {
      wills.close();
      await gateways.close();
      await connection.close();
    }
  });
  afterAll(async () => {
    await nats?.stop();
  });

  async function gatewayOf(namespace: string) {
    const connection = await connect({ servers: [...nats.urls] });
    const gateways = await JetStreamGateways.open({ connection, namespace, replicas: 1, ttlMs: 3000 });
    const wills = new SharedWills(gateways, logger);
    await wills.open();
    const gateway = { connection, gateways, wills };
    opened.push(gateway);
    return gateway;
  }

  it('publishes each due will of a gateway that closed once, with three gateways sweeping at once', async () => {
    const namespace = `wills${process.pid}_${namespaces++}`;
    const holder = await gatewayOf(namespace);
    const count = 40;
    for (let i = 0; i < count; i++) {
      const packet = {
        cmd: 'publish' as const,
        topic: `plant/will-${i}`,
        payload: Buffer.from(`lost ${i}`),
        qos: 1 as const,
        retain: false,
        dup: false,
      };
      expect(await holder.wills.hold(`client-${i}`, packet, Date.now() - 1)).not.toBeNull();
    }
    // Still held by a live gateway: nobody else publishes them.
    const sweepers = await Promise.all([gatewayOf(namespace), gatewayOf(namespace), gatewayOf(namespace)]);
    const published: string[] = [];
    for (const sweeper of sweepers) {
      sweeper.wills.serve(async (packet) => {
        published.push(`${packet.topic} ${packet.payload.toString()}`);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(published).toEqual([]);

    // The holder closes (leaves the registry, keeps its wills stored): each goes out once.
    holder.wills.close();
    await holder.gateways.close();
    const deadline = Date.now() + 20_000;
    while (published.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const expected = Array.from({ length: count }, (_, i) => `plant/will-${i} lost ${i}`);
    expect([...published].sort()).toEqual([...expected].sort());
  });

  it('cancels a will another gateway stored when its client comes back, and publishes it for a clean start', async () => {
    const namespace = `wills${process.pid}_${namespaces++}`;
    const [a, b] = await Promise.all([gatewayOf(namespace), gatewayOf(namespace)]);
    const published: string[] = [];
    b.wills.serve(async (packet) => {
      published.push(packet.topic);
    });
    const packet = (topic: string) => ({
      cmd: 'publish' as const,
      topic,
      payload: Buffer.from('x'),
      qos: 0 as const,
      retain: false,
      dup: false,
    });
    const back = await a.wills.hold('back', packet('plant/back'), Date.now() + 60_000);
    await a.wills.hold('clean', packet('plant/clean'), Date.now() + 60_000);
    expect(await b.wills.connected('back', false)).toBe('cancelled');
    expect(await b.wills.connected('clean', true)).toBe('published');
    expect(published).toEqual(['plant/clean']);
    // Both are gone: the holder can no longer take them, nor does a second CONNECT find them.
    expect(await a.wills.take('back', back!)).toBe(false);
    expect(await b.wills.connected('clean', true)).toBe('none');
  });
});
