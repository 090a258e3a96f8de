/**
 * @module client/consumer
 * A consumer of one topic (all its partitions, or some), usable as an async iterator or with a
 * `records` listener. Credit is granted as the application consumes, so a slow application
 * holds at most `creditRecords` records per partition in memory. After a reconnect each
 * partition resumes from the offset after the last record it received: no gap, no duplicate.
 *
 * @example
 * const consumer = client.consumer({ topic: 'orders', from: 'earliest' });
 * for await (const record of consumer) {
 *   console.log(record.partition, record.offset, text(record.value));
 * }
 *
 * @example
 * consumer.on('records', async (records) => { await save(records); });
 */
import { TributaryError } from '../errors.js';
import type { ClientConnection } from './connection.js';
import { Emitter } from './emitter.js';
import {
  checkIsolation,
  type Isolation,
  PartitionStream,
  type StartPosition,
  type SubscriptionRoutes,
} from './partition-stream.js';
import { RecordQueue, type RecordsListener } from './record-queue.js';
import { type ConsumerRecord, forEachPartitionRun } from './records.js';

export interface ConsumerOptions {
  readonly topic: string;
  /** Partitions to read. Default: all of the topic's partitions. */
  readonly partitions?: readonly number[];
  /** Where each partition starts. Default `'earliest'`. */
  readonly from?: StartPosition;
  /** Records per partition granted ahead of consumption (the buffer bound). Default 500. */
  readonly creditRecords?: number;
  /**
   * `'uncommitted'` (default): every record as soon as it is durable. `'committed'`: only records
   * of decided commits, never those of an aborted `commitAtomically` or Kafka transaction.
   */
  readonly isolation?: Isolation;
}

export type ConsumerEvents = {
  records: [records: ConsumerRecord[]];
  error: [error: unknown];
};

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly topic: string;
  /** Resolves once every partition is subscribed; rejects if the consumer cannot start. */
  readonly ready: Promise<void>;
  readonly #connection: ClientConnection;
  readonly #routes: SubscriptionRoutes;
  readonly #events = new Emitter<ConsumerEvents>();
  readonly #queue: RecordQueue;
  readonly #streams = new Map<number, PartitionStream>();
  readonly #unlisten: (() => void)[] = [];
  #closed = false;
  #failed = false;
  readonly #failure: Promise<never>;
  #rejectFailure!: (error: unknown) => void;

  constructor(connection: ClientConnection, routes: SubscriptionRoutes, options: ConsumerOptions) {
    this.topic = options.topic;
    this.#connection = connection;
    this.#routes = routes;
    const window = options.creditRecords ?? 500;
    if (!Number.isSafeInteger(window) || window < 1) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `creditRecords must be a positive integer, got ${window}`,
      });
    }
    this.#failure = new Promise<never>((_resolve, reject) => {
      this.#rejectFailure = reject;
    });
    this.#failure.catch(() => undefined);
    this.#queue = new RecordQueue(
      (records) => this.#consumed(records),
      (error) => this.#events.emit('error', error),
    );
    this.#unlisten.push(
      connection.events.on('open', (_session, reconnected) => {
        if (reconnected) for (const stream of this.#streams.values()) stream.start();
      }),
      connection.events.on('disconnect', () => {
        for (const stream of this.#streams.values()) stream.disconnected();
      }),
      // The credential was refused for good: nothing will resume (client/connection.ts).
      connection.events.on('authFailed', (error) => this.#fail(error)),
    );
    const isolation = checkIsolation(options.isolation);
    this.ready = this.#start(options.partitions, options.from ?? 'earliest', window, isolation);
    this.ready.catch((error: unknown) => this.#fail(error));
  }

  /** Adds a listener; with a `records` listener the records go to it instead of an iterator. */
  on<K extends keyof ConsumerEvents>(
    event: K,
    listener: (...args: ConsumerEvents[K]) => void | Promise<void>,
  ): () => void {
    if (event === 'records') {
      this.#queue.setListener(listener as RecordsListener);
      return () => undefined;
    }
    return this.#events.on(event, listener as (...args: ConsumerEvents[K]) => void);
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    return this.#queue.iterator(() => this.close());
  }

  /** Next offset per partition: the offset after the last record received. */
  positions(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [partition, stream] of this.#streams) {
      if (stream.nextOffset !== undefined) out.set(partition, stream.nextOffset);
    }
    return out;
  }

  /** Stops every subscription and ends iteration. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unlisten) off();
    for (const stream of this.#streams.values()) stream.stop();
    this.#queue.end();
  }

  async #start(
    partitions: readonly number[] | undefined,
    from: StartPosition,
    window: number,
    isolation: Isolation,
  ): Promise<void> {
    const list =
      partitions ??
      (await this.#connection.request('describeTopic', { name: this.topic }, 'safe')).topic.partitions.map(
        (p) => p.partition,
      );
    if (this.#closed) return;
    const host = {
      connection: this.#connection,
      routes: this.#routes,
      push: (records: ConsumerRecord[]) => this.#queue.push(records),
      fail: (error: unknown) => this.#fail(error),
    };
    for (const partition of list) {
      const stream = new PartitionStream(host, this.topic, partition, from, window, isolation);
      this.#streams.set(partition, stream);
      stream.start();
    }
    await Promise.race([Promise.all([...this.#streams.values()].map((s) => s.subscribed)), this.#failure]);
  }

  #consumed(records: readonly ConsumerRecord[]): void {
    forEachPartitionRun(records, (last, count) => this.#streams.get(last.partition)?.consumed(count));
  }

  #fail(error: unknown): void {
    if (this.#closed || this.#failed) return;
    this.#failed = true;
    this.#rejectFailure(error);
    this.#events.emit('error', error);
    this.#queue.fail(error);
  }
}
