/**
 * @module log/control-batch
 * Transaction markers as Kafka stores them: a control batch (attributes: transactional and
 * control bits set) with the producer's id and epoch in its header, baseSequence -1, and one
 * control record whose key is `version int16 (0), type int16 (0 ABORT, 1 COMMIT)` and whose
 * value is `version int16 (0), coordinatorEpoch int32`.
 *
 * @example
 * const bytes = encodeControlBatch({ baseOffset: 42, producerId: 7, producerEpoch: 0, commit: true, timestamp: Date.now() });
 */
import { CONTROL_FLAG, encodeRecordBatch, TRANSACTIONAL_FLAG } from '../protocol/kafka/record-batch/index.js';

export const CONTROL_RECORD_VERSION = 0;
export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;
/** Attributes of a control batch: transactional and control bits (no compression). */
export const CONTROL_BATCH_FLAGS = TRANSACTIONAL_FLAG | CONTROL_FLAG;

export interface ControlBatchInput {
  readonly baseOffset: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly timestamp: number;
  /** Epoch of the transaction coordinator that wrote it; default 0. */
  readonly coordinatorEpoch?: number;
}

/** The control record's key: version int16, type int16. */
export function controlRecordKey(commit: boolean): Uint8Array {
  return Uint8Array.of(0, CONTROL_RECORD_VERSION, 0, commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT);
}

/** The control record's value: version int16, coordinatorEpoch int32. */
export function controlRecordValue(coordinatorEpoch = 0): Uint8Array {
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, coordinatorEpoch);
  return value;
}

/** Encodes a COMMIT or ABORT control batch of one record at `baseOffset`. */
export function encodeControlBatch(input: ControlBatchInput): Uint8Array {
  return encodeRecordBatch({
    baseOffset: input.baseOffset,
    records: [
      {
        timestamp: input.timestamp,
        key: controlRecordKey(input.commit),
        value: controlRecordValue(input.coordinatorEpoch),
      },
    ],
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: -1,
    flags: CONTROL_BATCH_FLAGS,
  });
}

/**
 * Reads a control record's key: `{ commit }` for COMMIT/ABORT, `null` for anything else (an
 * unknown version or type, which readers skip as Kafka's do).
 */
export function parseControlRecordKey(key: Uint8Array | null): { readonly commit: boolean } | null {
  if (key === null || key.byteLength < 4) return null;
  const version = (key[0]! << 8) | key[1]!;
  const type = (key[2]! << 8) | key[3]!;
  if (version !== CONTROL_RECORD_VERSION) return null;
  if (type === CONTROL_TYPE_COMMIT) return { commit: true };
  if (type === CONTROL_TYPE_ABORT) return { commit: false };
  return null;
}
