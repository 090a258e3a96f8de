/**
 * @module log/jetstream/jetstream-log
 * The NATS JetStream Log engine: the log of scale-out deployments, where any number of
 * stateless `tributary serve` gateways share one JetStream cluster.
 *
 * - Catalog: one KV bucket (`<namespace>_catalog`) holds every topic's name, id and config, so
 *   every gateway sees the same topics; creates and partition growth are compare-and-set on it.
 *   A watch keeps each gateway's cache current (deletes and new partitions made elsewhere).
 * - Partitions: one stream per topic-partition (`<namespace>_<topic id>_<partition>`), holding
 *   the partition's command log (`command.ts`), applied in order by every gateway
 *   (`partition-replica.ts`). Offsets are dense per partition and the same on every gateway.
 * - Replicas: streams and the bucket are created with `replicas` (1 or 3) copies.
 *
 * Each gateway keeps every partition it serves applied in memory (records included): memory
 * grows with the data, and a gateway that opens a partition replays its whole stream. See
 * docs/scale-out.md for what holds and what is still to come.
 *
 * @example
 * const log = await openJetStreamLog({ servers: ['nats://127.0.0.1:4222'], replicas: 1 });
 * await log.createTopic('orders', { partitions: 3 });
 */
import {
  type ConnectionOptions,
  connect,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type KvEntry,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
} from 'nats';
import { TributaryError } from '../../errors.js';
import { validateBatchId } from '../producer-state.js';
import { checkEncodedBatch } from '../stored-batch.js';
import { checkTransactionalOption, checkTransactionMarker } from '../transactions.js';
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
  resolveReadBatchesOptions,
  resolveReadOptions,
  resolveTopicConfig,
  validateRecords,
  validateTopicName,
} from '../validation.js';
import { retryWhileElecting } from './api-retry.js';
import { JetStreamGateways, type JetStreamGatewaysOptions } from './gateways.js';
import { type Outcome, PartitionReplica } from './partition-replica.js';

export interface JetStreamLogOptions {
  /** NATS server URLs (`nats://host:port`); several for a cluster. */
  readonly servers: readonly string[];
  /**
   * Prefix of every stream and bucket name this log creates, so several logs can share a
   * cluster. Letters, digits, `_` and `-`. Default `tributary`.
   */
  readonly namespace?: string;
  /** Copies of every stream and of the catalog bucket: 1 or 3 (needs a 3-node cluster). Default 1. */
  readonly replicas?: 1 | 3;
  /** Credentials, TLS and other NATS connection settings (`servers` is taken from above). */
  readonly connection?: Partial<ConnectionOptions>;
}

interface CatalogEntry {
  readonly name: string;
  readonly id: string;
  readonly config: TopicConfig;
}

interface TopicState {
  readonly entry: CatalogEntry;
  /** Catalog revision of `entry` (for compare-and-set updates). */
  readonly revision: number;
  readonly replicas: Map<number, Promise<PartitionReplica>>;
}

