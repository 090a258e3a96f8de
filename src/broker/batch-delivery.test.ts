/**
 * A subscription with `onBatches` replaying the file log: stored batches go out as they are only
 * where every record of them is one the subscription delivers, and the records of both paths
 * together are exactly what a record read returns. Across aborted, committed and open
 * transactions: under `'committed'` no aborted or open transaction's record reaches the
 * subscriber, by either path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileLog } from '../log/file/file-log.js';
import type { IsolationLevel, Log, LogRecord } from '../log/types.js';
import {
  decodeRecordBatchRecords,
  readRecordBatchHeader,
  TRANSACTIONAL_FLAG,
} from '../protocol/kafka/record-batch/index.js';
import { createBroker, type TributaryBroker } from './broker.js';
import { eventually } from './testing/helpers.js';
import type { Subscription } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('broker: stored batches handed over as they are (onBatches)', () => {
  let dir: string;
  let log: Log;
  let broker: TributaryBroker;
  const subscriptions: Subscription[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-batch-delivery-'));
    log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    broker = await createBroker(log);
    await broker.createTopic('t', { fsync: 'never' });
  });

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.close();
    await broker.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const plain = (tag: string, n: number) =>
    log.append(
      't',
      0,
      Array.from({ length: n }, (_, i) => ({ key: null, value: enc.encode(`${tag}-${i}`) })),
    );
  const transactional = (producerId: number, tag: string, n: number) =>
    log.append(
      't',
      0,
      Array.from({ length: n }, (_, i) => ({ key: null, value: enc.encode(`${tag}-${i}`) })),
      { producer: { producerId, producerEpoch: 0, baseSequence: 0 }, transactional: true },
    );

  interface Replayed {
    readonly values: string[];
    readonly offsets: number[];
    /** Batches handed over as they are, and whether any was transactional. */
    batches: number;
    transactionalBatches: number;
    readonly errors: unknown[];
  }

  async function replay(isolation: IsolationLevel, credit: number): Promise<Replayed> {
    const out: Replayed = { values: [], offsets: [], batches: 0, transactionalBatches: 0, errors: [] };
    const take = (records: readonly LogRecord[]): void => {
      for (const record of records) {
        out.offsets.push(record.offset);
        out.values.push(dec.decode(record.value!));
      }
    };
    const subscription: Subscription = await broker.subscribe({
      topic: 't',
      partition: 0,
      from: 'earliest',
      credit,
      isolation,
      onRecords: (delivery) => {
        take(delivery.records);
        subscription.grant(delivery.records.length);
      },
      onBatches: (delivery) => {
        let records = 0;
        for (const bytes of delivery.batches) {
          const header = readRecordBatchHeader(bytes, 0)!;
          out.batches++;
          if ((header.attributes & TRANSACTIONAL_FLAG) !== 0) out.transactionalBatches++;
          const decoded = decodeRecordBatchRecords(bytes, 0, header);
          records += decoded.length;
          take(decoded);
        }
        expect(records).toBe(delivery.records);
        subscription.grant(delivery.records);
      },
      onError: (error) => out.errors.push(error),
    });
    subscriptions.push(subscription);
    return out;
  }

  async function expected(isolation: IsolationLevel): Promise<{ values: string[]; offsets: number[] }> {
    const records = await log.read('t', 0, 0, { isolation, maxRecords: 10_000, maxBytes: 1 << 24 });
    return { values: records.map((r) => dec.decode(r.value!)), offsets: records.map((r) => r.offset) };
  }

  it('delivers plain batches as they are and transactions record by record, as a record read would', async () => {
    await plain('a', 40);
    await transactional(7, 'aborted', 5);
    await plain('b', 30);
    await log.writeMarker('t', 0, { producerId: 7, producerEpoch: 0, commit: false });
    await plain('c', 20);
    await transactional(8, 'committed', 4);
    await log.writeMarker('t', 0, { producerId: 8, producerEpoch: 0, commit: true });
    await plain('d', 25);
    await transactional(9, 'open', 3);
    await plain('e', 10); // beyond the last stable offset while producer 9's transaction is open

    const committed = await expected('committed');
    expect(committed.values.some((v) => v.startsWith('aborted') || v.startsWith('open'))).toBe(false);
    expect(committed.values.filter((v) => v.startsWith('committed'))).toHaveLength(4);
    const seen = await replay('committed', 1000);
    await eventually(() => expect(seen.values.length).toBe(committed.values.length));
    await new Promise((resolve) => setTimeout(resolve, 50)); // nothing more comes
    expect(seen).toMatchObject({ ...committed, transactionalBatches: 0, errors: [] });
    expect(seen.batches).toBeGreaterThan(0);

    const uncommitted = await expected('uncommitted');
    const all = await replay('uncommitted', 1000);
    await eventually(() => expect(all.values.length).toBe(uncommitted.values.length));
    expect(all).toMatchObject({ ...uncommitted, errors: [] });
    expect(all.batches).toBeGreaterThan(0);
    expect(all.values.filter((v) => v.startsWith('aborted'))).toHaveLength(5);

    // The open transaction commits: the committed subscriber goes on past it.
    await log.writeMarker('t', 0, { producerId: 9, producerEpoch: 0, commit: true });
    const after = await expected('committed');
    expect(after.values.filter((v) => v.startsWith('open'))).toHaveLength(3);
    await eventually(() => expect(seen.values).toEqual(after.values));
    expect(seen.offsets).toEqual(after.offsets);
  });

  it('goes record by record where credit is smaller than a batch, and resumes inside a batch', async () => {
    for (let i = 0; i < 6; i++) await plain(`p${i}`, 50);
    const whole = await expected('uncommitted');
    const small = await replay('uncommitted', 7);
    await eventually(() => expect(small.values.length).toBe(whole.values.length));
    expect(small).toMatchObject({ ...whole, batches: 0, errors: [] });
    const large = await replay('uncommitted', 100);
    await eventually(() => expect(large.values.length).toBe(whole.values.length));
    expect(large).toMatchObject({ ...whole, errors: [] });
    expect(large.batches).toBe(6);
  });
});
