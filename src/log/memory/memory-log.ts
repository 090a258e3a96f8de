/**
 * @module log/memory/memory-log
 * The in-memory Log engine, for tests and ephemeral use. It passes the shared contract
 * (`log.contract.ts`) and models segments like the file engine (see `memory-partition.ts`), so
 * retention and compaction behave alike. Nothing survives `close()`.
 *
 * @example
 * const log = createMemoryLog();
 * await log.createTopic('orders', { partitions: 3 });
 * await log.append('orders', 0, [{ key: null, value: new TextEncoder().encode('hi') }]);
 */
import { TributaryError } from '../../errors.js';
import { type CheckedBatch, checkEncodedBatch } from '../stored-batch.js';
import { checkMarkerEpoch, checkTransactionMarker } from '../transactions.js';
import type {
  AbortedTransaction,
  AppendEncodedOptions,
  AppendOptions,
  AppendResult,
  CompactionReport,
  DeleteRecordsResult,
  Log,
  LogRecord,
  PartitionOffsets,
  ReadBatchesOptions,
  ReadOptions,
  RecordInput,
  RetentionReport,
  StoredBatches,
  TopicConfig,
  TopicDescription,
  TransactionMarker,
} from '../types.js';
import {
  checkExpectedLastOffset,
  checkOffsetArgument,
  checkPartitionCountIncrease,
  checkPartitionNumber,
  checkTimestampArgument,
  recordSizeBytes,
  resolveReadBatchesOptions,
  resolveReadOptions,
  resolveTopicConfig,
  validateRecords,
  validateTopicName,
} from '../validation.js';
import { MemoryPartition } from './memory-partition.js';

interface MemoryTopic {
  readonly name: string;
  readonly id: string;
  readonly config: TopicConfig;
  readonly partitions: readonly MemoryPartition[];
}

export class MemoryLog implements Log {
  private readonly topics = new Map<string, MemoryTopic>();
  private closed = false;

  async createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription> {
    this.ensureOpen();
    validateTopicName(name, { allowInternal: true });
    const resolved = Object.freeze(resolveTopicConfig(config));
    if (this.topics.has(name)) throw new TributaryError('TOPIC_EXISTS', { topic: name });
    const partitions = Array.from({ length: resolved.partitions }, (_, i) => new MemoryPartition(name, i));
    const topic: MemoryTopic = { name, id: globalThis.crypto.randomUUID(), config: resolved, partitions };
    this.topics.set(name, topic);
    return toDescription(topic);
  }

  async deleteTopic(name: string): Promise<void> {
    const topic = this.topic(name);
    this.topics.delete(name);
    const error = new TributaryError('TOPIC_NOT_FOUND', { topic: name });
    for (const partition of topic.partitions) partition.releaseWaiters(error);
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.ensureOpen();
    return [...this.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(toDescription);
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    return toDescription(this.topic(name));
  }

  async append(
    topicName: string,
    partitionNumber: number,
    records: readonly RecordInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const topic = this.topic(topicName);
    const partition = this.partition(topic, partitionNumber);
    const bytes = validateRecords(records, { compact: topic.config.compact });
    checkExpectedLastOffset(options.expectedLastOffset);
    return this.appendChecked(topic, partition, records, bytes, options, undefined);
  }

  async appendEncoded(
    topicName: string,
    partitionNumber: number,
    batch: Uint8Array,
    options: AppendEncodedOptions = {},
  ): Promise<AppendResult> {
    const topic = this.topic(topicName);
    const partition = this.partition(topic, partitionNumber);
    const { expectedLastOffset, decompressedBytesMax } = options;
    checkExpectedLastOffset(expectedLastOffset);
    const checked = checkEncodedBatch(batch, {
      compact: topic.config.compact,
      ...(decompressedBytesMax === undefined ? {} : { decompressedBytesMax }),
    });
    let bytes = 0;
    for (const record of checked.records) bytes += recordSizeBytes(record);
    const appendOptions: AppendOptions = {
      ...(expectedLastOffset === undefined ? {} : { expectedLastOffset }),
      ...(checked.producer === undefined ? {} : { producer: checked.producer }),
      ...(checked.transactional ? { transactional: true } : {}),
    };
    return this.appendChecked(topic, partition, checked.records, bytes, appendOptions, checked);
  }

  /**
   * An append whose records are checked, through the producer, transaction and offset rules;
   * `encoded` is the client's batch to store as sent, if any.
   */
  private appendChecked(
    topic: MemoryTopic,
    partition: MemoryPartition,
    records: readonly RecordInput[],
    bytes: number,
    options: AppendOptions,
    encoded: CheckedBatch | undefined,
  ): AppendResult {
    return partition.appendChecked(records, bytes, options, topic.config, Date.now(), encoded);
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    const target = this.partition(this.topic(topic), partition);
    checkOffsetArgument(offset);
    const { maxRecords, maxBytes, isolation } = resolveReadOptions(options);
    return target.read(offset, maxRecords, maxBytes, isolation);
  }

  async readBatches(
    topic: string,
    partition: number,
    offset: number,
    options: ReadBatchesOptions,
  ): Promise<StoredBatches> {
    const target = this.partition(this.topic(topic), partition);
    checkOffsetArgument(offset);
    const { maxBytes, isolation } = resolveReadBatchesOptions(options);
    const { earliest, next, lastStable } = target.offsets;
    return { batches: target.readBatches(offset, maxBytes, isolation), next, lastStable, earliest };
  }

  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    return this.partition(this.topic(topic), partition).offsets;
  }

  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null> {
    const target = this.partition(this.topic(topic), partition);
    checkTimestampArgument(timestampMs);
    return target.offsetForTimestamp(timestampMs);
  }

