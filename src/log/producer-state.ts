/**
 * @module log/producer-state
 * Idempotent-producer bookkeeping for ONE topic-partition, shared by every Log engine.
 *
 * Rules (Kafka's, so a Kafka front end can map them 1:1):
 * - Sequences are per producer and partition. A producer's first batch starts at sequence 0, and
 *   each batch's `baseSequence` is the previous batch's last sequence + 1 (wrapping from
 *   2^31 - 1 to 0, as Kafka's int32 sequences do).
 * - The last {@link PRODUCER_BATCHES_REMEMBERED} batches of each producer are remembered with
 *   their offsets: a batch whose first AND last sequence match one of them is a retry
 *   (`duplicate`, original offsets). Anything else out of order is `OUT_OF_ORDER_SEQUENCE`.
 * - A batch with an older epoch than the producer's current one is `PRODUCER_FENCED`; a newer
 *   epoch starts the producer over, so its first batch must have sequence 0.
 *
 * Engine usage, under the partition's append lock (no await between check and record):
 * @example
 * const check = table.check(options.producer, records.length);   // may throw
 * if (check.kind === 'duplicate') return { ...check, duplicate: true, timestamp };
 * const { baseOffset, lastOffset } = writeBatch(records);
 * table.record(options.producer, records.length, baseOffset, lastOffset);
 *
 * Transaction markers (`bumpEpoch`) raise a producer's epoch like a batch of a newer epoch would.
 *
 * Recovery: the table is plain derived state. An engine rebuilds it by calling `record()` for
 * every stored batch that carries a producer id, in offset order (`record()` never throws and
 * replays epoch bumps). Batches that compaction emptied or retention deleted must still feed it
 * (keep their headers or snapshot the table), or a producer's next batch after a restart is
 * `OUT_OF_ORDER_SEQUENCE` instead of being appended.
 */
import { TributaryError } from '../errors.js';
import type { ProducerBatchId } from './types.js';
import { isIntIn } from './validation.js';

/** Batches remembered per producer for duplicate detection (Kafka: max.in.flight.requests ≤ 5). */
export const PRODUCER_BATCHES_REMEMBERED = 5;
/** Largest sequence number; the next one after it is 0. */
export const PRODUCER_SEQUENCE_MAX = 2 ** 31 - 1;

export type ProducerCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number; readonly lastOffset: number };

interface RememberedBatch {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  /** Oldest first; at most PRODUCER_BATCHES_REMEMBERED. */
  batches: RememberedBatch[];
}

const APPEND: ProducerCheck = { kind: 'append' };