const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export class JetStreamLog implements Log {
  private readonly topics = new Map<string, TopicState>();
  private closed = false;
  private watchStop: (() => void) | undefined;
  private gatewaysOpened: Promise<JetStreamGateways> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly catalog: KV,
    private readonly namespace: string,
    private readonly replicas: number,
  ) {}

  /**
   * The registry of the gateways sharing this log, their group coordinator leases and requests
   * between them (`gateways.ts`), on this log's connection: opened on the first call, closed with
   * the log.
   */
  gateways(
    options: Omit<JetStreamGatewaysOptions, 'connection' | 'namespace' | 'replicas'> = {},
  ): Promise<JetStreamGateways> {
    this.ensureOpen();
    this.gatewaysOpened ??= JetStreamGateways.open({
      ...options,
      connection: this.nc,
      namespace: this.namespace,
      replicas: this.replicas,
    });
    return this.gatewaysOpened;
  }

  /** Connects, creates the catalog bucket if needed and starts watching it. */
  static async open(options: JetStreamLogOptions): Promise<JetStreamLog> {
    const namespace = options.namespace ?? 'tributary';
    if (!NAMESPACE_PATTERN.test(namespace)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `JetStream namespace "${namespace}" must be 1-32 letters, digits, "_" or "-"`,
      });
    }
    const replicas = options.replicas ?? 1;
    if (replicas !== 1 && replicas !== 3) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'JetStream replicas must be 1 or 3' });
    }
    const nc = await connect({ ...options.connection, servers: [...options.servers] });
    try {
      const js = nc.jetstream();
      // A gateway started while the cluster elects a leader waits for it rather than failing.
      const jsm = await retryWhileElecting(() => nc.jetstreamManager());
      const catalog = await retryWhileElecting(() =>
        js.views.kv(`${namespace}_catalog`, { history: 1, replicas, storage: StorageType.File }),
      );
      const log = new JetStreamLog(nc, js, jsm, catalog, namespace, replicas);
      await retryWhileElecting(() => log.watchCatalog());
      return log;
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw storageError(error);
    }
  }

  async createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription> {
    this.ensureOpen();
    validateTopicName(name, { allowInternal: true });
    const resolved = Object.freeze(resolveTopicConfig(config));
    const key = catalogKey(name);
    const current = await this.catalog.get(key);
    if (current !== null && current.operation === 'PUT')
      throw new TributaryError('TOPIC_EXISTS', { topic: name });
    const entry: CatalogEntry = { name, id: globalThis.crypto.randomUUID(), config: resolved };
    // Streams first: a catalog entry never names a stream that does not exist.
    await Promise.all(Array.from({ length: resolved.partitions }, (_, p) => this.createStream(entry.id, p)));
    let revision: number;
    try {
      revision = await this.catalog.create(key, encodeEntry(entry));
    } catch (error) {
      await this.deleteStreams(entry.id, 0, resolved.partitions);
      if (isWrongLastSequence(error)) throw new TributaryError('TOPIC_EXISTS', { topic: name });
      throw storageError(error);
    }
    this.remember(entry, revision);
    return this.describeTopic(name);
  }

  async deleteTopic(name: string): Promise<void> {
    const topic = await this.topic(name);
    await this.catalog.delete(catalogKey(name), { previousSeq: topic.revision }).catch((error: unknown) => {
      if (isWrongLastSequence(error)) throw new TributaryError('TOPIC_NOT_FOUND', { topic: name });
      throw storageError(error);
    });
    this.forget(name, new TributaryError('TOPIC_NOT_FOUND', { topic: name }));
    await this.deleteStreams(topic.entry.id, 0, topic.entry.config.partitions);
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.ensureOpen();
    const names: string[] = [];
    for await (const key of await this.catalog.keys()) {
      const name = topicNameOf(key);
      if (name !== undefined) names.push(name);
    }
    const described: TopicDescription[] = [];
    for (const name of names.sort()) {
      try {
        described.push(await this.describeTopic(name));
      } catch (error) {
        // Deleted between the listing and the description.
        if (!(error instanceof TributaryError && error.code === 'TOPIC_NOT_FOUND')) throw error;
      }
    }
    return described;
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    const topic = await this.topic(name);
    const { config } = topic.entry;
    const replicas = await Promise.all(
      Array.from({ length: config.partitions }, (_, p) => this.replicaOf(topic, p)),
    );
    return {
      name,
      id: topic.entry.id,
      config: { ...config },
      partitions: replicas.map((replica) => ({
        partition: replica.partition,
        ...replica.state.offsets,
        sizeBytes: replica.state.sizeBytes,
      })),
    };
  }

  async append(
    topic: string,
    partition: number,
    records: readonly RecordInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.ensureOpen();
    // Check and copy before the first await: the caller may reuse its bytes once this returns.
    validateRecords(records, { compact: false });
    checkExpectedLastOffset(options.expectedLastOffset);
    const now = Date.now();
    const copies = records.map((record) => copyRecord(record, now));
    const replica = await this.replica(topic, partition);
    const config = await this.configOf(topic);
    validateRecords(copies, { compact: config.compact });
    const { producer, expectedLastOffset } = options;
    // Checked here because they are encoded into the command; the rest is checked where it lands.
    if (producer !== undefined) validateBatchId(producer, copies.length);
    const transactional = checkTransactionalOption(options.transactional);
    const outcome = await replica.write({
      op: 'append',
      now,
      records: copies,
      ...(producer === undefined ? {} : { producer: { ...producer } }),
      transactional,
      ...(expectedLastOffset === undefined ? {} : { expectedLastOffset }),
    });
    return outcomeOf(outcome, 'append').result;
  }

  async appendEncoded(
    topic: string,
    partition: number,
    batch: Uint8Array,
    options: AppendEncodedOptions = {},
  ): Promise<AppendResult> {
    this.ensureOpen();
    const { expectedLastOffset, decompressedBytesMax } = options;
    checkExpectedLastOffset(expectedLastOffset);
    const copy = batch instanceof Uint8Array ? batch.slice() : batch;
    const replica = await this.replica(topic, partition);
    const config = await this.configOf(topic);
    const checked = checkEncodedBatch(copy, {
      compact: config.compact,
      ...(decompressedBytesMax === undefined ? {} : { decompressedBytesMax }),
    });
    const outcome = await replica.write({
      op: 'batch',
      now: Date.now(),
      batch: checked.bytes,
      ...(expectedLastOffset === undefined ? {} : { expectedLastOffset }),
    });
    return outcomeOf(outcome, 'append').result;
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    const replica = await this.replica(topic, partition);
    checkOffsetArgument(offset);
    const { maxRecords, maxBytes, isolation } = resolveReadOptions(options);
    return replica.state.read(offset, maxRecords, maxBytes, isolation);
  }

  async readBatches(
    topic: string,
    partition: number,
    offset: number,
    options: ReadBatchesOptions,
  ): Promise<StoredBatches> {
    const replica = await this.replica(topic, partition);
    checkOffsetArgument(offset);
    const { maxBytes, isolation } = resolveReadBatchesOptions(options);
    const { earliest, next, lastStable } = replica.state.offsets;
    return { batches: replica.state.readBatches(offset, maxBytes, isolation), next, lastStable, earliest };
  }

  async catchUp(topic: string, partition: number): Promise<void> {
    await (await this.replica(topic, partition)).catchUp();
  }

  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    return (await this.replica(topic, partition)).state.offsets;
  }

  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null> {
    const replica = await this.replica(topic, partition);
    checkTimestampArgument(timestampMs);
    return replica.state.offsetForTimestamp(timestampMs);
  }

  async waitForAppend(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    const replica = await this.replica(topic, partition);
    checkOffsetArgument(offset);
    return replica.state.waitFor(offset, signal);
  }

  async writeMarker(
    topic: string,
    partition: number,
    marker: TransactionMarker,
  ): Promise<{ readonly offset: number | null }> {
    const replica = await this.replica(topic, partition);
    checkTransactionMarker(marker);
    const now = Date.now();
    // The epoch fence and whether a transaction is open are checked where the marker lands.
    const outcome = await replica.write({ op: 'marker', now, marker: { ...marker } });
    return { offset: outcomeOf(outcome, 'marker').offset };
  }

  async abortedTransactions(
    topic: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
  ): Promise<AbortedTransaction[]> {
    const replica = await this.replica(topic, partition);
    checkOffsetArgument(fromOffset);
    checkOffsetArgument(toOffset);
    return replica.state.transactions.abortedIn(fromOffset, toOffset);
  }

  async waitForStable(topic: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    const replica = await this.replica(topic, partition);
    checkOffsetArgument(offset);
    return replica.state.waitFor(offset, signal, true);
  }

  async addPartitions(name: string, partitions: number): Promise<TopicDescription> {
    for (;;) {
      const topic = await this.topic(name, true);
      const { entry } = topic;
      const count = checkPartitionCountIncrease(name, entry.config.partitions, partitions);
      const grown: CatalogEntry = { ...entry, config: Object.freeze({ ...entry.config, partitions: count }) };
      await Promise.all(
        Array.from({ length: count - entry.config.partitions }, (_, i) =>
          this.createStream(entry.id, entry.config.partitions + i),
        ),
      );
      try {
        const revision = await this.catalog.update(catalogKey(name), encodeEntry(grown), topic.revision);
        this.remember(grown, revision);
        return this.describeTopic(name);
      } catch (error) {
        // Another gateway changed the entry first: read it again and decide again.
        if (!isWrongLastSequence(error)) throw storageError(error);
      }
    }
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<DeleteRecordsResult> {
    const replica = await this.replica(topic, partition);
    checkOffsetArgument(beforeOffset);
    const now = Date.now();
    // `earliest` only grows, so a request below it is answered here; the rest where it lands.
    const { earliest } = replica.state.offsets;
    if (beforeOffset <= earliest) return { earliest };
    const outcome = await replica.write({ op: 'delete-records', now, beforeOffset });
    return { earliest: outcomeOf(outcome, 'delete-records').earliest };
  }

  async enforceRetention(name?: string): Promise<RetentionReport> {
    this.ensureOpen();
    const names = name === undefined ? (await this.listTopics()).map((t) => t.name) : [name];
    const total = { segmentsDeleted: 0, bytesDeleted: 0 };
    for (const topicName of names) {
      const topic = await this.topic(topicName);
      const { retentionMs, retentionBytes, partitions } = topic.entry.config;
      if (retentionMs === null && retentionBytes === null) continue;
      for (let p = 0; p < partitions; p++) {
        const replica = await this.replicaOf(topic, p);
        const now = Date.now();
        const report = outcomeOf(await replica.write({ op: 'retention', now }), 'retention').report;
        total.segmentsDeleted += report.segmentsDeleted;
        total.bytesDeleted += report.bytesDeleted;
      }
    }
    return total;
  }

  async compact(name: string): Promise<CompactionReport> {
    const topic = await this.topic(name);
    if (!topic.entry.config.compact) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `Topic "${name}" is not compacted` });
    }
    const report = { recordsBefore: 0, recordsAfter: 0, bytesBefore: 0, bytesAfter: 0 };
    for (let p = 0; p < topic.entry.config.partitions; p++) {
      const replica = await this.replicaOf(topic, p);
      const now = Date.now();
      const counts = outcomeOf(await replica.write({ op: 'compact', now }), 'compact').counts;
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
    this.watchStop?.();
    const error = new TributaryError('LOG_CLOSED');
    for (const name of [...this.topics.keys()]) this.forget(name, error);
    const gateways = await this.gatewaysOpened?.catch(() => undefined);
    await gateways?.close().catch(() => undefined);
    await this.nc.close().catch(() => undefined);
  }

  private ensureOpen(): void {
    if (this.closed) throw new TributaryError('LOG_CLOSED');
  }

  /** The topic as the catalog has it: from the cache, or read from the bucket (`fresh` always). */
  private async topic(name: string, fresh = false): Promise<TopicState> {
    this.ensureOpen();
    const cached = this.topics.get(name);
    if (cached !== undefined && !fresh) return cached;
    if (typeof name !== 'string' || name === '')
      throw new TributaryError('TOPIC_NOT_FOUND', { topic: String(name) });
    let stored: KvEntry | null;
    try {
      stored = await retryWhileElecting(() => this.catalog.get(catalogKey(name)));
    } catch (error) {
      throw storageError(error);
    }
    this.ensureOpen();
    if (stored === null || stored.operation !== 'PUT') {
      this.forget(name, new TributaryError('TOPIC_NOT_FOUND', { topic: name }));
      throw new TributaryError('TOPIC_NOT_FOUND', { topic: name });
    }
    return this.remember(decodeEntry(stored.value), stored.revision);
  }

  private async configOf(name: string): Promise<TopicConfig> {
    return (await this.topic(name)).entry.config;
  }

  private async replica(name: string, partition: number): Promise<PartitionReplica> {
    let topic = await this.topic(name);
    // A partition past the cached count may have been added by another gateway.
    if (Number.isInteger(partition) && partition >= topic.entry.config.partitions)
      topic = await this.topic(name, true);
    checkPartitionNumber(name, partition, topic.entry.config.partitions);
    return this.replicaOf(topic, partition);
  }

  private replicaOf(topic: TopicState, partition: number): Promise<PartitionReplica> {
    const existing = topic.replicas.get(partition);
    if (existing !== undefined) return existing;
    const { name, id } = topic.entry;
    const replica = new PartitionReplica(name, partition, {
      js: this.js,
      stream: this.streamName(id, partition),
      subject: this.subjectOf(id, partition),
      config: () => this.topics.get(name)?.entry.config ?? topic.entry.config,
      maxPayload: this.nc.info?.max_payload ?? 1024 * 1024,
      onStreamLost: () => {
        if (this.topics.get(name)?.entry.id === id)
          this.forget(name, new TributaryError('TOPIC_NOT_FOUND', { topic: name }));
      },
    });
    const opened = replica.open().then(
      () => replica,
      (error: unknown) => {
        topic.replicas.delete(partition);
        replica.close(error);
        throw isStreamNotFound(error)
          ? new TributaryError('TOPIC_NOT_FOUND', { topic: name })
          : storageError(error);
      },
    );
    topic.replicas.set(partition, opened);
    return opened;
  }

  /** Caches a catalog entry; a different id (deleted and created again elsewhere) drops the old partitions. */
  private remember(entry: CatalogEntry, revision: number): TopicState {
    const cached = this.topics.get(entry.name);
    if (cached !== undefined && cached.revision >= revision) return cached;
    if (cached !== undefined && cached.entry.id !== entry.id) {
      this.forget(entry.name, new TributaryError('TOPIC_NOT_FOUND', { topic: entry.name }));
    }
    const replicas =
      cached?.entry.id === entry.id ? cached.replicas : new Map<number, Promise<PartitionReplica>>();
    const state: TopicState = { entry, revision, replicas };
    this.topics.set(entry.name, state);
    return state;
  }

  private forget(name: string, error: unknown): void {
    const cached = this.topics.get(name);
    if (cached === undefined) return;
    this.topics.delete(name);
    for (const opened of cached.replicas.values()) {
      opened.then(
        (replica) => replica.close(error),
        () => undefined,
      );
    }
  }

  /** Follows the catalog so deletes and partition growth made by other gateways reach this one. */
  private async watchCatalog(): Promise<void> {
    const watcher = await this.catalog.watch({ include: 'updates' as never });
    this.watchStop = () => watcher.stop();
    void (async () => {
      for await (const change of watcher) {
        if (this.closed) return;
        const name = topicNameOf(change.key);
        if (name === undefined) continue;
        if (change.operation !== 'PUT') {
          this.forget(name, new TributaryError('TOPIC_NOT_FOUND', { topic: name }));
        } else if (this.topics.has(name)) {
          this.remember(decodeEntry(change.value), change.revision);
        }
      }
    })().catch(() => undefined);
  }

  private async createStream(id: string, partition: number): Promise<void> {
    try {
      await this.jsm.streams.add({
        name: this.streamName(id, partition),
        subjects: [this.subjectOf(id, partition)],
        storage: StorageType.File,
        num_replicas: this.replicas,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
      });
    } catch (error) {
      throw storageError(error);
    }
  }

  private async deleteStreams(id: string, from: number, to: number): Promise<void> {
    await Promise.all(
      Array.from({ length: to - from }, (_, i) =>
        this.jsm.streams.delete(this.streamName(id, from + i)).catch(() => false),
      ),
    );
  }

  private streamName(id: string, partition: number): string {
    return `${this.namespace}_${id}_${partition}`;
  }

  private subjectOf(id: string, partition: number): string {
    return `${this.namespace}.${id}.${partition}`;
  }
}

