/**
 * @module broker/transactions/routes
 * Kafka transactions across gateways (docs/scale-out.md, "Kafka transactions across gateways").
 * Each transactional id is coordinated by one gateway, the holder of its lease
 * (`cluster.transactionCoordinatorOf`): only that gateway's `TransactionCoordinator` knows the
 * open transaction's partitions and counts its produce requests in flight. Kafka clients send
 * their batches to the partitions' leaders, which Metadata spreads over every gateway, so a
 * gateway that receives a transactional batch for an id another gateway coordinates asks that
 * gateway to admit it (`txnAdmit`) and tells it when the append settled (`txnDone`): the
 * coordinator then writes no marker while an admitted append is in flight anywhere, as alone.
 * TxnOffsetCommit goes to the group's coordinator, which may be a third gateway: it forwards the
 * offsets to the transaction's coordinator (`txnCommitOffsets`).
 *
 * Appends of one transactional id through one gateway are issued in the order they were
 * admitted (a promise chain per id), so pipelined produce requests keep their order per
 * partition.
 *
 * @example
 * const routes = new TransactionRoutes(cluster, coordinator, logger);
 * const result = await routes.admitAndAppend('orders-job', producer, 'orders', 0, () => log.append(…));
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.js';
import type { GatewayCluster } from '../cluster.js';
import type { CommittedOffset, ProducerIdentity } from '../types.js';
import type { AdmittedProduce, TransactionCoordinator } from './coordinator.js';

/** The request methods gateways answer for transactions. */
export const TRANSACTION_METHODS = {
  admit: 'txnAdmit',
  done: 'txnDone',
  commitOffsets: 'txnCommitOffsets',
} as const;

/**
 * How long a coordinator counts a batch admitted for another gateway whose `txnDone` never came
 * (that gateway died): longer than a JetStream append may take, retries included (30 s).
 */
export const REMOTE_ADMISSION_HOLD_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

interface AdmitBody {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly topic: string;
  readonly partition: number;
}

interface CommitOffsetsBody {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly groupId: string;
  readonly offsets: readonly CommittedOffset[];
}

export class TransactionRoutes {
  /** Admissions this gateway holds for batches appended through other gateways, by token. */
  private readonly held = new Map<string, { admitted: AdmittedProduce; timer: NodeJS.Timeout }>();
  /** Per transactional id: settles once the latest admission through this gateway issued its append. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly cluster: GatewayCluster,
    private readonly coordinator: TransactionCoordinator,
    private readonly logger: Logger,
  ) {
    cluster.handle(TRANSACTION_METHODS.admit, (body) => this.admitForOther(parseAdmit(body)));
    cluster.handle(TRANSACTION_METHODS.done, async (body) => {
      const token = (body as { token?: unknown } | null)?.token;
      if (typeof token === 'string') this.release(token);
      return null;
    });
    cluster.handle(TRANSACTION_METHODS.commitOffsets, async (body) => {
      const b = parseCommitOffsets(body);
      await this.checkCoordinating(b.transactionalId);
      await coordinator.commitOffsets(
        b.transactionalId,
        { producerId: b.producerId, producerEpoch: b.producerEpoch },
        b.groupId,
        b.offsets,
      );
      return null;
    });
  }

  /**
   * Admits a transactional batch (here, or at the id's coordinator), then issues `append`; the
   * admission is released once the append settles. Rejects with the coordinator's refusal
   * (`INVALID_TXN_STATE`, `PRODUCER_FENCED`, `PRODUCER_ID_MISMATCH`, …) without appending.
   */
  admitAndAppend<T>(
    transactionalId: string,
    producer: ProducerIdentity,
    topic: string,
    partition: number,
    append: () => Promise<T>,
  ): Promise<T> {
    const previous = this.tails.get(transactionalId) ?? Promise.resolve();
    let release: (() => Promise<void>) | undefined;
    let appended: Promise<T> | undefined;
    const issued = previous.then(async () => {
      release = await this.admit({ transactionalId, ...producer, topic, partition });
      try {
        appended = append();
      } catch (error) {
        await release();
        throw error;
      }
    });
    const tail = issued.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(transactionalId, tail);
    void tail.then(() => {
      if (this.tails.get(transactionalId) === tail) this.tails.delete(transactionalId);
    });
    return issued.then(async () => {
      try {
        return await appended!;
      } finally {
        await release!();
      }
    });
  }

