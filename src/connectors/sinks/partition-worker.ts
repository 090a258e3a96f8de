/**
 * @module connectors/sinks/partition-worker
 * One assigned partition of a sink: finds where to start (the target's stored position, else the
 * group's committed offset, else `startFrom`), subscribes from there with credit of two batches,
 * and applies what arrives in order, one batch at a time. A failed batch is retried with
 * exponential backoff (the same records, so the target's position check makes the retry
 * harmless); credit is granted only for applied records, so memory stays bounded by the credit
 * whatever the target's speed.
 */
import type { Logger } from 'pino';
import type { Broker, LogRecord, Subscription, TopicPartition } from '../../broker/types.js';
import { backoffDelayMs, RECONNECT_DEFAULTS } from '../../client/backoff.js';
import { TributaryError } from '../../errors.js';
import type { DeadLetters } from './dead-letter.js';
import { positionKey, type SinkTarget } from './sink-target.js';

export type PartitionState = 'starting' | 'running' | 'retrying' | 'failed';

export interface PartitionWorkerOptions {
  readonly broker: Broker;
  readonly target: SinkTarget;
  readonly logger: Logger;
  readonly groupId: string;
  readonly batchRecordsMax: number;
  readonly startFrom: 'earliest' | 'latest';
  /** Where records the target refuses go; without it a refused record stops the partition. */
  readonly deadLetters?: DeadLetters;
  /** Called after each applied batch (the runner commits the group offset and reports status). */
  readonly onApplied: (worker: PartitionWorker, records: number) => void;
  /** Called whenever `state` or `error` changes. */
  readonly onChange: () => void;
}

/** Retry delays of a failing target: 100 ms doubling to 10 s, half jittered. */
const RETRY = RECONNECT_DEFAULTS;

export class PartitionWorker {
  readonly topic: string;
  readonly partition: number;
  state: PartitionState = 'starting';
  error: { readonly code: string; readonly message: string } | undefined;
  /** Next offset to apply; null until known. */
  position: number | null = null;
  /** The partition's high watermark at the last delivery. */
  highWatermark: number | null = null;
  /** Records sent to the dead-letter topic since this worker started. */
  deadLettered = 0;

  readonly #options: PartitionWorkerOptions;
  readonly #abort = new AbortController();
  readonly #queue: LogRecord[] = [];
  #subscription: Subscription | undefined;
  #wake: (() => void) | undefined;
  #readError: unknown;
  #done: Promise<void> = Promise.resolve();

  constructor(partition: TopicPartition, options: PartitionWorkerOptions) {
    this.topic = partition.topic;
    this.partition = partition.partition;
    this.#options = options;
  }

