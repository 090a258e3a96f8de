/**
 * @module processing/side-input
 * The second topic of a join of two topics. The pipeline's consumer group assigns partitions
 * of its source only; the task of source partition n also reads partition n of the second
 * topic (the two are co-partitioned: produced keyed by the join key, with as many partitions),
 * through a consumer of that one partition that this worker opens when the group assigns it
 * partition n and closes when the partition leaves. The reader starts at the position in the
 * task's committed progress record (`meta.sideInput.position`; the beginning of the topic
 * before the first commit), so the second topic's offsets move in the same atomic commit as
 * the join's state and outputs.
 */
import type { TributaryClient } from '../client/client.js';
import type { Consumer } from '../client/consumer.js';
import type { ConsumerRecord } from '../client/records.js';
import type { PipelineDefinition, TopicRef } from './pipeline.js';

/** The second topic a stage's join reads, if any. */
export function sideInputOf(definition: PipelineDefinition): TopicRef<unknown> | undefined {
  return definition.steps.find((s) => s.sideInput !== undefined)?.sideInput;
}

export interface SideInputHandlers {
  /** The next offset to read of partition `partition` (after restoring its task); null: the beginning. */
  position(partition: number): Promise<number | null>;
  /** A delivery of partition `partition`; the next waits until it settles. */
  onRecords(partition: number, records: ConsumerRecord[]): Promise<void>;
  onError(error: unknown): void;
}

/** One consumer per assigned partition of the second topic. */
export class SideInputReaders {
  readonly #readers = new Map<number, Promise<Consumer | undefined>>();
  #closed = false;

  constructor(
    private readonly client: TributaryClient,
    private readonly topic: TopicRef<unknown>,
    private readonly creditRecords: number,
    private readonly handlers: SideInputHandlers,
  ) {}

  /** Reads the partitions in `partitions` and no others. */
  follow(partitions: readonly number[]): void {
    const wanted = new Set(partitions);
    for (const partition of [...this.#readers.keys()]) {
      if (!wanted.has(partition)) void this.#close(partition);
    }
    for (const partition of wanted) {
      if (!this.#readers.has(partition)) this.#readers.set(partition, this.#open(partition));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#readers.keys()].map((p) => this.#close(p)));
  }

  async #open(partition: number): Promise<Consumer | undefined> {
    let position: number | null;
    try {
      position = await this.handlers.position(partition);
    } catch (error) {
      this.handlers.onError(error);
      return undefined;
    }
    if (this.#closed || !this.#readers.has(partition)) return undefined;
    const consumer = this.client.consumer({
      topic: this.topic.name,
      partitions: [partition],
      from: position === null ? 'earliest' : { offset: position },
      isolation: 'committed',
      creditRecords: this.creditRecords,
    });
    consumer.on('error', (error) => this.handlers.onError(error));
    consumer.on('records', async (records) => {
      if (this.#closed || !this.#readers.has(partition)) return;
      await this.handlers.onRecords(partition, records);
    });
    return consumer;
  }

  async #close(partition: number): Promise<void> {
    const reader = this.#readers.get(partition);
    this.#readers.delete(partition);
    await (await reader)?.close().catch(() => undefined);
  }
}
