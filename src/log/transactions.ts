/**
 * @module log/transactions
 * Transaction bookkeeping for ONE topic-partition, shared by every Log engine (Kafka's KIP-98
 * design, so a Kafka front end maps it 1:1):
 * - A producer's first transactional batch opens its transaction here, at that batch's base
 *   offset; later transactional batches continue it. A COMMIT or ABORT marker (a control batch
 *   that takes one offset) closes it. While it is open the producer may append only
 *   transactional batches (`INVALID_TXN_STATE`).
 * - The last stable offset (LSO) is the first offset of the oldest open transaction (never below
 *   `earliest`), else the high watermark. `isolation: 'committed'` readers stop there.
 * - An aborted transaction is remembered as (producerId, first offset, marker offset): a
 *   transactional batch of that producer inside that range is aborted. Per producer, transactions
 *   never overlap, so a binary search finds the one that may hold a batch.
 *
 * Engine usage, synchronously under the partition's append order (after the producer check):
 * @example
 * table.checkAppend(producerId, transactional);          // may throw
 * const baseOffset = assignOffsets();
 * if (transactional) table.recordAppend(producer.producerId, producer.producerEpoch, baseOffset);
 * // writeMarker: fence against the producer table first, then
 * if (!table.isOpen(marker.producerId)) return { offset: null };
 * table.recordMarker(marker, markerOffset);
 *
 * Nothing here costs anything on a partition that never saw a transaction: engines ask
 * `active` (one property read) before anything else on the hot path.
 *
 * Engines that acknowledge appends after assigning their offsets (the file engine) pass their high
 * watermark to `lastStable(next)`: a marker not yet acknowledged keeps holding the LSO back, and
 * `rollbackTo(next)` undoes what unacknowledged appends and markers did after a failed write.
 * The state is plain data: `snapshot(beforeOffset)` / `restore()` persist it at segment
 * boundaries, and replaying stored batches in offset order rebuilds the rest.
 */
import { TributaryError } from '../errors.js';
import type { AbortedTransaction, TransactionMarker } from './types.js';
import { isIntIn } from './validation.js';

export interface OpenTransaction {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** Offset of the transaction's first batch on this partition. */
  readonly firstOffset: number;
}

/** A transaction closed by a marker the engine has not acknowledged yet. */
interface Closing {
  readonly transaction: OpenTransaction;
  readonly markerOffset: number;
  readonly commit: boolean;
}

export interface TransactionSnapshot {
  readonly version: 1;
  readonly open: readonly OpenTransaction[];
  readonly aborted: readonly AbortedTransaction[];
}

export class TransactionTable {
  /** Ordered by firstOffset (transactions open in offset order). */
  private open: OpenTransaction[] = [];
  /** Every aborted transaction still stored, ordered by marker offset. */
  private aborted: AbortedTransaction[] = [];
  /** The same, per producer (also ordered by marker offset). */
  private abortedByProducer = new Map<number, AbortedTransaction[]>();
  /** Longest aborted transaction (marker offset - first offset): bounds range searches. */
  private abortedSpanMax = 0;
  /** Markers recorded but maybe not acknowledged yet, oldest first. */
  private closing: Closing[] = [];

