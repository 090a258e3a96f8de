/**
 * MQTT retained messages and last wills with real clients: mqtt.js over MQTT 3.1.1 and 5 against
 * `startServer` with the MQTT listener on a free port, and Debian's python3-paho-mqtt 1.6.1
 * (skipped without it unless TRIBUTARY_REQUIRE_SERVICES=1).
 *
 * No test waits for time to pass to prove something did not happen: a live message published
 * after a subscription shows every retained message has arrived (retained ones go first), and
 * the server's will counters (`/metrics`) show what it decided when a connection ended.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start, type TestServer, tempDir } from './http-helpers.js';
import { describeWithClient, killChildren, metric, PYTHON, startChild, waitFor } from './kafka-harness.js';

type Version = 4 | 5;
interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: TestServer;
const clients: MqttClient[] = [];

beforeEach(async () => {
  dir = await tempDir('trb-mqtt-rw-');
  server = await start(dir.path, { mqtt: { port: 0 } });
});
afterEach(async () => {
  killChildren();
  await Promise.allSettled(clients.splice(0).map((client) => client.endAsync(true)));
  await server.close();
  await dir.remove();
});

function mqttUrl(): string {
  const mqttPort = server.mqtt?.port;
  if (mqttPort === undefined) throw new Error('the MQTT listener did not start');
  return `mqtt://127.0.0.1:${mqttPort}`;
}

async function connect(version: Version, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(mqttUrl(), {
    protocolVersion: version,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Everything `client` receives from now on. */
function collect(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), retain: packet.retain });
  });
  return received;
}

/** Waits until a message on `topic` arrived; returns everything received before it. */
async function until(received: Received[], topic: string): Promise<Received[]> {
  await waitFor(() => received.some((m) => m.topic === topic), 10_000, `a message on ${topic}`);
  return received.slice(
    0,
    received.findIndex((m) => m.topic === topic),
  );
}

