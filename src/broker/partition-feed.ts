/**
 * @module broker/partition-feed
 * The shared tail reader of one topic-partition: every subscription of the partition reads and
 * waits through it, and it coalesces identical requests so that N subscribers at the same
 * position cost one log operation, not N.
 *
 * - **Waits.** Subscribers waiting for the offset after the tail share one
 *   `log.waitForAppend(offset)`. Each joins with a waker of its own and leaves by removing it, so
 *   a closed subscriber is released at once (not when the next append comes). All log waits of
 *   the feed share one AbortController; once no wait has a waker left it aborts them together,
 *   so nothing is left parked on the log.
 * - **Reads.** Subscribers asking for records from the same offset share one `log.read`: an
 *   in-flight read is joined, and the last non-empty result is kept so subscribers arriving a
 *   moment later get the same `LogRecord[]` of frozen records (and the same frozen `Delivery`).
 *
 * Subscribers caught up at the tail all wait on the same offset, wake on the same append and ask
 * for the same offset, so a new range is read once and handed to all of them. Subscribers behind
 * the tail read their own ranges (sized by their credit) and, once they reach the tail, fall in
 * with the others by themselves. Memory is bounded: a few cached batches per partition
 * (`READY_SLOTS`) plus the requests in flight; a subscriber with no credit holds nothing here.
 *
 * - **Wake-ups in slices.** An append wakes its first `WAKE_SLICE_WAKERS` waiters at once and the
 *   rest a slice per later turn of the event loop: a fan-out to 1,000 subscribers keeps the
 *   thread for many milliseconds, and between slices the next append is read and acknowledged
 *   and credit comes in, instead of waiting behind every delivery. The wakers of a later append
 *   queue behind those of an earlier one (first come, first served: interleaving them would
 *   finish both fan-outs late instead of the first one early).
 *
 * Hash tables: what changes on every append is kept in arrays, not in Maps or Sets (here and in
 * the log, the broker and the SDK, which point back to this note). A Map or Set that sees an add
 * and a delete per append keeps replacing its table, and a replaced table still points at its old
 * entries; once one has reached the old generation, every young-generation GC copies and promotes
 * whatever those entries reach (waiters, promises, whole batches). Measured: that was most of
 * what each GC pause copied.
 */
import { setMaxListeners } from 'node:events';
import type { IsolationLevel, Log, LogRecord } from '../log/types.js';
import { payloadBytes } from './observer.js';
import type { Delivery } from './types.js';

export interface FeedBatch {
  /**
   * Shared by every subscriber that asked for this offset: never mutate. The records are frozen,
   * the array is not (V8 iterates frozen arrays several times slower); it is typed readonly.
   */
  readonly records: readonly LogRecord[];
  /** The partition's high watermark as of this read (≥ last offset + 1). */
  readonly highWatermark: number;
  /** Bytes of keys and values of `records`. */
  readonly bytes: number;
  /** A frozen Delivery of all of `records`, shared by subscribers that take the whole batch. */
  readonly delivery: Delivery;
}

/** How a waiting subscriber is told, once: the append came, or the log failed. */
export interface FeedWaker {
  wake(): void;
  fail(error: unknown): void;
}

export interface FeedWait {
  readonly offset: number;
  readonly controller: AbortController;
  /** An array, not a Set: see "Hash tables" in the module note. */
  readonly wakers: FeedWaker[];
}

/** Counters for tests and diagnostics. */
export interface FeedStats {
  /** `log.read` calls made. */
  reads: number;
  /** Reads answered by joining an in-flight read or the cached last batch. */
  sharedReads: number;
  /** `log.waitForAppend` calls made. */
  waits: number;
}

/** The abort reason of log waits the feed let go of itself. */
const RELEASED = Symbol('partition feed released its waits');
/** Waits left without wakers that may stay parked on the log while others are live. */
const PARKED_WAITS_MAX = 16;

