/**
 * @module protocol/kafka/record-batch/decode
 * Decodes the records of an uncompressed Kafka RecordBatch v2. Keys and values are views into
 * the source buffer (no copies); records without headers share one frozen empty array.
 */

import { ByteReader } from '../primitives/byte-reader.js';
import { malformed } from '../primitives/errors.js';
import {
  assertWholeBatch,
  COMPRESSION_CODEC_MASK,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  type RecordHeader,
  TIMESTAMP_TYPE_FLAG,
} from './header.js';

export interface DecodedRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

const WHAT = 'record batch';
/** attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: 1 byte each at least. */
const MIN_RECORD_BODY_BYTES = 6;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Shared by every record without headers: saves an allocation per record. */
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);
/** A null header value decodes as this (Kafka's API has no null header values to offer either). */
const EMPTY_BYTES = new Uint8Array(0);

/**
 * Decodes the records of an uncompressed batch (offset = baseOffset + offsetDelta, timestamp =
 * baseTimestamp + timestampDelta, or the batch's maxTimestamp for LogAppendTime batches as in
 * Kafka); key/value are subarrays of buf (no copy). Compressed batches throw `MALFORMED_DATA`;
 * control batches are returned like any batch. Throws `MALFORMED_DATA` when the records do not
 * exactly fill the batch or recordCount does not match. Records below `fromOffset` are skipped
 * without decoding their key, value and headers.
 */
export function decodeRecordBatchRecords(
  buf: Uint8Array,
  position: number,
  header: RecordBatchHeader,
  fromOffset?: number,
): DecodedRecord[] {
  const end = assertWholeBatch(buf, position, header);
  const codec = header.attributes & COMPRESSION_CODEC_MASK;
  if (codec !== 0) throw malformed(WHAT, `compression codec ${codec} is not supported here`);
  return decodeRecords(buf, position + RECORD_BATCH_HEADER_BYTES, end, header, fromOffset);
}

/**
 * Decodes a batch's records section held apart from its header: the decompressed records of a
 * compressed batch. `header` is the batch's own (its codec bits are not looked at); otherwise as
 * `decodeRecordBatchRecords`.
 */
export function decodeRecordBatchSection(
  section: Uint8Array,
  header: RecordBatchHeader,
  fromOffset?: number,
): DecodedRecord[] {
  return decodeRecords(section, 0, section.length, header, fromOffset);
}

function decodeRecords(
  buf: Uint8Array,
  start: number,
  end: number,
  header: RecordBatchHeader,
  fromOffset: number | undefined,
): DecodedRecord[] {
  const count = header.recordCount;
  // Bounds the loop (and the result) by what the bytes can hold before trusting recordCount.
  if (!(count >= 0 && count * (MIN_RECORD_BODY_BYTES + 1) <= end - start)) {
    throw malformed(WHAT, `recordCount ${count} cannot fit in ${end - start} bytes of records`);
  }
  const { baseOffset, lastOffsetDelta } = header;
  const logAppendTime = (header.attributes & TIMESTAMP_TYPE_FLAG) !== 0;
  const baseTimestamp = logAppendTime ? header.maxTimestamp : header.baseTimestamp;
  // Compare deltas rather than offsets: one subtraction per batch instead of an add per record.
  const skipBelowDelta = fromOffset === undefined ? 0 : fromOffset - baseOffset;

  const r = new ByteReader(buf, start, end, WHAT);
  const out: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    r.end = end;
    const length = r.readVarint();
    if (!(length >= MIN_RECORD_BODY_BYTES && length <= end - r.pos)) {
      throw malformed(WHAT, `record ${i} at byte ${r.pos} has impossible length ${length}`);
    }
    const recordEnd = r.pos + length;
    // Narrow the reader to this record: a field that overruns it fails right here.
    r.end = recordEnd;
    r.pos++; // attributes: unused in v2
    const timestampDelta = r.readVarlong();
    const offsetDelta = r.readVarint();
    if (offsetDelta < 0 || offsetDelta > lastOffsetDelta) {
      throw malformed(WHAT, `record ${i} offsetDelta ${offsetDelta} is outside [0, ${lastOffsetDelta}]`);
    }
    if (offsetDelta < skipBelowDelta) {
      r.pos = recordEnd;
      continue;
    }
    const timestamp = logAppendTime ? baseTimestamp : baseTimestamp + timestampDelta;
    if (timestamp > MAX_SAFE || timestamp < -MAX_SAFE) {
      throw malformed(WHAT, `record ${i} timestamp is outside the safe integer range`);
    }
    const keyLength = r.readVarint();
    const key = keyLength === -1 ? null : r.readBytes(keyLength);
    const valueLength = r.readVarint();
    const value = valueLength === -1 ? null : r.readBytes(valueLength);
    const headerCount = r.readVarint();
    let headers = NO_HEADERS;
    if (headerCount !== 0) headers = readHeaders(r, headerCount, i);
    if (r.pos !== recordEnd) {
      throw malformed(
        WHAT,
        `record ${i} declares ${length} bytes but its fields end ${recordEnd - r.pos} early`,
      );
    }
    out.push({ offset: baseOffset + offsetDelta, timestamp, key, value, headers });
  }
  if (r.pos !== end) {
    throw malformed(WHAT, `${count} records end at byte ${r.pos} but the batch ends at byte ${end}`);
  }
  return out;
}

function readHeaders(r: ByteReader, count: number, record: number): RecordHeader[] {
  // Each header takes at least 2 bytes: rejects absurd counts before looping over them.
  if (!(count > 0 && count * 2 <= r.end - r.pos)) {
    throw malformed(WHAT, `record ${record} headerCount ${count} is impossible`);
  }
  const headers: RecordHeader[] = [];
  for (let h = 0; h < count; h++) {
    const keyLength = r.readVarint();
    if (keyLength < 0) throw malformed(WHAT, `record ${record} header ${h} has a null key`);
    const key = r.readString(keyLength);
    const valueLength = r.readVarint();
    const value = valueLength === -1 ? EMPTY_BYTES : r.readBytes(valueLength);
    headers.push({ key, value });
  }
  return headers;
}
