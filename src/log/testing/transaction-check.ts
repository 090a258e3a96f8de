/**
 * @module log/testing/transaction-check
 * What a partition with transactions must show after a crash and reopen, given what was
 * acknowledged before it (used by the SIGKILL crash test and the simulated machine crashes):
 *
 * - every acknowledged record is there, byte-identical, at its offset;
 * - every acknowledged ABORT is in the aborted index as (producer, first offset, marker offset),
 *   and no acknowledged COMMIT is;
 * - the last stable offset is `next`, or the first offset of a transaction whose marker was never
 *   acknowledged (an acknowledged marker always closes its transaction);
 * - a committed read is exactly the records below the last stable offset that no aborted
 *   transaction of their producer spans (the log agrees with its own aborted index).
 *
 * Records name their transaction in their value; `transactionOf` reads it (`null` for records
 * appended outside a transaction).
 */
import { expect } from 'vitest';
import type { AbortedTransaction, Log, LogRecord } from '../types.js';

export interface AckedMarker {
  readonly commit: boolean;
  readonly offset: number;
}

export interface TransactionAcks {
  /** Acknowledged record values by offset. */
  readonly data: Map<number, string>;
  /** Acknowledged markers by transaction key. */
  readonly markers: Map<string, AckedMarker>;
}

export interface TransactionOfRecord {
  readonly producerId: number;
  /** Names one transaction of one producer. */
  readonly key: string;
}

const decoder = new TextDecoder();
const textOf = (record: LogRecord): string => (record.value === null ? '' : decoder.decode(record.value));

async function readEverything(
  log: Log,
  topic: string,
  isolation: 'committed' | 'uncommitted',
): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let offset = (await log.offsets(topic, 0)).earliest;
  for (;;) {
    const batch = await log.read(topic, 0, offset, { maxRecords: 10_000, isolation });
    if (batch.length === 0) return out;
    out.push(...batch);
    offset = batch.at(-1)!.offset + 1;
  }
}

/** Checks partition 0 of `topic` against `acks` and against itself (see the module note). */
export async function checkTransactions(
  log: Log,
  topic: string,
  acks: TransactionAcks,
  transactionOf: (value: string) => TransactionOfRecord | null,
): Promise<void> {
  const { next, lastStable } = await log.offsets(topic, 0);
  const all = await readEverything(log, topic, 'uncommitted');
  const stored = new Map(all.map((record) => [record.offset, textOf(record)]));
  for (const [offset, value] of acks.data)
    expect(stored.get(offset), `acknowledged offset ${offset}`).toBe(value);

  const transactions = new Map<string, { producerId: number; first: number }>();
  for (const [offset, value] of stored) {
    const transaction = transactionOf(value);
    if (transaction === null) continue;
    const known = transactions.get(transaction.key);
    if (known === undefined || offset < known.first) {
      transactions.set(transaction.key, { producerId: transaction.producerId, first: offset });
    }
  }
  const aborted: AbortedTransaction[] = await log.abortedTransactions(topic, 0, 0, next);
  for (const [key, marker] of acks.markers) {
    const transaction = transactions.get(key);
    if (transaction === undefined) continue; // none of its records was acknowledged
    const entry = aborted.find(
      (a) => a.producerId === transaction.producerId && a.firstOffset === transaction.first,
    );
    if (marker.commit) expect(entry, `committed transaction ${key}`).toBeUndefined();
    else {
      expect(entry, `aborted transaction ${key}`).toEqual({
        producerId: transaction.producerId,
        firstOffset: transaction.first,
        lastOffset: marker.offset,
      });
    }
  }
  if (lastStable !== next) {
    const holder = [...transactions.entries()].find(([, t]) => t.first === lastStable);
    expect(holder, `a transaction starts at the last stable offset ${lastStable}`).toBeDefined();
    expect(
      acks.markers.has(holder![0]),
      `transaction ${holder![0]} holds the LSO though its marker was acknowledged`,
    ).toBe(false);
  }
  const spannedByAbort = (record: LogRecord): boolean => {
    const transaction = transactionOf(textOf(record));
    return (
      transaction !== null &&
      aborted.some(
        (a) =>
          a.producerId === transaction.producerId &&
          a.firstOffset <= record.offset &&
          record.offset < a.lastOffset,
      )
    );
  };
  const committed = await readEverything(log, topic, 'committed');
  const expected = all.filter((record) => record.offset < lastStable && !spannedByAbort(record));
  expect(committed.map((r) => r.offset)).toEqual(expected.map((r) => r.offset));
}
