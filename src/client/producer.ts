/**
 * @module client/producer
 * Batching producer for one topic. `send()` places each record in a partition (explicit, else
 * Kafka's murmur2 of the key — the same partition the server and Kafka clients pick — else a
 * sticky partition that moves on with every batch), collects records per partition for up to
 * `lingerMs` or `batchRecords`, and appends each batch with one `appendBatch` request. One batch
 * per partition is in flight at a time, so records stay in `send()` order within a partition.
 *
 * Idempotence (default): the producer gets an id from the server and numbers its records per
 * partition. A batch that fails with a retriable error, or whose connection drops, is sent again
 * with the same producer id, epoch and sequence, so the server recognises a retry and returns the
 * original offsets instead of appending twice — also after a server restart, since the log keeps
 * producer state with the data. Retries stop after `deliveryTimeoutMs`.
 *
 * @example
 * const producer = client.producer({ topic: 'orders' });
 * const { partition, offset } = await producer.send({ key: 'order-42', value: JSON.stringify(order) });
 * await producer.close();
 */
import { isTributaryError, TributaryError } from '../errors.js';
import { kafkaPartition } from '../protocol/kafka/primitives/murmur2.js';
import type { RequestParams, WireRecordInput } from '../protocol/native/types.js';
import type { ClientConnection } from './connection.js';
import { type ProducerRecord, type RecordMetadata, toWireRecordInput, wireRecordBytes } from './records.js';

export interface ProducerOptions {
  readonly topic: string;
  /**
   * How long a record may wait for more to join its batch. Default 5 ms. `0` sends without a
   * timer: a batch goes out at the end of the current event-loop turn when nothing is in flight
   * for its partition, else as soon as the batch in flight is acknowledged (Nagle-like).
   */
  readonly lingerMs?: number;
  /** A batch is sent as soon as it has this many records. Default 500. */
  readonly batchRecords?: number;
  /** Retries never append twice (producer id + sequence numbers). Default true. */
  readonly idempotent?: boolean;
  /** A record not acknowledged this long after it was batched fails (with the last error). Default 120 000 ms. */
  readonly deliveryTimeoutMs?: number;
  /** First delay between retries of a batch; it doubles up to 5 s. Default 100 ms. */
  readonly retryBackoffMs?: number;
}

/**
 * What the producer tracks for one partition, in an array indexed by partition rather than in
 * Maps and Sets that saw an add and a delete per batch (see "Hash tables" in
 * broker/partition-feed.ts).
 */
interface Lane {
  /** The batch being filled. */
  open: OpenBatch | undefined;
  /** Sealed batches waiting to be sent. */
  readonly queue: Batch[];
  /** One batch per partition is in flight at a time (keeps `send()` order). */
  inFlight: boolean;
  /** Idempotence: the sequence number of the partition's next record. */
  sequence: number;
}

interface OpenBatch {
  readonly batch: Batch;
  timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
}

/** Records and the settle functions of their `send()` promises, side by side (no object per record). */
interface Batch {
  readonly partition: number;
  readonly records: WireRecordInput[];
  readonly resolves: ((metadata: RecordMetadata) => void)[];
  readonly rejects: ((error: unknown) => void)[];
  bytes: number;
  deadlineMs: number;
  producer?: { producerId: number; producerEpoch: number; baseSequence: number };
}

/** Frame bytes kept free for the request's own fields. */
const FRAME_OVERHEAD_BYTES = 4096;
const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const RETRY_BACKOFF_MAX_MS = 5_000;
/** Errors after which the server cannot accept this producer's sequence: get a new producer id. */
const FATAL_FOR_PRODUCER = new Set(['OUT_OF_ORDER_SEQUENCE', 'PRODUCER_FENCED']);

