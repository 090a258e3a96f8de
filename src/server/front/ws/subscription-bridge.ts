/**
 * @module server/front/ws/subscription-bridge
 * One client subscription, bridged onto one broker subscription, with flow control end to end.
 *
 * Credit flows in two stages. The client grants credit (`subscribe.credit`, then `credit`
 * requests); the bridge keeps it as `owed` and passes it on to the broker in chunks (topped up
 * once the broker holds at most half a chunk, not after every delivery), only while
 * the socket's send buffer is at most `wsSubscriberBufferedBytesMax` and nothing waits to be sent.
 * A chunk is at most `brokerCreditChunkRecords` records, and at most as many records as fit in
 * `wsSubscriberBufferedBytesMax` at the size of the records delivered last, so large records are
 * paced by bytes, not by count. Frames are sent only while the send buffer is at most that limit;
 * the rest of a delivery waits in the bridge until the socket drains. So a subscriber that stops
 * reading pins about `wsSubscriberBufferedBytesMax` in the send buffer plus one chunk of records,
 * however much credit it handed out.
 *
 * Ordering: deliveries the broker makes before the `subscribe` response went out are held and
 * sent right after it, so a client always knows a subscription id before its first delivery.
 *
 * Fan-out: subscriptions at the tail of a partition share one frozen `Delivery` per read (see
 * `broker/partition-feed.ts`). Its frames (split, converted and encoded) are prepared once and
 * cached on it, so N subscriptions cost one encoding plus N small headers (`type`, `sub`), not N
 * encodings of the same records; subscriptions with equal headers (the same `sub` number on
 * different connections) send one message built once (`SharedFrames` in `socket-writer.ts`).
 *
 * Quotas: while the connection's principal is over its fetch rate, owed credit stays with the
 * bridge (`pumpLater`), so the broker delivers at most what it already holds credit for and the
 * subscription resumes, where it was, when the principal is back under the rate.
 */

import { assert } from '../../../assert.js';
import type { BatchDelivery, Broker, Delivery, LogRecord, Subscription } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import { toWireError } from '../../../protocol/native/frames.js';
import { MsgpackRecordList } from '../../../protocol/native/msgpack-encode.js';
import type { WireError, WireIsolation, WireStartPosition } from '../../../protocol/native/types.js';
import { SharedFields } from '../../../protocol/native/wire.js';
import { recordBytes } from './convert.js';
import type { WsFrontEndLimits } from './limits.js';
import type { SharedFrames } from './socket-writer.js';

/** What a bridge needs from its connection. */
export interface BridgePort {
  readonly limits: WsFrontEndLimits;
  /** The client takes `batchDelivery` frames (`hello.features`): stored batches go out as they are. */
  batchDelivery(): boolean;
  /**
   * Sends a `delivery` frame of subscription `sub` whose other fields (`topic`, `partition`,
   * `records`, `highWatermark`) are `chunk.fields`, encoded once for every subscription, unless
   * the socket's send buffer is above `wsSubscriberBufferedBytesMax`: then it sends nothing and
   * returns false (a closed socket drops the frame and returns true). One call per frame, so the
   * send buffer is read once per delivery. `head` is the subscription's own: the port may keep
   * its encoded head (`type`, `sub`) there.
   */
  sendDelivery(sub: number, chunk: DeliveryChunk, head: DeliveryHead): boolean;
  sendSubscriptionClosed(sub: number, error: WireError): void;
  /** True while the socket's send buffer is above `wsSubscriberBufferedBytesMax`. */
  congested(): boolean;
  /** Calls `bridge.pump()` once the socket has drained. */
  pumpAfterDrain(bridge: SubscriptionBridge): void;
  /** How long the connection's principal is over its fetch quota (0: not, or no quotas). */
  fetchThrottleMs(): number;
  /** One burst of the principal's fetch rate in bytes (Infinity: no fetch quota). */
  fetchBytesMax(): number;
  /** Calls `bridge.pump()` in `ms` (the principal is over its fetch quota until then). */
  pumpLater(bridge: SubscriptionBridge, ms: number): void;
  /** The bridge ended by itself (topic deleted, broker closing); forget it. */
  ended(sub: number): void;
}

