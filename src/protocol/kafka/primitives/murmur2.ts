/**
 * @module protocol/kafka/primitives/murmur2
 * Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`) and the partition the Java
 * client's default partitioner picks for a keyed record, so Tributary and Kafka clients agree
 * on where a key lives.
 */

import { invalidArgument } from './errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of `data`, as a signed 32-bit integer (exactly what the Java client returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  // `^`, `Math.imul` and `>>>` all work on int32, reproducing Java's wrapping int arithmetic;
  // a plain `*` would go through doubles and lose the low bits.
  let h = SEED ^ length;
  const blocksEnd = length & ~3;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest !== 0) {
    if (rest === 3) h ^= data[blocksEnd + 2]! << 16;
    if (rest >= 2) h ^= data[blocksEnd + 1]! << 8;
    h ^= data[blocksEnd]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition Kafka's default partitioner (`BuiltInPartitioner.partitionForKey`) assigns to a
 * record with this key: `toPositive(murmur2(key)) % partitions`.
 */
export function kafkaPartition(key: Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 0x7fffffff) {
    throw invalidArgument(`partition count must be a positive integer, got ${partitions}`);
  }
  return (murmur2(key) & 0x7fffffff) % partitions;
}
