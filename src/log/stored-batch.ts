/**
 * @module log/stored-batch
 * RecordBatch v2 bytes kept as a Kafka client sent them (`Log.appendEncoded`), shared by every
 * engine: checking a batch before it is stored, and decoding the records of any stored batch,
 * compressed or not.
 *
 * A batch is stored only if every reader can decode it later: the header is sane, the CRC-32C
 * matches, the records (decompressed if need be) decode exactly, their offsets are 0, 1, 2, …
 * with `recordCount = lastOffsetDelta + 1`, and every timestamp is a CreateTime ≥ 0. What the
 * log then changes is what Kafka's broker changes on append: the base offset and the partition
 * leader epoch (outside the CRC), and a wrong `maxTimestamp` (which Kafka corrects too, CRC and
 * all). Everything else, compression included, is stored byte for byte.
 *
 * @example
 * const checked = checkEncodedBatch(bytes, { compact: false });
 * // … assign offsets, then store checked.bytes (a copy of its own)
 */

import { DecompressError, decompress, isSupportedCodec } from '../compression/index.js';
import { TributaryError } from '../errors.js';
import { crc32c } from '../protocol/kafka/primitives/crc32c.js';
import {
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG,
  CRC_OFFSET,
  CRC_START,
  type DecodedRecord,
  decodeRecordBatchRecords,
  decodeRecordBatchSection,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  readRecordBatchHeader,
  recordBatchCrcMatches,
  recordBatchSize,
  TIMESTAMP_TYPE_FLAG,
  TRANSACTIONAL_FLAG,
  writeBaseOffset,
  writeInt32At,
  writeInt64At,
} from '../protocol/kafka/record-batch/index.js';
import { LOG_LIMITS, type ProducerBatchId } from './types.js';

/**
 * Largest size the records of a stored batch may decompress to when they are read: a batch was
 * checked against a smaller limit when it was stored, so only damage can reach this one.
 */
const READ_DECOMPRESSED_BYTES_MAX = 256 * 1024 * 1024;

/** A batch that passed `checkEncodedBatch`. */
export interface CheckedBatch {
  /** The caller's bytes, copied: the log's own from here on. */
  readonly bytes: Uint8Array;
  /** Its header; `baseOffset` is what the client sent until `stampBaseOffset`. */
  readonly header: RecordBatchHeader;
  /** Offsets relative to the client's base offset; views of `bytes` or of its decompressed records. */
  readonly records: readonly DecodedRecord[];
  /** Key and value bytes of the records. */
  readonly payloadBytes: number;
  /** Set for idempotent and transactional producers (producerId ≥ 0). */
  readonly producer: ProducerBatchId | undefined;
  /** Attribute bit 4: part of a transaction (`producer` is then set). */
  readonly transactional: boolean;
}

export interface CheckEncodedBatchOptions {
  /** Records of a compacted topic need a key. */
  readonly compact: boolean;
  /** Largest size the records may decompress to. Default and upper bound `LOG_LIMITS.batchBytesMax`. */
  readonly decompressedBytesMax?: number;
}

/**
 * Checks one RecordBatch v2 as a client sent it and returns a copy of it with its decoded
 * records. Throws `MALFORMED_DATA` (bad header, CRC, lengths or records), `INVALID_RECORD`
 * (control batch, no records, offsets that are not 0…n-1, a timestamp < 0 or LogAppendTime,
 * an unknown codec, a transactional batch without producer id, a keyless record on a compacted
 * topic) or `RECORD_TOO_LARGE` (over `LOG_LIMITS` once stored or decompressed).
 */