/** Bytes a delivery frame spends besides its records' payloads (generous, for splitting). */
const FRAME_OVERHEAD_BYTES = 256;
const RECORD_OVERHEAD_BYTES = 64;
/**
 * Records are assumed this large until a delivery shows their size: a first chunk of credit of
 * `wsSubscriberBufferedBytesMax / 16` records (16 at the default) cannot pin much, whatever they hold.
 */
const UNKNOWN_RECORD_BYTES_DIVISOR = 16;

/** One frame's worth of a delivery, shared by every subscription that sends this delivery. */
export interface DeliveryChunk {
  /** `delivery`, or `batchDelivery` (whose `batches` stand for `records`). */
  readonly type: DeliveryFrameType;
  /** `topic`, `partition`, `records` (or `batches`), `highWatermark` of the frame. */
  readonly fields: SharedFields;
  /** Records in the frame and their payload bytes, for the metrics. */
  readonly records: number;
  readonly bytes: number;
  /** The frame's messages as the port built them, for every subscription that sends it. */
  frames: SharedFrames | undefined;
}

/**
 * A subscription's own part of its delivery frames, encoded once for all of them (it changes only
 * with the number of shared fields) instead of once per frame: `count` is -1 until then.
 */
export interface DeliveryHead {
  type: DeliveryFrameType;
  count: number;
  bytes: Uint8Array;
}

export type DeliveryFrameType = 'delivery' | 'batchDelivery';

/** Frames of a delivery by frame budget; deliveries are frozen and shared, so this is too. */
interface PreparedDelivery {
  readonly delivery: Delivery;
  readonly budget: number;
  readonly chunks: DeliveryChunk[];
  /** Records of all chunks, and their bytes with `RECORD_OVERHEAD_BYTES` each. */
  readonly records: number;
  readonly bytes: number;
}

/**
 * Frames of the last few deliveries, in a small ring searched by identity. The subscriptions of
 * a partition send its delivery one after the other in the same turn of the event loop, so a few
 * slots serve them all. Deliberately not a WeakMap or a Map: their tables keep entries that were
 * deleted or replaced reachable from the old generation (a WeakMap until a full GC, a Map's
 * replaced tables likewise), and the young-generation GC then copies and promotes those
 * deliveries with all their records: measured, most of what every GC pause was spent on.
 */
const PREPARED_SLOTS = 4;
const prepared: (PreparedDelivery | undefined)[] = new Array(PREPARED_SLOTS).fill(undefined);
let preparedNext = 0;

