/**
 * @module log/file/inspect
 * Read-only inspection of a data directory for the operator's `tributary data verify` and
 * `tributary data repair`: every batch's CRC in every segment (sealed ones too, which recovery
 * trusts when their index is valid), every index, and every check recovery makes for missing data
 * (docs/FORMAT.md, "Recovery" step 4). Nothing is written: no index rebuilt, no tail truncated.
 *
 * For each partition it also works out the repair an operator may ask for: truncating after the
 * last valid batch before the first damage, and what that drops.
 *
 * @example
 * const report = await inspectPartition(nodeFileSystem, dir, { compact: false });
 * for (const d of report.damage) console.log(`${d.file} at byte ${d.position}: ${d.reason}`);
 */
import { join } from 'node:path';
import { type RecordBatchHeader, recordBatchCrcMatches } from '../../protocol/kafka/record-batch/index.js';
import { parseRecoveryPoint, type RecoveryPoint, readJsonOrNull } from './checkpoint.js';
import type { LogFileSystem } from './fs.js';
import { RECOVERY_POINT_FILE, scanSegment } from './recovery.js';
import { Segment, segmentFileName, walkBatches } from './segment.js';
import { SparseIndex } from './sparse-index.js';
import { readTopicFile, type TopicFileRead } from './topic-file.js';

/** Where a partition's valid data ends: truncation cuts segment `segment` at byte `position`. */
export interface CutPoint {
  readonly segment: number;
  readonly position: number;
}

export interface Damage {
  readonly file: string;
  readonly position: number;
  readonly reason: string;
  /** The first offset that cannot be read because of it. */
  readonly fromOffset: number;
  /**
   * A torn tail past the recovery point: never acknowledged as durable; the next open truncates
   * it by itself. Anything else is damage to acknowledged data.
   */
  readonly tornTail: boolean;
  /** Where the valid data before it ends (`null`: no segment file is left at all). */
  readonly cut: CutPoint | null;
}

/** What truncating a partition after its last valid batch does. */
export interface TruncationPlan {
  /** Cut here (`null`: no segment file is left; the partition starts empty). */
  readonly cut: CutPoint | null;
  /** The partition's next offset afterwards. */
  readonly nextOffset: number;
  /** Records that are still readable but sit after the cut. */
  readonly recordsDropped: number;
  /** Batches after the cut whose CRC fails: their records cannot be counted. */
  readonly damagedBatches: number;
  /** Bytes after the cut that do not even parse as batch frames. */
  readonly unparsedBytes: number;
  /** Bytes of segment files removed or cut off (readable or not). */
  readonly bytesDropped: number;
  /** Segment files deleted whole (later than the cut). */
  readonly filesRemoved: readonly string[];
}

export interface PartitionInspection {
  readonly dir: string;
  readonly segments: number;
  readonly bytes: number;
  /** Records in valid batches. */
  readonly records: number;
  readonly damage: readonly Damage[];
  /** Set when there is damage to acknowledged data (not only a torn tail). */
  readonly truncation?: TruncationPlan;
}

export interface InspectOptions {
  /** Compacted topics may have offset gaps inside and between segments. */
  readonly compact: boolean;
  /** Called as bytes are checked (for progress bars). */
  readonly onBytes?: (bytes: number) => void;
}

interface SegmentScan {
  readonly base: number;
  readonly file: string;
  /** Bytes of batches (and damage): the file's size, less an active segment's preallocated zeros. */
  readonly size: number;
  /** Offset after the last valid batch (or what the index vouches for, if more). */
  readonly end: number;
  /** Offset after the last valid batch. */
  readonly validEnd: number;
  /** Whether an index describing this very file vouches for `end`. */
  readonly vouched: boolean;
  readonly records: number;
  readonly damage?: Damage;
  /** Past the damage in this file: what can still be told about the batches there. */
  readonly afterDamage?: AfterDamage;
}

interface AfterDamage {
  readonly records: number;
  readonly damagedBatches: number;
  readonly unparsedBytes: number;
}

