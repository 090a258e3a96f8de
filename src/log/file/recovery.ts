/**
 * @module log/file/recovery
 * Opens a partition's segments after a clean or an unclean stop. Rules (docs/FORMAT.md):
 * - sealed segments with a valid index file are trusted as they are (they were fsynced when sealed);
 *   without one they are scanned, and any damage is an error: their data was acknowledged;
 * - the active (last) segment is scanned and every batch's CRC checked, unless the partition was
 *   stopped cleanly: then the recovery point carries a clean-stop record (`CleanStop`) and the
 *   segment, exactly as long as its index file says, is opened from that index like a sealed one,
 *   with the producer and transaction state the record holds. Otherwise, damage at or after
 *   the recovery point is a torn tail from the crash: the file is truncated there. Damage before
 *   it is corruption of acknowledged data: opening fails with CORRUPT_LOG naming file and byte.
 *   Zeros from the end of the last batch to the end of the file are a preallocated tail
 *   (`fsync: 'always'`), not damage: the data ends there, and the zeros stay for the next appends;
 * - data that is simply missing is corruption too, never a gap to skip: a sealed segment shorter
 *   than its index says, offsets between one segment's end and the next segment's base (on a
 *   compacted topic only where no index vouches for the segment's end, since compaction may drop
 *   a segment's last records), a segment file missing at the end, an active segment shorter than
 *   the recovery point. Offsets of a non-compacted topic are contiguous inside a segment too.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.js';
import {
  CONTROL_FLAG,
  decodeRecordBatchRecords,
  type RecordBatchHeader,
  recordBatchCrcMatches,
} from '../../protocol/kafka/record-batch/index.js';
import { parseControlRecordKey } from '../control-batch.js';
import { type CleanStop, parseRecoveryPoint, type RecoveryPoint, readJsonOrNull } from './checkpoint.js';
import type { LogFileSystem } from './fs.js';
import { corruptionError, Segment, segmentFileName } from './segment.js';
import { SparseIndex } from './sparse-index.js';

export const RECOVERY_POINT_FILE = 'recovery-point.json';
/** Transaction state as of a segment's start (`<base>.transactions.json`), written when it rolls. */
export const TRANSACTIONS_FILE_EXTENSION = '.transactions.json';
/** Suffix of a compaction's rewritten files before they are renamed over the originals. */
export const CLEANED_SUFFIX = '.cleaned';
const SCAN_CHUNK_BYTES = 1024 * 1024;

export interface RecoverOptions {
  /** Compacted topics may have offset gaps inside and between segments. */
  readonly compact: boolean;
  /** Zeros the active segment keeps ahead of its data (see `Segment.preallocate`). Default 0. */
  readonly preallocateBytes?: number;
  /** Scan the active segment even after a clean stop (its clean-stop record could not be used). */
  readonly ignoreCleanStop?: boolean;
}

export interface RecoveredPartition {
  readonly segments: Segment[];
  /** Batch headers of the active segment, in order, to rebuild producer state. */
  readonly activeHeaders: RecordBatchHeader[];
  /** COMMIT (true) or ABORT (false) of each control batch of the active segment, by offset. */
  readonly activeMarkers: Map<number, boolean>;
  readonly truncatedBytes: number;
  /**
   * Set when the active segment was opened from a clean stop without a scan: the producer and
   * transaction state as of its end (`activeHeaders` and `activeMarkers` are then empty).
   */
  readonly clean?: CleanStop;
}

