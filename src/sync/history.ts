/**
 * @module sync/history
 * A document's history: the versions of one key still in its collection's log, read back from
 * the partition the key lives in. Each record of a collection holds the document's whole state
 * after a write (`record-codec.ts`), so every record of the key is one version: the document as
 * it was at that offset (its version) and time, or its deletion.
 *
 * Bounded: it reads at most `HISTORY_LIMITS.scanRecordsMax` of the partition's newest records
 * and returns at most `limit` versions, newest first. Compaction keeps only the latest record
 * per key, so versions older than the last compaction are gone; `complete` says whether the
 * scan reached the start of the partition's log (nothing older was skipped by the bound).
 *
 * @example
 * const history = await readHistory(broker, info, 'sku-1', 2, { limit: 20 });
 * history.versions[0]; // { version: 41, timestamp: 1733500000000, value: { stock: 7 } }
 */
import type { Broker } from '../broker/types.js';
import { materialize } from '../crdt/index.js';
import { isTributaryError, TributaryError } from '../errors.js';
import { sameBytes } from '../protocol/bytes.js';
import { decodeRecord } from './record-codec.js';
import type { CollectionInfo, JsonObject } from './types.js';

export const HISTORY_LIMITS = {
  /** Newest records of the key's partition read back at most. */
  scanRecordsMax: 20_000,
  /** Most versions one history answers (`limit` above it is an error). */
  versionsMax: 1_000,
  /** Default `limit`. */
  versionsDefault: 100,
} as const;

/** Records per read while scanning. */
const READ_RECORDS = 1_000;

export interface DocumentVersion {
  /** The offset of the write, as in `ReadResult.version`. */
  readonly version: number;
  /** When the write was appended (ms since the epoch). */
  readonly timestamp: number;
  /** The document after the write; null: deleted. */
  readonly value: JsonObject | null;
}

export interface DocumentHistory {
  readonly key: string;
  readonly partition: number;
  /** Newest first. */
  readonly versions: readonly DocumentVersion[];
  /** The first offset read: versions before it were not looked at. */
  readonly scannedFrom: number;
  /** True when the scan started at the log's earliest offset (only compaction removed versions). */
  readonly complete: boolean;
}

/** Checks a `limit` for `readHistory` (`INVALID_ARGUMENT`). */
export function checkHistoryLimit(limit: unknown): number {
  if (
    !Number.isSafeInteger(limit) ||
    (limit as number) < 1 ||
    (limit as number) > HISTORY_LIMITS.versionsMax
  ) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `limit must be an integer from 1 to ${HISTORY_LIMITS.versionsMax}, got ${String(limit)}`,
    });
  }
  return limit as number;
}

export async function readHistory(
  broker: Broker,
  info: CollectionInfo,
  key: string,
  partition: number,
  options: { readonly limit: number },
): Promise<DocumentHistory> {
  const limit = checkHistoryLimit(options.limit);
  const keyBytes = new TextEncoder().encode(key);
  const { earliest, next } = await broker.offsets(info.topic, partition);
  const scannedFrom = Math.max(earliest, next - HISTORY_LIMITS.scanRecordsMax);
  const found: DocumentVersion[] = [];
  let offset = scannedFrom;
  while (offset < next) {
    let records: Awaited<ReturnType<Broker['fetch']>>;
    try {
      records = await broker.fetch(info.topic, partition, offset, { maxRecords: READ_RECORDS });
    } catch (error) {
      // Retention or compaction moved the start meanwhile: read on from the new start.
      if (!isTributaryError(error, 'OFFSET_OUT_OF_RANGE')) throw error;
      const moved = (await broker.offsets(info.topic, partition)).earliest;
      if (moved <= offset) throw error;
      offset = moved;
      continue;
    }
    if (records.length === 0) break;
    for (const record of records) {
      if (record.offset >= next) break;
      if (record.key === null || !sameBytes(record.key, keyBytes)) continue;
      const version = versionOf(record, info);
      if (version !== undefined) found.push(version);
    }
    offset = records[records.length - 1]!.offset + 1;
  }
  found.reverse();
  return {
    key,
    partition,
    versions: found.slice(0, limit),
    scannedFrom,
    complete: scannedFrom === earliest,
  };
}

function versionOf(
  record: Parameters<typeof decodeRecord>[0],
  info: CollectionInfo,
): DocumentVersion | undefined {
  let decoded: ReturnType<typeof decodeRecord>;
  try {
    decoded = decodeRecord(record, info.mode);
  } catch (error) {
    // A record that is not the collection's (a foreign write) is skipped, as replay skips it.
    if (isTributaryError(error, 'MALFORMED_DATA')) return undefined;
    throw error;
  }
  const value =
    decoded.kind === 'doc'
      ? decoded.doc
      : decoded.kind === 'crdt'
        ? (materialize(decoded.state) ?? null)
        : null;
  return { version: record.offset, timestamp: record.timestamp, value };
}