interface ReadyBatch {
  readonly offset: number;
  readonly batch: FeedBatch;
}

/** Settled batches kept for `readReady`. */
const READY_SLOTS = 4;

/**
 * Wakers woken at once when an append comes; the rest of a large fan-out is woken in slices this
 * size, one per later turn of the event loop (`setImmediate`), so what arrived meanwhile (the
 * next append, its acknowledgement, credit) is served between slices instead of after every
 * subscriber's delivery. A slice of deliveries takes well under a millisecond.
 */
export const WAKE_SLICE_WAKERS = 64;

/** A controller whose signal any number of log waits listen to (no max-listeners warning). */
function sharedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

export class PartitionFeed<Member = unknown> {
  /** Subscriptions of this partition (the broker ends them on topic deletion and close). */
  readonly members = new Set<Member>();
  readonly stats: FeedStats = { reads: 0, sharedReads: 0, waits: 0 };
  /** Usually one, at the tail; an array, not a Map (see "Hash tables" in the module note). */
  private waits: FeedWait[] = [];
  private readonly reads = new Map<number, Promise<FeedBatch>>();
  private last: { readonly offset: number; readonly promise: Promise<FeedBatch> } | undefined;
  /**
   * The last few batches read, once settled, for `readReady`, newest at `readyNext - 1`: wakers
   * woken in later slices (see `wakeInSlices`) may still ask for an offset after a newer append
   * was read by others. A ring searched by offset, not a Map (see "Hash tables").
   */
  private readonly ready: (ReadyBatch | undefined)[] = new Array(READY_SLOTS).fill(undefined);
  private readyNext = 0;
  /**
   * Shared by every log wait of this feed until they are released together: one controller per
   * append would be most of the garbage of a partition at the tail.
   */
  private controller = sharedController();
  private disposed = false;
  /**
   * Wakers still to wake, in the order their appends came (`wakeQueue[wakeAt]` is next): a later
   * append's wakers queue behind an earlier one's, so each append's fan-out finishes before the
   * next one's starts, as when all were woken at once. Each subscriber is in it at most once.
   */
  private wakeQueue: FeedWaker[] = [];
  private wakeAt = 0;
  private readonly wakeSlice = (): void => {
    const queue = this.wakeQueue;
    const end = Math.min(queue.length, this.wakeAt + WAKE_SLICE_WAKERS);
    // A waker that waits again joins a wait that settles in a later reaction: never this queue now.
    while (this.wakeAt < end) queue[this.wakeAt++]!.wake();
    if (this.wakeAt < queue.length) {
      setImmediate(this.wakeSlice);
    } else {
      this.wakeQueue = [];
      this.wakeAt = 0;
    }
  };

  /**
   * `isolation: 'committed'`: reads stop at the last stable offset and leave out aborted
   * transactions, waits are for the last stable offset, and `highWatermark` is that offset.
   */
  constructor(
    private readonly log: Log,
    readonly topic: string,
    readonly partition: number,
    readonly isolation: IsolationLevel = 'uncommitted',
  ) {}

  /**
   * Records from `offset` on (at most `maxRecords` and about `maxBytes` of payload when a new
   * read is needed; a shared batch may hold more or fewer). An empty batch means nothing at or
   * after `offset` was readable; if its `highWatermark` is past `offset`, every offset below it is
   * gone (compacted).
   */
  read(offset: number, maxRecords: number, maxBytes?: number): Promise<FeedBatch> {
    const last = this.last;
    if (last !== undefined && last.offset === offset) {
      this.stats.sharedReads++;
      return last.promise;
    }
    const inflight = this.reads.get(offset);
    if (inflight !== undefined) {
      this.stats.sharedReads++;
      return inflight;
    }
    // The in-memory tail holds uncommitted records: committed readers always read.
    const recent = this.isolation === 'committed' ? undefined : this.readRecent(offset, maxRecords);
    if (recent !== undefined) return recent;
    const promise = this.load(offset, maxRecords, maxBytes);
    this.reads.set(offset, promise);
    promise.then(
      (batch) => {
        this.reads.delete(offset);
        if (batch.records.length > 0 && !this.disposed) {
          this.last = { offset, promise };
          this.keepReady(offset, batch);
        }
      },
      () => this.reads.delete(offset),
    );
    return promise;
  }