/** Segment files of a partition directory, oldest first (`.cleaned` copies and `.tmp` files ignored). */
export async function listSegmentBases(fs: LogFileSystem, dir: string): Promise<number[]> {
  return (await fs.readdir(dir))
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** Total bytes of a partition's segment files. */
export async function partitionBytes(fs: LogFileSystem, dir: string): Promise<number> {
  let total = 0;
  for (const base of await listSegmentBases(fs, dir).catch(() => [] as number[]))
    total += await fs.size(join(dir, segmentFileName(base, '.log')));
  return total;
}

export async function inspectPartition(
  fs: LogFileSystem,
  dir: string,
  options: InspectOptions,
): Promise<PartitionInspection> {
  if (
    !(await fs.readdir(dir).then(
      () => true,
      () => false,
    ))
  ) {
    return missingPartition(dir);
  }
  const bases = await listSegmentBases(fs, dir);
  const point = parseRecoveryPoint(await readJsonOrNull(fs, join(dir, RECOVERY_POINT_FILE)));
  const scans: SegmentScan[] = [];
  for (let i = 0; i < bases.length; i++) {
    const active = i === bases.length - 1;
    scans.push(await scanOne(fs, dir, bases[i]!, active ? point : null, active, options));
  }
  const damage: Damage[] = [];
  for (let i = 0; i < scans.length; i++) {
    const scan = scans[i]!;
    if (scan.damage) damage.push(scan.damage);
    const next = scans[i + 1];
    if (next !== undefined && !scan.damage) {
      const gap = gapDamage(scan, next.base, options.compact);
      if (gap) damage.push(gap);
    }
  }
  const last = scans[scans.length - 1];
  const lastBase = last?.base ?? -1;
  if (point !== null && (point.segment > lastBase || (last === undefined && point.position > 0))) {
    const cut = last === undefined ? null : { segment: last.base, position: last.size };
    damage.push({
      file: join(dir, segmentFileName(point.segment, '.log')),
      position: 0,
      reason: `the file is missing, but the recovery point says its first ${point.position} bytes were durable`,
      fromOffset: last?.end ?? point.segment,
      tornTail: false,
      cut,
    });
  }
  const records = scans.reduce((sum, s) => sum + s.records, 0);
  const bytes = scans.reduce((sum, s) => sum + s.size, 0);
  const first = damage.find((d) => !d.tornTail);
  const base = { dir, segments: scans.length, bytes, records, damage };
  return first === undefined ? base : { ...base, truncation: planTruncation(dir, scans, first) };
}

/** A partition directory topic.json names but that is gone: repair starts it again, empty. */
function missingPartition(dir: string): PartitionInspection {
  const damage: Damage = {
    file: dir,
    position: 0,
    reason: 'the partition directory is missing',
    fromOffset: 0,
    tornTail: false,
    cut: null,
  };
  const truncation: TruncationPlan = {
    cut: null,
    nextOffset: 0,
    recordsDropped: 0,
    damagedBatches: 0,
    unparsedBytes: 0,
    bytesDropped: 0,
    filesRemoved: [],
  };
  return { dir, segments: 0, bytes: 0, records: 0, damage: [damage], truncation };
}

async function scanOne(
  fs: LogFileSystem,
  dir: string,
  base: number,
  point: RecoveryPoint | null,
  active: boolean,
  options: InspectOptions,
): Promise<SegmentScan> {
  const file = join(dir, segmentFileName(base, '.log'));
  const size = await fs.size(file);
  const index = active
    ? null
    : SparseIndex.deserialize(
        await fs.readFile(join(dir, segmentFileName(base, '.index'))).catch(() => new Uint8Array(0)),
      );
  const segment = await Segment.open(fs, dir, base, new SparseIndex(), {
    logBytes: size,
    nextOffset: base,
    maxTimestamp: -1,
  });
  const headers: RecordBatchHeader[] = [];
  let reported = 0;
  try {
    const scan = await scanSegment(segment, size, {
      contiguous: !options.compact,
      zeroTail: active,
      headers,
      onProgress: (bytes) => {
        options.onBytes?.(bytes - reported);
        reported = bytes;
      },
    });
    options.onBytes?.(size - reported);
    const records = headers.reduce((sum, h) => sum + h.recordCount, 0);
    const validEnd = segment.nextOffset;
    const at = (position: number, reason: string, tornTail = false): SegmentScan => ({
      base,
      file,
      size,
      end: validEnd,
      validEnd,
      vouched: false,
      records,
      damage: { file, position, reason, fromOffset: validEnd, tornTail, cut: { segment: base, position } },
    });
    if (scan.invalid) {
      const confirmed = !active ? Number.POSITIVE_INFINITY : confirmedBytes(base, point);
      const { position } = scan.invalid;
      return {
        ...at(position, scan.invalid.reason, position >= confirmed),
        afterDamage: await walkAfter(fs, file, position),
      };
    }
    if (index !== null && index.summary.logBytes > size) {
      return at(
        size,
        `the sealed segment is ${size} bytes but its index says ${index.summary.logBytes}: data up to offset ${index.summary.nextOffset - 1} is missing`,
      );
    }
    // The active segment's data may end before the file does: the rest is preallocated zeros.
    const dataBytes = scan.validBytes;
    if (active && point !== null && point.segment === base && dataBytes < point.position) {
      const end = dataBytes < size ? 'zeros start' : 'the file ends';
      return at(
        dataBytes,
        `${end} at byte ${dataBytes}, but the recovery point says ${point.position} bytes were durable`,
      );
    }
    // An index describing this very file vouches for where the segment ends (compaction may
    // have removed its last records); without one, only the batches do.
    const vouched = index !== null && index.summary.logBytes === size;
    const end = vouched ? Math.max(index.summary.nextOffset, validEnd) : validEnd;
    return { base, file, size: dataBytes, end, validEnd, vouched, records };
  } finally {
    await segment.close();
  }
}

/** Counts what follows a damaged batch, frame by frame, for the operator's decision. */
async function walkAfter(fs: LogFileSystem, file: string, position: number): Promise<AfterDamage> {
  const bytes = (await fs.readFile(file)).subarray(position);
  const walk = walkBatches(bytes, 0);
  let records = 0;
  let damagedBatches = 0;
  for (const batch of walk.batches) {
    if (recordBatchCrcMatches(bytes, batch.at, batch.header)) records += batch.header.recordCount;
    else damagedBatches++;
  }
  return { records, damagedBatches, unparsedBytes: bytes.byteLength - walk.end };
}

function gapDamage(scan: SegmentScan, nextBase: number, compact: boolean): Damage | undefined {
  const exact = !compact || scan.vouched;
  if (nextBase === scan.end || (!exact && nextBase > scan.end)) return undefined;
  const reason =
    nextBase > scan.end
      ? `offsets ${scan.end} to ${nextBase - 1} are missing: no segment file holds them (the next file starts at ${nextBase})`
      : `the segment ends at offset ${scan.end - 1} but the next file starts at ${nextBase}`;
  return {
    file: scan.file,
    position: scan.size,
    reason,
    fromOffset: scan.end,
    tornTail: false,
    cut: { segment: scan.base, position: scan.size },
  };
}

function confirmedBytes(base: number, point: RecoveryPoint | null): number {
  if (point === null || point.segment < base) return 0;
  if (point.segment > base) return Number.POSITIVE_INFINITY;
  return point.position;
}

function planTruncation(dir: string, scans: readonly SegmentScan[], first: Damage): TruncationPlan {
  const { cut } = first;
  let recordsDropped = 0;
  let damagedBatches = 0;
  let unparsedBytes = 0;
  let bytesDropped = 0;
  let nextOffset = 0;
  const filesRemoved: string[] = [];
  for (const scan of scans) {
    if (cut !== null && scan.base < cut.segment) continue;
    if (cut !== null && scan.base === cut.segment) {
      // The batches before the cut stay; the engine's next offset follows the last of them.
      bytesDropped += scan.size - cut.position;
      nextOffset = scan.validEnd;
    } else {
      recordsDropped += scan.records;
      bytesDropped += scan.size;
      filesRemoved.push(join(dir, segmentFileName(scan.base, '.log')));
    }
    recordsDropped += scan.afterDamage?.records ?? 0;
    damagedBatches += scan.afterDamage?.damagedBatches ?? 0;
    unparsedBytes += scan.afterDamage?.unparsedBytes ?? 0;
  }
  return { cut, nextOffset, recordsDropped, damagedBatches, unparsedBytes, bytesDropped, filesRemoved };
}

/** A topic directory of a data directory, as found on disk. */
export interface StoredTopic {
  readonly name: string;
  readonly dir: string;
  /** Its configuration, or why `topic.json` cannot be used. */
  readonly topicFile: TopicFileRead;
  /** Partition numbers: those topic.json names (even if their directory is missing) and any directory found, in order. */
  readonly partitions: readonly number[];
}

/** The topics of a data directory (leftovers of deletions and stray files left out). */
export async function listStoredTopics(fs: LogFileSystem, dataDir: string): Promise<StoredTopic[]> {
  const topicsDir = join(dataDir, 'topics');
  const names = (await fs.readdir(topicsDir).catch(() => [] as string[])).filter(
    (n) => !n.startsWith('.deleting-'),
  );
  const topics: StoredTopic[] = [];
  for (const name of names.sort()) {
    const dir = join(topicsDir, name);
    const entries = await fs.readdir(dir).catch(() => null);
    if (entries === null) continue;
    const partitions = entries
      .filter((n) => /^(0|[1-9]\d*)$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    const topicFile = await readTopicFile(fs, dir);
    // The partitions topic.json names, missing directories included, and any others found.
    const named =
      'config' in topicFile ? Array.from({ length: topicFile.config.partitions }, (_, p) => p) : [];
    const all = [...new Set([...named, ...partitions])].sort((a, b) => a - b);
    topics.push({ name, dir, topicFile, partitions: all });
  }
  return topics;
}