/** `sequence + count`, wrapping past PRODUCER_SEQUENCE_MAX like Kafka's int32 sequences. */
export function addSequence(sequence: number, count: number): number {
  return (sequence + count) % (PRODUCER_SEQUENCE_MAX + 1);
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  /** `topic` and `partition` only name the partition in error details. */
  constructor(
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  /** Number of producers with state. */
  get size(): number {
    return this.producers.size;
  }

  /**
   * Decides what to do with a batch of `recordCount` records; changes nothing.
   * Throws `INVALID_ARGUMENT` (malformed id), `PRODUCER_FENCED` or `OUT_OF_ORDER_SEQUENCE`.
   */
  check(batch: ProducerBatchId, recordCount: number): ProducerCheck {
    validateBatchId(batch, recordCount);
    const entry = this.producers.get(batch.producerId);
    if (entry === undefined) return this.expectSequence(batch, 0);
    if (batch.producerEpoch < entry.epoch) {
      throw new TributaryError('PRODUCER_FENCED', {
        producerId: batch.producerId,
        epoch: batch.producerEpoch,
        current: entry.epoch,
        topic: this.topic,
        partition: this.partition,
      });
    }
    if (batch.producerEpoch > entry.epoch) return this.expectSequence(batch, 0);
    const lastSequence = addSequence(batch.baseSequence, recordCount - 1);
    for (const remembered of entry.batches) {
      if (remembered.firstSequence === batch.baseSequence && remembered.lastSequence === lastSequence) {
        return { kind: 'duplicate', baseOffset: remembered.baseOffset, lastOffset: remembered.lastOffset };
      }
    }
    const latest = entry.batches.at(-1);
    return this.expectSequence(batch, latest === undefined ? 0 : addSequence(latest.lastSequence, 1));
  }

  /** Remembers an appended batch (or replays a stored one during recovery). Never throws. */
  record(batch: ProducerBatchId, recordCount: number, baseOffset: number, lastOffset: number): void {
    let entry = this.producers.get(batch.producerId);
    if (entry === undefined || entry.epoch !== batch.producerEpoch) {
      entry = { epoch: batch.producerEpoch, batches: [] };
      this.producers.set(batch.producerId, entry);
    }
    entry.batches.push({
      firstSequence: batch.baseSequence,
      lastSequence: addSequence(batch.baseSequence, Math.max(recordCount, 1) - 1),
      baseOffset,
      lastOffset,
    });
    if (entry.batches.length > PRODUCER_BATCHES_REMEMBERED) entry.batches.shift();
  }

  /** The producer's current epoch on this partition, if it has state here. */
  epochOf(producerId: number): number | undefined {
    return this.producers.get(producerId)?.epoch;
  }

  /**
   * A transaction marker of `epoch` was written (or replayed): a newer epoch becomes the current
   * one and starts the producer over (its next batch has sequence 0), so older epochs are fenced.
   */
  bumpEpoch(producerId: number, epoch: number): void {
    const entry = this.producers.get(producerId);
    if (entry === undefined || epoch > entry.epoch) this.producers.set(producerId, { epoch, batches: [] });
  }

  /**
   * Plain-data copy of the table as it was before `beforeOffset` (batches at or after it are left
   * out), for an engine to persist at a segment boundary and `restore` on recovery.
   */
  snapshot(beforeOffset: number): ProducerSnapshot {
    const producers: Array<ProducerSnapshot['producers'][number]> = [];
    for (const [producerId, entry] of this.producers) {
      const batches = entry.batches.filter((b) => b.lastOffset < beforeOffset);
      // An entry without batches holds an epoch a transaction marker set: it still fences.
      if (batches.length > 0 || entry.batches.length === 0)
        producers.push({ producerId, epoch: entry.epoch, batches });
    }
    return { version: 1, producers };
  }

  /** Replaces the table's contents with a snapshot; malformed snapshots are ignored (returns false). */
  restore(snapshot: unknown): boolean {
    if (!isProducerSnapshot(snapshot)) return false;
    this.producers.clear();
    for (const { producerId, epoch, batches } of snapshot.producers) {
      this.producers.set(producerId, { epoch, batches: batches.slice(-PRODUCER_BATCHES_REMEMBERED) });
    }
    return true;
  }

  /** Forgets every producer (e.g. when the partition's data is deleted). */
  clear(): void {
    this.producers.clear();
  }

  private expectSequence(batch: ProducerBatchId, expected: number): ProducerCheck {
    if (batch.baseSequence === expected) return APPEND;
    throw new TributaryError('OUT_OF_ORDER_SEQUENCE', {
      producerId: batch.producerId,
      sequence: batch.baseSequence,
      expected,
      topic: this.topic,
      partition: this.partition,
    });
  }
}

export interface ProducerSnapshot {
  readonly version: 1;
  readonly producers: ReadonlyArray<{
    readonly producerId: number;
    readonly epoch: number;
    readonly batches: readonly RememberedBatch[];
  }>;
}

function isProducerSnapshot(value: unknown): value is ProducerSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const { version, producers } = value as Record<string, unknown>;
  if (version !== 1 || !Array.isArray(producers)) return false;
  return producers.every(
    (p: unknown) =>
      typeof p === 'object' &&
      p !== null &&
      Number.isSafeInteger((p as Record<string, unknown>).producerId) &&
      Number.isSafeInteger((p as Record<string, unknown>).epoch) &&
      Array.isArray((p as Record<string, unknown>).batches) &&
      (p as { batches: unknown[] }).batches.every(
        (b) =>
          typeof b === 'object' &&
          b !== null &&
          ['firstSequence', 'lastSequence', 'baseOffset', 'lastOffset'].every((k) =>
            Number.isSafeInteger((b as Record<string, unknown>)[k]),
          ),
      ),
  );
}

/** Throws `INVALID_ARGUMENT` unless `batch` is a well-formed producer batch id of `recordCount` records. */
export function validateBatchId(batch: ProducerBatchId, recordCount: number): void {
  const fail = (reason: string): never => {
    throw new TributaryError('INVALID_ARGUMENT', { reason: `Invalid producer batch: ${reason}` });
  };
  if (batch === null || typeof batch !== 'object') fail('it must be an object');
  if (!isIntIn(batch.producerId, 0, Number.MAX_SAFE_INTEGER))
    fail('producerId must be a non-negative integer');
  if (!isIntIn(batch.producerEpoch, 0, Number.MAX_SAFE_INTEGER))
    fail('producerEpoch must be a non-negative integer');
  if (!isIntIn(batch.baseSequence, 0, PRODUCER_SEQUENCE_MAX))
    fail(`baseSequence must be an integer from 0 to ${PRODUCER_SEQUENCE_MAX}`);
  if (!isIntIn(recordCount, 1, Number.MAX_SAFE_INTEGER)) fail('a batch has at least one record');
}
