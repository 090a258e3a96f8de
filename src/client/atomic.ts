/**
 * @module client/atomic
 * `client.commitAtomically(...)`: records for several topics and partitions plus consumer-offset
 * commits, made visible together or not at all (the native protocol's `commitAtomically`).
 * Consumers with `isolation: 'committed'` see all of a call's records or none, whatever crashes.
 * The request is never sent twice by the SDK (a lost connection rejects it with
 * `CONNECTION_LOST`: it may or may not have committed; read the offsets back to know).
 *
 * @example
 * // consume-transform-produce, exactly once for committed readers:
 * await client.commitAtomically({
 *   appends: [{ topic: 'totals', records: [{ key: 'alice', value: '42' }] }],
 *   offsets: { groupId: 'totals-job', offsets: [{ topic: 'payments', partition: 0, offset: 118 }] },
 * });
 */
import type { WireAtomicAppend } from '../protocol/native/types.js';
import type { ClientConnection } from './connection.js';
import { type ProducerRecord, toWireRecordInput } from './records.js';

/** Records for one topic: to `partition`, else each record's own, else by key (as `Producer.send`). */
export interface AtomicAppend {
  readonly topic: string;
  readonly partition?: number;
  readonly records: readonly ProducerRecord[];
  /**
   * Requires `partition`: the whole call commits only if that partition's last offset is this
   * (`-1`: empty), else it fails with `EXPECTED_OFFSET_MISMATCH` and nothing of it is visible.
   */
  readonly expectedLastOffset?: number;
}

export interface AtomicCommitRequest {
  readonly appends: readonly AtomicAppend[];
  /** Offsets (the next offset to read) stored for `groupId` with the records; no member needed. */
  readonly offsets?: {
    readonly groupId: string;
    readonly offsets: readonly {
      readonly topic: string;
      readonly partition: number;
      readonly offset: number;
    }[];
  };
}

export interface AtomicCommitResult {
  /** Per entry of `appends`, in order: where each of its records went, in order. */
  readonly appends: readonly {
    readonly topic: string;
    readonly offsets: readonly { readonly partition: number; readonly offset: number }[];
  }[];
}

function toWireAppend(append: AtomicAppend): WireAtomicAppend {
  const records = append.records.map((record) => {
    const wire = toWireRecordInput(record);
    return record.partition === undefined ? wire : { ...wire, partition: record.partition };
  });
  const expectation =
    append.expectedLastOffset === undefined ? {} : { expectedLastOffset: append.expectedLastOffset };
  return append.partition === undefined
    ? { topic: append.topic, records, ...expectation }
    : { topic: append.topic, partition: append.partition, records, ...expectation };
}

export async function commitAtomically(
  connection: ClientConnection,
  request: AtomicCommitRequest,
): Promise<AtomicCommitResult> {
  const appends = request.appends.map(toWireAppend);
  return connection.request(
    'commitAtomically',
    request.offsets === undefined ? { appends } : { appends, offsets: request.offsets },
    'unsafe',
  );
}
