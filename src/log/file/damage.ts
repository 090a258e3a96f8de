/**
 * @module log/file/damage
 * Damage found when the file engine opens its data directory stays local (docs/FORMAT.md,
 * "Damage"): a partition whose acknowledged data is damaged or missing is kept offline as a
 * {@link DamagedPartition} that answers PARTITION_DAMAGED, and a topic directory whose
 * `topic.json` cannot be read is kept aside as a damaged topic that answers TOPIC_DAMAGED. The
 * others open and serve as usual; nothing is deleted or truncated until an operator asks
 * (`tributary data repair`, `tributary data rebuild-metadata`).
 */
import { isTributaryError, TributaryError } from '../../errors.js';
import type { LogDamage } from '../types.js';

/** A partition kept offline because opening it found damaged data. */
export class DamagedPartition {
  constructor(
    readonly partition: number,
    /** PARTITION_DAMAGED, naming file, byte and reason; every call on the partition gets it. */
    readonly error: TributaryError,
  ) {}
}

/** A topic directory with data but no readable `topic.json`. */
export interface DamagedTopic {
  readonly name: string;
  readonly dir: string;
  readonly error: TributaryError;
}

/**
 * The PARTITION_DAMAGED error for what recovery found, or `undefined` when `error` is not damage
 * (an I/O failure, say, which stays fatal: it is not a fact about the stored data).
 */
export function partitionDamagedError(
  topic: string,
  partition: number,
  error: unknown,
): TributaryError | undefined {
  if (!isTributaryError(error, 'CORRUPT_LOG')) return undefined;
  const { file, position, reason } = error.details;
  return new TributaryError(
    'PARTITION_DAMAGED',
    { topic, partition, file, position, reason },
    { cause: error },
  );
}

/** A partition directory that topic.json names but that is gone, with every record in it. */
export function missingPartitionError(topic: string, partition: number, dir: string): TributaryError {
  return new TributaryError('PARTITION_DAMAGED', {
    topic,
    partition,
    file: dir,
    position: 0,
    reason: 'the partition directory is missing: its records are lost unless it is restored',
  });
}

export function topicDamagedError(topic: string, dir: string, reason: string): TributaryError {
  return new TributaryError('TOPIC_DAMAGED', { topic, dir, reason });
}

/** A `/healthz` entry; an error that is not a TributaryError (a broken invariant) is a bug: INTERNAL. */
export function describeDamage(topic: string, partition: number | null, error: Error): LogDamage {
  return {
    topic,
    partition,
    code: isTributaryError(error) ? error.code : 'INTERNAL',
    message: error.message,
  };
}
