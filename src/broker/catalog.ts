/**
 * @module broker/catalog
 * The broker's cache of topic metadata it needs on hot paths: each topic's partition count (for
 * partitioning and validation) and its keyless-record rotation counter. Filled from
 * `Log.describeTopic` on first use; the broker forgets a topic when it deletes it or when the log
 * reports it missing. Partition counts never change after creation, so a cached count is only
 * stale if the topic was deleted and recreated behind the broker's back.
 */
import { isTributaryError } from '../errors.js';
import type { Log } from '../log/types.js';

interface Entry {
  readonly partitions: number;
  /** Keyless records rotate over partitions per produce call (sticky partitioner). */
  sticky: number;
}

export class TopicCatalog {
  private readonly entries = new Map<string, Entry>();
  /** One describe in flight per topic, so concurrent first calls keep their call order. */
  private readonly loading = new Map<string, Promise<number>>();

  constructor(private readonly log: Log) {}

  /** The partition count when known, without waiting. */
  cached(topic: string): number | undefined {
    return this.entries.get(topic)?.partitions;
  }

  /** The partition count; `TOPIC_NOT_FOUND` when the topic does not exist. */
  partitionCount(topic: string): Promise<number> {
    const cached = this.entries.get(topic);
    if (cached !== undefined) return Promise.resolve(cached.partitions);
    let pending = this.loading.get(topic);
    if (pending === undefined) {
      pending = this.log.describeTopic(topic).then(
        (description) => {
          this.loading.delete(topic);
          this.remember(topic, description.partitions.length);
          return description.partitions.length;
        },
        (error: unknown) => {
          this.loading.delete(topic);
          throw error;
        },
      );
      this.loading.set(topic, pending);
    }
    return pending;
  }

  /** The partition count, or 0 when the topic does not exist. */
  async partitionCountOrZero(topic: string): Promise<number> {
    try {
      return await this.partitionCount(topic);
    } catch (error) {
      if (isTributaryError(error, 'TOPIC_NOT_FOUND')) return 0;
      throw error;
    }
  }

  remember(topic: string, partitions: number): void {
    const entry = this.entries.get(topic);
    if (entry?.partitions !== partitions) this.entries.set(topic, { partitions, sticky: entry?.sticky ?? 0 });
  }

  forget(topic: string): void {
    this.entries.delete(topic);
  }

  /** The partition for the keyless records of one produce call; each call moves to the next. */
  nextStickyPartition(topic: string): number {
    const entry = this.entries.get(topic);
    if (entry === undefined) return 0;
    const partition = entry.sticky % entry.partitions;
    entry.sticky = (partition + 1) % entry.partitions;
    return partition;
  }
}
