/**
 * @module sync/partition-state
 * The materialized state of one partition of a collection: every document by key, with the
 * offset of the record that last wrote it (its version), and `next`, the offset up to which the
 * log has been applied. The state only changes by applying the partition's records in offset
 * order (`apply`), whoever wrote them, so every server replaying the same log holds the same state.
 * The documents live in a `DocumentStore` (in memory, or on disk with memory as a cache): the
 * state starts at the offset the store reflects and, once its uncommitted writes reach the store's
 * bound, commits them with `next` after a whole group (never inside a transaction).
 *
 * - Records of one batch marked with `tx-end` are applied together (a transaction is never seen
 *   half-done); `next` stays at the group's start until its last record arrived.
 * - Records already applied (offset below what was scanned) are skipped: the sequencer applies
 *   its own batches as soon as they are durable, and the tail subscription delivers them again.
 * - The tail often delivers the sequencer's batch first (it is woken as the append becomes
 *   durable, before the append's caller resumes). The sequencer announces the batch it appends
 *   (`expectOwn`): a delivered record with the announced key and value bytes at its announced
 *   offset gets the entry its plan made, without decoding its JSON and merging it again.
 * - Listeners get the changes of each applied group, synchronously, in order.
 * - A bounded journal of recent changes lets a subscriber resume exactly from a recent offset;
 *   from anything older it must take a fresh snapshot.
 *
 * @example
 * const state = new PartitionState({ partition: 0, mode: 'strong', logger, store: new MemoryDocumentStore() });
 * state.apply(delivery.records);
 * await state.waitFor(highWatermark);
 * state.entry('alice'); // { key, version, value }
 */
import type { Logger } from 'pino';
import type { LogRecord } from '../broker/types.js';
import { EMPTY_DOC, materialize, merge } from '../crdt/index.js';
import { TributaryError } from '../errors.js';
import { sameBytes } from '../protocol/bytes.js';
import type { DocumentStore, Entry } from './document-store.js';
import { SYNC_LIMITS } from './limits.js';
import { decodeRecord, txEndOf } from './record-codec.js';
import type { ConsistencyMode, Item } from './types.js';

export type { Entry } from './document-store.js';

/** One applied record: the entry before and after it (undefined: absent). */
export interface AppliedChange {
  readonly key: string;
  readonly offset: number;
  readonly before: Entry | undefined;
  readonly after: Entry | undefined;
}

export type ChangeListener = (changes: readonly AppliedChange[], next: number) => void;

/**
 * A record this server's sequencer appended, with the entry its plan made (undefined: deleted):
 * applied as it is, since decoding the record and merging it again would give the same entry.
 */
export interface PlannedRecord extends LogRecord {
  readonly plannedKey: string;
  readonly planned: Entry | undefined;
}

/** A write the sequencer is appending: its record's bytes and the entry its plan made. */
export interface OwnWrite {
  readonly key: string;
  readonly after: Entry | undefined;
  readonly record: { readonly key: Uint8Array | null; readonly value: Uint8Array | null };
}