  start(): void {
    this.#done = this.#run().catch((error: unknown) => {
      if (!this.#abort.signal.aborted) this.#fail(error);
    });
  }

  /** Stops reading; waits for a batch being applied to finish (never cuts a write in half). */
  async close(): Promise<void> {
    this.#abort.abort();
    this.#subscription?.close();
    this.#wake?.();
    await this.#done;
  }

  async #run(): Promise<void> {
    const from = await this.#retrying(() => this.#startOffset());
    if (from === undefined) return;
    this.position = from;
    const { broker, batchRecordsMax } = this.#options;
    this.#subscription = await broker.subscribe({
      topic: this.topic,
      partition: this.partition,
      from: { offset: from },
      credit: batchRecordsMax * 2,
      onRecords: (delivery) => {
        for (const record of delivery.records) this.#queue.push(record);
        this.highWatermark = delivery.highWatermark;
        this.#wake?.();
      },
      onError: (error) => {
        this.#readError = error;
        this.#wake?.();
      },
    });
    if (this.#abort.signal.aborted) {
      this.#subscription.close();
      return;
    }
    this.#setState('running');
    const offsets = await broker.offsets(this.topic, this.partition);
    this.highWatermark ??= offsets.next;
    this.#options.onChange();
    await this.#applyLoop();
  }

  async #applyLoop(): Promise<void> {
    const { target, batchRecordsMax } = this.#options;
    while (!this.#abort.signal.aborted) {
      if (this.#readError !== undefined) throw this.#readError;
      if (this.#queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const records = this.#queue.splice(0, batchRecordsMax);
      const applied = await this.#retrying(async () => {
        try {
          await target.apply({ topic: this.topic, partition: this.partition, records }, this.#abort.signal);
        } catch (error) {
          if (this.#options.deadLetters === undefined || !target.isPermanent(error)) throw error;
          // Some record of the batch is refused: find it by applying them one at a time.
          await this.#applyOneByOne(records, this.#options.deadLetters);
        }
        return true;
      });
      if (applied === undefined) return;
      const last = records[records.length - 1];
      if (last !== undefined) this.position = last.offset + 1;
      this.#subscription?.grant(records.length);
      this.#options.onApplied(this, records.length);
    }
  }

  /**
   * Applies each record alone; one the target refuses (a permanent error) goes to the dead-letter
   * topic with the error, then the stored position moves past it. A crash between the two sends
   * it to the dead-letter topic again: dead letters are at least once.
   */
  async #applyOneByOne(records: readonly LogRecord[], deadLetters: DeadLetters): Promise<void> {
    const { target, logger } = this.#options;
    const tp = { topic: this.topic, partition: this.partition };
    for (const record of records) {
      if (this.#abort.signal.aborted) throw new TributaryError('SHUTTING_DOWN');
      try {
        await target.apply({ ...tp, records: [record] }, this.#abort.signal);
      } catch (error) {
        if (!target.isPermanent(error)) throw error;
        const { code, message } = describeError(error);
        logger.warn({ ...tp, offset: record.offset, err: error }, 'sink record dead-lettered');
        await deadLetters.send(tp, record, `${code}: ${message}`);
        await target.skip?.(tp, record.offset + 1);
        this.deadLettered++;
      }
    }
  }

  async #startOffset(): Promise<number> {
    const { target, broker, groupId, startFrom } = this.#options;
    const tp = { topic: this.topic, partition: this.partition };
    const stored = (await target.storedPositions([tp])).get(positionKey(this.topic, this.partition));
    if (stored !== undefined) return stored;
    const [committed] = await broker.fetchOffsets(groupId, [tp]);
    if (committed !== undefined && committed.offset >= 0) return committed.offset;
    return broker.resolvePosition(this.topic, this.partition, startFrom);
  }

  /**
   * Runs `attempt` until it succeeds, backing off between failures; `undefined` once aborted.
   * A permanent error (the target says retrying cannot help) is thrown.
   */
  async #retrying<T>(attempt: () => Promise<T>): Promise<T | undefined> {
    for (let failures = 0; ; failures++) {
      if (this.#abort.signal.aborted) return undefined;
      try {
        const result = await attempt();
        if (this.state === 'retrying') this.#setState('running');
        return result;
      } catch (error) {
        if (this.#abort.signal.aborted) return undefined;
        if (this.#options.target.isPermanent(error)) throw error;
        this.error = describeError(error);
        this.#setState('retrying');
        this.#options.logger.warn(
          { topic: this.topic, partition: this.partition, err: error, failures: failures + 1 },
          'sink write failed; retrying',
        );
        await sleep(backoffDelayMs(failures, RETRY), this.#abort.signal);
      }
    }
  }

  #fail(error: unknown): void {
    this.error = describeError(error);
    this.#options.logger.error(
      { topic: this.topic, partition: this.partition, err: error },
      'sink partition failed',
    );
    this.#subscription?.close();
    this.#setState('failed');
  }

  #setState(state: PartitionState): void {
    if (state !== 'retrying' && state !== 'failed') this.error = undefined;
    this.state = state;
    this.#options.onChange();
  }
}

export function describeError(error: unknown): { readonly code: string; readonly message: string } {
  if (error instanceof TributaryError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'SINK_TARGET_ERROR', message: error.message };
  }
  return { code: 'SINK_TARGET_ERROR', message: String(error) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
