/**
 * @module client/record-queue
 * The buffer between subscriptions and the application. It is bounded by the subscriptions'
 * credit (it never holds more than the credit windows of its partitions) and hands records out
 * either to an async iterator (`for await`) or to a `records` listener, whichever the
 * application uses. A record counts as consumed when it is handed out (the iterator yields it,
 * or the listener returned — or its promise settled); `onConsumed` then lets the subscription
 * grant that much credit again.
 *
 * `fail()` ends an iterator with the error (after the buffered records); listener users learn of
 * errors through the owner's `error` event instead.
 */
import { TributaryError } from '../errors.js';
import type { ConsumerRecord } from './records.js';

export type RecordsListener = (records: ConsumerRecord[]) => void | Promise<void>;

/** Most records one listener call receives. */
const LISTENER_BATCH_MAX = 1_000;

export class RecordQueue {
  #items: ConsumerRecord[] = [];
  #head = 0;
  #waiter: { resolve: (r: IteratorResult<ConsumerRecord>) => void; reject: (e: unknown) => void } | undefined;
  #listener: RecordsListener | undefined;
  #dispatching = false;
  /** The batch whose listener promise has not settled yet. */
  #pending: ConsumerRecord[] | undefined;
  #error: unknown;
  #failed = false;
  #ended = false;
  readonly #onConsumed: (records: readonly ConsumerRecord[]) => void;
  readonly #onListenerError: (error: unknown) => void;

  constructor(
    onConsumed: (records: readonly ConsumerRecord[]) => void,
    onListenerError: (error: unknown) => void,
  ) {
    this.#onConsumed = onConsumed;
    this.#onListenerError = onListenerError;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Buffers `records`, which are handed over: the queue may give the array itself to the listener. */
  push(records: ConsumerRecord[]): void {
    if (this.#ended || records.length === 0) return;
    if (this.#listener !== undefined && !this.#dispatching && this.size === 0) {
      // Nothing waits before them: straight to the listener, without buffering or copying.
      if (records.length <= LISTENER_BATCH_MAX) {
        this.#deliver(records);
        this.#dispatch();
        return;
      }
    }
    for (let i = 0; i < records.length; i++) this.#items.push(records[i]!);
    this.#wake();
  }

  /** Hands `records` to the listener; a listener's promise holds back the next batch until it settles. */
  #deliver(records: ConsumerRecord[]): void {
    // Records pushed from inside the listener wait for the next batch.
    this.#dispatching = true;
    const pending = this.#call(records);
    if (pending !== undefined) {
      this.#pending = records;
      pending.then(this.#onSettled, this.#onRejected);
      return;
    }
    this.#onConsumed(records);
    this.#dispatching = false;
  }

  /** The listener's promise, if it returned one (a throw is reported, as a rejection will be). */
  #call(records: ConsumerRecord[]): PromiseLike<void> | undefined {
    try {
      const result: unknown = this.#listener!(records);
      return isThenable(result) ? result : undefined;
    } catch (error) {
      this.#onListenerError(error);
      return undefined;
    }
  }

  // Bound once: a listener's promise costs no closures per batch.
  readonly #onSettled = (): void => {
    const records = this.#pending!;
    this.#pending = undefined;
    this.#onConsumed(records);
    this.#dispatching = false;
    this.#dispatch();
  };

  readonly #onRejected = (error: unknown): void => {
    this.#onListenerError(error);
    this.#onSettled();
  };

  /** Removes buffered records that match (they were not consumed); returns them. */
  drop(match: (record: ConsumerRecord) => boolean): ConsumerRecord[] {
    const kept: ConsumerRecord[] = [];
    const dropped: ConsumerRecord[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const record = this.#items[i]!;
      (match(record) ? dropped : kept).push(record);
    }
    this.#items = kept;
    this.#head = 0;
    return dropped;
  }

  /** Ends iteration with `error` once the buffered records have been handed out. */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#wake();
  }

  /** Ends iteration (after nothing: buffered records are discarded). */
  end(): void {
    this.#ended = true;
    this.#items = [];
    this.#head = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ done: true, value: undefined });
  }

  setListener(listener: RecordsListener): void {
    this.#listener = listener;
    this.#wake();
  }

  get hasListener(): boolean {
    return this.#listener !== undefined;
  }

  /**
   * The async iterator a consumer hands out; leaving the loop calls `close` (the consumer's).
   * Refused when records go to a listener: one consumer delivers one way.
   */
  iterator(close: () => Promise<void>): AsyncIterator<ConsumerRecord> {
    if (this.hasListener) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'this consumer delivers to a records listener',
      });
    }
    return {
      next: () => this.next(),
      return: async () => {
        await close();
        return { done: true, value: undefined };
      },
    };
  }

  next(): Promise<IteratorResult<ConsumerRecord>> {
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    const record = this.#take();
    if (record !== undefined) {
      this.#onConsumed([record]);
      return Promise.resolve({ done: false, value: record });
    }
    if (this.#failed) {
      this.#ended = true;
      return Promise.reject(this.#error);
    }
    if (this.#waiter !== undefined) {
      return Promise.reject(new Error('RecordQueue: next() called again before the previous call resolved'));
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #take(): ConsumerRecord | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const record = this.#items[this.#head++]!;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return record;
  }

  /** Up to `LISTENER_BATCH_MAX` buffered records, as an array of their own. */
  #takeBatch(): ConsumerRecord[] {
    const count = Math.min(this.size, LISTENER_BATCH_MAX);
    if (this.#head === 0 && count === this.#items.length) {
      const all = this.#items;
      this.#items = [];
      return all;
    }
    const records = this.#items.slice(this.#head, this.#head + count);
    this.#head += count;
    return records;
  }

  #wake(): void {
    if (this.#listener !== undefined) {
      this.#dispatch();
      return;
    }
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const record = this.#take();
    if (record !== undefined) {
      this.#waiter = undefined;
      this.#onConsumed([record]);
      waiter.resolve({ done: false, value: record });
    } else if (this.#failed) {
      this.#waiter = undefined;
      this.#ended = true;
      waiter.reject(this.#error);
    }
  }

  /** Hands buffered records to the listener, batch by batch, until none is left or one is pending. */
  #dispatch(): void {
    while (!this.#dispatching && !this.#ended && this.#listener !== undefined && this.size > 0) {
      this.#deliver(this.#takeBatch());
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<void>).then === 'function'
  );
}
