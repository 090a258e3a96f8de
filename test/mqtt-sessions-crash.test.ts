/**
 * MQTT persistent sessions and QoS 2 across SIGKILL of a `tributary serve` process restarted on
 * the same data directory and ports: a persistent mosquitto_sub gets every message published
 * while it was away, a QoS 2 PUBLISH resent after the crash is not appended twice, and the big
 * one: devices publishing at QoS 1 and 2 through several SIGKILLs, after which every acknowledged
 * QoS 2 message is in the log exactly once, every QoS 1 message at least once, each device's
 * messages in order.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawMqtt } from './fixtures/mqtt.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { call, createTopic, tempDir } from './http-helpers.js';

const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub';
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

/** `tributary serve` on fixed ports and data directory, so it can be SIGKILLed and started again. */
class CrashableServer {
  process!: ServerProcess;
  private constructor(
    readonly dir: { path: string; remove(): Promise<void> },
    readonly httpPort: number,
    readonly mqttPort: number,
  ) {}

  static async start(): Promise<CrashableServer> {
    const server = new CrashableServer(
      await tempDir('tributary-mqtt-crash-'),
      await freePort(),
      await freePort(),
    );
    await server.start();
    return server;
  }

  get url(): string {
    return this.process.url;
  }

  async start(): Promise<void> {
    this.process = await startServerProcess(this.dir.path, this.httpPort, {
      args: ['--mqtt-port', String(this.mqttPort)],
    });
  }

  async crash(): Promise<void> {
    await killServer(this.process, 'SIGKILL');
  }

  async close(): Promise<void> {
    await killServer(this.process, 'SIGTERM');
    await this.dir.remove();
  }

  /** Every record of `topic`: value (UTF-8) and key, partition by partition in offset order. */
  async records(topic: string): Promise<{ key: string; value: string }[]> {
    const description = await call<{ partitions: { partition: number }[] }>(
      this.url,
      'GET',
      `/v1/topics/${topic}`,
    );
    const out: { key: string; value: string }[] = [];
    for (const { partition } of description.body.partitions) {
      let offset = 0;
      for (;;) {
        const page = await call<{
          records: { key: string; valueBase64?: string; value?: unknown }[];
          next: number;
          highWatermark: number;
        }>(this.url, 'GET', `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&max=1000`);
        for (const r of page.body.records) {
          const value =
            r.valueBase64 === undefined
              ? JSON.stringify(r.value)
              : Buffer.from(r.valueBase64, 'base64').toString();
          out.push({ key: r.key, value });
        }
        if (page.body.records.length === 0 || page.body.next >= page.body.highWatermark) break;
        offset = page.body.next;
      }
    }
    return out;
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let server: CrashableServer;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  server = await CrashableServer.start();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server.close();
});

async function publisher(port: number): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, clean: true });
  cleanups.push(() => client.endAsync(true));
  return client;
}

