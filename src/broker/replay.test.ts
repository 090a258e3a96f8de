/**
 * Replaying history through the file log with the subscription's read-ahead: every record once,
 * in order, from any offset; and a byte damaged in a sealed segment (which recovery trusts and
 * does not scan) ends the replay with CORRUPT_LOG before anything of the damaged batch is
 * delivered, never with wrong data.
 */
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileLog } from '../log/file/file-log.js';
import { walkBatches } from '../log/file/segment.js';
import type { Log } from '../log/types.js';
import { createBroker, type TributaryBroker } from './broker.js';
import { eventually, Recorder } from './testing/helpers.js';
import type { Subscription } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const BATCHES = 40;
const PER_BATCH = 50;
const TOTAL = BATCHES * PER_BATCH;

const storedValue = (offset: number): string => `value-${offset}-${'x'.repeat(60)}`;

describe('broker: replay from the file log', () => {
  let dir: string;
  let log: Log;
  let broker: TributaryBroker;
  const subscriptions: Subscription[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-replay-'));
    log = await openFileLog({ dir });
    broker = await createBroker(log);
    await broker.createTopic('history', { segmentBytes: 16 * 1024, fsync: 'never' });
    for (let b = 0; b < BATCHES; b++) {
      const records = Array.from({ length: PER_BATCH }, (_, i) => ({
        key: null,
        value: enc.encode(storedValue(b * PER_BATCH + i)),
      }));
      await broker.appendBatch('history', 0, records);
    }
  });

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.close();
    await broker.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Subscribes from `offset`, granting credit back in small chunks as deliveries arrive. */
  async function replay(recorder: Recorder, offset: number): Promise<void> {
    const subscription = await broker.subscribe({
      topic: 'history',
      partition: 0,
      from: { offset },
      credit: 64,
      onRecords: (delivery) => {
        recorder.onRecords(delivery);
        subscription.grant(delivery.records.length);
      },
      onError: recorder.onError,
    });
    subscriptions.push(subscription);
  }

  async function reopen(): Promise<void> {
    await broker.close();
    await log.close();
    log = await openFileLog({ dir });
    broker = await createBroker(log);
  }

  it('delivers every record once and in order, from the start and from inside a batch', async () => {
    await reopen();
    for (const from of [0, 777]) {
      const recorder = new Recorder();
      await replay(recorder, from);
      await eventually(() => expect(recorder.records).toHaveLength(TOTAL - from));
      expect(recorder.offsets).toEqual(Array.from({ length: TOTAL - from }, (_, i) => i + from));
      expect(recorder.records.map((r) => dec.decode(r.value!))).toEqual(
        recorder.offsets.map((offset) => storedValue(offset)),
      );
      expect(recorder.errors).toEqual([]);
    }
  });

  it('ends with CORRUPT_LOG at a damaged byte of a sealed segment, delivering only what precedes it', async () => {
    const partitionDir = join(dir, 'topics', 'history', '0');
    const segments = (await readdir(partitionDir)).filter((name) => name.endsWith('.log')).sort();
    expect(segments.length).toBeGreaterThan(2);
    await reopen();
    // The second segment is sealed: recovery trusts it, so only the read's CRC check can see this.
    const path = join(partitionDir, segments[1]!);
    const batches = walkBatches(await readFile(path), 0).batches;
    const damaged = batches[1]!;
    const handle = await open(path, 'r+');
    const at = damaged.position + 200; // inside the batch's records
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x20;
    await handle.write(byte, 0, 1, at);
    await handle.close();

    const recorder = new Recorder();
    await replay(recorder, 0);
    await eventually(() => expect(recorder.errors).toHaveLength(1));
    expect(recorder.errors[0]).toMatchObject({ code: 'CORRUPT_LOG' });
    expect(String((recorder.errors[0] as Error).message)).toMatch(/CRC32C mismatch/);
    const firstDamaged = damaged.header.baseOffset;
    // Everything delivered is what was written, in order, and stops before the damaged batch.
    expect(recorder.offsets).toEqual(Array.from({ length: recorder.offsets.length }, (_, i) => i));
    expect(recorder.offsets.length).toBeLessThanOrEqual(firstDamaged);
    expect(recorder.records.map((r) => dec.decode(r.value!))).toEqual(
      recorder.offsets.map((offset) => storedValue(offset)),
    );
  });
});
