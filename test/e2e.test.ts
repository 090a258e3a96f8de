/**
 * End-to-end against real `tributary serve` processes: the server is SIGKILLed mid-stream and
 * restarted, and group members die. What must hold: every acknowledged record is delivered
 * exactly once, in order per partition, to a resuming consumer fed by an idempotent producer;
 * a group whose member dies is rebalanced and no partition is left unread.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type TributaryClient, text } from '../src/client/node/index.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-e2e-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function server(dir: string, port: number): Promise<ServerProcess> {
  const started = await startServerProcess(dir, port);
  cleanup.push(() => killServer(started));
  return started;
}

async function client(url: string): Promise<TributaryClient> {
  const c = await connect({ url, reconnect: { initialDelayMs: 50, maxDelayMs: 500, jitter: 0.2 } });
  cleanup.push(() => c.close());
  return c;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('end to end with real server processes', () => {
  it('delivers every acknowledged record exactly once, in order, across a server SIGKILL and restart', async () => {
    const dir = await tempDir();
    const port = await freePort();
    let running = await server(dir, port);
    const producerClient = await client(running.wsUrl);
    const consumerClient = await client(running.wsUrl);
    await producerClient.admin.createTopic('e2e', { partitions: 3, fsync: 'always' });

    const received: Array<{ partition: number; offset: number; value: string }> = [];
    const consumer = consumerClient.consumer({ topic: 'e2e', from: 'earliest' });
    const consuming = (async () => {
      for await (const record of consumer) {
        received.push({ partition: record.partition, offset: record.offset, value: text(record.value)! });
      }
    })();

    const producer = producerClient.producer({ topic: 'e2e', lingerMs: 2, batchRecords: 50 });
    const total = 3000;
    const acked = new Map<string, { partition: number; offset: number }>();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const value = `v${i}`;
      sends.push(
        producer.send({ key: `k${i % 17}`, value }).then((at) => {
          acked.set(value, at);
        }),
      );
      if (i === 1000) {
        // Kill the server while records are in flight in both directions, then bring it back.
        await until(() => acked.size > 500, 20_000, 'first acknowledgements');
        await killServer(running, 'SIGKILL');
        await sleep(200);
        running = await server(dir, port);
      }
      if (i % 100 === 0) await sleep(5);
    }
    await Promise.all(sends);
    expect(acked.size).toBe(total);
    await until(() => received.length >= total, 60_000, `consumer to receive ${total} records`);
    await sleep(300); // anything extra (a duplicate) would arrive now
    consumer.close();
    await consuming;

    expect(received).toHaveLength(total);
    const seen = new Set(received.map((r) => r.value));
    expect(seen.size).toBe(total);
    for (const [value, at] of acked) {
      const got = received.find((r) => r.value === value);
      expect(got, `acknowledged ${value}`).toEqual({ partition: at.partition, offset: at.offset, value });
    }
    for (const partition of [0, 1, 2]) {
      const offsets = received.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets, `partition ${partition} in order, no gap`).toEqual(offsets.map((_, i) => i));
    }
  }, 120_000);

  it('rebalances a 3-member group when a member process dies, leaving no partition unread', async () => {
    const dir = await tempDir();
    const running = await server(dir, await freePort());
    const admin = await client(running.wsUrl);
    await admin.admin.createTopic('jobs', { partitions: 6 });

    const members: Array<{ child: ChildProcess; lines: string[] }> = [];
    for (let m = 0; m < 3; m++) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/group-member.ts', running.wsUrl, 'jobs', 'workers'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      cleanup.push(async () => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      const member = { child, lines: [] as string[] };
      let buffered = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        member.lines.push(...lines);
      });
      members.push(member);
    }
    const assignedPartitions = (member: { lines: string[] }): number[] => {
      const last = member.lines.filter((l) => l.startsWith('assignment')).at(-1);
      return last === undefined || last === 'assignment ' ? [] : last.slice(11).split(',').map(Number);
    };
    await until(
      () => members.every((m) => assignedPartitions(m).length === 2),
      30_000,
      'two of the six partitions assigned to each of the three members',
    );

    const producer = admin.producer({ topic: 'jobs' });
    const first = Array.from({ length: 600 }, (_, i) => `job-${i}`);
    await Promise.all(first.map((value, i) => producer.send({ key: `key-${i}`, value })));
    const consumedValues = () =>
      new Set(
        members.flatMap((m) => m.lines.filter((l) => l.startsWith('record')).map((l) => l.split(' ')[3])),
      );
    await until(() => first.every((v) => consumedValues().has(v)), 30_000, 'the first 600 jobs consumed');

    // A member dies without leaving: its partitions must move to the survivors.
    const victim = members[0]!;
    const victimPartitions = assignedPartitions(victim);
    expect(victimPartitions.length).toBeGreaterThan(0);
    victim.child.kill('SIGKILL');
    const survivors = members.slice(1);
    await until(
      () => survivors.reduce((sum, m) => sum + assignedPartitions(m).length, 0) === 6,
      30_000,
      'the dead member\u2019s partitions reassigned',
    );

    const second = Array.from({ length: 600 }, (_, i) => `job-${600 + i}`);
    await Promise.all(second.map((value, i) => producer.send({ key: `key-${i}`, value })));
    const survivorValues = () =>
      new Set(
        survivors.flatMap((m) => m.lines.filter((l) => l.startsWith('record')).map((l) => l.split(' ')[3])),
      );
    await until(
      () => second.every((v) => survivorValues().has(v)),
      30_000,
      'every later job consumed by survivors',
    );
    const survivorPartitions = new Set(survivors.flatMap(assignedPartitions));
    for (const partition of victimPartitions) expect(survivorPartitions.has(partition)).toBe(true);
  }, 120_000);
});
