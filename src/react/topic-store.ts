/**
 * @module react/topic-store
 * One `useTopic` as an external store for `useSyncExternalStore`: an SDK consumer (credit-based,
 * resumed after reconnects) opened when React subscribes and closed when it unsubscribes, whose
 * records land in a buffer that keeps only the newest `max`.
 *
 * Records kept are copies: a delivered record's bytes are views of the whole message it came in,
 * and a tail that keeps a few records must not keep whole messages alive.
 */

import type { TributaryClient } from '../client/client.js';
import type { Consumer } from '../client/consumer.js';
import type { StartPosition } from '../client/partition-stream.js';
import type { ConsumerRecord } from '../client/records.js';
import { TributaryError } from '../errors.js';
import { toError } from './client-store.js';

export interface TopicOptions {
  /** Most records kept: older ones leave the buffer as newer ones arrive. Default 100. */
  readonly max?: number;
  /** Where each partition starts. Default `'latest'` (a live tail). */
  readonly from?: StartPosition;
  /** Partitions to read. Default: all. */
  readonly partitions?: readonly number[];
}

export const TOPIC_DEFAULTS = { max: 100, from: 'latest' } as const;

export interface TopicState {
  /** The newest records (at most `max`), oldest first, in the order they arrived. */
  readonly records: readonly ConsumerRecord[];
  /** True until every partition is subscribed. */
  readonly loading: boolean;
  /** Why the tail ended (topic not found, access denied, …). */
  readonly error: TributaryError | undefined;
}

export const TOPIC_LOADING: TopicState = { records: [], loading: true, error: undefined };

export class TopicStore {
  readonly #client: TributaryClient | undefined;
  readonly #topic: string;
  readonly #options: TopicOptions;
  readonly #max: number;
  #state: TopicState = TOPIC_LOADING;
  #consumer: Consumer | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(client: TributaryClient | undefined, topic: string, options: TopicOptions) {
    this.#client = client;
    this.#topic = topic;
    this.#options = options;
    this.#max = options.max ?? TOPIC_DEFAULTS.max;
  }

  readonly getSnapshot = (): TopicState => this.#state;

  readonly getServerSnapshot = (): TopicState => TOPIC_LOADING;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#open();
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      const consumer = this.#consumer;
      this.#consumer = undefined;
      if (consumer !== undefined) void consumer.close();
    };
  };

  #open(): void {
    const client = this.#client;
    if (client === undefined) return;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) {
      const reason = `useTopic's max must be a positive integer, got ${String(this.#max)}`;
      this.#set({
        ...this.#state,
        loading: false,
        error: new TributaryError('INVALID_ARGUMENT', { reason }),
      });
      return;
    }
    let consumer: Consumer;
    try {
      consumer = client.consumer({
        topic: this.#topic,
        from: this.#options.from ?? TOPIC_DEFAULTS.from,
        ...(this.#options.partitions === undefined ? {} : { partitions: this.#options.partitions }),
      });
    } catch (error) {
      this.#set({ ...this.#state, loading: false, error: toError(error) });
      return;
    }
    this.#consumer = consumer;
    const live = (): boolean => this.#consumer === consumer;
    consumer.on('records', (records) => {
      if (!live()) return;
      const kept = [...this.#state.records, ...records.slice(-this.#max).map(copy)];
      this.#set({ ...this.#state, loading: false, records: kept.slice(-this.#max) });
    });
    consumer.on('error', (error) => {
      if (live()) this.#set({ ...this.#state, loading: false, error: toError(error) });
    });
    consumer.ready.then(
      () => {
        if (live() && this.#state.loading) this.#set({ ...this.#state, loading: false });
      },
      () => undefined, // reported by the `error` event
    );
  }

  #set(state: TopicState): void {
    this.#state = state;
    for (const listener of [...this.#listeners]) listener();
  }
}

function copy(record: ConsumerRecord): ConsumerRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : record.key.slice(),
    value: record.value === null ? null : record.value.slice(),
    headers: record.headers.map((header) => ({ key: header.key, value: header.value.slice() })),
  };
}
