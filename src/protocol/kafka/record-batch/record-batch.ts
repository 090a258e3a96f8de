/**
 * @module protocol/kafka/record-batch/record-batch
 * Kafka RecordBatch v2 (magic 2), which is also Tributary's on-disk batch format: the public
 * API, gathered from the header, encode and decode modules.
 */

export type { DecodedRecord } from './decode.js';
export { decodeRecordBatchRecords, decodeRecordBatchSection } from './decode.js';
export type { EncodeRecordBatchInput, RecordToEncode } from './encode.js';
export { encodeRecordBatch } from './encode.js';
export type { RecordBatchHeader, RecordHeader } from './header.js';
export {
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG,
  CRC_OFFSET,
  CRC_START,
  RECORD_BATCH_HEADER_BYTES,
  readRecordBatchHeader,
  recordBatchCrcMatches,
  recordBatchSize,
  TIMESTAMP_TYPE_FLAG,
  TRANSACTIONAL_FLAG,
  writeBaseOffset,
  writeInt32At,
  writeInt64At,
} from './header.js';
