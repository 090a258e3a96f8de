/**
 * @module server/front/kafka/records
 * Record batches in and out of the Kafka front end.
 *
 * In (Produce): exactly one RecordBatch v2 per partition, as Kafka requires from Produce v3 on;
 * its CRC-32C is checked, the records section is decompressed (any codec, see `compression/`)
 * and the records become broker records: key and value bytes unchanged (null stays null), the
 * producer's CreateTime timestamp, headers as (string, bytes) pairs. An idempotent producer's
 * (producerId, epoch, baseSequence) goes with them, so the broker removes retried batches.
 *
 * Out (Fetch): records read from the broker are written as one uncompressed RecordBatch v2 with
 * their own offsets (offset deltas keep gaps left by compaction) and timestamps, so every
 * client sees exactly the offsets native subscribers see.
 *
 * @example
 * const batch = decodeProduceBatch(partition.records, limits.kafkaDecompressedBytesMax);
 * await broker.appendBatch(topic, index, batch.records, batch.producer ? { producer: batch.producer } : {});
 */
import type { ProducerBatchId, RecordInput } from '../../../broker/types.js';
import { DecompressError, decompress, isSupportedCodec } from '../../../compression/index.js';
import { KafkaErrorCode } from '../../../protocol/kafka/error-codes.js';
import {
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG,
  decodeRecordBatchRecords,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  readRecordBatchHeader,
  recordBatchCrcMatches,
  TIMESTAMP_TYPE_FLAG,
  TRANSACTIONAL_FLAG,
} from '../../../protocol/kafka/record-batch/index.js';

/** Kafka's UNSUPPORTED_COMPRESSION_TYPE, for a codec number no client uses. */
export const UNSUPPORTED_COMPRESSION_TYPE = 76;

/**
 * The header of `bytes` if it is one RecordBatch v2 the log can store as sent: magic 2, one
 * whole batch, not a control batch, CreateTime with a base timestamp, a known codec, and
 * `recordCount = lastOffsetDelta + 1 ≥ 1`. Otherwise `undefined` (decode it, or refuse it, with
 * `decodeProduceBatch`). The log checks the CRC and the records itself.
 */
export function keepableBatchHeader(bytes: Uint8Array | null): RecordBatchHeader | undefined {
  if (bytes === null || bytes.length < RECORD_BATCH_HEADER_BYTES || bytes[16] !== 2) return undefined;
  let header: RecordBatchHeader | null;
  try {
    header = readRecordBatchHeader(bytes, 0);
  } catch {
    return undefined;
  }
  if (header === null || 12 + header.batchLength !== bytes.length) return undefined;
  const { attributes, recordCount, lastOffsetDelta } = header;
  if ((attributes & (CONTROL_FLAG | TIMESTAMP_TYPE_FLAG)) !== 0) return undefined;
  if (!isSupportedCodec(attributes & COMPRESSION_CODEC_MASK)) return undefined;
  if (recordCount < 1 || recordCount !== lastOffsetDelta + 1 || header.baseTimestamp < 0) return undefined;
  return header;
}

/** A produced batch that cannot be appended: the Kafka error code to answer and why. */
export class ProduceBatchError extends Error {
  constructor(
    readonly errorCode: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'ProduceBatchError';
  }
}

export interface ProducedBatch {
  readonly records: RecordInput[];
  /** Set for idempotent producers (producerId ≥ 0). */
  readonly producer: ProducerBatchId | undefined;
  /** The batch belongs to a transaction (RecordBatch attribute bit 4; then `producer` is set). */
  readonly transactional: boolean;
  /** Payload bytes (keys and values), for metrics. */
  readonly payloadBytes: number;
  readonly codec: number;
}

/**
 * Decodes the records of one partition's Produce data. Throws `ProduceBatchError` with
 * CORRUPT_MESSAGE (bad CRC, malformed batch), INVALID_RECORD (not exactly one batch, no
 * records, a control batch, a transactional batch without a producer id), UNSUPPORTED_COMPRESSION_TYPE or
 * MESSAGE_TOO_LARGE (decompressed past `kafkaDecompressedBytesMax`).
 */
