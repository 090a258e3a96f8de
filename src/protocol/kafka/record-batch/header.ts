/**
 * @module protocol/kafka/record-batch/header
 * The fixed 61-byte header of a Kafka RecordBatch v2 (magic 2), Tributary's on-disk batch
 * format: reading and sanity-checking it, verifying the CRC and re-stamping the base offset.
 *
 * Layout (big-endian): baseOffset int64 @0, batchLength int32 @8 (bytes after this field),
 * partitionLeaderEpoch int32 @12, magic int8 @16, crc uint32 @17 (CRC-32C of bytes 21..end),
 * attributes int16 @21, lastOffsetDelta int32 @23, baseTimestamp int64 @27,
 * maxTimestamp int64 @35, producerId int64 @43, producerEpoch int16 @51, baseSequence int32 @53,
 * recordCount int32 @57, then the records.
 */

import { crc32c } from '../primitives/crc32c.js';
import { invalidArgument, malformed } from '../primitives/errors.js';

export const RECORD_BATCH_HEADER_BYTES = 61;

/** Bytes of baseOffset + batchLength, which `batchLength` does not count. */
export const BATCH_LOG_OVERHEAD = 12;
/** Where the CRC-covered part starts (attributes). */
export const CRC_START = 21;
export const CRC_OFFSET = 17;
/** The only magic this module reads and writes. */
export const MAGIC_V2 = 2;
/** attributes bits 0-2. */
export const COMPRESSION_CODEC_MASK = 0x07;
/** attributes bit 3: 0 = CreateTime, 1 = LogAppendTime. */
export const TIMESTAMP_TYPE_FLAG = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

const WHAT = 'record batch';
const TWO_32 = 4294967296;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Total bytes of the batch on the wire / on disk = 12 + batchLength. */
export function recordBatchSize(header: RecordBatchHeader): number {
  return BATCH_LOG_OVERHEAD + header.batchLength;
}

// Fixed-offset reads straight off the Uint8Array: no DataView (one allocation per batch saved)
// and no cursor; V8 compiles these to a few loads and shifts.
function int16At(b: Uint8Array, p: number): number {
  return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
}

function int32At(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

function int64At(b: Uint8Array, p: number, position: number, field: string): number {
  const v = int32At(b, p) * TWO_32 + (int32At(b, p + 4) >>> 0);
  if (v > MAX_SAFE || v < -MAX_SAFE) {
    throw malformed(WHAT, `${field} at byte ${position} is outside the safe integer range`);
  }
  return v;
}

/**
 * Reads the fixed header at `position`; `null` if fewer than 61 bytes remain (a torn tail).
 * Throws `MALFORMED_DATA` for values no valid batch has: magic ≠ 2, batchLength < 49, a negative
 * or impossible baseOffset, recordCount < 0, lastOffsetDelta < 0 with records, or more records
 * than offsets (recordCount > lastOffsetDelta + 1).
 */
export function readRecordBatchHeader(buf: Uint8Array, position: number): RecordBatchHeader | null {
  if (!(Number.isInteger(position) && position >= 0)) {
    throw invalidArgument(`batch position must be a non-negative integer, got ${position}`);
  }
  if (buf.length - position < RECORD_BATCH_HEADER_BYTES) return null;
  const magic = (buf[position + 16]! << 24) >> 24;
  if (magic !== MAGIC_V2) {
    throw malformed(WHAT, `magic at byte ${position + 16} is ${magic}, only 2 is supported`);
  }
  const batchLength = int32At(buf, position + 8);
  if (batchLength < RECORD_BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD) {
    throw malformed(WHAT, `batchLength ${batchLength} at byte ${position + 8} is less than 49`);
  }
  const baseOffset = int64At(buf, position, position, 'baseOffset');
  if (baseOffset < 0) throw malformed(WHAT, `baseOffset ${baseOffset} at byte ${position} is negative`);
  const lastOffsetDelta = int32At(buf, position + 23);
  const recordCount = int32At(buf, position + 57);
  if (recordCount < 0) {
    throw malformed(WHAT, `recordCount ${recordCount} at byte ${position + 57} is negative`);
  }
  if (recordCount > 0 && lastOffsetDelta < 0) {
    throw malformed(
      WHAT,
      `lastOffsetDelta ${lastOffsetDelta} is negative in a batch of ${recordCount} records`,
    );
  }
  if (recordCount > lastOffsetDelta + 1 && recordCount > 0) {
    throw malformed(WHAT, `${recordCount} records cannot fit in ${lastOffsetDelta + 1} offsets`);
  }
  if (baseOffset + lastOffsetDelta > MAX_SAFE) {
    throw malformed(WHAT, `last offset ${baseOffset} + ${lastOffsetDelta} is outside the safe integer range`);
  }
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: int32At(buf, position + 12),
    magic,
    crc: int32At(buf, position + CRC_OFFSET) >>> 0,
    attributes: int16At(buf, position + 21),
    lastOffsetDelta,
    baseTimestamp: int64At(buf, position + 27, position + 27, 'baseTimestamp'),
    maxTimestamp: int64At(buf, position + 35, position + 35, 'maxTimestamp'),
    producerId: int64At(buf, position + 43, position + 43, 'producerId'),
    producerEpoch: int16At(buf, position + 51),
    baseSequence: int32At(buf, position + 53),
    recordCount,
  };
}

/** Throws `MALFORMED_DATA` unless the whole batch `header` describes lies in `buf` at `position`. */
export function assertWholeBatch(buf: Uint8Array, position: number, header: RecordBatchHeader): number {
  const end = position + BATCH_LOG_OVERHEAD + header.batchLength;
  if (!(position >= 0 && end <= buf.length)) {
    throw malformed(
      WHAT,
      `batch at byte ${position} needs ${BATCH_LOG_OVERHEAD + header.batchLength} bytes, the buffer ends at ${buf.length}`,
    );
  }
  return end;
}

/**
 * CRC-32C of bytes [position + 21, position + recordBatchSize) compared to `header.crc`.
 * The whole batch must be in `buf` (`MALFORMED_DATA` otherwise).
 */
export function recordBatchCrcMatches(buf: Uint8Array, position: number, header: RecordBatchHeader): boolean {
  const end = assertWholeBatch(buf, position, header);
  return crc32c(buf, position + CRC_START, end) === header.crc;
}

/** Rewrites baseOffset in place (bytes 0-7); the CRC does not cover it so it stays valid. */
export function writeBaseOffset(buf: Uint8Array, position: number, baseOffset: number): void {
  if (!(Number.isSafeInteger(baseOffset) && baseOffset >= 0)) {
    throw invalidArgument(`baseOffset must be a non-negative safe integer, got ${baseOffset}`);
  }
  if (!(Number.isInteger(position) && position >= 0 && position + 8 <= buf.length)) {
    throw invalidArgument(`no room for a baseOffset at byte ${position} of ${buf.length}`);
  }
  writeInt64At(buf, position, baseOffset);
}

/** Big-endian int64 of a safe integer at `p` (bounds already checked). */
export function writeInt64At(b: Uint8Array, p: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  writeInt32At(b, p, hi);
  writeInt32At(b, p + 4, lo);
}

/** Big-endian int32 (or uint32 bit pattern) at `p` (bounds already checked). */
export function writeInt32At(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}