/** mosquitto_sub with a persistent session (-c -i), printing `topic payload` lines. */
function mosquittoSub(
  port: number,
  clientId: string,
): { child: ChildProcess; lines: string[]; stop(): Promise<void> } {
  const child = spawn(
    MOSQUITTO_SUB,
    ['-h', '127.0.0.1', '-p', String(port), '-c', '-i', clientId, '-q', '1', '-t', 'plant/#', '-v'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    lines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.skipIf(!existsSync(MOSQUITTO_SUB) && !required)('persistent sessions across SIGKILL', () => {
  it('mosquitto_sub -c gets, in order, what was published while it was away, across a server SIGKILL', async () => {
    const first = mosquittoSub(server.mqttPort, 'sub-persistent');
    cleanups.push(first.stop);
    const probe = await publisher(server.mqttPort);
    // mosquitto_sub prints nothing when subscribed: publish probes until one arrives.
    await until(() => {
      void probe.publishAsync('plant/probe', 'ready', { qos: 1 });
      return first.lines.length > 0;
    }, 'mosquitto_sub to subscribe');
    await first.stop();
    await probe.endAsync();
    const sent: string[] = [];
    let pub = await publisher(server.mqttPort);
    for (let i = 0; i < 20; i++) {
      await pub.publishAsync(`plant/line${i % 2}`, `before-${i}`, { qos: (1 + (i % 2)) as 1 | 2 });
      sent.push(`plant/line${i % 2} before-${i}`);
    }
    await server.crash();
    await server.start();
    pub = await publisher(server.mqttPort);
    for (let i = 0; i < 10; i++) {
      await pub.publishAsync('plant/line0', `after-${i}`, { qos: 1 });
      sent.push(`plant/line0 after-${i}`);
    }
    const again = mosquittoSub(server.mqttPort, 'sub-persistent');
    cleanups.push(again.stop);
    await until(
      () => again.lines.filter((l) => !l.includes('probe')).length >= sent.length,
      'the missed messages',
    );
    expect(again.lines.filter((l) => !l.includes('probe'))).toEqual(sent);
  });
});

describe('QoS 2 across SIGKILL', () => {
  it('a QoS 2 PUBLISH resent after the server was SIGKILLed is in the log once', async () => {
    await createTopic(server.url, 'meters', { partitions: 3 });
    const device = await RawMqtt.connect(server.mqttPort, 5, {
      clientId: 'meter-9',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    for (let id = 1; id <= 8; id++) {
      device.send({
        cmd: 'publish',
        topic: `meters/m${id % 3}`,
        payload: Buffer.from(`reading-${id}`),
        qos: 2,
        messageId: id,
        dup: false,
        retain: false,
      });
    }
    await device.next('pubrec', 7);
    await server.crash();
    device.destroy();
    await server.start();
    const back = await RawMqtt.connect(server.mqttPort, 5, {
      clientId: 'meter-9',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    cleanups.push(() => back.destroy());
    expect(back.connack.sessionPresent).toBe(true);
    // As if no PUBREC had arrived: every PUBLISH again, DUP, same packet ids; then the releases.
    for (let id = 1; id <= 8; id++) {
      back.send({
        cmd: 'publish',
        topic: `meters/m${id % 3}`,
        payload: Buffer.from(`reading-${id}`),
        qos: 2,
        messageId: id,
        dup: true,
        retain: false,
      });
    }
    await back.next('pubrec', 7);
    for (let id = 1; id <= 8; id++) back.send({ cmd: 'pubrel', messageId: id });
    await back.next('pubcomp', 7);
    expect(back.all('pubcomp').map((p) => p.reasonCode ?? 0)).toEqual(new Array(8).fill(0));
    const values = (await server.records('meters')).map((r) => r.value).sort();
    expect(values).toEqual(Array.from({ length: 8 }, (_, i) => `reading-${i + 1}`).sort());
  });
});

describe('devices publishing at QoS 1 and 2 while the server is SIGKILLed and restarted', () => {
  const DEVICES = 6;
  const WINDOW = 8;
  const CRASHES = 3;
  const ACKS_BETWEEN_CRASHES = 150;

  interface Device {
    readonly id: number;
    readonly client: MqttClient;
    /** Sequence numbers acknowledged (PUBACK / PUBCOMP without error), per QoS. */
    readonly acked: { 1: Set<number>; 2: Set<number> };
    inFlight: number;
    next: number;
  }

  it('every acknowledged QoS 2 message is in the log exactly once, QoS 1 at least once, each device in order', async () => {
    await createTopic(server.url, 'dev', { partitions: 4 });
    let running = true;
    let totalAcked = 0;
    let settled = 0;
    let sent = 0;
    const devices: Device[] = [];
    for (let id = 0; id < DEVICES; id++) {
      const version = id % 2 === 0 ? 4 : 5;
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, {
        clientId: `device-${id}`,
        protocolVersion: version,
        clean: false,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
        reconnectPeriod: 50,
        connectTimeout: 5000,
        resubscribe: false,
      });
      client.on('error', () => undefined);
      cleanups.push(() => client.endAsync(true));
      devices.push({ id, client, acked: { 1: new Set(), 2: new Set() }, inFlight: 0, next: 0 });
    }
    const pump = (device: Device): void => {
      while (running && device.inFlight < WINDOW) {
        const seq = device.next++;
        const qos = (1 + (seq % 2)) as 1 | 2;
        device.inFlight++;
        sent++;
        device.client.publish(`dev/${device.id}/q${qos}`, `${device.id}:${seq}`, { qos }, (error) => {
          device.inFlight--;
          settled++;
          if (error === undefined || error === null) {
            device.acked[qos].add(seq);
            totalAcked++;
          }
          pump(device);
        });
      }
    };
    for (const device of devices) pump(device);
    for (let crash = 0; crash < CRASHES; crash++) {
      const target = totalAcked + ACKS_BETWEEN_CRASHES;
      await until(() => totalAcked >= target, `${target} acknowledgements`, 30_000);
      await server.crash();
      await server.start();
    }
    const target = totalAcked + ACKS_BETWEEN_CRASHES;
    await until(() => totalAcked >= target, `${target} acknowledgements after the last restart`, 30_000);
    running = false;
    await until(() => settled === sent, 'every publish to be answered', 30_000);

    const records = await server.records('dev');
    const seen = new Map<string, number[]>();
    for (const { key, value } of records) {
      const [device, seq] = value.split(':').map(Number) as [number, number];
      expect(key.startsWith(`dev/${device}/q`)).toBe(true);
      const list = seen.get(key) ?? [];
      list.push(seq);
      seen.set(key, list);
    }
    let duplicatesQos1 = 0;
    for (const device of devices) {
      for (const qos of [1, 2] as const) {
        const inLog = seen.get(`dev/${device.id}/q${qos}`) ?? [];
        for (const seq of device.acked[qos])
          expect(inLog, `device ${device.id} QoS ${qos} seq ${seq}`).toContain(seq);
        if (qos === 2)
          expect(new Set(inLog).size, `device ${device.id}: a QoS 2 message twice`).toBe(inLog.length);
        duplicatesQos1 += qos === 1 ? inLog.length - new Set(inLog).size : 0;
        // Per MQTT topic order: first appearances only grow.
        const firsts = inLog.filter((seq, index) => inLog.indexOf(seq) === index);
        expect(firsts, `device ${device.id} QoS ${qos} order`).toEqual([...firsts].sort((a, b) => a - b));
      }
    }
    expect(totalAcked).toBeGreaterThanOrEqual((CRASHES + 1) * ACKS_BETWEEN_CRASHES);
    console.log(
      `adversarial: ${totalAcked} acknowledged of ${sent} sent, ${records.length} records, ${duplicatesQos1} QoS 1 duplicates, ${CRASHES} SIGKILLs`,
    );
  }, 60_000);
});