export class Producer {
  readonly topic: string;
  readonly #connection: ClientConnection;
  readonly #lingerMs: number;
  readonly #batchRecords: number;
  readonly #idempotent: boolean;
  readonly #deliveryTimeoutMs: number;
  readonly #retryBackoffMs: number;
  #partitionCount: Promise<number> | undefined;
  /** What `#partitionCount` resolved to, so sends need not wait for a promise once it is known. */
  #knownPartitionCount: number | undefined;
  #identity: Promise<{ producerId: number; producerEpoch: number }> | undefined;
  /** The producer id `#identity` resolved to, once it has. */
  #producerId: number | undefined;
  readonly #lanes: (Lane | undefined)[] = [];
  #sticky = -1;
  #outstanding = 0;
  #idleWaiters: (() => void)[] = [];
  #closed = false;
  /** The settle functions of the promise `#capture` last ran for (one executor for every send). */
  #capturedResolve: ((metadata: RecordMetadata) => void) | undefined;
  #capturedReject: ((error: unknown) => void) | undefined;
  readonly #capture = (
    resolve: (metadata: RecordMetadata) => void,
    reject: (error: unknown) => void,
  ): void => {
    this.#capturedResolve = resolve;
    this.#capturedReject = reject;
  };

  constructor(connection: ClientConnection, options: ProducerOptions) {
    this.topic = options.topic;
    this.#connection = connection;
    this.#lingerMs = nonNegative(options.lingerMs ?? 5, 'lingerMs');
    this.#batchRecords = positive(options.batchRecords ?? 500, 'batchRecords');
    this.#idempotent = options.idempotent ?? true;
    this.#deliveryTimeoutMs = positive(options.deliveryTimeoutMs ?? 120_000, 'deliveryTimeoutMs');
    this.#retryBackoffMs = positive(options.retryBackoffMs ?? 100, 'retryBackoffMs');
  }

  /** Sends one record; resolves once it is durable, with where it was stored. */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    // Not `async`: once the partition count is known a record is batched synchronously, without
    // an extra promise and microtask per record. Errors still arrive as a rejected promise.
    try {
      if (this.#closed) throw new TributaryError('INVALID_ARGUMENT', { reason: 'the producer is closed' });
      const wire = toWireRecordInput(record);
      const partitions = this.#knownPartitionCount;
      if (partitions !== undefined) return this.#enqueue(record, wire, partitions);
      return this.#partitions().then((count) => this.#enqueue(record, wire, count));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #enqueue(record: ProducerRecord, wire: WireRecordInput, partitions: number): Promise<RecordMetadata> {
    const partition = this.#choosePartition(record, wire, partitions);
    const promise = new Promise<RecordMetadata>(this.#capture);
    const resolve = this.#capturedResolve!;
    const reject = this.#capturedReject!;
    this.#capturedResolve = undefined;
    this.#capturedReject = undefined;
    this.#outstanding++;
    this.#add(partition, wire, resolve, reject);
    return promise;
  }

  /** Sends everything batched now and resolves once every record sent so far is acknowledged or failed. */
  async flush(): Promise<void> {
    for (let partition = 0; partition < this.#lanes.length; partition++) {
      if (this.#lanes[partition]?.open !== undefined) this.#seal(partition);
    }
    if (this.#outstanding === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #partitions(): Promise<number> {
    if (this.#partitionCount === undefined) {
      const request = this.#connection.request('describeTopic', { name: this.topic }, 'safe').then((r) => {
        const count = r.topic.partitions.length;
        if (this.#partitionCount === request) this.#knownPartitionCount = count;
        return count;
      });
      request.catch(() => {
        // A later send tries again (the topic may be created meanwhile).
        if (this.#partitionCount === request) this.#partitionCount = undefined;
      });
      this.#partitionCount = request;
    }
    return this.#partitionCount;
  }

  #choosePartition(record: ProducerRecord, wire: WireRecordInput, partitions: number): number {
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= partitions) {
        throw new TributaryError('PARTITION_NOT_FOUND', {
          topic: this.topic,
          partition: String(record.partition),
        });
      }
      return record.partition;
    }
    if (wire.key !== null) return kafkaPartition(wire.key, partitions);
    if (this.#sticky < 0) this.#sticky = Math.floor(Math.random() * partitions);
    if (this.#sticky >= partitions) this.#sticky = 0;
    return this.#sticky;
  }

  #add(
    partition: number,
    record: WireRecordInput,
    resolve: (metadata: RecordMetadata) => void,
    reject: (error: unknown) => void,
  ): void {
    const size = wireRecordBytes(record);
    const bytesMax =
      (this.#connection.session?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES) - FRAME_OVERHEAD_BYTES;
    const lane = this.#lane(partition);
    let open = lane.open;
    if (open !== undefined && open.batch.bytes + size > bytesMax) {
      this.#seal(partition);
      open = undefined;
    }
    if (open === undefined) {
      const batch: Batch = { partition, records: [], resolves: [], rejects: [], bytes: 0, deadlineMs: 0 };
      open = { batch, timer: undefined };
      if (this.#lingerMs > 0) {
        open.timer = setTimeout(() => this.#seal(partition), this.#lingerMs);
      } else if (!lane.inFlight) {
        // Nothing in flight: go at the end of this event-loop turn (records sent meanwhile join).
        // Node clamps setTimeout(0) to 1 ms, which would add a millisecond to every idle send.
        open.timer = setImmediate(() => this.#seal(partition));
      }
      // Else (lingerMs 0, a batch in flight): it fills until that batch is acknowledged (#pump).
      lane.open = open;
    }
    open.batch.records.push(record);
    open.batch.resolves.push(resolve);
    open.batch.rejects.push(reject);
    open.batch.bytes += size;
    if (open.batch.records.length >= this.#batchRecords) this.#seal(partition);
  }

  #seal(partition: number): void {
    const lane = this.#lane(partition);
    const open = lane.open;
    if (open === undefined) return;
    lane.open = undefined;
    if (this.#lingerMs > 0) clearTimeout(open.timer as ReturnType<typeof setTimeout> | undefined);
    else clearImmediate(open.timer as ReturnType<typeof setImmediate> | undefined);
    open.batch.deadlineMs = Date.now() + this.#deliveryTimeoutMs;
    if (partition === this.#sticky) this.#sticky++; // keyless records move on to the next partition
    lane.queue.push(open.batch);
    this.#pump(partition);
  }

  #pump(partition: number): void {
    const lane = this.#lane(partition);
    if (lane.inFlight) return;
    const batch = lane.queue.shift();
    if (batch === undefined && this.#lingerMs === 0 && lane.open !== undefined) {
      // lingerMs 0: what collected while the previous batch was in flight goes out now.
      this.#seal(partition);
      return;
    }
    if (batch === undefined) return;
    lane.inFlight = true;
    void this.#deliver(batch).finally(() => {
      lane.inFlight = false;
      this.#pump(partition);
    });
  }

  async #deliver(batch: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const params = await this.#batchParams(batch);
        const result = await this.#connection.request(
          'appendBatch',
          params,
          this.#idempotent ? 'safe' : 'unsafe',
        );
        const { resolves, partition } = batch;
        for (let i = 0; i < resolves.length; i++) {
          resolves[i]!({ topic: this.topic, partition, offset: result.baseOffset + i });
        }
        this.#settled(resolves.length);
        return;
      } catch (error) {
        if (isTributaryError(error) && FATAL_FOR_PRODUCER.has(error.code) && batch.producer !== undefined) {
          this.#resetIdentity(batch.producer.producerId);
        }
        const delay = Math.min(RETRY_BACKOFF_MAX_MS, this.#retryBackoffMs * 2 ** attempt);
        if (
          this.#idempotent &&
          isTributaryError(error) &&
          error.retriable &&
          Date.now() + delay < batch.deadlineMs
        ) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        for (const reject of batch.rejects) reject(error);
        this.#settled(batch.rejects.length);
        return;
      }
    }
  }

  /** `count` records were acknowledged or failed: wake `flush()` once none is left. */
  #settled(count: number): void {
    this.#outstanding -= count;
    if (this.#outstanding === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  async #batchParams(batch: Batch): Promise<RequestParams<'appendBatch'>> {
    const { records, partition } = batch;
    const topic = this.topic;
    if (!this.#idempotent) return { topic, partition, records };
    if (batch.producer === undefined) {
      const identity = this.#identity ?? this.#newIdentity();
      const { producerId, producerEpoch } = await identity;
      // Numbered when first sent (one batch per partition in flight keeps the numbers in order);
      // a retry keeps its numbers.
      const lane = this.#lane(batch.partition);
      const baseSequence = lane.sequence;
      lane.sequence = (baseSequence + records.length) % 0x8000_0000;
      batch.producer = { producerId, producerEpoch, baseSequence };
    }
    const { producerId, producerEpoch, baseSequence } = batch.producer;
    return { topic, partition, records, producerId, producerEpoch, baseSequence };
  }

  #newIdentity(): Promise<{ producerId: number; producerEpoch: number }> {
    const identity = this.#connection.request('initProducer', {}, 'safe');
    this.#identity = identity;
    this.#producerId = undefined;
    identity.then(
      ({ producerId }) => {
        if (this.#identity === identity) this.#producerId = producerId;
      },
      () => {
        if (this.#identity === identity) this.#identity = undefined;
      },
    );
    return identity;
  }

  /** The server refused this producer's numbering: later batches start over with a new producer id. */
  #resetIdentity(failedProducerId: number): void {
    if (this.#producerId !== failedProducerId) return;
    this.#identity = undefined;
    this.#producerId = undefined;
    for (const lane of this.#lanes) if (lane !== undefined) lane.sequence = 0;
  }

  #lane(partition: number): Lane {
    let lane = this.#lanes[partition];
    if (lane === undefined) {
      lane = { open: undefined, queue: [], inFlight: false, sequence: 0 };
      this.#lanes[partition] = lane;
    }
    return lane;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `${name} must be a positive integer, got ${value}`,
    });
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `${name} must be a non-negative integer, got ${value}`,
    });
  }
  return value;
}
