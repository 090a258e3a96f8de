/**
 * What transactions cost in the file engine: `npm run bench:log-transactions` (≲ 1 min) or
 * `-- --quick`. In one run, side by side, on temp dirs removed at the end:
 *
 *  1. appends of 1000 × 100 B records, `fsync: 'interval'`, 4 in flight: plain, idempotent, and
 *     transactional with a COMMIT marker after every batch (the worst case: one marker per batch);
 *  2. sequential reads of the same number of records: uncommitted and committed on a partition
 *     without transactions, and committed on one where every tenth transaction was aborted.
 *
 * Prints records/s and the ratio to the plain case. A plain script, never a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openFileLog } from '../src/log/file/file-log.js';
import type { IsolationLevel, Log, RecordInput } from '../src/log/types.js';
import { rate } from './lib/stats.js';
import { formatFixed, formatInt, printTable } from './lib/table.js';

const QUICK = process.argv.includes('--quick');
const APPEND_MS = QUICK ? 1_500 : 5_000;
const BATCH_RECORDS = 1000;
const IN_FLIGHT = 4;
const VALUE_BYTES = 100;
const READ_PAGE = { maxRecords: 10_000, maxBytes: 1024 * 1024 } as const;

type AppendMode = 'plain' | 'idempotent' | 'transactional';

const root = mkdtempSync(join(tmpdir(), 'tributary-bench-txn-'));
process.once('exit', () => rmSync(root, { recursive: true, force: true }));

function makeBatch(): RecordInput[] {
  return Array.from({ length: BATCH_RECORDS }, (_, i) => {
    const value = new Uint8Array(VALUE_BYTES);
    for (let j = 0; j < VALUE_BYTES; j++) value[j] = (i * 31 + j * 7) & 0xff;
    return { key: null, value };
  });
}

/** Appends for APPEND_MS; every tenth transaction is aborted when `abortEvery10` is set. */
async function appendRun(log: Log, topic: string, mode: AppendMode, abortEvery10 = false): Promise<number> {
  await log.createTopic(topic, { fsync: 'interval' });
  const batch = makeBatch();
  let records = 0;
  const start = performance.now();
  const deadline = start + APPEND_MS;
  const lane = async (lane: number): Promise<void> => {
    // One producer per lane: its batches and markers are in order.
    const producerId = 1000 + lane;
    for (let sequence = 0, txn = 0; performance.now() < deadline; sequence += BATCH_RECORDS, txn++) {
      const producer = { producerId, producerEpoch: 0, baseSequence: sequence };
      if (mode === 'plain') await log.append(topic, 0, batch);
      else if (mode === 'idempotent') await log.append(topic, 0, batch, { producer });
      else {
        await log.append(topic, 0, batch, { producer, transactional: true });
        const commit = !(abortEvery10 && txn % 10 === 9);
        await log.writeMarker(topic, 0, { producerId, producerEpoch: 0, commit });
      }
      records += BATCH_RECORDS;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => lane(i)));
  return rate(records, performance.now() - start);
}

async function readRun(
  log: Log,
  topic: string,
  isolation: IsolationLevel,
): Promise<{ perSec: number; records: number }> {
  let offset = 0;
  let records = 0;
  const start = performance.now();
  for (;;) {
    const page = await log.read(topic, 0, offset, { ...READ_PAGE, isolation });
    if (page.length === 0) break;
    records += page.length;
    offset = page[page.length - 1]!.offset + 1;
  }
  return { perSec: rate(records, performance.now() - start), records };
}

const log = await openFileLog({ dir: root, maintenanceIntervalMs: 0 });
try {
  process.stdout.write(
    `appends: ${APPEND_MS} ms each, ${IN_FLIGHT} producers × ${BATCH_RECORDS} records of ${VALUE_BYTES} B\n`,
  );
  const plain = await appendRun(log, 'plain', 'plain');
  const idempotent = await appendRun(log, 'idempotent', 'idempotent');
  const transactional = await appendRun(log, 'transactional', 'transactional');
  const aborting = await appendRun(log, 'aborting', 'transactional', true);
  printTable(
    ['append', 'records/s', 'vs plain'],
    [
      ['plain', formatInt(plain), '1.00'],
      ['idempotent', formatInt(idempotent), formatFixed(idempotent / plain)],
      ['transactional, COMMIT per batch', formatInt(transactional), formatFixed(transactional / plain)],
      ['transactional, 1 in 10 aborted', formatInt(aborting), formatFixed(aborting / plain)],
    ],
  );
  const uncommitted = await readRun(log, 'plain', 'uncommitted');
  const committedPlain = await readRun(log, 'plain', 'committed');
  const committedTxn = await readRun(log, 'transactional', 'committed');
  const committedAborting = await readRun(log, 'aborting', 'committed');
  printTable(
    ['sequential read', 'records', 'records/s', 'vs uncommitted'],
    [
      ['uncommitted, no transactions', formatInt(uncommitted.records), formatInt(uncommitted.perSec), '1.00'],
      [
        'committed, no transactions',
        formatInt(committedPlain.records),
        formatInt(committedPlain.perSec),
        formatFixed(committedPlain.perSec / uncommitted.perSec),
      ],
      [
        'committed, all committed',
        formatInt(committedTxn.records),
        formatInt(committedTxn.perSec),
        formatFixed(committedTxn.perSec / uncommitted.perSec),
      ],
      [
        'committed, 1 in 10 aborted',
        formatInt(committedAborting.records),
        formatInt(committedAborting.perSec),
        formatFixed(committedAborting.perSec / uncommitted.perSec),
      ],
    ],
  );
} finally {
  await log.close();
}