  /**
   * Whole stored batches from the one holding `offset`, about `maxBytes` of them, never past what
   * this feed's isolation may read (`Log.readBatches`); not shared with other subscribers.
   * `highWatermark` is as in `read`.
   */
  async readBatches(
    offset: number,
    maxBytes: number,
  ): Promise<{ readonly batches: readonly Uint8Array[]; readonly highWatermark: number }> {
    const read = await this.log.readBatches(this.topic, this.partition, offset, {
      maxBytes,
      isolation: this.isolation,
    });
    return {
      batches: read.batches,
      highWatermark: this.isolation === 'committed' ? read.lastStable : read.next,
    };
  }

  /** The partition's earliest offset now (retention moves it). */
  async earliest(): Promise<number> {
    return (await this.log.offsets(this.topic, this.partition)).earliest;
  }

  /**
   * What `read(offset, maxRecords)` would give, when it is at hand without waiting (the batch
   * the last read of `offset` gave, or records the log still holds in memory); else undefined
   * (then `read`). Subscriptions at the tail, woken together by an append, take the same batch
   * this way without an await each: one promise reaction fewer per subscriber and delivery.
   */
  readReady(offset: number, maxRecords: number): FeedBatch | undefined {
    for (let i = 1; i <= READY_SLOTS; i++) {
      const ready = this.ready[(this.readyNext - i + READY_SLOTS) % READY_SLOTS];
      if (ready === undefined) break;
      if (ready.offset === offset) {
        this.stats.sharedReads++;
        return ready.batch;
      }
    }
    if (this.isolation === 'committed' || this.reads.has(offset)) return undefined;
    const recent = this.log.readRecent?.(this.topic, this.partition, offset, maxRecords);
    if (recent === undefined) return undefined;
    this.stats.reads++;
    const batch = this.batch(recent.records, recent.next);
    if (!this.disposed) {
      this.last = { offset, promise: Promise.resolve(batch) };
      this.keepReady(offset, batch);
    }
    return batch;
  }

  private keepReady(offset: number, batch: FeedBatch): void {
    this.ready[this.readyNext] = { offset, batch };
    this.readyNext = (this.readyNext + 1) % READY_SLOTS;
  }

  /**
   * Joins (or starts) the shared wait for `next > offset`: `waker.wake()` once it is past, or
   * `waker.fail(error)` if the log fails. `releaseWait` leaves early. A waker may also be woken
   * when nothing was appended (the feed let go of its log waits); it checks again and re-waits.
   */
  acquireWait(offset: number, waker: FeedWaker): FeedWait {
    let wait = this.findWait(offset);
    if (wait === undefined) {
      this.stats.waits++;
      const controller = this.controller;
      const entry: FeedWait = { offset, controller, wakers: [] };
      const settle = (failed: boolean, error?: unknown): void => {
        this.removeWait(entry);
        const wakers = entry.wakers.splice(0);
        // Released by the feed itself (see `releaseWait`): not a failure, the wakers re-check.
        if (failed && error !== RELEASED) {
          for (const each of wakers) each.fail(error);
        } else {
          this.wake(wakers);
        }
      };
      const waited =
        this.isolation === 'committed'
          ? this.log.waitForStable(this.topic, this.partition, offset, controller.signal)
          : this.log.waitForAppend(this.topic, this.partition, offset, controller.signal);
      waited.then(
        () => settle(false),
        (error: unknown) => settle(true, error),
      );
      this.waits.push(entry);
      wait = entry;
    }
    wait.wakers.push(waker);
    return wait;
  }