/** Connects to JetStream and opens the log (see `JetStreamLogOptions`). */
export function openJetStreamLog(options: JetStreamLogOptions): Promise<JetStreamLog> {
  return JetStreamLog.open(options);
}

function outcomeOf<K extends Outcome['op']>(outcome: Outcome, op: K): Extract<Outcome, { op: K }> {
  if (outcome.op !== op)
    throw new TributaryError('INTERNAL', { reason: `expected a ${op} outcome, got ${outcome.op}` });
  return outcome as Extract<Outcome, { op: K }>;
}

function copyRecord(record: RecordInput, now: number): RecordInput {
  return {
    key: record.key === null ? null : record.key.slice(),
    value: record.value === null ? null : record.value.slice(),
    headers: (record.headers ?? []).map((header) => ({ key: header.key, value: header.value.slice() })),
    timestamp: record.timestamp ?? now,
  };
}

const KEY_PREFIX = 't_';

/** Catalog keys are `t_` + the topic name in base64url: KV keys allow fewer characters than topic names. */
function catalogKey(name: string): string {
  return KEY_PREFIX + Buffer.from(name, 'utf8').toString('base64url');
}

function topicNameOf(key: string): string | undefined {
  return key.startsWith(KEY_PREFIX)
    ? Buffer.from(key.slice(KEY_PREFIX.length), 'base64url').toString('utf8')
    : undefined;
}

function encodeEntry(entry: CatalogEntry): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(entry));
}

function decodeEntry(bytes: Uint8Array): CatalogEntry {
  const entry = JSON.parse(new TextDecoder().decode(bytes)) as CatalogEntry;
  return { name: entry.name, id: entry.id, config: Object.freeze(resolveTopicConfig(entry.config)) };
}

/** A JetStream write refused because the subject moved past the revision it named. */
export function isWrongLastSequence(error: unknown): boolean {
  const e = error as { api_error?: { err_code?: number }; message?: string } | undefined;
  return e?.api_error?.err_code === 10071 || /wrong last sequence/i.test(e?.message ?? '');
}

function isStreamNotFound(error: unknown): boolean {
  const e = error as { api_error?: { err_code?: number }; message?: string } | undefined;
  return e?.api_error?.err_code === 10059 || /stream not found/i.test(e?.message ?? '');
}

function storageError(error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new TributaryError('STORAGE_ERROR', { reason: `JetStream: ${reason}` });
}