/** Splits a delivery into frames that stay under `budget` bytes (a single huge record goes alone). */
function prepareDelivery(delivery: Delivery, budget: number): PreparedDelivery {
  for (let i = 0; i < PREPARED_SLOTS; i++) {
    const slot = prepared[i];
    if (slot !== undefined && slot.delivery === delivery && slot.budget === budget) return slot;
  }
  const chunks: DeliveryChunk[] = [];
  const push = (records: readonly LogRecord[], bytes: number): void => {
    chunks.push({
      type: 'delivery',
      fields: new SharedFields({
        topic: delivery.topic,
        partition: delivery.partition,
        // Log records have the wire record's fields: encoded as they are, no copy per record.
        records: new MsgpackRecordList(records),
        highWatermark: delivery.highWatermark,
      }),
      records: records.length,
      bytes: bytes - records.length * RECORD_OVERHEAD_BYTES,
      frames: undefined,
    });
  };
  const all = delivery.records;
  let first = 0;
  let bytes = 0;
  for (let i = 0; i < all.length; i++) {
    const size = recordBytes(all[i]!) + RECORD_OVERHEAD_BYTES;
    if (i > first && bytes + size > budget) {
      push(all.slice(first, i), bytes);
      first = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (all.length > first) push(first === 0 ? all : all.slice(first), bytes);
  let totalRecords = 0;
  let totalBytes = 0;
  for (const chunk of chunks) {
    totalRecords += chunk.records;
    totalBytes += chunk.bytes + chunk.records * RECORD_OVERHEAD_BYTES;
  }
  const result: PreparedDelivery = { delivery, budget, chunks, records: totalRecords, bytes: totalBytes };
  if (Object.isFrozen(delivery)) {
    prepared[preparedNext] = result;
    preparedNext = (preparedNext + 1) % PREPARED_SLOTS;
  }
  return result;
}

function isBatchDelivery(delivery: Delivery | BatchDelivery): delivery is BatchDelivery {
  return 'batches' in delivery;
}

/**
 * Splits stored batches into `batchDelivery` frames under `budget` bytes. Not cached: a
 * subscription behind the tail reads its own batches. Their bytes are what the frames carry, so
 * they are what the bridge sizes credit by.
 */
function prepareBatchDelivery(
  delivery: BatchDelivery,
  budget: number,
): Omit<PreparedDelivery, 'delivery' | 'budget'> {
  const chunks: DeliveryChunk[] = [];
  const { batches, batchRecords } = delivery;
  let first = 0;
  let bytes = 0;
  let records = 0;
  const push = (end: number): void => {
    chunks.push({
      type: 'batchDelivery',
      fields: new SharedFields({
        topic: delivery.topic,
        partition: delivery.partition,
        batches: end - first === batches.length ? batches : batches.slice(first, end),
        highWatermark: delivery.highWatermark,
      }),
      records,
      bytes,
      frames: undefined,
    });
  };
  for (let i = 0; i < batches.length; i++) {
    const size = batches[i]!.byteLength;
    if (i > first && bytes + size > budget) {
      push(i);
      first = i;
      bytes = 0;
      records = 0;
    }
    bytes += size;
    records += batchRecords[i]!;
  }
  if (batches.length > first) push(batches.length);
  return { chunks, records: delivery.records, bytes: delivery.bytes };
}

export class SubscriptionBridge {
  readonly sub: number;
  readonly topic: string;
  readonly partition: number;
  readonly #port: BridgePort;
  #subscription: Subscription | undefined;
  /** Client credit not yet passed to the broker. */
  #owed = 0;
  /** Credit the broker holds: granted and not yet used by a delivery. */
  #brokerCredit = 0;
  #ready = false;
  #closed = false;
  readonly #held: (Delivery | BatchDelivery)[] = [];
  /** Frames of deliveries not yet sent (the socket was above its limit); `#unsentAt` is the next. */
  #unsent: DeliveryChunk[] = [];
  #unsentAt = 0;
  /** Bytes per record in the last delivery (with overhead); 0 until one arrived. */
  #recordBytes = 0;
  readonly #head: DeliveryHead = { type: 'delivery', count: -1, bytes: new Uint8Array(0) };
  /** Most bytes of records in one frame: under `wsFrameBytesMax` and `wsSubscriberBufferedBytesMax`. */
  readonly #budget: number;

  constructor(sub: number, topic: string, partition: number, port: BridgePort) {
    this.sub = sub;
    this.topic = topic;
    this.partition = partition;
    this.#port = port;
    const limits = port.limits;
    this.#budget =
      Math.min(limits.wsFrameBytesMax, limits.wsSubscriberBufferedBytesMax) - FRAME_OVERHEAD_BYTES;
  }

  /** Credit the client has given and not yet used, wherever it sits. */
  get outstandingCredit(): number {
    return this.#owed + this.#brokerCredit;
  }

  /** Opens the broker subscription; resolves with the first offset it will deliver. */
  async open(
    broker: Broker,
    from: WireStartPosition,
    credit: number,
    isolation: WireIsolation,
  ): Promise<number> {
    const position = await broker.resolvePosition(this.topic, this.partition, from, isolation);
    const initial = Math.min(credit, this.#chunkRecords());
    this.#owed = credit - initial;
    this.#brokerCredit = initial;
    const subscription = await broker.subscribe({
      topic: this.topic,
      partition: this.partition,
      from: { offset: position },
      credit: initial,
      isolation,
      onRecords: (delivery) => this.#brokerOnRecords(delivery),
      ...(this.#port.batchDelivery()
        ? {
            onBatches: (delivery: BatchDelivery) => this.#brokerOnRecords(delivery),
            batchBytesMax: this.#budget,
          }
        : {}),
      onError: (error) => this.#brokerOnError(error),
    });
    if (this.#closed) {
      subscription.close();
    } else {
      this.#subscription = subscription;
    }
    return position;
  }

  /** Called once the `subscribe` response was sent: held deliveries go out, credit flows. */
  markReady(): void {
    this.#ready = true;
    for (const delivery of this.#held.splice(0)) this.#send(delivery);
    this.pump();
  }

  /** The client grants `n` more records. */
  grant(n: number): void {
    if (this.outstandingCredit + n > this.#port.limits.wsCreditMax) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `credit of subscription ${this.sub} would exceed ${this.#port.limits.wsCreditMax} records (wsCreditMax)`,
      });
    }
    this.#owed += n;
    this.pump();
  }

  /**
   * Sends what waits while the socket has room, then passes owed credit on to the broker: once
   * the broker holds at most half a chunk, so a steady stream refills it every half chunk of
   * deliveries, not after each one.
   */
  pump(): void {
    if (this.#closed || !this.#ready || !this.#sendUnsent()) return;
    if (this.#subscription === undefined || this.#owed === 0) return;
    const chunk = this.#chunkRecords();
    if (this.#brokerCredit > chunk >> 1) return; // the next delivery pumps again
    const grant = Math.min(chunk - this.#brokerCredit, this.#owed);
    if (grant <= 0) return;
    if (this.#port.congested()) {
      this.#port.pumpAfterDrain(this);
      return;
    }
    // Over its fetch quota, the principal gets no more credit until it is back under the rate.
    const throttleMs = this.#port.fetchThrottleMs();
    if (throttleMs > 0) {
      this.#port.pumpLater(this, throttleMs);
      return;
    }
    this.#owed -= grant;
    this.#brokerCredit += grant;
    this.#checkCredit();
    this.#subscription.grant(grant);
  }

  /** Most credit the broker may hold: a chunk of records, fewer when they are large. */
  #chunkRecords(): number {
    const limits = this.#port.limits;
    const recordBytes =
      this.#recordBytes > 0
        ? this.#recordBytes
        : limits.wsSubscriberBufferedBytesMax / UNKNOWN_RECORD_BYTES_DIVISOR;
    // Under a fetch quota, at most one burst of the rate at a time, so deliveries come at the rate.
    const bytesMax = Math.min(limits.wsSubscriberBufferedBytesMax, this.#port.fetchBytesMax());
    const fit = Math.floor(bytesMax / recordBytes);
    return Math.max(1, Math.min(limits.wsBrokerCreditChunkRecords, fit));
  }

  #checkCredit(): void {
    assert(this.#owed >= 0 && this.#brokerCredit >= 0, "a subscription's credit never goes negative");
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.length = 0;
    this.#unsent = [];
    this.#subscription?.close();
  }

  #brokerOnRecords(delivery: Delivery | BatchDelivery): void {
    if (this.#closed) return;
    // The broker never delivers more than the credit it was given.
    this.#brokerCredit -= isBatchDelivery(delivery) ? delivery.records : delivery.records.length;
    this.#checkCredit();
    if (!this.#ready) {
      this.#held.push(delivery);
      return;
    }
    this.#send(delivery);
    this.pump();
  }

  #brokerOnError(error: unknown): void {
    if (this.#closed) return;
    this.close();
    this.#port.sendSubscriptionClosed(this.sub, toWireError(error));
    this.#port.ended(this.sub);
  }

  /**
   * Sends a delivery, split into frames that stay under `wsFrameBytesMax` and
   * `wsSubscriberBufferedBytesMax`, as far as the socket has room; the rest waits for it to drain.
   */
  #send(delivery: Delivery | BatchDelivery): void {
    const budget = this.#budget;
    const { chunks, records, bytes } = isBatchDelivery(delivery)
      ? prepareBatchDelivery(delivery, budget)
      : prepareDelivery(delivery, budget);
    if (records > 0) this.#recordBytes = Math.ceil(bytes / records);
    if (this.#unsentAt === this.#unsent.length) {
      this.#unsent = chunks;
      this.#unsentAt = 0;
    } else {
      this.#unsent = this.#unsent.slice(this.#unsentAt).concat(chunks);
      this.#unsentAt = 0;
    }
    this.#sendUnsent();
  }

  /** Sends waiting frames while the socket has room; true once none waits. */
  #sendUnsent(): boolean {
    while (this.#unsentAt < this.#unsent.length) {
      if (!this.#port.sendDelivery(this.sub, this.#unsent[this.#unsentAt]!, this.#head)) {
        this.#port.pumpAfterDrain(this);
        return false;
      }
      this.#unsentAt++;
    }
    return true;
  }
}