export function checkEncodedBatch(batch: Uint8Array, options: CheckEncodedBatchOptions): CheckedBatch {
  if (!(batch instanceof Uint8Array)) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'an encoded batch must be bytes' });
  }
  if (batch.byteLength > LOG_LIMITS.batchBytesMax) {
    throw tooLarge(batch.byteLength, LOG_LIMITS.batchBytesMax, 'batchBytesMax');
  }
  const header = readHeader(batch);
  const size = recordBatchSize(header);
  if (size !== batch.byteLength) {
    throw malformed(
      size > batch.byteLength
        ? `the batch declares ${size} bytes, ${batch.byteLength} were given`
        : `${batch.byteLength - size} bytes follow the batch: exactly one batch is appended at a time`,
    );
  }
  if (!recordBatchCrcMatches(batch, 0, header)) malformedThrow('CRC-32C mismatch');
  const { attributes, recordCount, lastOffsetDelta } = header;
  if ((attributes & CONTROL_FLAG) !== 0) invalid('control batches are written by the log, not appended');
  if ((attributes & TIMESTAMP_TYPE_FLAG) !== 0) invalid('LogAppendTime batches are not accepted');
  if (recordCount === 0) invalid('the batch holds no records');
  if (recordCount > LOG_LIMITS.batchRecordsMax) {
    throw new TributaryError('RECORD_TOO_LARGE', {
      bytes: recordCount,
      limit: LOG_LIMITS.batchRecordsMax,
      limitName: 'batchRecordsMax (records, not bytes)',
    });
  }
  if (recordCount !== lastOffsetDelta + 1) {
    invalid(`${recordCount} records with lastOffsetDelta ${lastOffsetDelta}: offsets must be 0 to count - 1`);
  }
  const codec = attributes & COMPRESSION_CODEC_MASK;
  if (!isSupportedCodec(codec)) invalid(`compression codec ${codec} is unknown`);
  const transactional = (attributes & TRANSACTIONAL_FLAG) !== 0;
  if (header.producerId < -1) malformedThrow(`producerId ${header.producerId} is negative`);
  if (transactional && header.producerId < 0) invalid('a transactional batch needs a producer id');

  const bytes = batch.slice();
  const decompressedBytesMax = Math.min(
    options.decompressedBytesMax ?? LOG_LIMITS.batchBytesMax,
    LOG_LIMITS.batchBytesMax,
  );
  const records = decodeChecked(bytes, header, codec, decompressedBytesMax);
  let payloadBytes = 0;
  let maxTimestamp = -1;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.offset !== header.baseOffset + i) {
      invalid(
        `record ${i} has offset delta ${record.offset - header.baseOffset}: offsets must be 0 to count - 1`,
      );
    }
    if (record.timestamp < 0) invalid(`record ${i} has timestamp ${record.timestamp}: it must be ≥ 0`);
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    if (options.compact && record.key === null) invalid('records of a compacted topic need a key');
    payloadBytes += (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  }
  let checked = header;
  if (header.maxTimestamp !== maxTimestamp) {
    // As Kafka's broker does: the time index relies on it, so it is corrected, CRC included.
    writeInt64At(bytes, 35, maxTimestamp);
    const crc = crc32c(bytes, CRC_START, bytes.byteLength);
    writeInt32At(bytes, CRC_OFFSET, crc);
    checked = { ...header, maxTimestamp, crc: crc >>> 0 };
  }
  const producer =
    header.producerId >= 0
      ? {
          producerId: header.producerId,
          producerEpoch: header.producerEpoch,
          baseSequence: header.baseSequence,
        }
      : undefined;
  return { bytes, header: checked, records, payloadBytes, producer, transactional };
}

/**
 * Gives a checked batch the offset the log assigned: writes it into the stored bytes (outside
 * the CRC) with partition leader epoch 0, as every batch the log writes has, and returns the
 * header to match.
 */
export function stampBaseOffset(batch: CheckedBatch, baseOffset: number): RecordBatchHeader {
  writeBaseOffset(batch.bytes, 0, baseOffset);
  writeInt32At(batch.bytes, 12, 0);
  return { ...batch.header, baseOffset, partitionLeaderEpoch: 0 };
}

/**
 * Records of a stored batch from `fromOffset` on, compressed or not (offsets from the header's
 * base offset). Throws `MALFORMED_DATA` if they do not decode.
 */
export function decodeStoredRecords(
  buf: Uint8Array,
  position: number,
  header: RecordBatchHeader,
  fromOffset?: number,
): DecodedRecord[] {
  const codec = header.attributes & COMPRESSION_CODEC_MASK;
  if (codec === 0) return decodeRecordBatchRecords(buf, position, header, fromOffset);
  const end = position + recordBatchSize(header);
  const section = inflate(
    codec,
    buf.subarray(position + RECORD_BATCH_HEADER_BYTES, end),
    READ_DECOMPRESSED_BYTES_MAX,
  );
  return decodeRecordBatchSection(section, header, fromOffset);
}

function decodeChecked(
  bytes: Uint8Array,
  header: RecordBatchHeader,
  codec: number,
  decompressedBytesMax: number,
): DecodedRecord[] {
  try {
    if (codec === 0) return decodeRecordBatchRecords(bytes, 0, header);
    const section = inflate(codec, bytes.subarray(RECORD_BATCH_HEADER_BYTES), decompressedBytesMax);
    return decodeRecordBatchSection(section, header);
  } catch (error) {
    if (error instanceof TributaryError) throw error;
    throw malformed(error instanceof Error ? error.message : String(error));
  }
}

function inflate(codec: number, input: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return decompress(codec, input, maxBytes);
  } catch (error) {
    if (!(error instanceof DecompressError)) throw error;
    if (error.tooLarge) throw tooLarge(maxBytes + 1, maxBytes, 'decompressed batchBytesMax');
    throw malformed(error.message);
  }
}

function readHeader(batch: Uint8Array): RecordBatchHeader {
  let header: RecordBatchHeader | null;
  try {
    header = readRecordBatchHeader(batch, 0);
  } catch (error) {
    if (error instanceof TributaryError) throw error;
    throw malformed(String(error));
  }
  if (header === null) {
    throw malformed(`${batch.byteLength} bytes are fewer than a batch header (${RECORD_BATCH_HEADER_BYTES})`);
  }
  return header;
}

function malformed(reason: string): TributaryError {
  return new TributaryError('MALFORMED_DATA', { what: 'record batch', reason });
}

function malformedThrow(reason: string): never {
  throw malformed(reason);
}

function invalid(reason: string): never {
  throw new TributaryError('INVALID_RECORD', { reason });
}

function tooLarge(bytes: number, limit: number, limitName: string): TributaryError {
  return new TributaryError('RECORD_TOO_LARGE', { bytes, limit, limitName });
}
