/**
 * @module processing/materializer
 * The second half of the sinks the atomic commit cannot write directly (a live collection, event
 * streams): a pipeline's results are committed atomically to its results topic
 * (`<pipeline>.results`), and this consumer hands each committed result on, then commits its
 * position. Either way a result handed on twice (after a crash between the write and the
 * position's commit) changes nothing:
 *
 * - **collection**: the results topic is compacted (key = document key, value = the document)
 *   and each result is `put`; a repeated put writes the same document again, and results of
 *   one key stay in order (one partition), so the collection ends exactly as the results topic
 *   says. The collection is served throughout, so results stay queryable while workers restart.
 * - **event streams**: the results topic is not compacted (key = stream, value = type, data) and
 *   each result is appended with the event id `<pipeline>:<partition>:<offset>` (its place in
 *   the results topic, unique and stable): the store makes an append of ids the stream already
 *   holds a no-op, so each result becomes exactly one event, in results-topic order per stream.
 */
import type { TributaryClient } from '../client/client.js';
import { Emitter } from '../client/emitter.js';
import type { GroupConsumer } from '../client/group-consumer.js';
import type { ConsumerRecord } from '../client/records.js';
import type { JsonObject } from '../crdt/index.js';
import { isTributaryError } from '../errors.js';
import type { EventInput } from '../es/streams/types.js';
import type { CollectionRef } from './pipeline.js';
import type { EventSinkRef } from './sources.js';
import { type StallWatch, watchStall } from './stall.js';
import { materializerGroupOf, resultsTopic } from './topics.js';

const DECODER = new TextDecoder();

export class Materializer {
  readonly #client: TributaryClient;
  readonly #pipeline: string;
  readonly #writer: ResultWriter;
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
    writer: ResultWriter,
    options: {
      readonly batchRecordsMax: number;
      readonly restartDelayMs: number;
      readonly sessionTimeoutMs: number;
    },
  ) {
    this.#client = client;
    this.#pipeline = pipeline;
    this.#writer = writer;
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
    await this.#writer(records);
    this.written += records.length;
  }
}

/** Hands committed results on to the sink; a repeat of the same records must change nothing. */
export type ResultWriter = (records: readonly ConsumerRecord[]) => Promise<void>;

export function resultWriterOf(
  client: TributaryClient,
  pipeline: string,
  sink: CollectionRef<unknown> | EventSinkRef<unknown>,
): ResultWriter {
  if (sink.kind === 'collection') {
    return async (records) => {
      const collection = client.collection(sink.name);
      await Promise.all(
        records.map((r) => {
          const key = DECODER.decode(r.key ?? new Uint8Array());
          return r.value === null
            ? collection.delete(key)
            : collection.put(key, JSON.parse(DECODER.decode(r.value)) as JsonObject);
        }),
      );
    };
  }
  return async (records) => {
    const byStream = new Map<string, EventInput[]>();
    for (const r of records) {
      const stream = DECODER.decode(r.key ?? new Uint8Array());
      const { type, data } = JSON.parse(DECODER.decode(r.value ?? new Uint8Array())) as EventRecord;
      const event: EventInput = { type, data, id: eventIdOf(pipeline, r.partition, r.offset) };
      const list = byStream.get(stream);
      if (list === undefined) byStream.set(stream, [event]);
      else list.push(event);
    }
    const appends = [...byStream].map(([stream, events]) => ({ stream, events }));
    try {
      await client.streams.appendMany(appends);
    } catch (error) {
      // Part of a group appended before a crash (batches need not repeat as they were cut):
      // the ids the stream holds make single appends no-ops, the others go in.
      if (!isTributaryError(error, 'EVENT_ID_CONFLICT')) throw error;
      await Promise.all(
        appends.map(async ({ stream, events }) => {
          for (const event of events) await client.streams.append(stream, [event]);
        }),
      );
    }
  };
}

/** A result of an event sink as the results topic holds it (key: the stream). */
export interface EventRecord {
  readonly type: string;
  readonly data: unknown;
}

/** The id of the event a result becomes: its place in the results topic. */
export function eventIdOf(pipeline: string, partition: number, offset: number): string {
  return `${pipeline}:${partition}:${offset}`;
}
