/**
 * @module log/file/compaction
 * Key compaction of one partition: every sealed segment is rewritten to hold only records that
 * are the latest for their key anywhere in the partition; tombstones (null values) are dropped
 * once older than `tombstoneRetentionMs`. Offsets never change. The active segment is left alone,
 * so the newest writes are never rewritten while producers append.
 *
 * Transactions: only committed records below the last stable offset count as a key's latest (a
 * record of an open or aborted transaction never supersedes a committed one), and only sealed
 * segments wholly below the LSO are rewritten. A rewrite drops records of aborted transactions
 * and the transaction markers (the state they carry is in the `.transactions.json` snapshots,
 * and recovery replays only the active segment, which compaction never touches); records of
 * committed transactions are rewritten as plain batches.
 *
 * Crash safety: the compacted copy and its index are written and fsynced as `<base>.log.cleaned`
 * and `<base>.index.cleaned`, read back and checked, then renamed over the originals, log first.
 * A crash before the log's rename leaves the originals (recovery deletes both copies); after it,
 * recovery finishes the index's rename. So a sealed segment's index always describes its log, and
 * a log shorter than its index is damage, never a compaction (see recovery.ts).
 */
import type { DecodedRecord } from '../../protocol/kafka/record-batch/index.js';
import { encodeRecordBatch, recordBatchCrcMatches } from '../../protocol/kafka/record-batch/index.js';
import type { CompactionReport } from '../types.js';
import type { FilePartition } from './partition.js';
import { CLEANED_SUFFIX } from './recovery.js';
import { corruptionError, readAllRecords, Segment, walkBatches } from './segment.js';
import { SparseIndex } from './sparse-index.js';

/** Records per batch in a rewritten segment. */
const COMPACTED_BATCH_RECORDS_MAX = 1000;

export function compactPartition(partition: FilePartition, nowMs: number): Promise<CompactionReport> {
  const run = async (): Promise<CompactionReport> => {
    const report = { recordsBefore: 0, recordsAfter: 0, bytesBefore: 0, bytesAfter: 0 };
    if (partition.isClosed()) return report;
    const sealedBefore = partition.sealedSinceCompaction;
    const { latest, scannedTo } = await latestOffsetPerKey(partition);
    const tombstoneHorizon = nowMs - partition.config.tombstoneRetentionMs;
    for (const segment of partition.segments.slice(0, -1)) {
      // Past the scan: records of an open transaction, or of a segment sealed while the scan ran
      // (rolls do not wait for compaction), whose keys' latest offsets the scan did not see.
      if (segment.nextOffset > scannedTo) break;
      const records = await readAllRecords(segment);
      const kept = records.filter(
        (r) => latest.get(keyString(r)) === r.offset && !(r.value === null && r.timestamp < tombstoneHorizon),
      );
      report.recordsBefore += records.length;
      report.recordsAfter += kept.length;
      report.bytesBefore += segment.size;
      if (kept.length === records.length) {
        report.bytesAfter += segment.size;
        continue;
      }
      const replacement = await rewriteSegment(segment, kept);
      report.bytesAfter += replacement.size;
      partition.replaceSegment(segment, replacement);
      await segment.retire({ remove: false });
    }
    // Segments sealed while this ran were not looked at: they keep the next run due.
    partition.sealedSinceCompaction -= sealedBefore;
    partition.lastCompactionMs = nowMs;
    return report;
  };
  const report = partition.maintenance.then(run);
  partition.maintenance = report.catch(() => {});
  return report;
}

/**
 * The latest offset of every key among committed records, and the offset below which every
 * committed record was seen: at least the last stable offset when the scan began.
 */
async function latestOffsetPerKey(
  partition: FilePartition,
): Promise<{ latest: Map<string, number>; scannedTo: number }> {
  const latest = new Map<string, number>();
  let offset = partition.earliest;
  const end = partition.lastStable;
  while (offset < end) {
    const records = await partition.read(offset, {
      maxRecords: 10_000,
      maxBytes: 8 * 1024 * 1024,
      isolation: 'committed',
    });
    if (records.length === 0) break;
    for (const record of records) latest.set(keyString(record), record.offset);
    offset = records[records.length - 1]!.offset + 1;
  }
  return { latest, scannedTo: Math.max(end, offset) };
}

/** Keys are compared as bytes; latin1 maps each byte to one character, so this is exact. */
function keyString(record: DecodedRecord): string {
  return record.key === null
    ? ''
    : Buffer.from(record.key.buffer, record.key.byteOffset, record.key.byteLength).toString('latin1');
}

async function rewriteSegment(segment: Segment, kept: readonly DecodedRecord[]): Promise<Segment> {
  const batches: Uint8Array[] = [];
  const index = new SparseIndex();
  let logBytes = 0;
  let maxTimestamp = -1;
  for (let i = 0; i < kept.length; i += COMPACTED_BATCH_RECORDS_MAX) {
    const group = kept.slice(i, i + COMPACTED_BATCH_RECORDS_MAX);
    const baseOffset = group[0]!.offset;
    index.observeBatch(baseOffset, logBytes, maxTimestamp);
    const batch = encodeRecordBatch({
      baseOffset,
      records: group.map((r) => ({
        offsetDelta: r.offset - baseOffset,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      })),
    });
    batches.push(batch);
    logBytes += batch.byteLength;
    for (const r of group) if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
  }
  // Keep the segment's offset range even if its last records were removed.
  const summary = { logBytes, nextOffset: segment.nextOffset, maxTimestamp };
  const cleanedLog = `${segment.logPath}${CLEANED_SUFFIX}`;
  const cleanedIndex = `${segment.indexPath}${CLEANED_SUFFIX}`;
  await segment.fs.writeFile(cleanedLog, batches);
  await checkWritten(segment, cleanedLog, logBytes);
  await segment.fs.writeFile(cleanedIndex, index.serialize(summary));
  await segment.fs.rename(cleanedLog, segment.logPath);
  await segment.fs.rename(cleanedIndex, segment.indexPath);
  return Segment.open(segment.fs, segment.dir, segment.baseOffset, index, summary);
}

/** Reads the rewritten file back and checks every batch's CRC before it replaces the original. */
async function checkWritten(segment: Segment, path: string, logBytes: number): Promise<void> {
  const bytes = await segment.fs.readFile(path);
  const walk = walkBatches(bytes, 0);
  const bad = walk.batches.find((b) => !recordBatchCrcMatches(bytes, b.at, b.header));
  if (bad !== undefined)
    throw corruptionError(segment, bad.position, 'CRC32C mismatch in the compacted copy');
  if (walk.invalid !== undefined || walk.end !== logBytes || bytes.byteLength !== logBytes) {
    throw corruptionError(segment, walk.end, `the compacted copy ${path} does not read back whole`);
  }
}