  /**
   * Adds pending offset commits to the transaction at its coordinator (TxnOffsetCommit reaches
   * the group's coordinator, which may be another gateway).
   */
  async commitOffsets(
    transactionalId: string,
    producer: ProducerIdentity,
    groupId: string,
    offsets: readonly CommittedOffset[],
  ): Promise<void> {
    const coordinator = await this.cluster.transactionCoordinatorOf(transactionalId);
    if (coordinator.id === this.cluster.self.id) {
      await this.coordinator.commitOffsets(transactionalId, producer, groupId, offsets);
      return;
    }
    const body: CommitOffsetsBody = { transactionalId, ...producer, groupId, offsets };
    await this.cluster.request(coordinator.id, TRANSACTION_METHODS.commitOffsets, body, REQUEST_TIMEOUT_MS);
  }

  /** Releases every admission held for other gateways (shutting down). */
  close(): void {
    for (const token of [...this.held.keys()]) this.release(token);
  }

  /** The admission of one batch: local when this gateway coordinates the id, else remote. */
  private async admit(body: AdmitBody): Promise<() => Promise<void>> {
    const coordinator = await this.cluster.transactionCoordinatorOf(body.transactionalId);
    if (coordinator.id === this.cluster.self.id) {
      const admitted = this.coordinator.admitProduce(
        body.transactionalId,
        { producerId: body.producerId, producerEpoch: body.producerEpoch },
        body.topic,
        body.partition,
      );
      return async () => admitted.done();
    }
    const token = await this.cluster.request(
      coordinator.id,
      TRANSACTION_METHODS.admit,
      body,
      REQUEST_TIMEOUT_MS,
    );
    return async () => {
      try {
        await this.cluster.request(coordinator.id, TRANSACTION_METHODS.done, { token }, REQUEST_TIMEOUT_MS);
      } catch (error) {
        // The coordinator releases it after REMOTE_ADMISSION_HOLD_MS on its own.
        this.logger.warn(
          { err: error, transactionalId: body.transactionalId },
          'could not release a transactional produce admission',
        );
      }
    };
  }

  private async admitForOther(body: AdmitBody): Promise<string> {
    await this.checkCoordinating(body.transactionalId);
    const admitted = this.coordinator.admitProduce(
      body.transactionalId,
      { producerId: body.producerId, producerEpoch: body.producerEpoch },
      body.topic,
      body.partition,
    );
    const token = randomUUID();
    const timer = setTimeout(() => this.release(token), REMOTE_ADMISSION_HOLD_MS);
    timer.unref();
    this.held.set(token, { admitted, timer });
    return token;
  }

  private release(token: string): void {
    const entry = this.held.get(token);
    if (entry === undefined) return;
    this.held.delete(token);
    clearTimeout(entry.timer);
    entry.admitted.done();
  }

  /** A gateway asked as coordinator that no longer is one refuses: the caller looks it up again. */
  private async checkCoordinating(transactionalId: string): Promise<void> {
    const coordinator = await this.cluster.transactionCoordinatorOf(transactionalId);
    if (coordinator.id !== this.cluster.self.id)
      throw new TributaryError('CONCURRENT_TRANSACTIONS', { transactionalId });
  }
}

function parseAdmit(body: unknown): AdmitBody {
  const b = body as Partial<AdmitBody> | null;
  if (
    b === null ||
    typeof b.transactionalId !== 'string' ||
    !Number.isSafeInteger(b.producerId) ||
    !Number.isSafeInteger(b.producerEpoch) ||
    typeof b.topic !== 'string' ||
    !Number.isSafeInteger(b.partition)
  ) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'malformed txnAdmit request' });
  }
  return b as AdmitBody;
}

function parseCommitOffsets(body: unknown): CommitOffsetsBody {
  const b = body as Partial<CommitOffsetsBody> | null;
  if (
    b === null ||
    typeof b.transactionalId !== 'string' ||
    !Number.isSafeInteger(b.producerId) ||
    !Number.isSafeInteger(b.producerEpoch) ||
    typeof b.groupId !== 'string' ||
    !Array.isArray(b.offsets) ||
    !b.offsets.every(
      (o) =>
        typeof o?.topic === 'string' && Number.isSafeInteger(o.partition) && Number.isSafeInteger(o.offset),
    )
  ) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'malformed txnCommitOffsets request' });
  }
  return b as CommitOffsetsBody;
}