export async function recoverPartition(
  fs: LogFileSystem,
  dir: string,
  logger: Logger,
  options: RecoverOptions,
): Promise<RecoveredPartition> {
  const bases = await segmentBases(fs, dir);
  const recoveryPoint = parseRecoveryPoint(await readJsonOrNull(fs, join(dir, RECOVERY_POINT_FILE)));
  if (bases.length === 0) {
    if (recoveryPoint !== null && (recoveryPoint.segment > 0 || recoveryPoint.position > 0))
      throw missingSegmentError(dir, recoveryPoint);
    return {
      segments: [await Segment.create(fs, dir, 0, options.preallocateBytes)],
      activeHeaders: [],
      activeMarkers: new Map(),
      truncatedBytes: 0,
    };
  }
  const activeBase = bases[bases.length - 1]!;
  if (recoveryPoint !== null && recoveryPoint.segment > activeBase)
    throw missingSegmentError(dir, recoveryPoint);

  const segments: Segment[] = [];
  try {
    for (let i = 0; i < bases.length - 1; i++) {
      segments.push(await openSealedSegment(fs, dir, bases[i]!, bases[i + 1]!, options, logger));
    }
    const clean = options.ignoreCleanStop ? undefined : recoveryPoint?.clean;
    const cleanSegment =
      clean !== undefined && recoveryPoint!.segment === activeBase
        ? await openCleanActiveSegment(fs, dir, activeBase, recoveryPoint!.position, options)
        : undefined;
    if (clean !== undefined && cleanSegment !== undefined) {
      segments.push(cleanSegment);
      return { segments, activeHeaders: [], activeMarkers: new Map(), truncatedBytes: 0, clean };
    }
    const active = await recoverActiveSegment(fs, dir, activeBase, recoveryPoint, options, logger);
    segments.push(active.segment);
    return {
      segments,
      activeHeaders: active.headers,
      activeMarkers: active.markers,
      truncatedBytes: active.truncatedBytes,
    };
  } catch (error) {
    await Promise.all(segments.map((s) => s.close().catch(() => {})));
    throw error;
  }
}

/**
 * Base offsets of the partition's segment files, in order, after clearing what an interrupted
 * index write or compaction left. A compaction renames `<base>.log.cleaned` and then
 * `<base>.index.cleaned` over the originals: with the log renamed, the new index is finished
 * here; before that, both copies are dropped and the originals stay.
 */