  constructor(
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  /** True once the partition has any transaction state (open, closing or aborted). */
  get active(): boolean {
    return this.open.length > 0 || this.aborted.length > 0 || this.closing.length > 0;
  }

  /** Open transactions, oldest first (for tests and diagnostics). */
  get openTransactions(): readonly OpenTransaction[] {
    return this.open;
  }

  isOpen(producerId: number): boolean {
    return this.openOf(producerId) !== undefined;
  }

  /**
   * Throws unless a batch may be appended: `transactional` needs a producer (`INVALID_ARGUMENT`),
   * and a producer with an open transaction here appends only transactional batches
   * (`INVALID_TXN_STATE`, as Kafka).
   */
  checkAppend(producerId: number | undefined, transactional: boolean): void {
    if (transactional && producerId === undefined) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'a transactional append needs a producer (producerId, producerEpoch, baseSequence)',
      });
    }
    if (!transactional && producerId !== undefined && this.open.length > 0 && this.isOpen(producerId)) {
      throw new TributaryError('INVALID_TXN_STATE', {
        what: `Producer ${producerId} on ${this.topic}/${this.partition}`,
        producerId,
        topic: this.topic,
        partition: this.partition,
        reason: 'it has an open transaction here, so its batches must be transactional',
      });
    }
  }

  /** A transactional batch at `baseOffset`: opens the producer's transaction unless it is open. */
  recordAppend(producerId: number, producerEpoch: number, baseOffset: number): void {
    const at = this.open.findIndex((t) => t.producerId === producerId);
    if (at < 0) {
      this.open.push({ producerId, producerEpoch, firstOffset: baseOffset });
    } else if (this.open[at]!.producerEpoch !== producerEpoch) {
      this.open[at] = { ...this.open[at]!, producerEpoch };
    }
  }

  /**
   * A marker at `markerOffset` closes the producer's open transaction; returns it, or `undefined`
   * (nothing open: during recovery a marker whose transaction a snapshot left out).
   */
  recordMarker(marker: TransactionMarker, markerOffset: number): OpenTransaction | undefined {
    const at = this.open.findIndex((t) => t.producerId === marker.producerId);
    if (at < 0) return undefined;
    const transaction = this.open[at]!;
    this.open.splice(at, 1);
    this.closing.push({ transaction, markerOffset, commit: marker.commit });
    if (!marker.commit) {
      this.addAborted({
        producerId: marker.producerId,
        firstOffset: transaction.firstOffset,
        lastOffset: markerOffset,
      });
    }
    return transaction;
  }

  /**
   * The LSO for a partition whose records below `next` are readable (its high watermark): the
   * first offset of the oldest transaction still open as of `next`, clamped to `earliest`.
   */
  lastStable(next: number, earliest: number): number {
    let stable = next;
    const open = this.open;
    if (open.length > 0 && open[0]!.firstOffset < stable) stable = open[0]!.firstOffset;
    if (this.closing.length > 0) {
      // Acknowledged markers no longer hold anything back.
      let settled = 0;
      while (settled < this.closing.length && this.closing[settled]!.markerOffset < next) settled++;
      if (settled > 0) this.closing.splice(0, settled);
      for (const { transaction } of this.closing) {
        if (transaction.firstOffset < stable) stable = transaction.firstOffset;
      }
    }
    return Math.max(stable, Math.min(earliest, next));
  }

  /** Whether a transactional batch of `producerId` at `offset` belongs to an aborted transaction. */
  isAborted(producerId: number, offset: number): boolean {
    const list = this.abortedByProducer.get(producerId);
    if (list === undefined) return false;
    // First transaction whose marker comes after `offset`: the only one that may hold it.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.lastOffset <= offset) lo = mid + 1;
      else hi = mid;
    }
    const candidate = list[lo];
    return candidate !== undefined && candidate.firstOffset <= offset;
  }

  /** Aborted transactions whose range intersects [fromOffset, toOffset), by first offset. */
  abortedIn(fromOffset: number, toOffset: number): AbortedTransaction[] {
    const list = this.aborted;
    if (list.length === 0 || toOffset <= fromOffset) return [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.lastOffset < fromOffset) lo = mid + 1;
      else hi = mid;
    }
    const found: AbortedTransaction[] = [];
    for (let i = lo; i < list.length; i++) {
      const aborted = list[i]!;
      // Past here every transaction starts at or after toOffset.
      if (aborted.lastOffset - this.abortedSpanMax >= toOffset) break;
      if (aborted.firstOffset < toOffset) found.push(aborted);
    }
    return found.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Drops aborted transactions wholly below `earliest` (retention deleted their records). */
  forgetBefore(earliest: number): void {
    if (this.aborted.length === 0 || this.aborted[0]!.lastOffset >= earliest) return;
    this.replaceAborted(this.aborted.filter((a) => a.lastOffset >= earliest));
  }

  /**
   * Plain-data copy of the state as of `beforeOffset` (appends and markers at or after it left
   * out). `beforeOffset` is at least every high watermark passed to `lastStable` so far (the
   * engines pass their current one): markers below those have been forgotten.
   */
  snapshot(beforeOffset: number): TransactionSnapshot {
    const open = this.open.filter((t) => t.firstOffset < beforeOffset);
    for (const { transaction, markerOffset } of this.closing) {
      if (markerOffset >= beforeOffset && transaction.firstOffset < beforeOffset) open.push(transaction);
    }
    open.sort((a, b) => a.firstOffset - b.firstOffset);
    const aborted = this.aborted.filter((a) => a.lastOffset < beforeOffset);
    return { version: 1, open, aborted };
  }

  /** Replaces the state with a snapshot; a malformed one is ignored (returns false). */
  restore(snapshot: unknown): boolean {
    if (!isTransactionSnapshot(snapshot)) return false;
    this.open = [...snapshot.open].sort((a, b) => a.firstOffset - b.firstOffset);
    this.closing = [];
    this.replaceAborted([...snapshot.aborted].sort((a, b) => a.lastOffset - b.lastOffset));
    return true;
  }

  /** Undoes what appends and markers at or after `next` did (they were never acknowledged). */
  rollbackTo(next: number): void {
    if (this.active) this.restore(this.snapshot(next));
  }

  clear(): void {
    this.open = [];
    this.closing = [];
    this.replaceAborted([]);
  }

  private openOf(producerId: number): OpenTransaction | undefined {
    for (const transaction of this.open) if (transaction.producerId === producerId) return transaction;
    return undefined;
  }

  private addAborted(aborted: AbortedTransaction): void {
    this.aborted.push(aborted);
    let list = this.abortedByProducer.get(aborted.producerId);
    if (list === undefined) {
      list = [];
      this.abortedByProducer.set(aborted.producerId, list);
    }
    list.push(aborted);
    this.abortedSpanMax = Math.max(this.abortedSpanMax, aborted.lastOffset - aborted.firstOffset);
  }

  private replaceAborted(aborted: readonly AbortedTransaction[]): void {
    this.aborted = [];
    this.abortedByProducer = new Map();
    this.abortedSpanMax = 0;
    for (const entry of aborted) this.addAborted(entry);
  }
}