  /**
   * Leaves a shared wait without being woken. The waker is dropped at once, so nothing keeps a
   * closed subscriber reachable. A wait left without wakers stays parked on the log for the next
   * subscriber at that offset, until no wait has wakers any more (or too many are parked): then
   * the feed aborts its controller, releasing everything parked on the log at once.
   */
  releaseWait(wait: FeedWait, waker: FeedWaker): void {
    const index = wait.wakers.indexOf(waker);
    if (index === -1) return;
    wait.wakers.splice(index, 1);
    if (wait.wakers.length > 0 || !this.waits.includes(wait)) return; // still wanted, or released
    let parked = 0;
    for (const each of this.waits) {
      if (each.wakers.length > 0) continue;
      parked++;
      if (parked > PARKED_WAITS_MAX) break;
    }
    if (parked === this.waits.length || parked > PARKED_WAITS_MAX) this.releaseAll();
  }

  /** Aborts pending waits and drops the cached batch (the feed has no subscribers left). */
  dispose(): void {
    this.disposed = true;
    this.last = undefined;
    this.ready.fill(undefined);
    this.releaseAll();
  }

  /** Wakes `wakers`: the first slice now unless earlier ones still wait, the rest in later turns. */
  private wake(wakers: FeedWaker[]): void {
    if (this.wakeAt < this.wakeQueue.length) {
      for (const each of wakers) this.wakeQueue.push(each);
      return;
    }
    this.wakeQueue = wakers;
    this.wakeAt = 0;
    this.wakeSlice();
  }

  /** Aborts the shared controller: every log wait ends; waits that still had wakers wake them. */
  private releaseAll(): void {
    this.waits = [];
    this.controller.abort(RELEASED);
    this.controller = sharedController();
  }

  private findWait(offset: number): FeedWait | undefined {
    for (const wait of this.waits) if (wait.offset === offset) return wait;
    return undefined;
  }

  private removeWait(wait: FeedWait): void {
    const index = this.waits.indexOf(wait);
    if (index !== -1) this.waits.splice(index, 1);
  }

  /** Records the log still holds in memory since it published them: no I/O, no decoding. */
  private readRecent(offset: number, maxRecords: number): Promise<FeedBatch> | undefined {
    const recent = this.log.readRecent?.(this.topic, this.partition, offset, maxRecords);
    if (recent === undefined) return undefined;
    this.stats.reads++;
    const batch = this.batch(recent.records, recent.next);
    const promise = Promise.resolve(batch);
    if (!this.disposed) {
      this.last = { offset, promise };
      this.keepReady(offset, batch);
    }
    return promise;
  }

  private async load(offset: number, maxRecords: number, maxBytes: number | undefined): Promise<FeedBatch> {
    this.stats.reads++;
    // `next` before the read is a lower bound of the high watermark the read saw: if the read
    // comes back empty, every offset in [offset, next) no longer exists.
    const offsets = await this.log.offsets(this.topic, this.partition);
    const committed = this.isolation === 'committed';
    const next = committed ? offsets.lastStable : offsets.next;
    const records = await this.log.read(this.topic, this.partition, offset, {
      maxRecords,
      ...(maxBytes === undefined ? {} : { maxBytes }),
      ...(committed ? { isolation: 'committed' } : {}),
    });
    for (let i = 0; i < records.length; i++) Object.freeze(records[i]);
    return this.batch(records, next);
  }

  /** A shared batch of `records` read when the high watermark was at least `next`. */
  private batch(records: readonly LogRecord[], next: number): FeedBatch {
    const lastRecord = records.at(-1);
    const highWatermark = lastRecord === undefined ? next : Math.max(next, lastRecord.offset + 1);
    const delivery: Delivery = Object.freeze({
      topic: this.topic,
      partition: this.partition,
      records,
      highWatermark,
    });
    return { records, highWatermark, bytes: payloadBytes(records), delivery };
  }
}