export function decodeProduceBatch(bytes: Uint8Array | null, maxDecompressedBytes: number): ProducedBatch {
  if (bytes === null || bytes.length === 0) {
    throw new ProduceBatchError(KafkaErrorCode.INVALID_RECORD, 'the partition carries no record batch');
  }
  if (bytes.length > 16 && bytes[16] !== 2) {
    throw new ProduceBatchError(
      KafkaErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      `record batch magic ${bytes[16]}: only RecordBatch v2 (magic 2) is accepted`,
    );
  }
  let header: RecordBatchHeader | null;
  try {
    header = readRecordBatchHeader(bytes, 0);
  } catch (error) {
    throw new ProduceBatchError(KafkaErrorCode.CORRUPT_MESSAGE, (error as Error).message);
  }
  if (header === null) throw new ProduceBatchError(KafkaErrorCode.CORRUPT_MESSAGE, 'truncated record batch');
  const size = 12 + header.batchLength;
  if (size !== bytes.length) {
    throw new ProduceBatchError(
      size > bytes.length ? KafkaErrorCode.CORRUPT_MESSAGE : KafkaErrorCode.INVALID_RECORD,
      size > bytes.length
        ? 'truncated record batch'
        : 'a produce request must carry exactly one record batch per partition',
    );
  }
  if (!recordBatchCrcMatches(bytes, 0, header)) {
    throw new ProduceBatchError(KafkaErrorCode.CORRUPT_MESSAGE, 'record batch CRC-32C mismatch');
  }
  if ((header.attributes & CONTROL_FLAG) !== 0) {
    throw new ProduceBatchError(KafkaErrorCode.INVALID_RECORD, 'clients may not produce control batches');
  }
  const transactional = (header.attributes & TRANSACTIONAL_FLAG) !== 0;
  if (transactional && header.producerId < 0) {
    throw new ProduceBatchError(KafkaErrorCode.INVALID_RECORD, 'a transactional batch needs a producer id');
  }
  if (header.recordCount === 0) {
    throw new ProduceBatchError(KafkaErrorCode.INVALID_RECORD, 'the record batch holds no records');
  }
  const codec = header.attributes & COMPRESSION_CODEC_MASK;
  if (!isSupportedCodec(codec)) {
    throw new ProduceBatchError(UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec} is unknown`);
  }
  let plain = bytes;
  let plainHeader = header;
  if (codec !== 0) {
    let records: Uint8Array;
    try {
      records = decompress(codec, bytes.subarray(RECORD_BATCH_HEADER_BYTES), maxDecompressedBytes);
    } catch (error) {
      if (error instanceof DecompressError) {
        throw new ProduceBatchError(
          error.tooLarge ? KafkaErrorCode.MESSAGE_TOO_LARGE : KafkaErrorCode.CORRUPT_MESSAGE,
          error.message,
        );
      }
      throw error;
    }
    // The same batch, uncompressed: header with the codec bits cleared and the new length.
    plain = new Uint8Array(RECORD_BATCH_HEADER_BYTES + records.length);
    plain.set(bytes.subarray(0, RECORD_BATCH_HEADER_BYTES));
    plain.set(records, RECORD_BATCH_HEADER_BYTES);
    const batchLength = plain.length - 12;
    plain[8] = batchLength >>> 24;
    plain[9] = batchLength >>> 16;
    plain[10] = batchLength >>> 8;
    plain[11] = batchLength;
    plain[22] = plain[22]! & ~COMPRESSION_CODEC_MASK;
    plainHeader = { ...header, batchLength, attributes: header.attributes & ~COMPRESSION_CODEC_MASK };
  }
  let decoded: ReturnType<typeof decodeRecordBatchRecords>;
  try {
    decoded = decodeRecordBatchRecords(plain, 0, plainHeader);
  } catch (error) {
    throw new ProduceBatchError(KafkaErrorCode.CORRUPT_MESSAGE, (error as Error).message);
  }
  let payloadBytes = 0;
  const records: RecordInput[] = decoded.map((record) => {
    payloadBytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
    const input: { -readonly [K in keyof RecordInput]: RecordInput[K] } = {
      key: record.key,
      value: record.value,
    };
    if (record.headers.length > 0) input.headers = record.headers;
    // Kafka's "no timestamp" (-1): the log stamps the append time.
    if (record.timestamp >= 0) input.timestamp = record.timestamp;
    return input;
  });
  return { records, producer: producerOf(header), transactional, payloadBytes, codec };
}

/** The producer fields of a batch header; `undefined` without a producer id (-1). */
export function producerOf(header: RecordBatchHeader): ProducerBatchId | undefined {
  if (header.producerId < 0) return undefined;
  return {
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
  };
}
