/**
 * @module log/file/compaction
 * Key compaction of one partition: every sealed segment is rewritten to hold only records that
 * are the latest for their key anywhere in the partition; tombstones (null values) are dropped
 * once older than `tombstoneRetentionMs`. Offsets never change. The active segment is left alone,
 * so the newest writes are never rewritten while producers append.
 *
 * Crash safety: the compacted copy is written and fsynced as `<base>.log.cleaned`, then renamed
 * over the original (atomic). A crash before the rename leaves the original; recovery deletes
 * the leftover copy. A stale index after the rename is detected (size mismatch) and rebuilt.
 */
import type { DecodedRecord } from '../../protocol/kafka/record-batch/index.js';
import { encodeRecordBatch } from '../../protocol/kafka/record-batch/index.js';
import type { CompactionReport } from '../types.js';
import type { FilePartition } from './partition.js';
import { scanSegment } from './recovery.js';
import { corruptionError, readAllRecords, Segment } from './segment.js';
import { SparseIndex } from './sparse-index.js';

/** Records per batch in a rewritten segment. */
const COMPACTED_BATCH_RECORDS_MAX = 1000;

export function compactPartition(partition: FilePartition, nowMs: number): Promise<CompactionReport> {
  const run = async (): Promise<CompactionReport> => {
    const report = { recordsBefore: 0, recordsAfter: 0, bytesBefore: 0, bytesAfter: 0 };
    if (partition.isClosed()) return report;
    const sealedBefore = partition.sealedSinceCompaction;
    const latest = await latestOffsetPerKey(partition);
    const tombstoneHorizon = nowMs - partition.config.tombstoneRetentionMs;
    for (const segment of partition.segments.slice(0, -1)) {
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

async function latestOffsetPerKey(partition: FilePartition): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  let offset = partition.earliest;
  const end = partition.next;
  while (offset < end) {
    const records = await partition.read(offset, { maxRecords: 10_000, maxBytes: 8 * 1024 * 1024 });
    if (records.length === 0) break;
    for (const record of records) latest.set(keyString(record), record.offset);
    offset = records[records.length - 1]!.offset + 1;
  }
  return latest;
}

/** Keys are compared as bytes; latin1 maps each byte to one character, so this is exact. */
function keyString(record: DecodedRecord): string {
  return record.key === null
    ? ''
    : Buffer.from(record.key.buffer, record.key.byteOffset, record.key.byteLength).toString('latin1');
}

async function rewriteSegment(segment: Segment, kept: readonly DecodedRecord[]): Promise<Segment> {
  const batches: Uint8Array[] = [];
  for (let i = 0; i < kept.length; i += COMPACTED_BATCH_RECORDS_MAX) {
    const group = kept.slice(i, i + COMPACTED_BATCH_RECORDS_MAX);
    const baseOffset = group[0]!.offset;
    batches.push(
      encodeRecordBatch({
        baseOffset,
        records: group.map((r) => ({
          offsetDelta: r.offset - baseOffset,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: r.headers,
        })),
      }),
    );
  }
  const cleanedPath = `${segment.logPath}.cleaned`;
  await segment.fs.writeFile(cleanedPath, batches);
  await segment.fs.rename(cleanedPath, segment.logPath);
  const logBytes = batches.reduce((sum, b) => sum + b.byteLength, 0);
  const replacement = await Segment.open(segment.fs, segment.dir, segment.baseOffset, new SparseIndex(), {
    logBytes,
    nextOffset: segment.baseOffset,
    maxTimestamp: -1,
  });
  const scan = await scanSegment(replacement, logBytes);
  if (scan.invalid) throw corruptionError(replacement, scan.invalid.position, scan.invalid.reason);
  // Keep the segment's offset range even if its last records were removed.
  replacement.nextOffset = Math.max(replacement.nextOffset, segment.nextOffset);
  await replacement.writeIndexFile();
  return replacement;
}