function isTransactionSnapshot(value: unknown): value is TransactionSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const { version, open, aborted } = value as Record<string, unknown>;
  const ints = (entry: unknown, keys: readonly string[]): boolean =>
    typeof entry === 'object' &&
    entry !== null &&
    keys.every((k) => Number.isSafeInteger((entry as Record<string, unknown>)[k]));
  return (
    version === 1 &&
    Array.isArray(open) &&
    Array.isArray(aborted) &&
    open.every((t: unknown) => ints(t, ['producerId', 'producerEpoch', 'firstOffset'])) &&
    aborted.every((a: unknown) => ints(a, ['producerId', 'firstOffset', 'lastOffset']))
  );
}

/** `INVALID_ARGUMENT` unless `marker` is a well-formed TransactionMarker. */
export function checkTransactionMarker(marker: TransactionMarker): void {
  const fail = (reason: string): never => {
    throw new TributaryError('INVALID_ARGUMENT', { reason: `Invalid transaction marker: ${reason}` });
  };
  if (marker === null || typeof marker !== 'object') fail('it must be an object');
  if (!isIntIn(marker.producerId, 0, Number.MAX_SAFE_INTEGER))
    fail('producerId must be a non-negative integer');
  if (!isIntIn(marker.producerEpoch, 0, PRODUCER_EPOCH_MAX))
    fail(`producerEpoch must be an integer from 0 to ${PRODUCER_EPOCH_MAX}`);
  if (typeof marker.commit !== 'boolean') fail('commit must be true or false');
}

/** `AppendOptions.transactional` as a boolean; `INVALID_ARGUMENT` for anything else. */
export function checkTransactionalOption(value: unknown): boolean {
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  throw new TributaryError('INVALID_ARGUMENT', { reason: 'transactional must be true or false' });
}

/** Largest producer epoch a stored batch header holds (int16). */
export const PRODUCER_EPOCH_MAX = 32767;

/**
 * The epoch fence of `writeMarker`: an epoch older than the producer's current one on the
 * partition is `PRODUCER_FENCED`.
 */
export function checkMarkerEpoch(
  marker: TransactionMarker,
  currentEpoch: number | undefined,
  topic: string,
  partition: number,
): void {
  if (currentEpoch !== undefined && marker.producerEpoch < currentEpoch) {
    throw new TributaryError('PRODUCER_FENCED', {
      producerId: marker.producerId,
      epoch: marker.producerEpoch,
      current: currentEpoch,
      topic,
      partition,
    });
  }
}
