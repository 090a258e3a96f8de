/**
 * @module broker/subscription
 * One subscription to one topic-partition, with credit-based flow control.
 *
 * A single async loop per subscription delivers batches in offset order while it has credit:
 * when it is at (or past) the last known high watermark it waits for an append, then reads from
 * its position, both through the partition's shared `PartitionFeed`, and hands at most `credit`
 * records to `onRecords`. With no credit the loop ends and the subscription holds nothing but its
 * state and its read-ahead; `grant()` starts it again.
 *
 * Read-ahead: behind the tail, a subscription reads about `readAheadBytes` of records at once
 * (not just what its credit allows) and keeps what it could not deliver yet, so a consumer
 * replaying history costs one log read (one pread, each batch's CRC checked and decoded once)
 * per `readAheadBytes`, not one per credit chunk, which also re-read and re-checked the batch a
 * chunk ended in. At most one read-ahead per subscription, and only while it is behind.
 *
 * At the tail the subscription waits without a promise of its own: it parks itself as the
 * feed's waker (one object for its life) and the loop ends. The append's wake-up delivers the
 * batch the feed has at hand synchronously (`PartitionFeed.readReady`), and parks again; only
 * when nothing is at hand does the loop run again. In fan-out that is one call per subscriber
 * and append instead of a promise, three closures and an async resumption each.
 *
 * `onRecords` is only ever called from the loop after an `await`, or from the feed's wake-up
 * (a promise reaction or a later turn), so it is never re-entered, not even when it calls
 * `grant()` itself.
 *
 * A subscription ends once: `close()` (silently), or `end(error)` → `onError(error)` for topic
 * deletion (`TOPIC_NOT_FOUND`), broker shutdown (`SHUTTING_DOWN`), data deleted under its
 * position (`OFFSET_OUT_OF_RANGE`, never a silent gap), a storage failure, or an `onRecords`
 * that threw.
 */
import type { Logger } from 'pino';
import { assert } from '../assert.js';
import { TributaryError } from '../errors.js';
import { LOG_LIMITS } from '../log/types.js';
import { batchRun, type RunEntry } from './batch-run.js';
import type { SafeObserver } from './observer.js';
import { payloadBytes } from './observer.js';
import type { FeedBatch, FeedWait, FeedWaker, PartitionFeed } from './partition-feed.js';
import type { BatchDelivery, Delivery, Subscription } from './types.js';

export interface SubscriptionInit {
  readonly feed: PartitionFeed<BrokerSubscription>;
  readonly position: number;
  /** The high watermark when the position was resolved. */
  readonly highWatermark: number;
  readonly credit: number;
  readonly maxBatch: number;
  /** Payload bytes read at once behind the tail (the read-ahead); kept until credit takes them. */
  readonly readAheadBytes: number;
  readonly onRecords: (delivery: Delivery) => void;
  /** Takes qualifying stored batches as they are, behind the tail (see `broker/batch-run.ts`). */
  readonly onBatches: ((delivery: BatchDelivery) => void) | undefined;
  /** Largest batch handed to `onBatches`. */
  readonly batchBytesMax: number;
  readonly onError: ((error: unknown) => void) | undefined;
  readonly observer: SafeObserver;
  readonly logger: Logger;
  /** Called once when the subscription ends, to unregister it; `error` when it ended by itself. */
  readonly onEnd: (subscription: BrokerSubscription, error?: unknown) => void;
}

export class BrokerSubscription implements Subscription {
  private pos: number;
  private knownHighWatermark: number;
  private credit: number;
  private running = false;
  private closed = false;
  /** The feed's wait this subscription is parked in at the tail (the loop is not running then). */
  private parked: FeedWait | undefined;
  /** This subscription as the feed's waker: one object for its life, not one per wait. */
  private readonly waker: FeedWaker = {
    wake: () => this.tailOnAppend(),
    fail: (error) => {
      this.parked = undefined;
      this.end(error);
    },
  };
  /** Records read past the credit (behind the tail); `ahead.records[aheadAt]` is at `pos`. */
  private ahead: FeedBatch | undefined;
  private aheadAt = 0;
  /** Stored batches read ahead for `onBatches`; `run[runAt]` starts at `pos`. */
  private storedRun: RunEntry[] | undefined;
  private storedRunAt = 0;
  private storedRunHighWatermark = 0;
  /** Below this offset, records go to `onRecords` (a batch there could not be handed over as is). */
  private recordsUntil = 0;

  constructor(private readonly init: SubscriptionInit) {
    this.pos = init.position;
    this.knownHighWatermark = init.highWatermark;
    this.credit = checkCredit(init.credit);
  }

  get position(): number {
    return this.pos;
  }

  get topic(): string {
    return this.init.feed.topic;
  }

