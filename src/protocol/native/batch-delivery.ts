/**
 * @module protocol/native/batch-delivery
 * The `batchDelivery` frame: a delivery whose records travel as the record batches the log
 * stores (Kafka RecordBatch v2, uncompressed), byte for byte, instead of one MessagePack map per
 * record. The server sends it only to a connection whose `hello` asked for the feature
 * {@link BATCH_DELIVERY_FEATURE} over MessagePack, and only for batches every record of which the
 * subscription may deliver; everything else still goes out as `delivery` frames. A client turns
 * it back into an ordinary delivery with {@link readBatchDelivery}: the rest of a client sees no
 * difference. Browser-safe.
 *
 * The server checked each batch's CRC-32C when it read it from its log, so the reader does not
 * check it again; it checks everything it relies on (header, lengths, record bounds, offsets in
 * order) and refuses anything else with `PROTOCOL_ERROR`, whatever the bytes.
 */
import { TributaryError } from '../../errors.js';
import {
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG,
  decodeRecordBatchRecords,
  type RecordBatchHeader,
  readRecordBatchHeader,
  recordBatchSize,
} from '../kafka/record-batch/index.js';
import type { Fields } from './fields.js';
import { NATIVE_PROTOCOL_LIMITS as LIMITS } from './limits.js';
import { PARTITION_MAX, RANGES, readTopicName } from './shapes.js';
import type { DeliveryFrame, WireRecord } from './types.js';

/** The `hello.features` / `welcome.features` name of the `batchDelivery` frame. */
export const BATCH_DELIVERY_FEATURE = 'batchDelivery';

/** Features a client may ask for in `hello`, and the most it may list. */
export const PROTOCOL_FEATURES: readonly string[] = [BATCH_DELIVERY_FEATURE];
export const FEATURES_MAX = 64;

/**
 * Reads a `batchDelivery` frame into the `delivery` frame it stands for: the records of its
 * batches, in order. Throws `PROTOCOL_ERROR` naming the field at fault.
 */
export function readBatchDelivery(f: Fields): DeliveryFrame {
  const sub = f.int('sub', RANGES.U32);
  const topic = readTopicName(f);
  const partition = f.int('partition', { min: 0, max: PARTITION_MAX });
  const highWatermark = f.int('highWatermark', RANGES.OFFSET);
  const raw = f.raw('batches');
  if (!Array.isArray(raw) || raw.length === 0) f.fail('batches', 'must be a non-empty array of bytes');
  const batches = raw as unknown[];
  const records: WireRecord[] = [];
  let next = 0;
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i];
    const path = `${f.pathOf('batches')}[${i}]`;
    // MessagePack only: a JSON connection never asks for the feature.
    if (!(batch instanceof Uint8Array)) throw batchError(path, 'must be bytes (bin)');
    next = readBatchRecords(batch, next, records, path);
  }
  if (next > highWatermark)
    f.fail('highWatermark', `is ${highWatermark}, below the offset after the last record (${next})`);
  return { type: 'delivery', sub, topic, partition, records, highWatermark };
}

/**
 * Appends the records of one stored batch to `out`; their offsets must be at least `from`.
 * Returns the offset after its last record.
 */
function readBatchRecords(batch: Uint8Array, from: number, out: WireRecord[], path: string): number {
  let header: RecordBatchHeader | null;
  let decoded: WireRecord[];
  try {
    header = readRecordBatchHeader(batch, 0);
    if (header === null) throw batchError(path, `${batch.byteLength} bytes are fewer than a batch header`);
    if (recordBatchSize(header) !== batch.byteLength) {
      throw batchError(path, `declares ${recordBatchSize(header)} bytes, holds ${batch.byteLength}`);
    }
    if ((header.attributes & COMPRESSION_CODEC_MASK) !== 0) throw batchError(path, 'is compressed');
    if ((header.attributes & CONTROL_FLAG) !== 0) throw batchError(path, 'is a control batch');
    if (header.recordCount < 1) throw batchError(path, 'holds no records');
    decoded = decodeRecordBatchRecords(batch, 0, header);
  } catch (error) {
    if (error instanceof TributaryError && error.code === 'PROTOCOL_ERROR') throw error;
    throw batchError(path, error instanceof TributaryError ? String(error.details.reason) : String(error));
  }
  let next = from;
  for (let i = 0; i < decoded.length; i++) {
    const record = decoded[i]!;
    if (record.offset < next) {
      throw batchError(path, `record ${i} has offset ${record.offset}, expected at least ${next}`);
    }
    if (record.offset > RANGES.OFFSET.max) throw batchError(path, `record ${i} has offset ${record.offset}`);
    next = record.offset + 1;
    out.push(record);
  }
  return next;
}

function batchError(field: string, reason: string): TributaryError {
  return new TributaryError('PROTOCOL_ERROR', { reason: `field "${field}" ${reason}`, field });
}

/** `hello.features` as the server reads it: the names it knows, the rest ignored. */
export function readFeatures(f: Fields): readonly string[] | undefined {
  if (!f.has('features')) return undefined;
  const raw = f.raw('features');
  if (!Array.isArray(raw) || raw.length > FEATURES_MAX) {
    f.fail('features', `must be an array of at most ${FEATURES_MAX} strings`);
  }
  const out: string[] = [];
  for (const name of raw as unknown[]) {
    if (typeof name !== 'string' || name.length > LIMITS.nameLengthMax) {
      f.fail('features', 'must hold strings');
    }
    out.push(name as string);
  }
  return out;
}
