/**
 * @module log/file/recovery
 * Opens a partition's segments after a clean or an unclean stop. Rules (docs/FORMAT.md):
 * - sealed segments with a valid index file are trusted as they are (they were fsynced when sealed);
 *   without one they are scanned, and any damage is an error: their data was acknowledged;
 * - the active (last) segment is always scanned and every batch's CRC checked. Damage at or after
 *   the recovery point is a torn tail from the crash: the file is truncated there. Damage before
 *   it is corruption of acknowledged data: opening fails with CORRUPT_LOG naming file and byte.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type RecordBatchHeader, recordBatchCrcMatches } from '../../protocol/kafka/record-batch/index.js';
import { parseRecoveryPoint, type RecoveryPoint, readJsonOrNull } from './checkpoint.js';
import type { LogFileSystem } from './fs.js';
import { corruptionError, Segment, segmentFileName } from './segment.js';
import { SparseIndex } from './sparse-index.js';

export const RECOVERY_POINT_FILE = 'recovery-point.json';
const SCAN_CHUNK_BYTES = 1024 * 1024;

export interface RecoveredPartition {
  readonly segments: Segment[];
  /** Batch headers of the active segment, in order, to rebuild producer state. */
  readonly activeHeaders: RecordBatchHeader[];
  readonly truncatedBytes: number;
}

export async function recoverPartition(
  fs: LogFileSystem,
  dir: string,
  logger: Logger,
): Promise<RecoveredPartition> {
  const names = await fs.readdir(dir);
  // Leftovers of an interrupted index write or compaction: the originals are still in place.
  await Promise.all(
    names.filter((n) => n.endsWith('.tmp') || n.endsWith('.cleaned')).map((n) => fs.rm(join(dir, n))),
  );
  const bases = names
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
  if (bases.length === 0)
    return { segments: [await Segment.create(fs, dir, 0)], activeHeaders: [], truncatedBytes: 0 };

  const segments: Segment[] = [];
  try {
    for (const base of bases.slice(0, -1)) segments.push(await openSealedSegment(fs, dir, base, logger));
    const recoveryPoint = parseRecoveryPoint(await readJsonOrNull(fs, join(dir, RECOVERY_POINT_FILE)));
    const activeBase = bases[bases.length - 1]!;
    const active = await recoverActiveSegment(fs, dir, activeBase, recoveryPoint, logger);
    segments.push(active.segment);
    return { segments, activeHeaders: active.headers, truncatedBytes: active.truncatedBytes };
  } catch (error) {
    await Promise.all(segments.map((s) => s.close().catch(() => {})));
    throw error;
  }
}

async function openSealedSegment(
  fs: LogFileSystem,
  dir: string,
  base: number,
  logger: Logger,
): Promise<Segment> {
  const logBytes = await fs.size(join(dir, segmentFileName(base, '.log')));
  const parsed = SparseIndex.deserialize(
    await readFileOrEmpty(fs, join(dir, segmentFileName(base, '.index'))),
  );
  if (parsed !== null && parsed.summary.logBytes === logBytes) {
    return Segment.open(fs, dir, base, parsed.index, parsed.summary);
  }
  logger.warn({ dir, segment: base }, 'rebuilding a missing or stale segment index');
  const segment = await Segment.open(fs, dir, base, new SparseIndex(), {
    logBytes,
    nextOffset: base,
    maxTimestamp: -1,
  });
  try {
    const scan = await scanSegment(segment, logBytes);
    if (scan.invalid) throw corruptionError(segment, scan.invalid.position, scan.invalid.reason);
    await segment.writeIndexFile();
    return segment;
  } catch (error) {
    await segment.close();
    throw error;
  }
}

async function recoverActiveSegment(
  fs: LogFileSystem,
  dir: string,
  base: number,
  recoveryPoint: RecoveryPoint | null,
  logger: Logger,
): Promise<{ segment: Segment; headers: RecordBatchHeader[]; truncatedBytes: number }> {
  const logBytes = await fs.size(join(dir, segmentFileName(base, '.log')));
  const segment = await Segment.open(fs, dir, base, new SparseIndex(), {
    logBytes,
    nextOffset: base,
    maxTimestamp: -1,
  });
  try {
    const headers: RecordBatchHeader[] = [];
    const scan = await scanSegment(segment, logBytes, headers);
    let truncatedBytes = 0;
    if (scan.invalid) {
      const { position, reason } = scan.invalid;
      if (position < confirmedBytes(base, recoveryPoint)) throw corruptionError(segment, position, reason);
      truncatedBytes = logBytes - position;
      logger.warn(
        { file: segment.logPath, position, truncatedBytes, reason },
        'truncating an unacknowledged torn tail left by a crash',
      );
      await segment.truncate(position);
    }
    return { segment, headers, truncatedBytes };
  } catch (error) {
    await segment.close();
    throw error;
  }
}

/** Bytes of the active segment known to be durable. */
function confirmedBytes(base: number, point: RecoveryPoint | null): number {
  if (point === null || point.segment < base) return 0;
  if (point.segment > base) return Number.POSITIVE_INFINITY;
  return point.position;
}

interface ScanResult {
  readonly validBytes: number;
  readonly invalid?: { readonly position: number; readonly reason: string };
}

/** Walks every batch of a segment, checking CRCs and offset order, and indexes it. */
export async function scanSegment(
  segment: Segment,
  logBytes: number,
  headers?: RecordBatchHeader[],
): Promise<ScanResult> {
  let position = 0;
  while (position < logBytes) {
    const chunk = await segment.readChunk(position, logBytes, SCAN_CHUNK_BYTES);
    for (const batch of chunk.batches) {
      const { header } = batch;
      if (!recordBatchCrcMatches(chunk.bytes, batch.at, header)) {
        return {
          validBytes: batch.position,
          invalid: { position: batch.position, reason: 'CRC32C mismatch' },
        };
      }
      if (header.baseOffset < segment.nextOffset || header.recordCount === 0) {
        const reason = `batch offset ${header.baseOffset} is not after ${segment.nextOffset - 1}`;
        return { validBytes: batch.position, invalid: { position: batch.position, reason } };
      }
      segment.noteBatch(batch.position, header);
      headers?.push(header);
    }
    if (chunk.invalid) return { validBytes: chunk.end, invalid: chunk.invalid };
    position = chunk.end;
  }
  return { validBytes: position };
}

async function readFileOrEmpty(fs: LogFileSystem, path: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(path);
  } catch {
    return new Uint8Array(0);
  }
}
