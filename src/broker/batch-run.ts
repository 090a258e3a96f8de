/**
 * @module broker/batch-run
 * Which stored batches a subscription behind the tail may hand over as they are
 * (`SubscribeOptions.onBatches`): from its position on, the longest run of batches all of whose
 * records it would deliver anyway. A batch ends the run when it starts before the position (part
 * of it was delivered), is compressed (a subscriber gets records, not a codec), is transactional
 * under `'committed'` (it may belong to an aborted transaction: records of those are left out one
 * by one), holds more records than one delivery may, or is larger than `bytesMax`. Control batches
 * (transaction markers) hold no records a subscriber sees: they stay in the run as gaps.
 */
import type { IsolationLevel } from '../log/types.js';
import {
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG,
  readRecordBatchHeader,
  TRANSACTIONAL_FLAG,
} from '../protocol/kafka/record-batch/index.js';

export interface RunEntry {
  /** The batch's bytes; null for a control batch (skipped: a gap in the offsets). */
  readonly bytes: Uint8Array | null;
  /** Records delivered (0 for a control batch). */
  readonly records: number;
  /** The offset after the batch. */
  readonly end: number;
}

export interface RunLimits {
  readonly isolation: IsolationLevel;
  /** Most records in one delivery. */
  readonly recordsMax: number;
  readonly bytesMax: number;
}

export interface BatchRun {
  readonly entries: RunEntry[];
  /** The offset after the batch that ended the run, if one did. */
  readonly blockedUntil: number | undefined;
}

/**
 * The run of `batches` (as `Log.readBatches` returned them from `position`) that may be handed
 * over as it is; no entries when the first batch at or after `position` may not.
 */
export function batchRun(batches: readonly Uint8Array[], position: number, limits: RunLimits): BatchRun {
  const run: RunEntry[] = [];
  let at = position;
  for (const bytes of batches) {
    // The log's own bytes, CRC-checked as they were read: the header is there.
    const header = readRecordBatchHeader(bytes, 0);
    if (header === null) break;
    const end = header.baseOffset + header.lastOffsetDelta + 1;
    if (end <= at) continue; // wholly before the position (the first batch may be)
    if (header.baseOffset < at) return { entries: run, blockedUntil: end };
    const attributes = header.attributes;
    if ((attributes & CONTROL_FLAG) !== 0) {
      run.push({ bytes: null, records: 0, end });
    } else if (
      (attributes & COMPRESSION_CODEC_MASK) !== 0 ||
      ((attributes & TRANSACTIONAL_FLAG) !== 0 && limits.isolation === 'committed') ||
      header.recordCount > limits.recordsMax ||
      bytes.byteLength > limits.bytesMax
    ) {
      return { entries: run, blockedUntil: end };
    } else {
      run.push({ bytes, records: header.recordCount, end });
    }
    at = end;
  }
  return { entries: run, blockedUntil: undefined };
}
