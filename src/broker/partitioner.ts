/**
 * @module broker/partitioner
 * Decides the partition of every record of one produce call, the way Kafka's default partitioner
 * does, so native and Kafka clients agree on where a key lives:
 *
 * - an explicit `partition` is used as given (checked: `PARTITION_NOT_FOUND`);
 * - a keyed record goes to `kafkaPartition(key, partitions)` (murmur2);
 * - keyless records are "sticky": all of one call go to one partition, and the next call that has
 *   keyless records moves on to the next partition (round robin per call), so batches stay large.
 */
import { TributaryError } from '../errors.js';
import { checkPartitionNumber } from '../log/validation.js';
import { kafkaPartition } from '../protocol/kafka/primitives/murmur2.js';
import type { ProduceRecord } from './types.js';

/** The records of one call bound for one partition, with their positions in the call. */
export interface PartitionGroup {
  readonly partition: number;
  readonly records: ProduceRecord[];
  /** `indexes[i]` is the position of `records[i]` in the produce call. */
  readonly indexes: number[];
}

/**
 * Groups `records` by partition, keeping their order within each group. `stickyPartition` is
 * called at most once, and only when some record has neither a partition nor a key.
 */
export function planPartitions(
  topic: string,
  records: readonly ProduceRecord[],
  partitions: number,
  stickyPartition: () => number,
): PartitionGroup[] {
  if (!Array.isArray(records) || records.length === 0) {
    throw new TributaryError('INVALID_RECORD', { reason: 'a produce call needs at least one record' });
  }
  const groups = new Map<number, PartitionGroup>();
  let sticky: number | undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === null || typeof record !== 'object') {
      throw new TributaryError('INVALID_RECORD', { reason: 'a record must be an object' });
    }
    let partition: number;
    if (record.partition !== undefined) {
      checkPartitionNumber(topic, record.partition, partitions);
      partition = record.partition;
    } else if (record.key !== null && record.key !== undefined) {
      if (!(record.key instanceof Uint8Array)) {
        throw new TributaryError('INVALID_RECORD', { reason: 'key must be bytes or null' });
      }
      partition = kafkaPartition(record.key, partitions);
    } else {
      sticky ??= stickyPartition();
      partition = sticky;
    }
    let group = groups.get(partition);
    if (group === undefined) {
      group = { partition, records: [], indexes: [] };
      groups.set(partition, group);
    }
    group.records.push(record);
    group.indexes.push(i);
  }
  return [...groups.values()];
}
