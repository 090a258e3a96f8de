/**
 * @module server/front/ws/subscription-bridge
 * One client subscription, bridged onto one broker subscription, with flow control end to end.
 *
 * Credit flows in two stages. The client grants credit (`subscribe.credit`, then `credit`
 * requests); the bridge keeps it as `owed` and passes it on to the broker in chunks of at most
 * `brokerCreditChunkRecords`, and only while the socket's send buffer is below
 * `bufferedBytesHigh`. So the records the server holds for one subscription are bounded by the
 * chunk plus what the socket already buffers, however much credit a client hands out and however
 * slowly it reads.
 *
 * Ordering: deliveries the broker makes before the `subscribe` response went out are held and
 * sent right after it, so a client always knows a subscription id before its first delivery.
 *
 * Fan-out: subscriptions at the tail of a partition share one frozen `Delivery` per read (see
 * `broker/partition-feed.ts`). Its frames (split, converted and encoded) are prepared once and
 * cached on it, so N subscriptions cost one encoding plus N small headers (`type`, `sub`), not N
 * encodings of the same records.
 */
import type { Broker, Delivery, Subscription } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import { toWireError } from '../../../protocol/native/frames.js';
import type { WireError, WireRecord, WireStartPosition } from '../../../protocol/native/types.js';
import { SharedFields } from '../../../protocol/native/wire.js';
import { recordBytes, toWireRecord } from './convert.js';
import type { WsFrontEndLimits } from './limits.js';

/** What a bridge needs from its connection. */
export interface BridgePort {
  readonly limits: WsFrontEndLimits;
  /**
   * Sends a `delivery` frame of subscription `sub` whose other fields (`topic`, `partition`,
   * `records`, `highWatermark`) are `chunk.fields`, encoded once for every subscription.
   */
  sendDelivery(sub: number, chunk: DeliveryChunk): void;
  sendSubscriptionClosed(sub: number, error: WireError): void;
  /** True while the socket's send buffer is above `bufferedBytesHigh`. */
  congested(): boolean;
  /** Calls `bridge.pump()` once the socket has drained. */
  pumpAfterDrain(bridge: SubscriptionBridge): void;
  /** The bridge ended by itself (topic deleted, broker closing); forget it. */
  ended(sub: number): void;
}

/** Bytes a delivery frame spends besides its records' payloads (generous, for splitting). */
const FRAME_OVERHEAD_BYTES = 256;
const RECORD_OVERHEAD_BYTES = 64;

/** One frame's worth of a delivery, shared by every subscription that sends this delivery. */
export interface DeliveryChunk {
  /** `topic`, `partition`, `records`, `highWatermark` of the frame. */
  readonly fields: SharedFields;
  /** Records in the frame and their payload bytes, for the metrics. */
  readonly records: number;
  readonly bytes: number;
}

/** Frames of a delivery by frame budget; deliveries are frozen and shared, so this is too. */
interface PreparedDelivery {
  readonly delivery: Delivery;
  readonly budget: number;
  readonly chunks: DeliveryChunk[];
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
function deliveryChunks(delivery: Delivery, budget: number): DeliveryChunk[] {
  for (let i = 0; i < PREPARED_SLOTS; i++) {
    const slot = prepared[i];
    if (slot !== undefined && slot.delivery === delivery && slot.budget === budget) return slot.chunks;
  }
  const chunks: DeliveryChunk[] = [];
  const push = (records: WireRecord[], bytes: number): void => {
    chunks.push({
      fields: new SharedFields({
        topic: delivery.topic,
        partition: delivery.partition,
        records,
        highWatermark: delivery.highWatermark,
      }),
      records: records.length,
      bytes: bytes - records.length * RECORD_OVERHEAD_BYTES,
    });
  };
  let records: WireRecord[] = [];
  let bytes = 0;
  for (const record of delivery.records) {
    const size = recordBytes(record) + RECORD_OVERHEAD_BYTES;
    if (records.length > 0 && bytes + size > budget) {
      push(records, bytes);
      records = [];
      bytes = 0;
    }
    records.push(toWireRecord(record));
    bytes += size;
  }
  if (records.length > 0) push(records, bytes);
  if (Object.isFrozen(delivery)) {
    prepared[preparedNext] = { delivery, budget, chunks };
    preparedNext = (preparedNext + 1) % PREPARED_SLOTS;
  }
  return chunks;
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
  readonly #held: Delivery[] = [];

  constructor(sub: number, topic: string, partition: number, port: BridgePort) {
    this.sub = sub;
    this.topic = topic;
    this.partition = partition;
    this.#port = port;
  }

  /** Credit the client has given and not yet used, wherever it sits. */
  get outstandingCredit(): number {
    return this.#owed + this.#brokerCredit;
  }

  /** Opens the broker subscription; resolves with the first offset it will deliver. */
  async open(broker: Broker, from: WireStartPosition, credit: number): Promise<number> {
    const position = await broker.resolvePosition(this.topic, this.partition, from);
    const initial = Math.min(credit, this.#port.limits.brokerCreditChunkRecords);
    this.#owed = credit - initial;
    this.#brokerCredit = initial;
    const subscription = await broker.subscribe({
      topic: this.topic,
      partition: this.partition,
      from: { offset: position },
      credit: initial,
      onRecords: (delivery) => this.#brokerOnRecords(delivery),
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
    if (this.outstandingCredit + n > this.#port.limits.creditMax) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `credit of subscription ${this.sub} would exceed ${this.#port.limits.creditMax} records (creditMax)`,
      });
    }
    this.#owed += n;
    this.pump();
  }

  /** Passes owed credit on to the broker while the socket has room. */
  pump(): void {
    if (this.#closed || !this.#ready || this.#subscription === undefined || this.#owed === 0) return;
    if (this.#port.congested()) {
      this.#port.pumpAfterDrain(this);
      return;
    }
    const room = this.#port.limits.brokerCreditChunkRecords - this.#brokerCredit;
    const grant = Math.min(room, this.#owed);
    if (grant <= 0) return;
    this.#owed -= grant;
    this.#brokerCredit += grant;
    this.#subscription.grant(grant);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.length = 0;
    this.#subscription?.close();
  }

  #brokerOnRecords(delivery: Delivery): void {
    if (this.#closed) return;
    this.#brokerCredit = Math.max(0, this.#brokerCredit - delivery.records.length);
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

  /** Sends a delivery, split into frames that stay under `maxFrameBytes`. */
  #send(delivery: Delivery): void {
    const budget = this.#port.limits.maxFrameBytes - FRAME_OVERHEAD_BYTES;
    for (const chunk of deliveryChunks(delivery, budget)) this.#port.sendDelivery(this.sub, chunk);
  }
}
