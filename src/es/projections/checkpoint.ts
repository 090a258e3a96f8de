/**
 * @module es/projections/checkpoint
 * Where a projection keeps its checkpoint: one document per partition of the read model
 * collection itself, `$checkpoint.<partition>.<n>` (the first `n` whose key hashes to that
 * partition). Each of the runner's transactions writes a partition's documents and that
 * partition's checkpoint together, with `ifVersion` on the checkpoint, so:
 *
 * - the checkpoint and the documents it covers commit atomically (a crash keeps both or neither);
 * - a second runner of the same version (a worker thought dead) is refused (`VERSION_MISMATCH`
 *   on the checkpoint) instead of applying events twice.
 */
import type { JsonObject } from '../../crdt/index.js';
import { kafkaPartition } from '../../protocol/kafka/primitives/index.js';

/** Keys of checkpoint documents start with this; projections may not write such keys. */
export const CHECKPOINT_KEY_PREFIX = '$checkpoint.';

const ENCODER = new TextEncoder();

/** The partition a key of a collection with `partitions` partitions lives in (the collections' rule). */
export function partitionOfKey(key: string, partitions: number): number {
  return partitions === 1 ? 0 : kafkaPartition(ENCODER.encode(key), partitions);
}

/** The checkpoint key of each partition, in partition order. */
export function checkpointKeys(partitions: number): string[] {
  const keys: string[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    for (let n = 0; ; n++) {
      const key = `${CHECKPOINT_KEY_PREFIX}${partition}.${n}`;
      if (partitionOfKey(key, partitions) === partition) {
        keys.push(key);
        break;
      }
    }
  }
  return keys;
}

/** A checkpoint document: the last position whose effects the partition holds. */
export interface CheckpointDocument extends JsonObject {
  readonly projection: string;
  readonly position: number;
}

/** The position a checkpoint document holds (-1: nothing applied yet). */
export function checkpointPosition(value: JsonObject | null): number {
  const position = value?.position;
  return typeof position === 'number' && Number.isSafeInteger(position) ? position : -1;
}
