/**
 * `tributary serve --log nats://…`: gateways (real `tributary serve` processes) over a NATS
 * JetStream this file starts on free ports. A gateway keeps nothing the others need: it can be
 * restarted on an empty data directory, and a second gateway serves the same topics and offsets.
 * Chaos: a gateway SIGKILLed in the middle of an idempotent produce run (bounded by
 * `CHAOS_RECORDS` and `CHAOS_KILLS`) loses no acknowledged record and stores none twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import {
  NATS_SERVER_BINARY,
  type NatsServers,
  startNatsServers,
} from '../src/log/jetstream/testing/nats-servers.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';

const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
const available = NATS_SERVER_BINARY !== undefined || required;
const CHAOS_RECORDS = Number(process.env.SCALE_OUT_CHAOS_RECORDS ?? 600);
const CHAOS_KILLS = Number(process.env.SCALE_OUT_CHAOS_KILLS ?? 2);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => (b === null ? '' : new TextDecoder().decode(b));

/** A gateway process on a fixed port, restartable on a fresh data directory. */
class Gateway {
  process: ServerProcess | undefined;
  private dirs: string[] = [];

  constructor(
    readonly port: number,
    readonly logUrl: string,
  ) {}

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws`;
  }

  async start(): Promise<void> {
    // A new, empty data directory each time: whatever it needs must come from JetStream.
    const dir = await mkdtemp(join(tmpdir(), 'tributary-gateway-'));
    this.dirs.push(dir);
    this.process = await startServerProcess(dir, this.port, {
      readyTimeoutMs: 90_000,
      args: ['--log', this.logUrl, '--mqtt-port', '0'],
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.process !== undefined) await killServer(this.process, signal);
    this.process = undefined;
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    await Promise.all(this.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** Every record of `topic` partition 0 from offset 0 up to `next`, through `client`. */
async function readAll(client: TributaryClient, topic: string, next: number) {
  const consumer = client.consumer({ topic, partitions: [0], from: 'earliest' });
  const out: { offset: number; value: string }[] = [];
  if (next === 0) {
    await consumer.close();
    return out;
  }
  for await (const record of consumer) {
    out.push({ offset: record.offset, value: dec(record.value) });
    if (record.offset >= next - 1) break;
  }
  await consumer.close();
  return out;
}

describe.skipIf(!available)('scale-out: gateways over NATS JetStream', () => {
  let nats: NatsServers;
  const gateways: Gateway[] = [];
  const clients: TributaryClient[] = [];

  beforeAll(async () => {
    nats = await startNatsServers();
  }, 30_000);
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    for (const gateway of gateways.splice(0)) await gateway.stop();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  async function gateway(): Promise<Gateway> {
    const g = new Gateway(await freePort(), nats.urls.join(','));
    gateways.push(g);
    await g.start();
    return g;
  }

  async function client(g: Gateway, reconnect = false): Promise<TributaryClient> {
    const c = await connect({
      url: g.wsUrl,
      reconnect: reconnect ? { initialDelayMs: 50, maxDelayMs: 500 } : false,
    });
    clients.push(c);
    return c;
  }

  it('keeps records and offsets across a gateway restart on an empty data directory', async () => {
    const a = await gateway();
    const first = await client(a);
    await first.admin.createTopic('smoke', { partitions: 2 });
    const producer = first.producer({ topic: 'smoke' });
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) => producer.send({ value: enc(`v${i}`), partition: 0 })),
    );
    await producer.close();
    expect(sent.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await first.close();

    await a.kill('SIGKILL');
    await a.start();
    const again = await client(a);
    const described = await again.admin.describeTopic('smoke');
    expect(described.partitions.map((p) => p.next)).toEqual([20, 0]);
    const records = await readAll(again, 'smoke', 20);
    expect(records).toEqual(sent.map((m, i) => ({ offset: m.offset, value: `v${i}` })));
    // New appends continue the same offsets.
    const more = again.producer({ topic: 'smoke' });
    expect((await more.send({ value: enc('after'), partition: 0 })).offset).toBe(20);
    await more.close();
  }, 180_000);

  it('serves a record produced through gateway A from gateway B with the same offset', async () => {
    const [a, b] = await Promise.all([gateway(), gateway()]);
    const onA = await client(a);
    const onB = await client(b);
    await onA.admin.createTopic('shared');
    // B learns of the topic from the catalog in JetStream.
    expect((await onB.admin.listTopics()).map((t) => t.name)).toContain('shared');
    const consumerB = onB.consumer({ topic: 'shared', partitions: [0] });
    await consumerB.ready;
    const fromA = onA.producer({ topic: 'shared' });
    const fromB = onB.producer({ topic: 'shared' });
    const sentA = await fromA.send({ value: enc('from-a'), partition: 0 });
    const sentB = await fromB.send({ value: enc('from-b'), partition: 0 });
    expect([sentA.offset, sentB.offset]).toEqual([0, 1]);
    const live: { offset: number; value: string }[] = [];
    for await (const record of consumerB) {
      live.push({ offset: record.offset, value: dec(record.value) });
      if (live.length === 2) break;
    }
    expect(live).toEqual([
      { offset: 0, value: 'from-a' },
      { offset: 1, value: 'from-b' },
    ]);
    expect(await readAll(onA, 'shared', 2)).toEqual(live);
    await Promise.all([fromA.close(), fromB.close(), consumerB.close()]);
  }, 180_000);

  it(`loses no acknowledged record and stores none twice when a gateway is SIGKILLed ${CHAOS_KILLS}× during an idempotent produce of ${CHAOS_RECORDS}`, async () => {
    const a = await gateway();
    const admin = await client(a);
    await admin.admin.createTopic('chaos');
    await admin.close();
    const producerClient = await client(a, true);
    const producer = producerClient.producer({ topic: 'chaos', lingerMs: 2, batchRecords: 20 });
    const acked = new Map<string, number>();
    const failed: string[] = [];
    const sends: Promise<void>[] = [];
    const killEvery = Math.floor(CHAOS_RECORDS / (CHAOS_KILLS + 1));
    for (let i = 0; i < CHAOS_RECORDS; i++) {
      const value = `r${i}`;
      sends.push(
        producer.send({ value: enc(value), partition: 0 }).then(
          (meta) => void acked.set(value, meta.offset),
          () => void failed.push(value),
        ),
      );
      if (i > 0 && i % killEvery === 0 && i / killEvery <= CHAOS_KILLS) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await a.kill('SIGKILL');
        await a.start();
      } else if (i % 10 === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    await Promise.all(sends);
    await producer.close();
    const reader = await client(a);
    const { partitions } = await reader.admin.describeTopic('chaos');
    const next = partitions[0]!.next;
    const stored = await readAll(reader, 'chaos', next);
    const counts = new Map<string, number>();
    for (const record of stored) counts.set(record.value, (counts.get(record.value) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1).length;
    const lost = [...acked.keys()].filter((value) => !counts.has(value)).length;
    const offsetsMoved = [...acked].filter(
      ([value, offset]) => stored.find((r) => r.value === value)?.offset !== offset,
    ).length;
    console.log(
      `scale-out chaos: ${CHAOS_RECORDS} sent, ${acked.size} acknowledged, ${failed.length} failed, ` +
        `${stored.length} stored, ${lost} acknowledged lost, ${duplicates} duplicated, ${CHAOS_KILLS} gateway SIGKILLs`,
    );
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);
    expect(offsetsMoved).toBe(0);
    expect(acked.size).toBeGreaterThan(0);
    expect(stored.map((r) => r.offset)).toEqual(Array.from({ length: stored.length }, (_, i) => i));
  }, 300_000);
});