export async function segmentBases(fs: LogFileSystem, dir: string): Promise<number[]> {
  const names = await fs.readdir(dir);
  for (const name of names) {
    if (!name.endsWith(`.index${CLEANED_SUFFIX}`)) continue;
    const base = name.slice(0, -`.index${CLEANED_SUFFIX}`.length);
    const logRenamed = !names.includes(`${base}.log${CLEANED_SUFFIX}`);
    if (logRenamed) await fs.rename(join(dir, name), join(dir, `${base}.index`));
  }
  await Promise.all(
    names.filter((n) => n.endsWith('.tmp') || n.endsWith(CLEANED_SUFFIX)).map((n) => fs.rm(join(dir, n))),
  );
  return names
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

async function openSealedSegment(
  fs: LogFileSystem,
  dir: string,
  base: number,
  nextBase: number,
  options: RecoverOptions,
  logger: Logger,
): Promise<Segment> {
  const logBytes = await fs.size(join(dir, segmentFileName(base, '.log')));
  const parsed = SparseIndex.deserialize(
    await readFileOrEmpty(fs, join(dir, segmentFileName(base, '.index'))),
  );
  if (parsed !== null && parsed.summary.logBytes > logBytes) {
    // A sealed segment never shrinks (compaction installs its index with the rewritten file).
    const { nextOffset } = parsed.summary;
    throw new TributaryError('CORRUPT_LOG', {
      file: join(dir, segmentFileName(base, '.log')),
      position: logBytes,
      reason:
        `the sealed segment is ${logBytes} bytes but its index says ${parsed.summary.logBytes}: ` +
        `data up to offset ${nextOffset - 1} is missing`,
    });
  }
  if (parsed !== null && parsed.summary.logBytes === logBytes) {
    const segment = await Segment.open(fs, dir, base, parsed.index, parsed.summary);
    try {
      checkSegmentEnd(segment, nextBase, true);
    } catch (error) {
      await segment.close();
      throw error;
    }
    return segment;
  }
  logger.warn({ dir, segment: base }, 'rebuilding a missing or stale segment index');
  const segment = await Segment.open(fs, dir, base, new SparseIndex(), {
    logBytes,
    nextOffset: base,
    maxTimestamp: -1,
  });
  try {
    const scan = await scanSegment(segment, logBytes, { contiguous: !options.compact });
    if (scan.invalid) throw corruptionError(segment, scan.invalid.position, scan.invalid.reason);
    // Without an index, a compacted segment's end is only known from the next one's base.
    checkSegmentEnd(segment, nextBase, !options.compact);
    segment.nextOffset = nextBase;
    await segment.writeIndexFile();
    return segment;
  } catch (error) {
    await segment.close();
    throw error;
  }
}

/**
 * A sealed segment ends where the next one starts: offsets between them were in a file that is
 * now missing (or shortened). Not `exact`: a compacted segment whose index is gone may end early.
 */
function checkSegmentEnd(segment: Segment, nextBase: number, exact: boolean): void {
  const end = segment.nextOffset;
  if (nextBase === end || (!exact && nextBase > end)) return;
  const next = segmentFileName(nextBase, '.log');
  const reason =
    nextBase > end
      ? `offsets ${end} to ${nextBase - 1} are missing: the segment ends at offset ${end - 1} and the next file, ${next}, starts at ${nextBase}`
      : `the segment ends at offset ${end - 1} but the next file, ${next}, starts at ${nextBase}`;
  throw corruptionError(segment, segment.size, reason);
}

function missingSegmentError(dir: string, point: RecoveryPoint): TributaryError {
  return new TributaryError('CORRUPT_LOG', {
    file: join(dir, segmentFileName(point.segment, '.log')),
    position: 0,
    reason:
      `the file is missing, but the recovery point says its first ${point.position} bytes were durable: ` +
      `offsets from ${point.segment} on are lost`,
  });
}

/**
 * The active segment of a cleanly stopped partition, opened from its index file without a scan;
 * undefined (scan it) unless the file and its index both end exactly where the clean stop said.
 */
async function openCleanActiveSegment(
  fs: LogFileSystem,
  dir: string,
  base: number,
  position: number,
  options: RecoverOptions,
): Promise<Segment | undefined> {
  const logBytes = await fs.size(join(dir, segmentFileName(base, '.log')));
  if (logBytes !== position) return undefined;
  const parsed = SparseIndex.deserialize(
    await readFileOrEmpty(fs, join(dir, segmentFileName(base, '.index'))),
  );
  if (parsed === null || parsed.summary.logBytes !== logBytes) return undefined;
  return Segment.open(fs, dir, base, parsed.index, parsed.summary, options.preallocateBytes);
}

async function recoverActiveSegment(
  fs: LogFileSystem,
  dir: string,
  base: number,
  recoveryPoint: RecoveryPoint | null,
  options: RecoverOptions,
  logger: Logger,
): Promise<{
  segment: Segment;
  headers: RecordBatchHeader[];
  markers: Map<number, boolean>;
  truncatedBytes: number;
}> {
  const logBytes = await fs.size(join(dir, segmentFileName(base, '.log')));
  const segment = await Segment.open(
    fs,
    dir,
    base,
    new SparseIndex(),
    { logBytes, nextOffset: base, maxTimestamp: -1 },
    options.preallocateBytes,
  );
  try {
    const headers: RecordBatchHeader[] = [];
    const markers = new Map<number, boolean>();
    const scan = await scanSegment(segment, logBytes, {
      contiguous: !options.compact,
      headers,
      markers,
      zeroTail: true,
    });
    const confirmed = confirmedBytes(base, recoveryPoint);
    let truncatedBytes = 0;
    if (scan.invalid) {
      const { position, reason } = scan.invalid;
      if (position < confirmed) throw corruptionError(segment, position, reason);
      truncatedBytes = logBytes - position;
      logger.warn(
        { file: segment.logPath, position, truncatedBytes, reason },
        'truncating an unacknowledged torn tail left by a crash',
      );
      await segment.truncate(position);
    } else if (scan.validBytes < confirmed && Number.isFinite(confirmed)) {
      const end = scan.zeroTailBytes === undefined ? 'the file ends' : 'zeros start';
      throw corruptionError(
        segment,
        scan.validBytes,
        `${end} at byte ${scan.validBytes} (after offset ${segment.nextOffset - 1}), but the recovery point ` +
          `says ${confirmed} bytes were durable: acknowledged records after it are missing`,
      );
    }
    if (scan.zeroTailBytes !== undefined) segment.endDataAt(scan.validBytes);
    return { segment, headers, markers, truncatedBytes };
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

export interface ScanResult {
  /** Where the last valid batch ends. */
  readonly validBytes: number;
  readonly invalid?: { readonly position: number; readonly reason: string };
  /** Set when only zeros follow the last valid batch, to the end of the file: a preallocated tail. */
  readonly zeroTailBytes?: number;
}

export interface ScanOptions {
  /** Each batch must start right after the previous one's last offset (topics without compaction). */
  readonly contiguous: boolean;
  /** Receives the header of every valid batch, in order. */
  readonly headers?: RecordBatchHeader[];
  /** Receives COMMIT (true) / ABORT (false) of every valid transaction marker, by offset. */
  readonly markers?: Map<number, boolean>;
  /**
   * Zeros from the last valid batch to the end of the file end the data (the active segment's
   * preallocated tail) instead of being invalid. Sealed segments are exactly their batches.
   */
  readonly zeroTail?: boolean;
  /** Called after each chunk with the bytes scanned so far (progress reports). */
  readonly onProgress?: (scannedBytes: number) => void;
}

/** Walks every batch of a segment, checking CRCs and offset order, and indexes it. */
export async function scanSegment(
  segment: Segment,
  logBytes: number,
  options: ScanOptions,
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
      const expected = segment.nextOffset;
      if (header.baseOffset < expected || header.recordCount === 0) {
        const reason = `batch offset ${header.baseOffset} is not after ${expected - 1}`;
        return { validBytes: batch.position, invalid: { position: batch.position, reason } };
      }
      if (options.contiguous && header.baseOffset !== expected) {
        const reason = `offsets ${expected} to ${header.baseOffset - 1} are missing before this batch`;
        return { validBytes: batch.position, invalid: { position: batch.position, reason } };
      }
      segment.noteBatch(batch.position, header);
      options.headers?.push(header);
      if (options.markers !== undefined && (header.attributes & CONTROL_FLAG) !== 0) {
        const marker = readMarker(chunk.bytes, batch.at, header);
        if (marker !== null) options.markers.set(header.baseOffset, marker.commit);
      }
    }
    if (chunk.invalid) {
      // A batch never starts with a zero byte where its magic is, so zeros to the end of the file
      // are no batch at all: the end of the data, with preallocated space after it.
      if (options.zeroTail && (await segment.zerosFrom(chunk.invalid.position, logBytes))) {
        return { validBytes: chunk.invalid.position, zeroTailBytes: logBytes - chunk.invalid.position };
      }
      return { validBytes: chunk.end, invalid: chunk.invalid };
    }
    position = chunk.end;
    options.onProgress?.(position);
  }
  return { validBytes: position };
}

/** The COMMIT/ABORT of a (CRC-checked) control batch; `null` for unknown control records. */
function readMarker(bytes: Uint8Array, at: number, header: RecordBatchHeader): { commit: boolean } | null {
  try {
    const [record] = decodeRecordBatchRecords(bytes, at, header);
    return parseControlRecordKey(record?.key ?? null);
  } catch {
    return null; // a control batch Tributary cannot decode (compressed): not a marker it wrote
  }
}

async function readFileOrEmpty(fs: LogFileSystem, path: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(path);
  } catch {
    return new Uint8Array(0);
  }
}
