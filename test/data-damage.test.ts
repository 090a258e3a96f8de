/**
 * Damaged stored data seen from outside, with real processes: `tributary serve` starts with one
 * damaged partition and serves the others (`/healthz` degraded, the damaged one answering
 * PARTITION_DAMAGED), refuses to create a topic over a directory whose topic.json is unreadable,
 * and the operator's `tributary data verify|repair|rebuild-metadata` commands find, truncate and
 * restore it (docs/FORMAT.md, "Damage").
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileLog } from '../src/log/file/file-log.js';
import { walkBatches } from '../src/log/file/segment.js';
import { forgetCleanStop } from '../src/log/file/testing/crash.js';
import { type CliProcess, spawnCli } from './fixtures/cli-process.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

const READY_TIMEOUT_MS = 20_000;
/** Each test starts several CLI processes (node + tsx), slow on a loaded machine. */
const SLOW = { timeout: 120_000 };
const LISTENING = /^Tributary listening on (http:\/\/\S+) /;

let children: ChildProcess[] = [];
let tmp: string;

beforeEach(async () => {
  children = [];
  tmp = await mkdtemp(join(tmpdir(), 'tributary-data-damage-'));
});

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await rm(tmp, { recursive: true, force: true });
});

function runCli(args: readonly string[]): CliProcess {
  const cli = spawnCli(args);
  children.push(cli.child);
  return cli;
}