  get partition(): number {
    return this.init.feed.partition;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts delivering on a later turn of the event loop, so the caller holds the handle first. */
  start(): void {
    setImmediate(() => this.pump());
  }

  grant(records: number): void {
    checkCredit(records);
    if (this.closed) return;
    this.credit = Math.min(Number.MAX_SAFE_INTEGER, this.credit + records);
    this.pump();
  }

  close(): void {
    this.stop(undefined);
  }

  /** Ends the subscription and tells the subscriber why (once). */
  end(error: unknown): void {
    if (this.closed) return;
    this.stop(error);
    try {
      this.init.onError?.(error);
    } catch (callbackError) {
      this.init.logger.warn({ err: callbackError }, 'a subscription onError callback threw');
    }
  }

  private stop(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.dropAhead();
    const parked = this.parked;
    if (parked !== undefined) {
      this.parked = undefined;
      this.init.feed.releaseWait(parked, this.waker);
    }
    this.init.onEnd(this, error);
  }

  private pump(): void {
    if (this.running || this.parked !== undefined || this.closed || this.credit <= 0) return;
    if (this.ahead === undefined && this.storedRun === undefined && this.pos >= this.knownHighWatermark) {
      this.park(); // at the tail: nothing to do until an append
    } else {
      void this.run();
    }
  }

  /** Waits at the tail for `next > pos`: `tailOnAppend` is called then (or `end` on a log failure). */
  private park(): void {
    this.parked = this.init.feed.acquireWait(this.pos, this.waker);
  }

  /**
   * An append passed `pos` (or the feed let go of its log waits): the batch the feed has at hand
   * goes out now, without an await; then the subscription parks again, or runs its loop to read.
   */
  private tailOnAppend(): void {
    this.parked = undefined;
    if (this.running || this.closed || this.credit <= 0) return;
    const batch = this.init.feed.readReady(this.pos, this.init.maxBatch);
    if (batch === undefined || batch.records.length === 0) {
      void this.run(true);
      return;
    }
    this.running = true;
    try {
      if (batch.highWatermark > this.knownHighWatermark) this.knownHighWatermark = batch.highWatermark;
      this.deliver(batch, 0);
    } catch (error) {
      this.end(error);
    } finally {
      this.running = false;
    }
    this.pump();
  }

  /** `woken`: an append woke the subscription at the tail, so it reads before it parks again. */
  private async run(woken = false): Promise<void> {
    this.running = true;
    try {
      // A read-ahead kept while the subscription had no credit may since have been deleted by
      // retention: the subscriber is then told (OFFSET_OUT_OF_RANGE by the next read), as without one.
      if (
        (this.ahead !== undefined || this.storedRun !== undefined) &&
        this.pos < (await this.init.feed.earliest())
      ) {
        this.dropAhead();
      }
      while (!this.closed && this.credit > 0) {
        if (this.ahead !== undefined) {
          // One delivery per turn of the event loop: its frame leaves before the next is made,
          // so the subscriber gets a steady stream, not the whole read-ahead in one burst.
          await nextTurn();
          if (this.closed) return;
          if (this.ahead !== undefined && this.credit > 0) this.deliver(this.ahead, this.aheadAt);
          continue;
        }
        if (this.storedRun !== undefined) {
          await nextTurn(); // as above
          if (this.closed) return;
          if (this.storedRun !== undefined && this.credit > 0) this.deliverRun(this.storedRun);
          continue;
        }
        if (this.pos >= this.knownHighWatermark && !woken) {
          // At the tail: park until an append (the loop ends; `tailOnAppend` goes on from there).
          this.park();
          return;
        }
        woken = false;
        if (this.init.onBatches !== undefined && this.pos >= this.recordsUntil) {
          if (await this.readRun()) continue;
          if (this.closed) return;
        }
        // Woken at the tail with nothing at hand, read a full batch (it will be shared); behind
        // the tail, a read-ahead.
        const atTail = this.pos >= this.knownHighWatermark;
        const batch = atTail
          ? await this.init.feed.read(this.pos, this.init.maxBatch)
          : await this.init.feed.read(this.pos, this.readAheadRecords(), this.init.readAheadBytes);
        if (this.closed) return;
        if (batch.highWatermark > this.knownHighWatermark) this.knownHighWatermark = batch.highWatermark;
        if (batch.records.length === 0) {
          // Nothing readable at or after pos: offsets below the high watermark were compacted away.
          if (batch.highWatermark > this.pos) this.pos = batch.highWatermark;
          continue;
        }
        this.deliver(batch, 0);
      }
    } catch (error) {
      this.end(error);
    } finally {
      this.running = false;
    }
  }

  /**
   * Delivers `batch.records` from index `from` on, as many as credit and `maxBatch` allow; what
   * is left becomes (or stays) the read-ahead.
   */
  private deliver(batch: FeedBatch, from: number): void {
    const { records } = batch;
    const count = Math.min(this.credit, this.init.maxBatch, records.length - from);
    let delivery = batch.delivery;
    let bytes = batch.bytes;
    if (from > 0 || count < records.length) {
      const part = records.slice(from, from + count);
      delivery = Object.freeze({
        topic: delivery.topic,
        partition: delivery.partition,
        records: part,
        highWatermark: delivery.highWatermark,
      });
      bytes = this.init.observer.wantsDeliveries ? payloadBytes(part) : 0;
    }
    this.credit -= count;
    assert(
      this.credit >= 0 && count > 0,
      'a subscription delivers at least one record and never more than its credit',
    );
    const next = records[from + count - 1]!.offset + 1;
    assert(next > this.pos, "a subscription's position only grows");
    this.pos = next;
    if (from + count < records.length) {
      this.ahead = batch;
      this.aheadAt = from + count;
    } else {
      this.dropAhead();
    }
    this.init.observer.recordsDelivered(count, bytes, delivery.topic);
    try {
      this.init.onRecords(delivery);
    } catch (error) {
      this.init.logger.warn(
        { err: error, topic: delivery.topic, partition: delivery.partition },
        'onRecords threw: ending the subscription',
      );
      this.end(error);
    }
  }

  /**
   * Records one read behind the tail takes: a read-ahead, but not past a batch that goes record
   * by record when stored batches go as they are (a read that ended inside the next batch would
   * send that one record by record too, and so on).
   */
  private readAheadRecords(): number {
    const most = readAheadRecords(this.init.maxBatch);
    return this.pos < this.recordsUntil ? Math.min(most, this.recordsUntil - this.pos) : most;
  }

  private dropAhead(): void {
    this.ahead = undefined;
    this.aheadAt = 0;
    this.storedRun = undefined;
    this.storedRunAt = 0;
  }

  /**
   * Reads a read-ahead of stored batches and keeps the run that may be handed over as it is
   * (true), else marks the batch at `pos` for `onRecords` (false: the caller reads records).
   */
  private async readRun(): Promise<boolean> {
    const read = await this.init.feed.readBatches(this.pos, this.init.readAheadBytes);
    if (this.closed) return false;
    if (read.highWatermark > this.knownHighWatermark) this.knownHighWatermark = read.highWatermark;
    const { entries: run, blockedUntil } = batchRun(read.batches, this.pos, {
      isolation: this.init.feed.isolation,
      recordsMax: this.init.maxBatch,
      bytesMax: this.init.batchBytesMax,
    });
    if (run.length === 0) {
      // The batch at pos goes record by record, and only it: the next one may go as it is.
      this.recordsUntil = blockedUntil ?? this.pos + 1;
      return false;
    }
    this.storedRun = run;
    this.storedRunAt = 0;
    this.storedRunHighWatermark = read.highWatermark;
    this.deliverRun(run);
    return true;
  }

  /**
   * Hands over the next batches of the run that credit and `maxBatch` allow, at least one; a
   * batch larger than the credit goes record by record instead (credit may never cover it).
   */
  private deliverRun(run: RunEntry[]): void {
    const limit = Math.min(this.credit, this.init.maxBatch);
    const batches: Uint8Array[] = [];
    const batchRecords: number[] = [];
    let records = 0;
    let bytes = 0;
    let at = this.storedRunAt;
    let next = this.pos;
    while (at < run.length) {
      const entry = run[at]!;
      if (records + entry.records > limit) break;
      if (entry.bytes !== null) {
        batches.push(entry.bytes);
        batchRecords.push(entry.records);
        bytes += entry.bytes.byteLength;
        records += entry.records;
      }
      next = entry.end;
      at++;
    }
    if (at === this.storedRunAt) {
      this.recordsUntil = run[at]!.end;
      this.dropAhead();
      return;
    }
    assert(next > this.pos, "a subscription's position only grows");
    this.pos = next;
    this.storedRunAt = at;
    if (at === run.length) this.dropAhead();
    if (records === 0) return; // only transaction markers: a gap
    this.credit -= records;
    assert(this.credit >= 0, 'a subscription never delivers more than its credit');
    const feed = this.init.feed;
    this.init.observer.recordsDelivered(records, bytes, feed.topic);
    try {
      this.init.onBatches!({
        topic: feed.topic,
        partition: feed.partition,
        batches,
        batchRecords,
        records,
        bytes,
        highWatermark: this.storedRunHighWatermark,
      });
    } catch (error) {
      this.init.logger.warn(
        { err: error, topic: feed.topic, partition: feed.partition },
        'onBatches threw: ending the subscription',
      );
      this.end(error);
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Most records one read-ahead holds, whatever their size (empty records take memory too). */
export function readAheadRecords(maxBatch: number): number {
  return Math.min(LOG_LIMITS.batchRecordsMax, maxBatch * READ_AHEAD_BATCHES_MAX);
}

/** A read-ahead holds at most this many deliveries of `maxBatch` records. */
const READ_AHEAD_BATCHES_MAX = 8;

export function checkCredit(records: unknown): number {
  if (typeof records !== 'number' || !Number.isSafeInteger(records) || records < 0) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `credit must be a non-negative integer, got ${String(records)}`,
    });
  }
  return records;
}