  async waitForAppend(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    const target = this.partition(this.topic(topic), partition);
    checkOffsetArgument(offset);
    return target.waitFor(offset, signal);
  }

  async writeMarker(
    topic: string,
    partition: number,
    marker: TransactionMarker,
  ): Promise<{ readonly offset: number | null }> {
    const t = this.topic(topic);
    const target = this.partition(t, partition);
    checkTransactionMarker(marker);
    checkMarkerEpoch(marker, target.producers.epochOf(marker.producerId), topic, partition);
    return { offset: target.appendMarker(marker, Date.now(), t.config) };
  }

  async abortedTransactions(
    topic: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
  ): Promise<AbortedTransaction[]> {
    const target = this.partition(this.topic(topic), partition);
    checkOffsetArgument(fromOffset);
    checkOffsetArgument(toOffset);
    return target.transactions.abortedIn(fromOffset, toOffset);
  }

  async waitForStable(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    const target = this.partition(this.topic(topic), partition);
    checkOffsetArgument(offset);
    return target.waitFor(offset, signal, true);
  }

  async addPartitions(name: string, partitions: number): Promise<TopicDescription> {
    const topic = this.topic(name);
    const count = checkPartitionCountIncrease(name, topic.partitions.length, partitions);
    const added = Array.from(
      { length: count - topic.partitions.length },
      (_, i) => new MemoryPartition(name, topic.partitions.length + i),
    );
    const grown: MemoryTopic = {
      ...topic,
      config: Object.freeze({ ...topic.config, partitions: count }),
      partitions: [...topic.partitions, ...added],
    };
    this.topics.set(name, grown);
    return toDescription(grown);
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<DeleteRecordsResult> {
    const target = this.partition(this.topic(topic), partition);
    checkOffsetArgument(beforeOffset);
    return { earliest: target.deleteRecords(beforeOffset) };
  }

  async enforceRetention(topic?: string): Promise<RetentionReport> {
    this.ensureOpen();
    const topics = topic === undefined ? [...this.topics.values()] : [this.topic(topic)];
    const now = Date.now();
    let segmentsDeleted = 0;
    let bytesDeleted = 0;
    for (const { config, partitions } of topics) {
      for (const partition of partitions) {
        const report = partition.enforceRetention(config, now);
        segmentsDeleted += report.segmentsDeleted;
        bytesDeleted += report.bytesDeleted;
      }
    }
    return { segmentsDeleted, bytesDeleted };
  }

  async compact(topicName: string): Promise<CompactionReport> {
    const topic = this.topic(topicName);
    if (!topic.config.compact) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `Topic "${topicName}" is not compacted` });
    }
    const now = Date.now();
    const report = { recordsBefore: 0, recordsAfter: 0, bytesBefore: 0, bytesAfter: 0 };
    for (const partition of topic.partitions) {
      const counts = partition.compact(topic.config, now);
      report.recordsBefore += counts.recordsBefore;
      report.recordsAfter += counts.recordsAfter;
      report.bytesBefore += counts.bytesBefore;
      report.bytesAfter += counts.bytesAfter;
    }
    return report;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new TributaryError('LOG_CLOSED');
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions) partition.releaseWaiters(error);
    }
    this.topics.clear();
  }

  private ensureOpen(): void {
    if (this.closed) throw new TributaryError('LOG_CLOSED');
  }

  private topic(name: string): MemoryTopic {
    this.ensureOpen();
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TributaryError('TOPIC_NOT_FOUND', { topic: String(name) });
    return topic;
  }

  private partition(topic: MemoryTopic, partition: number): MemoryPartition {
    checkPartitionNumber(topic.name, partition, topic.partitions.length);
    return topic.partitions[partition]!;
  }
}

export function createMemoryLog(): MemoryLog {
  return new MemoryLog();
}

function toDescription(topic: MemoryTopic): TopicDescription {
  return {
    name: topic.name,
    id: topic.id,
    config: { ...topic.config },
    partitions: topic.partitions.map((partition) => ({
      partition: partition.partition,
      ...partition.offsets,
      sizeBytes: partition.sizeBytes,
    })),
  };
}
