/**
 * @module connectors/sinks/sink-target
 * What a sink type implements: the outside system's side only. The runner (`sink-connector.ts`)
 * does the rest — group membership, one ordered reader per assigned partition, batching, retries
 * with backoff and status — so the Postgres, Redis and webhook sinks differ only here.
 *
 * Exactly-once effect rests on `apply`: a target that stores positions with its data writes the
 * batch and the partition's next offset in one atomic step and skips records below the stored
 * position, so a batch applied again (after a crash, or by a second member during a rebalance)
 * changes nothing.
 */
import type { LogRecord, TopicPartition } from '../../broker/types.js';

/** Consecutive records of one partition, in offset order. */
export interface SinkBatch extends TopicPartition {
  readonly records: readonly LogRecord[];
}

export interface SinkTarget {
  /** Connects and checks the target (table exists, …); a rejection is retried with backoff unless permanent. */
  open(): Promise<void>;
  /**
   * Next offsets stored with the data, keyed by `positionKey`; partitions without one are absent
   * (the runner then asks the group's committed offsets, then `startFrom`). A target that keeps
   * no positions of its own returns an empty map.
   */
  storedPositions(partitions: readonly TopicPartition[]): Promise<Map<string, number>>;
  /** Writes the batch (see the module note). Resolves once durable in the target. */
  apply(batch: SinkBatch, signal: AbortSignal): Promise<void>;
  /**
   * Moves the partition's stored position to `nextOffset` (never backwards) without writing a
   * record: after a record went to the dead-letter topic. Targets without positions of their own
   * leave it out.
   */
  skip?(partition: TopicPartition, nextOffset: number): Promise<void>;
  /** True when retrying cannot help (a row the table refuses): the partition stops as `failed`. */
  isPermanent(error: unknown): boolean;
  close(): Promise<void>;
}

export function positionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}