async function serve(dataDir: string): Promise<{ cli: CliProcess; url: string }> {
  const cli = runCli(['serve', '--port', '0', '--kafka-port', '0', '--host', '127.0.0.1', '--data', dataDir]);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exit: number | string | undefined;
  void cli.exited.then((code) => {
    exit = code;
  });
  while (Date.now() < deadline) {
    for (const line of cli.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const match = LISTENING.exec((JSON.parse(line) as { msg?: string }).msg ?? '');
      if (match) return { cli, url: match[1]! };
    }
    if (exit !== undefined) throw new Error(`serve exited (${exit}) before listening:\n${cli.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`serve did not listen within ${READY_TIMEOUT_MS} ms:\n${cli.output()}`);
}

/** Runs a short CLI command to its end. */
async function runToEnd(args: readonly string[]): Promise<{ code: number | string; output: string }> {
  const cli = runCli(args);
  const code = await cli.exited;
  return { code, output: cli.output() };
}

async function stop(cli: CliProcess): Promise<void> {
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
}

async function call(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

/**
 * A data directory with topic `orders` (2 partitions, 5 records each) and topic `audit` (1 record),
 * written by the engine itself: one server start fewer per test.
 */
async function populatedDataDir(): Promise<string> {
  const dataDir = join(tmp, 'data');
  const log = await openFileLog({ dir: dataDir, maintenanceIntervalMs: 0 });
  await log.createTopic('orders', { partitions: 2 });
  await log.createTopic('audit');
  for (const partition of [0, 1]) {
    for (let i = 0; i < 5; i++) {
      await log.append('orders', partition, [
        { key: null, value: enc.encode(JSON.stringify({ partition, i })) },
      ]);
    }
  }
  await log.append('audit', 0, [{ key: null, value: enc.encode('"kept"') }]);
  await log.close();
  return dataDir;
}

const segmentPath = (dataDir: string, topic: string, partition: number) =>
  join(dataDir, 'topics', topic, String(partition), '00000000000000000000.log');

/**
 * Damages one byte of a segment found at start: the active segment is scanned at start after a
 * crash, so the clean stop's record is dropped as a crash would (after a clean stop, damage at
 * rest in it surfaces on read instead, as in a sealed segment: docs/FORMAT.md).
 */
async function flipByte(path: string, position: number): Promise<void> {
  await forgetCleanStop(dirname(path));
  const handle = await open(path, 'r+');
  const byte = new Uint8Array(1);
  await handle.read(byte, 0, 1, position);
  byte[0] = byte[0]! ^ 0xff;
  await handle.write(byte, 0, 1, position);
  await handle.close();
}

describe('a server with damaged data', SLOW, () => {
  it('starts with one damaged partition, serves the others, says degraded, and never creates over a damaged topic', async () => {
    const dataDir = await populatedDataDir();
    const damaged = segmentPath(dataDir, 'orders', 1);
    await flipByte(damaged, 100);
    await writeFile(join(dataDir, 'topics', 'audit', 'topic.json'), '{ not json');
    const auditSegment = await readFile(segmentPath(dataDir, 'audit', 0));
    const { cli, url } = await serve(dataDir);
    try {
      const health = await call(url, 'GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({
        status: 'degraded',
        damage: [
          {
            topic: 'audit',
            partition: null,
            code: 'TOPIC_DAMAGED',
            message: expect.stringContaining(join(dataDir, 'topics', 'audit')),
          },
          {
            topic: 'orders',
            partition: 1,
            code: 'PARTITION_DAMAGED',
            message: expect.stringMatching(/00000000000000000000\.log at byte \d+/),
          },
        ],
      });

      // The healthy partition reads and appends; the damaged one answers a typed error.
      const healthy = await call(url, 'GET', '/v1/topics/orders/partitions/0/records?offset=0');
      expect(healthy.status).toBe(200);
      expect((healthy.body!.records as unknown[]).length).toBe(5);
      const produced = await call(url, 'POST', '/v1/topics/orders/records', {
        records: [{ partition: 0, value: 'after' }],
      });
      expect(produced.body).toEqual({ offsets: [{ partition: 0, offset: 5 }] });
      const offline = await call(url, 'GET', '/v1/topics/orders/partitions/1/records?offset=0');
      expect(offline.status).toBe(500);
      const error = offline.body!.error as { code: string; message: string };
      expect(error.code).toBe('PARTITION_DAMAGED');
      expect(error.message).toContain(damaged);
      expect(error.message).toMatch(/at byte \d+/);

      // Creating the topic whose topic.json is unreadable is refused, with or without auto-create.
      const created = await call(url, 'POST', '/v1/topics', { name: 'audit' });
      expect(created.status).toBe(409);
      const refusal = created.body!.error as { code: string; message: string };
      expect(refusal.code).toBe('TOPIC_DAMAGED');
      expect(refusal.message).toContain(join(dataDir, 'topics', 'audit'));
      const autoCreated = await call(url, 'POST', '/v1/topics/audit/records', {
        records: [{ value: 'x' }],
      });
      expect((autoCreated.body!.error as { code: string }).code).toBe('TOPIC_DAMAGED');

      // The operator's repair refuses a directory a live server holds.
      const before = await readFile(damaged);
      const refused = await runToEnd([
        'data',
        'repair',
        '--data',
        dataDir,
        '--topic',
        'orders',
        '--partition',
        '1',
        '--truncate-to-last-valid',
      ]);
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/in use by process \d+/);
      expect(await readFile(damaged)).toEqual(before);
    } finally {
      await stop(cli);
    }
    expect(await readFile(segmentPath(dataDir, 'audit', 0))).toEqual(auditSegment);
  });
});

describe('damaged stored events', SLOW, () => {
  it('take event streams offline, not the server', async () => {
    const dataDir = join(tmp, 'events');
    let server = await serve(dataDir);
    try {
      const appended = await call(server.url, 'POST', '/v1/streams/order-1', {
        events: [{ type: 'OrderPlaced', data: { total: 30 } }],
      });
      expect(appended.status).toBe(200);
    } finally {
      await stop(server.cli);
    }
    await flipByte(segmentPath(dataDir, '__es.events', 0), 20);
    server = await serve(dataDir);
    try {
      const health = await call(server.url, 'GET', '/healthz');
      expect(health.body).toMatchObject({
        status: 'degraded',
        damage: [{ topic: '__es.events', partition: 0, code: 'PARTITION_DAMAGED' }],
      });
      const read = await call(server.url, 'GET', '/v1/streams/order-1');
      expect(read.body).toMatchObject({ error: { code: 'PARTITION_DAMAGED' } });
      const append = await call(server.url, 'POST', '/v1/streams/order-2', { events: [{ type: 'A' }] });
      expect(append.body).toMatchObject({ error: { code: 'PARTITION_DAMAGED' } });
      // Everything else goes on.
      expect((await call(server.url, 'POST', '/v1/topics', { name: 'after-damage' })).status).toBe(201);
    } finally {
      await stop(server.cli);
    }
  });
});

describe('damaged connector specs', SLOW, () => {
  it('keep connectors offline, not the server', async () => {
    const dataDir = join(tmp, 'connectors');
    let server = await serve(dataDir);
    try {
      expect((await call(server.url, 'POST', '/v1/topics', { name: 'src' })).status).toBe(201);
      const created = await call(server.url, 'POST', '/v1/connectors', {
        name: 'hook',
        type: 'webhook-sink',
        config: { topics: ['src'], url: 'http://127.0.0.1:9/never' },
      });
      expect(created.status).toBe(201);
    } finally {
      await stop(server.cli);
    }
    await flipByte(segmentPath(dataDir, '__connectors', 0), 30);
    server = await serve(dataDir);
    try {
      const health = await call(server.url, 'GET', '/healthz');
      expect(health.body).toMatchObject({
        status: 'degraded',
        damage: [{ topic: '__connectors', partition: 0, code: 'PARTITION_DAMAGED' }],
      });
      expect((await call(server.url, 'GET', '/v1/connectors')).status).toBe(200);
      const again = await call(server.url, 'POST', '/v1/connectors', {
        name: 'hook2',
        type: 'webhook-sink',
        config: { topics: ['src'], url: 'http://127.0.0.1:9/never' },
      });
      expect(again.body).toMatchObject({ error: { code: 'PARTITION_DAMAGED' } });
      expect((await call(server.url, 'POST', '/v1/topics', { name: 'after-damage' })).status).toBe(201);
    } finally {
      await stop(server.cli);
    }
  });
});

describe('tributary data verify | repair | rebuild-metadata', SLOW, () => {
  it('finds the damage, shows and then performs the truncation, and restores a topic.json', async () => {
    const dataDir = await populatedDataDir();
    const damaged = segmentPath(dataDir, 'orders', 1);
    const starts = walkBatches(await readFile(damaged), 0).batches.map((b) => b.position);
    expect(starts).toHaveLength(5);
    await flipByte(damaged, starts[2]! + 30); // the third batch (offset 2): two valid batches follow
    await writeFile(join(dataDir, 'topics', 'audit', 'topic.json'), '{ not json');

    const verified = await runToEnd(['data', 'verify', '--data', dataDir]);
    expect(verified.code).toBe(1);
    expect(verified.output).toContain(`orders/0  ok`);
    expect(verified.output).toContain(`orders/1  DAMAGED`);
    expect(verified.output).toContain(
      `${damaged} at byte ${starts[2]}: CRC32C mismatch (offsets from 2 on cannot be read)`,
    );
    expect(verified.output).toMatch(/audit {2}DAMAGED TOPIC: topic\.json is not a valid topic configuration/);
    expect(verified.output).toMatch(/^progress: 100% /m); // not a terminal: progress lines
    expect(verified.output).toContain('damage found: 1 damaged partition(s), 1 damaged topic(s)');

    const repairArgs = ['data', 'repair', '--data', dataDir, '--topic', 'orders', '--partition', '1'];
    const sizeBefore = (await stat(damaged)).size;
    const shown = await runToEnd(repairArgs);
    expect(shown.code).toBe(0);
    expect(shown.output).toContain(
      `The last valid batch ends at byte ${starts[2]} of segment 0. Truncating there drops 2 readable record(s), ` +
        '1 damaged batch(es) whose records cannot be counted',
    );
    expect(shown.output).toContain("the partition's next offset becomes 2");
    expect(shown.output).toContain('Nothing was changed.');
    expect((await stat(damaged)).size).toBe(sizeBefore);

    const repaired = await runToEnd([...repairArgs, '--truncate-to-last-valid']);
    expect(repaired.code).toBe(0);
    expect(repaired.output).toContain(
      'Truncated orders/1 after its last valid batch: dropped 2 readable record(s)',
    );
    expect((await stat(damaged)).size).toBe(starts[2]);

    const rebuilt = await runToEnd(['data', 'rebuild-metadata', '--data', dataDir, '--topic', 'audit']);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.output).toContain(
      `Wrote ${join(dataDir, 'topics', 'audit', 'topic.json')}: 1 partition(s)`,
    );
    expect(
      (await readdir(join(dataDir, 'topics', 'audit'))).some((n) => n.startsWith('topic.json.damaged-')),
    ).toBe(true);

    // The engine opens everything again: nothing damaged, the kept data intact.
    const log = await openFileLog({ dir: dataDir, maintenanceIntervalMs: 0 });
    try {
      expect(log.damage()).toEqual([]);
      expect((await log.read('orders', 1, 0)).map((r) => JSON.parse(dec.decode(r.value!)))).toEqual([
        { partition: 1, i: 0 },
        { partition: 1, i: 1 },
      ]);
      expect(await log.offsets('orders', 1)).toEqual({ earliest: 0, next: 2, lastStable: 2 });
      expect((await log.read('orders', 0, 0)).length).toBe(5);
      expect(dec.decode((await log.read('audit', 0, 0))[0]!.value!)).toBe('"kept"');
    } finally {
      await log.close();
    }
  });
});
