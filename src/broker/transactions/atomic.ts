/**
 * @module broker/transactions/atomic
 * Atomic multi-partition commits for Tributary's own callers (`Broker.commitAtomically`): the
 * same coordinator and markers as Kafka transactions, driven by the broker itself.
 *
 * Each call borrows an internal transactional id (`__atomic.<n>`, a pool that grows with the
 * number of concurrent calls) and bumps its epoch, so every call is a fresh producer epoch whose
 * sequences start at 0 on every partition, and anything left of an earlier use is fenced. Steps,
 * each durable before the next:
 *
 * 1. `Ongoing` with the partitions and offset commits (so a crash from here on is aborted at the
 *    next start: an internal id's caller is gone with the process);
 * 2. one transactional batch per partition, in parallel;
 * 3. `PrepareCommit` (the decision; a failed append above leads to `PrepareAbort` instead);
 * 4. markers, offset commits, `CompleteCommit` (rolled forward at the next start if cut short).
 *
 * Readers with `isolation: 'committed'` see all of a call's records or none; readers of
 * uncommitted data see them as they land, as Kafka's read_uncommitted consumers do.
 */
import type { AppendResult, RecordInput } from '../../log/types.js';
import type { CommittedOffset, TopicPartition } from '../types.js';
import type { TransactionCoordinator, TransactionLog } from './coordinator.js';
import type { TransactionRecord } from './state.js';

/** Prefix of the broker's own transactional ids (Kafka clients cannot name `__` ids... they can; see docs). */
export const ATOMIC_ID_PREFIX = '__atomic.';
const EPOCH_MAX = 32_767;
/** An internal id's transactions never wait for the timeout: this only bounds a stuck call. */
const ATOMIC_TIMEOUT_MS = 60_000;

export function isAtomicId(transactionalId: string): boolean {
  return transactionalId.startsWith(ATOMIC_ID_PREFIX);
}

/** The records bound for one partition. */
export interface AtomicBatch extends TopicPartition {
  readonly records: readonly RecordInput[];
  /** The batch is appended only if the partition's last offset is this (else the call aborts). */
  readonly expectedLastOffset?: number;
}

export interface AtomicOffsets {
  readonly groupId: string;
  readonly offsets: readonly CommittedOffset[];
}

export interface AtomicBatchResult extends TopicPartition {
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export class AtomicCommitter {
  private readonly free: string[] = [];
  private size = 0;

  constructor(
    private readonly coordinator: TransactionCoordinator,
    private readonly log: TransactionLog,
    existingIds: Iterable<string>,
  ) {
    for (const id of existingIds) {
      if (!isAtomicId(id)) continue;
      this.free.push(id);
      this.size++;
    }
  }

  /** Appends every batch and applies the offset commits, all or nothing. */
  async commit(
    batches: readonly AtomicBatch[],
    offsets: AtomicOffsets | undefined,
  ): Promise<AtomicBatchResult[]> {
    const transactionalId = this.free.pop() ?? `${ATOMIC_ID_PREFIX}${this.size++}`;
    try {
      return await this.coordinator.withTransactionalId(transactionalId, () =>
        this.run(transactionalId, batches, offsets),
      );
    } finally {
      this.free.push(transactionalId);
    }
  }

  private async run(
    transactionalId: string,
    batches: readonly AtomicBatch[],
    offsets: AtomicOffsets | undefined,
  ): Promise<AtomicBatchResult[]> {
    const previous = this.coordinator.stateOf(transactionalId);
    let producerId = previous?.producerId;
    let producerEpoch = previous === undefined ? 0 : previous.producerEpoch + 1;
    if (producerId === undefined || producerEpoch >= EPOCH_MAX) {
      producerId = await this.coordinator.newProducerId();
      producerEpoch = 0;
    }
    const partitions = [...new Map(batches.map((b) => [`${b.topic}\0${b.partition}`, b])).values()].map(
      ({ topic, partition }) => ({ topic, partition }),
    );
    const ongoing: TransactionRecord = {
      producerId,
      producerEpoch,
      timeoutMs: ATOMIC_TIMEOUT_MS,
      state: 'Ongoing',
      partitions,
      groups: offsets === undefined ? [] : [offsets.groupId],
      offsets: offsets === undefined || offsets.offsets.length === 0 ? [] : [offsets],
      startedAtMs: Date.now(),
    };
    await this.coordinator.write(transactionalId, ongoing);
    const producer = { producerId, producerEpoch, baseSequence: 0 };
    const appended = await Promise.allSettled(
      batches.map((b) =>
        this.log.append(
          b.topic,
          b.partition,
          b.records,
          b.expectedLastOffset === undefined
            ? { producer, transactional: true }
            : { producer, transactional: true, expectedLastOffset: b.expectedLastOffset },
        ),
      ),
    );
    const failed = appended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    await this.coordinator.decide(transactionalId, ongoing, failed === undefined);
    if (failed !== undefined) throw failed.reason;
    return batches.map((b, i) => {
      const { baseOffset, lastOffset } = (appended[i] as PromiseFulfilledResult<AppendResult>).value;
      return { topic: b.topic, partition: b.partition, baseOffset, lastOffset };
    });
  }
}
