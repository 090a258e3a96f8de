/**
 * MQTT across gateways over one NATS JetStream (started here on a free port), with the real
 * mqtt.js client: a persistent session subscribed through gateway A and resumed through gateway B
 * gets every message published while it was away once, and keeps its subscriptions; a retained
 * message set through A is seen by a new subscriber on B; a client id connecting to one gateway
 * while connected to the other takes the session over (the old connection gets DISCONNECT 0x8E);
 * two CONNECTs of one client id racing to two gateways leave one connection, holding the whole
 * session, every time; a will waiting for its delay on a gateway that is SIGKILLed goes out once
 * through another gateway, unless its client came back in time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { type Gateway as GatewayProcess, Gateways } from './fixtures/gateways.js';
import { connectMqtt, type MqttTarget, type TestClient } from './fixtures/mqtt.js';
import { killServer, serverApi } from './fixtures/server-process.js';
import { sleep } from './http-helpers.js';

const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Gateway extends GatewayProcess {
  readonly mqtt: MqttTarget;
}

describe.skipIf(!available)('scale-out: MQTT sessions across gateways', () => {
  let nats: NatsServers;
  let gateways: Gateways | undefined;
  /** Started with their MQTT target, in start order (the tests reuse them). */
  const started: Gateway[] = [];
  const clients: TestClient[] = [];

  const startGateway = async (): Promise<Gateway> => {
    const process = await gateways!.start({ mqtt: true });
    const gateway = {
      ...process,
      mqtt: {
        kind: 'tributary' as const,
        host: '127.0.0.1',
        port: process.mqttPort,
        url: `mqtt://127.0.0.1:${process.mqttPort}`,
        http: process.url,
        bootstrap: null,
        pid: process.child.pid ?? null,
        alive: () => process.child.exitCode === null,
        close: () => killServer(process, 'SIGTERM'),
      },
    };
    started.push(gateway);
    return gateway;
  };
  const client = async (gateway: Gateway, options: Parameters<typeof connectMqtt>[1]) => {
    const connected = await connectMqtt(gateway.mqtt, options);
    clients.push(connected);
    return connected;
  };
  const publish = async (gateway: Gateway, messages: readonly { topic: string; payload: string }[]) => {
    const publisher = await client(gateway, { clientId: `pub-${Math.random()}`, protocolVersion: 5 });
    for (const { topic, payload } of messages)
      await publisher.client.publishAsync(topic, payload, { qos: 1 });
    await publisher.end();
  };
  const payloads = (received: TestClient) => received.messages.map((m) => m.payload);
  const twoGateways = async (): Promise<[Gateway, Gateway]> => {
    while (started.length < 2) await startGateway();
    return [started[0]!, started[1]!];
  };

  beforeAll(async () => {
    nats = await startNatsServers();
    // A gateway killed is taken as gone after 8 s (its wills are swept up, its client ids taken
    // over); one stopped for 4.5 s is not (it answers a takeover late, later than 3 s).
    gateways = new Gateways(nats.urls, ['--log-gateway-ttl-ms', '8000']);
  }, 30_000);
  afterAll(async () => {
    for (const each of clients) each.client.end(true);
    await gateways?.stopAll();
    await nats?.stop();
  });

  it('resumes a session on another gateway with every queued message once, and takes over a client id held by another gateway', async () => {
    const a = await startGateway();
    const b = await startGateway();
    await serverApi(a, '/v1/topics', { name: 'plant', partitions: 2 });

    // A persistent session subscribed through A, fed through B.
    const first = await client(a, { clientId: 'device-1', clean: false, protocolVersion: 4 });
    expect(first.sessionPresent).toBe(false);
    await first.client.subscribeAsync('plant/#', { qos: 1 });
    await publish(b, [{ topic: 'plant/line-1', payload: 'live-0' }]);
    await first.waitFor(1);
    await first.end();

    // Published through B while the client is away.
    const away = Array.from({ length: 20 }, (_, i) => ({
      topic: `plant/line-${i % 3}`,
      payload: `away-${i}`,
    }));
    await publish(b, away);

    // Back through B: every queued message once, and the subscription is still there.
    const second = await client(b, { clientId: 'device-1', clean: false, protocolVersion: 4 });
    expect(second.sessionPresent).toBe(true);
    await second.waitFor(away.length);
    await publish(a, [{ topic: 'plant/line-9', payload: 'after' }]);
    await second.waitFor(away.length + 1);
    await sleep(500);
    expect(payloads(second).sort()).toEqual([...away.map((m) => m.payload), 'after'].sort());

    // The same client id connecting to A while connected to B takes the session over.
    const third = await client(a, { clientId: 'device-1', clean: false, protocolVersion: 4 });
    expect(third.sessionPresent).toBe(true);
    await within(second.closed, 15_000, 'the connection on B taken over');
    await publish(b, [{ topic: 'plant/line-2', payload: 'taken-over' }]);
    await third.waitFor(1);
    await sleep(500);
    expect(payloads(third)).toEqual(['taken-over']);
    expect(payloads(second)).not.toContain('taken-over');
    await third.end();

    // MQTT 5: the connection taken over hears 0x8E (Session taken over).
    const v5 = { clientId: 'device-5', clean: false, protocolVersion: 5 as const };
    const onA = await client(a, { ...v5, properties: { sessionExpiryInterval: 600 } });
    await onA.client.subscribeAsync('plant/line-5', { qos: 1 });
    const onB = await client(b, { ...v5, properties: { sessionExpiryInterval: 600 } });
    expect(onB.sessionPresent).toBe(true);
    await within(onA.closed, 15_000, 'the connection on A taken over');
    expect(onA.disconnectReason()).toBe(0x8e);
    await publish(a, [{ topic: 'plant/line-5', payload: 'five' }]);
    await onB.waitFor(1);
    expect(payloads(onB)).toEqual(['five']);
    await onB.end();
  }, 240_000);

  it('serves a retained message set through one gateway to a new subscriber on the other', async () => {
    const [a, b] = started.length >= 2 ? started : [await startGateway(), await startGateway()];
    const setter = await client(a!, { clientId: 'retainer', protocolVersion: 5 });
    await setter.client.publishAsync('plant/status', 'running', { qos: 1, retain: true });
    await setter.end();
    const reader = await client(b!, { clientId: 'reader', protocolVersion: 5 });
    await reader.client.subscribeAsync('plant/status', { qos: 1 });
    const [message] = await reader.waitFor(1);
    expect(message).toMatchObject({ topic: 'plant/status', payload: 'running', retain: true });
    await reader.end();
  }, 240_000);

  it('leaves one connection of a client id, with the whole session, when two CONNECTs of it race to two gateways', async () => {
    const [a, b] = await twoGateways();
    await serverApi(a, '/v1/topics', { name: 'race', partitions: 1 });
    const v5 = { clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 600 } };
    const rounds = 20;
    for (let round = 0; round < rounds; round++) {
      const clientId = `racer-${round}`;
      const topic = `race/r${round}`;
      // A stored session with a subscription, for the racing CONNECTs to resume.
      const setup = await client(a, { clientId, ...v5 });
      await setup.client.subscribeAsync(topic, { qos: 1 });
      await setup.end();

      const settled = await Promise.allSettled([
        client(a, { clientId, ...v5 }),
        client(b, { clientId, ...v5 }),
      ]);
      const accepted = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const live = () => accepted.filter((each) => each.client.connected);
      const deadline = Date.now() + 10_000;
      while (live().length > 1 && Date.now() < deadline) await sleep(50);
      await sleep(300);
      expect(live().length, `round ${round}: connections left of ${accepted.length} accepted`).toBe(1);
      const owner = live()[0]!;
      expect(owner.sessionPresent, `round ${round}: session present`).toBe(true);
      for (const loser of accepted.filter((each) => each !== owner)) {
        await within(loser.closed, 5000, `round ${round}: the connection taken over`);
        expect(loser.disconnectReason(), `round ${round}: reason heard`).toBe(0x8e);
      }

      // The session is whole on the owner: its subscription delivers, once, and only there.
      await publish(round % 2 === 0 ? a : b, [{ topic, payload: `p${round}` }]);
      await owner.waitFor(1);
      await sleep(200);
      expect(payloads(owner)).toEqual([`p${round}`]);
      for (const loser of accepted.filter((each) => each !== owner)) expect(payloads(loser)).toEqual([]);
      await owner.end();
    }
  }, 300_000);

  it('publishes the delayed will of a client of a SIGKILLed gateway once, through another gateway, and not the will of a client back in time', async () => {
    const [a, b] = await twoGateways();
    const c = await startGateway();
    await serverApi(a, '/v1/topics', { name: 'lastwill', partitions: 2 });
    const watcher = await client(a, { clientId: 'will-watcher', protocolVersion: 5 });
    await watcher.client.subscribeAsync('lastwill/#', { qos: 1 });
    const session = { clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 600 } };
    const withWill = (clientId: string, delayS: number) => ({
      clientId,
      ...session,
      will: {
        topic: `lastwill/${clientId}`,
        payload: Buffer.from(`${clientId} lost`),
        qos: 1 as const,
        retain: false,
        properties: { willDelayInterval: delayS },
      },
    });
    const gone = await client(c, withWill('sensor-gone', 4));
    const back = await client(c, withWill('sensor-back', 25));
    // Both connections lost without DISCONNECT: C holds both wills for their delay, then dies.
    gone.client.end(true);
    back.client.end(true);
    await sleep(500);
    await gateways!.stop(c, 'SIGKILL');
    const killedAt = Date.now();

    // Back through B within its will delay: its will is cancelled, its session resumed.
    const returned = await client(b, { clientId: 'sensor-back', ...session });
    expect(returned.sessionPresent).toBe(true);

    // The other will goes out once C is known to be gone and its delay is over, through A or B.
    const [will] = await watcher.waitFor(1, 40_000);
    expect(will).toMatchObject({ topic: 'lastwill/sensor-gone', payload: 'sensor-gone lost' });
    // Past the returned client's will delay, and some: nothing more.
    await sleep(Math.max(0, killedAt + 27_000 - Date.now()));
    expect(payloads(watcher)).toEqual(['sensor-gone lost']);
    await returned.end();
    await watcher.end();
  }, 240_000);

  it('accepts a CONNECT only once a gateway that answers its takeover late (alive, stopped 4.5 s) gave the client id up', async () => {
    const [a, b] = await twoGateways();
    const pid = b.child.pid!;
    const v5 = {
      clientId: 'slow-holder',
      clean: false,
      protocolVersion: 5 as const,
      properties: { sessionExpiryInterval: 600 },
    };
    const old = await client(b, v5);
    const order: string[] = [];
    old.client.on('disconnect', () => order.push('old connection taken over'));
    process.kill(pid, 'SIGSTOP');
    try {
      const resumed = sleep(4500).then(() => {
        order.push('gateway resumed');
        process.kill(pid, 'SIGCONT');
      });
      const taker = await client(a, v5);
      order.push('new connection accepted');
      await resumed;
      await within(old.closed, 15_000, 'the connection on the stopped gateway taken over');
      expect(order).toEqual(['gateway resumed', 'old connection taken over', 'new connection accepted']);
      expect(old.disconnectReason()).toBe(0x8e);
      expect(taker.sessionPresent).toBe(true);
      expect(taker.client.connected).toBe(true);
      await taker.end();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }, 120_000);

  it('publishes a delayed will once, at once, when its client starts clean through another gateway', async () => {
    const [a, b] = await twoGateways();
    await serverApi(a, '/v1/topics', { name: 'cleanwill', partitions: 1 }).catch(() => undefined);
    const watcher = await client(b, { clientId: 'clean-will-watcher', protocolVersion: 5 });
    await watcher.client.subscribeAsync('cleanwill/#', { qos: 1 });
    const first = await client(a, {
      clientId: 'restarter',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
      will: {
        topic: 'cleanwill/restarter',
        payload: Buffer.from('restarter lost'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 120 },
      },
    });
    first.client.end(true); // lost without DISCONNECT: A holds the will for 120 s
    await sleep(500);
    // A clean start through B ends the old session: its will goes out now, from A or from B, once.
    const second = await client(b, { clientId: 'restarter', clean: true, protocolVersion: 5 });
    expect(second.sessionPresent).toBe(false);
    await watcher.waitFor(1, 15_000);
    await sleep(2000);
    expect(payloads(watcher)).toEqual(['restarter lost']);
    await second.end();
    await watcher.end();
  }, 120_000);
});
