/**
 * @module es/streams/subscription
 * Catch-up subscriptions: history, then live, with no gap or duplicate at the switch. There is
 * no switch to get wrong: the subscription is one broker subscription to the store's single
 * partition from the position after the checkpoint, so history and live events come through the
 * same ordered feed, and the log delivers an event only once it is durable. Events of other
 * streams are skipped by key without being decoded; a stream or category subscription starts at
 * the first position of its own events after the checkpoint (from the index), not at the
 * checkpoint itself, so it does not read the whole log's history.
 *
 * `onEvent` runs one event at a time; the broker's credit is granted as events settle, so a slow
 * handler paces the reads instead of buffering without bound.
 */
import type { Broker, Delivery, Subscription } from '../../broker/types.js';
import type { LogRecord } from '../../log/types.js';
import { decodeEvent, keyInCategory, keyIs, streamKey } from './event-codec.js';
import { STREAM_DEFAULTS } from './limits.js';
import type { EventSubscription, RecordedEvent, SubscribeOptions, SubscriptionTarget } from './types.js';

export interface CatchUpOptions extends SubscribeOptions {
  /** First log offset to read (the caller skips what the index says holds none of the target's events). */
  readonly fromOffset: number;
  /** Whether the stream's metadata lets the event out now (truncation, max age and count, delete). */
  readonly isVisible: (event: RecordedEvent) => boolean;
}

export class CatchUpSubscription implements EventSubscription {
  readonly #options: CatchUpOptions;
  readonly #matches: (record: LogRecord) => boolean;
  #subscription: Subscription | undefined;
  #position: number | undefined;
  #queue: LogRecord[] = [];
  #draining = false;
  #closed = false;
  #onClosed: (() => void) | undefined;

  private constructor(options: CatchUpOptions) {
    this.#options = options;
    this.#matches = matcher(options.target);
  }

  static async open(broker: Broker, topic: string, options: CatchUpOptions): Promise<CatchUpSubscription> {
    const subscription = new CatchUpSubscription(options);
    subscription.#subscription = await broker.subscribe({
      topic,
      partition: 0,
      from: { offset: options.fromOffset },
      credit: STREAM_DEFAULTS.subscriptionCredit,
      onRecords: (delivery) => subscription.#onDelivery(delivery),
      onError: (error) => subscription.#fail(error),
    });
    return subscription;
  }

  get position(): number | undefined {
    return this.#position;
  }

  /** Ends the subscription; resolves once no `onEvent` call is running. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription?.close();
    this.#queue = [];
    if (this.#draining) await new Promise<void>((resolve) => (this.#onClosed = resolve));
  }

  /** Set by the store to forget the subscription once it ends. */
  onEnd: (() => void) | undefined;

  #onDelivery(delivery: Delivery): void {
    if (this.#closed) return;
    for (const record of delivery.records) this.#queue.push(record);
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        const record = this.#queue.shift() as LogRecord;
        if (this.#matches(record)) {
          const event: RecordedEvent = decodeEvent(record);
          // Checked when handed out, not when read: a truncation also hides queued events.
          if (this.#options.isVisible(event)) {
            await this.#options.onEvent(event);
            if (this.#closed) break;
            this.#position = event.position;
          }
        }
        this.#subscription?.grant(1);
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#draining = false;
      this.#onClosed?.();
    }
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription?.close();
    this.#queue = [];
    this.onEnd?.();
    this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }
}

function matcher(target: SubscriptionTarget): (record: LogRecord) => boolean {
  if ('stream' in target) {
    const key = streamKey(target.stream);
    return (record) => keyIs(record, key);
  }
  if ('category' in target) {
    const key = streamKey(target.category);
    return (record) => keyInCategory(record, key);
  }
  // Every stream but the store's own (`$$…` metadata, `$snapshots-…`).
  return (record) => record.key === null || record.key[0] !== DOLLAR;
}

const DOLLAR = 0x24;
