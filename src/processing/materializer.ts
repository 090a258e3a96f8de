/**
 * @module processing/materializer
 * The collection sink's second half: a pipeline's results are committed atomically to its
 * results topic (`<pipeline>.results`, compacted, key = document key, value = the document),
 * and this consumer `put`s each committed result into the live collection, then commits its
 * position. A put repeated after a crash writes the same document again, and results of one key
 * stay in order (one partition), so the collection ends exactly as the results topic says:
 * effectively once. The collection is served by the server throughout, so results stay
 * queryable and subscribable while workers restart.
 */
import type { TributaryClient } from '../client/client.js';
import { Emitter } from '../client/emitter.js';
import type { GroupConsumer } from '../client/group-consumer.js';
import type { ConsumerRecord } from '../client/records.js';
import type { JsonObject } from '../crdt/index.js';
import type { CollectionRef } from './pipeline.js';
import { type StallWatch, watchStall } from './stall.js';
import { materializerGroupOf, resultsTopic } from './topics.js';

const DECODER = new TextDecoder();

export class Materializer {
  readonly #client: TributaryClient;
  readonly #pipeline: string;
  readonly #sink: CollectionRef<unknown>;
  readonly #options: {
    readonly batchRecordsMax: number;
    readonly restartDelayMs: number;
    readonly sessionTimeoutMs: number;
  };
  readonly #events = new Emitter<{ error: [error: unknown] }>();
  #consumer: GroupConsumer | undefined;
  #watch: StallWatch | undefined;
  #incarnation = 0;
  #stopped = false;
  /** Results put into the collection by this worker. */
  written = 0;
  /** Times the watchdog found the results consumer stalled and restarted it. */
  stalls = 0;

  constructor(
    client: TributaryClient,
    pipeline: string,
    sink: CollectionRef<unknown>,
    options: {
      readonly batchRecordsMax: number;
      readonly restartDelayMs: number;
      readonly sessionTimeoutMs: number;
    },
  ) {
    this.#client = client;
    this.#pipeline = pipeline;
    this.#sink = sink;
    this.#options = options;
  }

  on(event: 'error', listener: (error: unknown) => void): () => void {
    return this.#events.on(event, listener);
  }

  start(): void {
    const incarnation = ++this.#incarnation;
    const consumer = this.#client.groupConsumer({
      groupId: materializerGroupOf(this.#pipeline),
      topics: [resultsTopic(this.#pipeline)],
      autoCommit: false,
      isolation: 'committed',
      creditRecords: this.#options.batchRecordsMax,
      sessionTimeoutMs: this.#options.sessionTimeoutMs,
    });
    this.#consumer = consumer;
    this.#watch?.stop();
    let busy = false;
    const watch = watchStall(this.#client, consumer, { intervalMs: 1_000, stallMs: 3_000 }, (behind) => {
      if (busy) return;
      this.stalls++;
      void this.#restart(incarnation, consumer, new Error(`results consumer stalled: ${behind}`));
    });
    this.#watch = watch;
    // A consumer that failed reads nothing more: start a new one from the committed position.
    consumer.on('error', (error) => void this.#restart(incarnation, consumer, error));
    consumer.on('records', async (records) => {
      if (incarnation !== this.#incarnation || this.#stopped) return;
      busy = true;
      try {
        await this.#write(records);
        await consumer.commit();
        watch.progressed();
      } catch (error) {
        // The consumer counts these records as consumed: start again from the committed position.
        await this.#restart(incarnation, consumer, error);
      } finally {
        busy = false;
      }
    });
  }

  async #restart(incarnation: number, consumer: GroupConsumer, error: unknown): Promise<void> {
    if (incarnation !== this.#incarnation || this.#stopped) return;
    this.#events.emit('error', error);
    this.#incarnation++;
    await consumer.close().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, this.#options.restartDelayMs));
    if (!this.#stopped) this.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watch?.stop();
    await this.#consumer?.close();
  }

  async #write(records: readonly ConsumerRecord[]): Promise<void> {
    const collection = this.#client.collection(this.#sink.name);
    await Promise.all(
      records.map((r) => {
        const key = DECODER.decode(r.key ?? new Uint8Array());
        return r.value === null
          ? collection.delete(key)
          : collection.put(key, JSON.parse(DECODER.decode(r.value)) as JsonObject);
      }),
    );
    this.written += records.length;
  }
}