/** Subscribes, then publishes a live marker on `marker`: every retained message comes before it. */
async function retainedFor(version: Version, filter: string, marker: string): Promise<Received[]> {
  const subscriber = await connect(version);
  const received = collect(subscriber);
  await subscriber.subscribeAsync(filter, { qos: 1 });
  const publisher = await connect(version);
  await publisher.publishAsync(marker, 'live', { qos: 1 });
  const before = await until(received, marker);
  return before.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

const base = () => `http://127.0.0.1:${server.port}`;
const wills = (outcome: string) => metric(base(), 'tributary_mqtt_wills_total', { outcome });

describe.each([4, 5] as const)('MQTT retained messages (protocol level %i)', (version) => {
  it('sets, overwrites and clears, and a new subscriber gets the latest with the retain flag', async () => {
    const publisher = await connect(version);
    await publisher.publishAsync('rt/a', 'one', { qos: 1, retain: true });
    await publisher.publishAsync('rt/a', 'two', { qos: 1, retain: true });
    await publisher.publishAsync('rt/b', 'bee', { qos: 0, retain: true });
    await publisher.publishAsync('rt/c', 'sea', { qos: 2, retain: true });
    await publisher.publishAsync('rt/c', '', { qos: 1, retain: true }); // clears rt/c
    expect(await retainedFor(version, 'rt/+', 'rt/live')).toEqual([
      { topic: 'rt/a', payload: 'two', retain: true },
      { topic: 'rt/b', payload: 'bee', retain: true },
    ]);
  });

  it('a wildcard subscription gets every matching retained message, and only those', async () => {
    const publisher = await connect(version);
    for (const name of ['wc/a/1', 'wc/a/2', 'wc/b/1', 'wc', 'other/x/1']) {
      await publisher.publishAsync(name, `v:${name}`, { qos: 1, retain: true });
    }
    expect((await retainedFor(version, 'wc/+/1', 'wc/live/1')).map((m) => m.topic)).toEqual([
      'wc/a/1',
      'wc/b/1',
    ]);
    // The first marker was a live message: it is not retained.
    expect((await retainedFor(version, 'wc/#', 'wc/done')).map((m) => m.topic)).toEqual([
      'wc',
      'wc/a/1',
      'wc/a/2',
      'wc/b/1',
    ]);
    const all = await retainedFor(version, '#', 'zz/live');
    expect(all.map((m) => m.topic)).toEqual(['other/x/1', 'wc', 'wc/a/1', 'wc/a/2', 'wc/b/1']);
    expect(all.every((m) => m.retain)).toBe(true);
  });

  it('a retained PUBLISH also reaches current subscribers, with retain 0 unless Retain As Published', async () => {
    const subscriber = await connect(version);
    const received = collect(subscriber);
    await subscriber.subscribeAsync('fw/#', { qos: 1 });
    const publisher = await connect(version);
    await publisher.publishAsync('fw/x', 'live and retained', { qos: 1, retain: true });
    await until(received, 'fw/x');
    expect(received[0]).toEqual({ topic: 'fw/x', payload: 'live and retained', retain: false });
  });

  it('retained messages survive a server restart', async () => {
    const publisher = await connect(version);
    await publisher.publishAsync('keep/1', 'kept', { qos: 1, retain: true });
    await publisher.publishAsync('keep/2', 'gone', { qos: 1, retain: true });
    await publisher.publishAsync('keep/2', '', { qos: 1, retain: true });
    await Promise.allSettled(clients.splice(0).map((client) => client.endAsync(true)));
    await server.close();
    server = await start(dir.path, { mqtt: { port: 0 } });
    expect(await retainedFor(version, 'keep/#', 'keep/live')).toEqual([
      { topic: 'keep/1', payload: 'kept', retain: true },
    ]);
  });
});

describe('MQTT 5 retain options', () => {
  it('Retain As Published keeps the flag on forwarded messages', async () => {
    const subscriber = await connect(5);
    const received = collect(subscriber);
    await subscriber.subscribeAsync('rap/#', { qos: 1, rap: true });
    const publisher = await connect(5);
    await publisher.publishAsync('rap/x', 'r', { qos: 1, retain: true });
    await publisher.publishAsync('rap/y', 'n', { qos: 1, retain: false });
    await until(received, 'rap/y');
    expect(received).toEqual([
      { topic: 'rap/x', payload: 'r', retain: true },
      { topic: 'rap/y', payload: 'n', retain: false },
    ]);
  });

  it('Retain Handling 0 sends on every subscribe, 1 only on a new subscription, 2 never', async () => {
    const publisher = await connect(5);
    await publisher.publishAsync('rh/x', 'kept', { qos: 1, retain: true });
    const subscriber = await connect(5);
    const received = collect(subscriber);
    const round = async (rh: 0 | 1 | 2, marker: string) => {
      await subscriber.subscribeAsync('rh/#', { qos: 1, rh });
      await publisher.publishAsync(marker, 'live', { qos: 1 });
      const before = await until(received, marker);
      received.length = 0;
      return before.map((m) => m.topic);
    };
    expect(await round(1, 'rh/m1')).toEqual(['rh/x']); // new subscription
    expect(await round(1, 'rh/m2')).toEqual([]); // exists already
    expect(await round(0, 'rh/m3')).toEqual(['rh/x']);
    expect(await round(2, 'rh/m4')).toEqual([]);
    const fresh = await connect(5);
    const freshReceived = collect(fresh);
    await fresh.subscribeAsync('rh/#', { qos: 1, rh: 2 });
    await publisher.publishAsync('rh/m5', 'live', { qos: 1 });
    expect(await until(freshReceived, 'rh/m5')).toEqual([]);
  });
});

describe.each([4, 5] as const)('MQTT last will (protocol level %i)', (version) => {
  it('is published when the socket is destroyed, retained when asked', async () => {
    const watcher = await connect(version);
    const received = collect(watcher);
    await watcher.subscribeAsync('will/#', { qos: 1 });
    const device = await connect(version, {
      clientId: `device-${version}`,
      will: { topic: 'will/device', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    device.stream.destroy();
    await until(received, 'will/device');
    expect(received.find((m) => m.topic === 'will/device')?.payload).toBe('offline');
    // A will has no PUBACK to wait for: it reaches subscribers once durable in its topic, and the
    // retained store a moment later, so a new subscriber may need a second look.
    let retained: Received[] = [];
    await waitFor(
      async () => {
        retained = await retainedFor(version, 'will/+', 'will/live');
        return retained.length > 0;
      },
      10_000,
      'the will to be retained',
    );
    expect(retained).toEqual([{ topic: 'will/device', payload: 'offline', retain: true }]);
  });

  it('is not published after a normal DISCONNECT', async () => {
    const device = await connect(version, {
      clientId: `clean-${version}`,
      will: { topic: 'will/clean', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    const connections = () => metric(base(), 'tributary_connections', { frontend: 'mqtt' });
    const open = await connections();
    await device.endAsync();
    await waitFor(async () => (await connections()) < open, 10_000, 'the connection to close');
    expect(await wills('discarded')).toBe(1);
    expect(await wills('published')).toBe(0);
    expect(await retainedFor(version, 'will/#', 'will/live')).toEqual([]);
  });
});

describe('MQTT 5 last will', () => {
  it('DISCONNECT with reason 0x04 publishes the will', async () => {
    const watcher = await connect(5);
    const received = collect(watcher);
    await watcher.subscribeAsync('w4/#', { qos: 1 });
    const device = await connect(5, {
      will: { topic: 'w4/x', payload: Buffer.from('bye'), qos: 0, retain: false },
    });
    await device.endAsync(false, { reasonCode: 0x04 });
    await until(received, 'w4/x');
    expect(received[0]?.payload).toBe('bye');
  });

  it('a will delay is cancelled when the client takes its session back in time', async () => {
    const options: IClientOptions = {
      clientId: 'delayed',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      will: {
        topic: 'wd/x',
        payload: Buffer.from('late'),
        qos: 1,
        retain: true,
        properties: { willDelayInterval: 3600 },
      },
    };
    const device = await connect(5, options);
    device.stream.destroy();
    await waitFor(async () => (await wills('delayed')) === 1, 10_000, 'the will to be held');
    await connect(5, options);
    await waitFor(async () => (await wills('cancelled')) === 1, 10_000, 'the will to be cancelled');
    expect(await wills('published')).toBe(0);
  });

  it('a delayed will goes out after its delay, carrying its properties', async () => {
    const watcher = await connect(5);
    const received: { topic: string; payload: string; props: unknown }[] = [];
    watcher.on('message', (topic, payload, packet) =>
      received.push({ topic, payload: payload.toString(), props: packet.properties }),
    );
    await watcher.subscribeAsync('wd2/#', { qos: 1 });
    const device = await connect(5, {
      clientId: 'delayed-1s',
      properties: { sessionExpiryInterval: 600 },
      will: {
        topic: 'wd2/x',
        payload: Buffer.from('late'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1, contentType: 'text/plain', userProperties: { site: 'north' } },
      },
    });
    const lostAt = Date.now();
    device.stream.destroy();
    await waitFor(() => received.length > 0, 10_000, 'the delayed will');
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(900);
    expect(received[0]).toMatchObject({
      topic: 'wd2/x',
      payload: 'late',
      props: { contentType: 'text/plain', userProperties: { site: 'north' } },
    });
  });

  it('a will to a topic name that cannot exist is refused at CONNECT (0x90)', async () => {
    const refused = await connect(5, {
      will: { topic: '$SYS/x', payload: Buffer.from('x'), qos: 0, retain: false },
    }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 0x90 });
  });
});

// ---------------------------------------------------------------------------------------------
// paho-mqtt 1.6.1 (Debian), unmodified.

function hasPaho(): boolean {
  return (
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import paho.mqtt.client'], { timeout: 10_000 }).status === 0
  );
}

const PAHO = `
import sys, time
import paho.mqtt.client as mqtt
port = int(sys.argv[1]); command = sys.argv[2]; args = sys.argv[3:]
def client(cid='', clean=True):
    c = mqtt.Client(client_id=cid, clean_session=clean, protocol=mqtt.MQTTv311)
    return c
if command == 'retain':
    # args: topic payload ... ; an empty payload clears
    c = client(); c.connect('127.0.0.1', port); c.loop_start()
    for i in range(0, len(args), 2):
        c.publish(args[i], args[i + 1].encode(), qos=1, retain=True).wait_for_publish()
    c.disconnect(); c.loop_stop(); print('done', flush=True)
elif command == 'subscribe':
    # args: filter marker: prints retained messages until the live marker arrives
    got = []
    def on_message(c, u, m):
        if m.topic == args[1]:
            print('end', flush=True); c.disconnect(); return
        print('%s %s %d' % (m.topic, m.payload.decode(), m.retain), flush=True)
    c = client(); c.on_message = on_message
    def on_subscribe(c, u, mid, granted):
        p = client(); p.connect('127.0.0.1', port); p.loop_start()
        p.publish(args[1], b'live', qos=1).wait_for_publish(); p.disconnect(); p.loop_stop()
    c.on_subscribe = on_subscribe
    c.connect('127.0.0.1', port); c.subscribe(args[0], qos=1); c.loop_forever()
elif command == 'will':
    # args: clientid topic payload mode(kill|disconnect)
    c = client(args[0]); c.will_set(args[1], args[2].encode(), qos=1, retain=True)
    c.connect('127.0.0.1', port); c.loop_start()
    print('connected', flush=True)
    if args[3] == 'disconnect':
        c.disconnect(); c.loop_stop(); print('disconnected', flush=True)
    else:
        time.sleep(60)
`;

describeWithClient('MQTT retained and will with paho-mqtt 1.6.1', hasPaho(), 'python3-paho-mqtt', () => {
  const paho = (...args: string[]) => startChild(PYTHON, ['-c', PAHO, String(server.mqtt!.port), ...args]);

  it('sets, overwrites and clears retained messages; a wildcard subscriber gets the rest', async () => {
    const set = paho('retain', 'py/a', '1', 'py/b', '2', 'py/a', '3', 'py/c/d', '4', 'py/b', '');
    expect((await set.done).code).toBe(0);
    const sub = paho('subscribe', 'py/#', 'py/zz');
    await sub.until((out) => out.includes('end'), 15_000, 'the marker');
    expect(sub.stdout().trim().split('\n').slice(0, -1).sort()).toEqual(['py/a 3 1', 'py/c/d 4 1']);
    // and mqtt.js sees the same set
    expect(await retainedFor(5, 'py/+', 'py/live')).toEqual([{ topic: 'py/a', payload: '3', retain: true }]);
  });

  it('publishes the will of a killed client, not of one that disconnected', async () => {
    const watcher = await connect(4);
    const received = collect(watcher);
    await watcher.subscribeAsync('pw/#', { qos: 1 });
    const polite = paho('will', 'py-polite', 'pw/polite', 'offline', 'disconnect');
    expect((await polite.done).code).toBe(0);
    const killed = paho('will', 'py-killed', 'pw/killed', 'offline', 'kill');
    await killed.until((out) => out.includes('connected'), 15_000, 'paho to connect');
    killed.process.kill('SIGKILL');
    await until(received, 'pw/killed');
    await waitFor(async () => (await wills('discarded')) >= 1, 10_000, 'the polite will to be discarded');
    expect(received.map((m) => m.topic)).toEqual(['pw/killed']);
    const sub = paho('subscribe', 'pw/#', 'pw/zz');
    await sub.until((out) => out.includes('end'), 15_000, 'the marker');
    expect(sub.stdout().trim().split('\n').slice(0, -1)).toEqual(['pw/killed offline 1']);
  });
});
