/**
 * @module client/partition-stream
 * One subscription to one topic-partition that survives reconnects. It remembers the offset after
 * the last record it received (`nextOffset`) and, after a reconnect, subscribes again from exactly
 * there, so the application sees neither a gap nor a duplicate. Records below `nextOffset` (none
 * are expected) are dropped as a second line of defence.
 *
 * Credit: the stream keeps `window` records in play — granted to the server, or delivered and not
 * yet consumed. As the application consumes, the freed credit is granted back in steps of about
 * half the window, so the buffer never holds more than `window` records of this partition. The
 * step is jittered per stream (3/8 to 5/8 of the window): thousands of subscribers that started
 * together on one busy topic would otherwise all send their credit in the same millisecond.
 */
import { isTributaryError, TributaryError } from '../errors.js';
import type { DeliveryFrame, WireIsolation, WireStartPosition } from '../protocol/native/types.js';
import type { ClientConnection } from './connection.js';
import { type ConsumerRecord, toConsumerRecord } from './records.js';

export type StartPosition = WireStartPosition;

/** Which records a consumer reads: all as they land (default), or only those of decided commits. */
export type Isolation = WireIsolation;

/** Checks a consumer's `isolation` option; absent is `'uncommitted'`. */
export function checkIsolation(isolation: unknown): Isolation {
  if (isolation === undefined || isolation === 'uncommitted') return 'uncommitted';
  if (isolation === 'committed') return 'committed';
  throw new TributaryError('INVALID_ARGUMENT', {
    reason: `isolation must be 'uncommitted' or 'committed', got ${JSON.stringify(isolation)}`,
  });
}

/** Routes deliveries of the current session to their streams (cleared on every disconnect). */
export type SubscriptionRoutes = Map<number, PartitionStream>;

export interface StreamHost {
  readonly connection: ClientConnection;
  readonly routes: SubscriptionRoutes;
  /** New records for the application (the array is handed over). */
  push(records: ConsumerRecord[]): void;
  /** The stream cannot go on (topic deleted, offset out of range, …). */
  fail(error: unknown): void;
}

export class PartitionStream {
  readonly topic: string;
  readonly partition: number;
  readonly #host: StreamHost;
  readonly #window: number;
  /** Freed records that trigger a grant (see the module comment). */
  readonly #grantStep: number;
  readonly #from: StartPosition;
  readonly #isolation: Isolation;
  #nextOffset: number | undefined;
  #sub: number | undefined;
  /** Delivered and not yet consumed. */
  #buffered = 0;
  /** Granted to the server and not yet used. */
  #outstanding = 0;
  /** Consumed and not yet granted back. */
  #freed = 0;
  #stopped = false;
  #generation = 0;
  readonly subscribed: Promise<void>;
  #markSubscribed!: () => void;

  constructor(
    host: StreamHost,
    topic: string,
    partition: number,
    from: StartPosition,
    window: number,
    isolation: Isolation = 'uncommitted',
  ) {
    this.#host = host;
    this.#isolation = isolation;
    this.topic = topic;
    this.partition = partition;
    this.#from = from;
    this.#window = window;
    this.#grantStep = Math.max(1, Math.round(window * (0.375 + Math.random() * 0.25)));
    this.subscribed = new Promise((resolve) => {
      this.#markSubscribed = resolve;
    });
  }

  /** The offset of the next record this stream will hand out (after the last one received). */
  get nextOffset(): number | undefined {
    return this.#nextOffset;
  }

  /** Subscribes (again): from the offset after the last record received, else from the start position. */
  start(): void {
    if (this.#stopped) return;
    const generation = ++this.#generation;
    this.#sub = undefined;
    // Everything not buffered is granted with the subscription, including credit freed so far.
    const credit = Math.max(0, this.#window - this.#buffered);
    this.#freed = 0;
    this.#outstanding = credit;
    const from: StartPosition = this.#nextOffset === undefined ? this.#from : { offset: this.#nextOffset };
    this.#host.connection
      .request(
        'subscribe',
        this.#isolation === 'committed'
          ? { topic: this.topic, partition: this.partition, from, credit, isolation: 'committed' }
          : { topic: this.topic, partition: this.partition, from, credit },
        'session',
        (result) => {
          if (this.#stopped || generation !== this.#generation) return;
          // Routed synchronously, before any delivery of this subscription is handled.
          this.#sub = result.sub;
          this.#nextOffset ??= result.position;
          this.#host.routes.set(result.sub, this);
        },
      )
      .then(
        (result) => {
          if (this.#stopped || generation !== this.#generation) {
            this.#unsubscribe(result.sub);
            return;
          }
          this.#markSubscribed();
        },
        (error: unknown) => {
          // A lost connection is not the stream's failure: it subscribes again after the reconnect.
          if (this.#stopped || isTributaryError(error, 'CONNECTION_LOST')) return;
          this.#host.fail(error);
        },
      );
  }

  /** The connection dropped: the subscription is gone with it. */
  disconnected(): void {
    this.#sub = undefined;
    this.#outstanding = 0;
  }

  onDelivery(frame: DeliveryFrame): void {
    if (this.#stopped || frame.sub !== this.#sub) return;
    this.#outstanding = Math.max(0, this.#outstanding - frame.records.length);
    const fresh: ConsumerRecord[] = [];
    for (const record of frame.records) {
      if (this.#nextOffset !== undefined && record.offset < this.#nextOffset) continue;
      fresh.push(toConsumerRecord(frame.topic, frame.partition, record));
      this.#nextOffset = record.offset + 1;
    }
    this.#buffered += fresh.length;
    // Dropped duplicates used credit without filling the buffer: give it back.
    this.#freed += frame.records.length - fresh.length;
    this.#host.push(fresh);
    this.#maybeGrant();
  }

  /** The application consumed `count` records of this partition. */
  consumed(count: number): void {
    this.#buffered = Math.max(0, this.#buffered - count);
    this.#freed += count;
    this.#maybeGrant();
  }

  /** Unconsumed records of this partition were discarded (they will be read again from `offset`). */
  rewind(offset: number, discarded: number): void {
    this.#buffered = Math.max(0, this.#buffered - discarded);
    this.#nextOffset = offset;
  }

  onClosed(error: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#sub = undefined;
    this.#host.fail(error);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#sub !== undefined) this.#unsubscribe(this.#sub);
    this.#sub = undefined;
  }

  #unsubscribe(sub: number): void {
    this.#host.routes.delete(sub);
    this.#host.connection.request('unsubscribe', { sub }, 'session').catch(() => undefined);
  }

  #maybeGrant(): void {
    const sub = this.#sub;
    if (sub === undefined || this.#stopped) return;
    if (this.#freed < this.#grantStep) return;
    const n = this.#freed;
    this.#freed = 0;
    this.#outstanding += n;
    this.#host.connection.request('credit', { sub, n }, 'session').catch(() => {
      // Lost with the connection (the next subscription starts with a full window) or the
      // subscription ended (its error arrives separately).
    });
  }
}