export interface PartitionStateOptions {
  readonly partition: number;
  readonly mode: ConsistencyMode;
  readonly logger: Logger;
  /** Where the documents live; the state starts at the offset it reflects (`openedAt`). */
  readonly store: DocumentStore;
  readonly journalMax?: number;
}

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class PartitionState {
  readonly partition: number;
  readonly mode: ConsistencyMode;
  readonly store: DocumentStore;
  readonly #logger: Logger;
  readonly #journalMax: number;
  /** Every record below this offset is applied. */
  #next: number;
  /** Next offset to look at (past buffered transaction records). */
  #scanned: number;
  #pending: LogRecord[] = [];
  #pendingEnd = -1;
  /** Recent changes: `#journal[#journalHead..]` (dropped ones are cut off in bulk, not one by one). */
  #journal: AppliedChange[] = [];
  #journalHead = 0;
  #journalStart: number;
  /** The batch the sequencer is appending, from offset `#ownFirst` (`expectOwn`). */
  #own: readonly OwnWrite[] = [];
  #ownFirst = 0;
  readonly #listeners = new Set<ChangeListener>();
  #waiters: Waiter[] = [];
  #failure: unknown;
  /** Incremented by every applied group; checkpoints compare it. */
  generation = 0;

  constructor(options: PartitionStateOptions) {
    this.partition = options.partition;
    this.mode = options.mode;
    this.#logger = options.logger;
    this.#journalMax = options.journalMax ?? SYNC_LIMITS.changeJournalMax;
    this.store = options.store;
    const start = this.store.openedAt;
    this.#next = start;
    this.#scanned = start;
    this.#journalStart = start;
  }

  /** Every record below this offset is applied. */
  get next(): number {
    return this.#next;
  }

  get size(): number {
    return this.store.size;
  }

  /** The entry of `key`, deleted ones included (eventual tombstones), or undefined. */
  entry(key: string): Entry | undefined {
    return this.store.get(key);
  }

  /** Every entry (tombstones included) whose key starts with `prefix`, in no particular order. */
  entries(prefix?: string): Iterable<Entry> {
    return this.store.entries(prefix);
  }

  /** The visible items (not deleted) whose key starts with `prefix`, in no particular order. */
  *items(prefix?: string): Generator<Item> {
    for (const entry of this.store.entries(prefix)) {
      const item = toItem(entry, this.partition);
      if (item !== undefined) yield item;
    }
  }

  /**
   * Applies records of this partition, in offset order (already applied ones are skipped). A
   * `PlannedRecord` (the sequencer's own, just durable) carries its entry and is not decoded.
   */
  apply(records: readonly (LogRecord | PlannedRecord)[]): void {
    for (const record of records) {
      if (record.offset < this.#scanned) continue;
      this.#scanned = record.offset + 1;
      if (this.#pending.length > 0 && record.offset > this.#pendingEnd) {
        // The group's last record was compacted away (a later write superseded it).
        this.#applyGroup(this.#pending.splice(0));
      }
      const end = txEndOf(record);
      if (this.#pending.length > 0 || (end !== undefined && end > record.offset)) {
        this.#pending.push(record);
        if (end !== undefined) this.#pendingEnd = Math.max(this.#pendingEnd, end);
        if (record.offset >= this.#pendingEnd) this.#applyGroup(this.#pending.splice(0));
        continue;
      }
      this.#applyGroup([record]);
    }
  }

  /**
   * The sequencer is appending `writes` at offsets from `firstOffset`: when the tail delivers
   * them, each is applied with its planned entry (its bytes are compared first; on a difference,
   * another writer got there first and every announced write is forgotten).
   */
  expectOwn(firstOffset: number, writes: readonly OwnWrite[]): void {
    this.#own = writes;
    this.#ownFirst = firstOffset;
  }

  /** The announced batch was applied, or its append failed. */
  forgetOwn(): void {
    this.#own = [];
  }

  /** Resolves once every record below `target` is applied. */
  waitFor(target: number, timeoutMs: number): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#next >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new TributaryError('TIMEOUT', {
            ms: timeoutMs,
            what: `partition ${this.partition} to apply offset ${target - 1} (applied up to ${this.#next - 1})`,
          }),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** The state can no longer follow its log (topic deleted, storage failure): waiters fail. */
  fail(error: unknown): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  get failure(): unknown {
    return this.#failure;
  }

  addListener(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The changes applied from `offset` (a `next` this state had) to now, or `undefined` when the
   * journal no longer reaches back that far (or `offset` is ahead of this state).
   */
  changesSince(offset: number): AppliedChange[] | undefined {
    if (offset < this.#journalStart || offset > this.#next) return undefined;
    let first = this.#journal.length;
    while (first > this.#journalHead && this.#journal[first - 1]!.offset >= offset) first--;
    return this.#journal.slice(first);
  }

  #applyGroup(group: readonly LogRecord[]): void {
    const changes: AppliedChange[] = [];
    for (const record of group) {
      const change = this.#applyRecord(record);
      if (change !== undefined) changes.push(change);
    }
    this.#next = group[group.length - 1]!.offset + 1;
    this.#pendingEnd = -1;
    this.generation++;
    this.#remember(changes);
    if (this.store.uncommitted >= this.store.uncommittedMax) this.commit();
    if (changes.length > 0) {
      for (const listener of [...this.#listeners]) {
        try {
          listener(changes, this.#next);
        } catch (error) {
          this.#logger.error({ err: error, partition: this.partition }, 'collection change listener failed');
        }
      }
    }
    if (this.#waiters.length > 0) {
      const ready = this.#waiters.filter((w) => w.target <= this.#next);
      this.#waiters = this.#waiters.filter((w) => w.target > this.#next);
      for (const waiter of ready) waiter.resolve();
    }
  }

  /** Makes the documents durable up to `next` (a failure is logged; the writes stay for the next commit). */
  commit(): Promise<void> {
    return this.store.commit(this.#next).catch((error: unknown) => {
      this.#logger.error(
        { err: error, partition: this.partition },
        'writing collection documents to disk failed (they stay in memory)',
      );
    });
  }

  #applyRecord(record: LogRecord | PlannedRecord): AppliedChange | undefined {
    if ('plannedKey' in record) return this.#applyPlanned(record.plannedKey, record.planned, record.offset);
    const own = this.#ownWrite(record);
    if (own !== undefined) return this.#applyPlanned(own.key, own.after, record.offset);
    let decoded: ReturnType<typeof decodeRecord>;
    try {
      decoded = decodeRecord(record, this.mode);
    } catch (error) {
      this.#logger.warn(
        { err: error, partition: this.partition, offset: record.offset },
        'skipping a record that is not a collection record',
      );
      return undefined;
    }
    const before = this.store.get(decoded.key);
    let after: Entry | undefined;
    switch (decoded.kind) {
      case 'delete':
        if (before !== undefined) this.store.set(decoded.key, undefined, before);
        return { key: decoded.key, offset: record.offset, before, after: undefined };
      case 'doc':
        after = { key: decoded.key, version: record.offset, value: decoded.doc };
        break;
      case 'crdt': {
        const state = merge(before?.state ?? EMPTY_DOC, decoded.state);
        after = { key: decoded.key, version: record.offset, value: materialize(state), state };
        break;
      }
    }
    this.store.set(decoded.key, after, before);
    return { key: decoded.key, offset: record.offset, before, after };
  }

  /**
   * Keeps the last `journalMax` changes. Dropping the oldest moves a head index; the dropped part
   * is cut off once it is a quarter of the bound (a `splice` per write moved every kept change,
   * ~10 µs per write at the default bound).
   */
  #applyPlanned(key: string, after: Entry | undefined, offset: number): AppliedChange {
    const before = this.store.get(key);
    if (after !== undefined || before !== undefined) this.store.set(key, after, before);
    return { key, offset, before, after };
  }

  /** The announced write `record` is (same offset, key and value), if it is one. */
  #ownWrite(record: LogRecord): OwnWrite | undefined {
    const own = this.#own[record.offset - this.#ownFirst];
    if (own === undefined) return undefined;
    if (sameBytes(own.record.key, record.key) && sameBytes(own.record.value, record.value)) return own;
    this.#own = [];
    return undefined;
  }

  #remember(changes: readonly AppliedChange[]): void {
    const journal = this.#journal;
    for (let i = 0; i < changes.length; i++) journal.push(changes[i]!);
    const excess = journal.length - this.#journalHead - this.#journalMax;
    if (excess <= 0) return;
    this.#journalHead += excess;
    this.#journalStart = journal[this.#journalHead - 1]!.offset + 1;
    if (this.#journalHead >= this.#journalMax / 4) {
      this.#journal = journal.slice(this.#journalHead);
      this.#journalHead = 0;
    }
  }
}

/** The visible item of an entry, or undefined when deleted. */
export function toItem(entry: Entry | undefined, partition: number): Item | undefined {
  if (entry === undefined || entry.value === undefined) return undefined;
  return entry.state === undefined
    ? { key: entry.key, value: entry.value, version: entry.version, partition }
    : { key: entry.key, value: entry.value, version: entry.version, partition, state: entry.state };
}
