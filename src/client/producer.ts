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
 * `flush()` and `close()` wait for every send made before them, also those made before the
 * topic's partition count was known (they wait, in `send()` order, for the one `describeTopic`
 * request and are then batched like the others). Each lane counts the records it took and the
 * records settled; since a lane settles its batches in order, "every earlier send is settled" is
 * "each lane's settled count reached what it had taken when `flush()` was called".
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

export interface ProducerCloseOptions {
  /**
   * How long `close()` waits for earlier sends to settle. When it runs out, every record not yet
   * acknowledged fails with `TIMEOUT` (a batch already sent may still have been stored) and
   * `close()` rejects with `TIMEOUT`. Default: no limit (each record is bounded by
   * `deliveryTimeoutMs` once batched, and the partition-count request by the client's
   * `requestTimeoutMs`).
   */
  readonly timeoutMs?: number;
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
  /** The batch whose request is in flight (`inFlight`), so a timed-out `close()` can fail it. */
  current: Batch | undefined;
  /** Records this lane took, and how many of them are settled (acknowledged or failed), in order. */
  added: number;
  settled: number;
  /** `flush()` calls waiting for `settled` to reach `target` (targets only grow). */
  readonly flushWaiters: { readonly target: number; readonly wake: () => void }[];
}

/** A send made while the partition count is unknown, waiting (in `send()` order) to be batched. */
interface WaitingSend {
  readonly record: ProducerRecord;
  readonly wire: WireRecordInput;
  readonly resolve: (metadata: RecordMetadata) => void;
  readonly reject: (error: unknown) => void;
}

interface OpenBatch {
  readonly batch: Batch;
  timer: unknown;
}

/** Records and the settle functions of their `send()` promises, side by side (no object per record). */
interface Batch {
  readonly partition: number;
  readonly records: WireRecordInput[];
  readonly resolves: ((metadata: RecordMetadata) => void)[];
  readonly rejects: ((error: unknown) => void)[];
  bytes: number;
  deadlineMs: number;
  /** Acknowledged or failed (a timed-out `close()` can fail a batch whose request is in flight). */
  done: boolean;
  producer?: { producerId: number; producerEpoch: number; baseSequence: number };
}

/** Frame bytes kept free for the request's own fields. */
const FRAME_OVERHEAD_BYTES = 4096;
const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const RETRY_BACKOFF_MAX_MS = 5_000;
/** Errors after which the server cannot accept this producer's sequence: get a new producer id. */
const FATAL_FOR_PRODUCER = new Set(['OUT_OF_ORDER_SEQUENCE', 'PRODUCER_FENCED']);

/**
 * Runs `fn` at the end of this event-loop turn: `setImmediate` in Node (its `setTimeout(0)` is
 * clamped to 1 ms); browsers have no `setImmediate`, and a zero-delay timeout is the nearest.
 */
const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
const cancelImmediate = (globalThis as { clearImmediate?: (handle: unknown) => void }).clearImmediate;
function atEndOfTurn(fn: () => void): unknown {
  return immediate === undefined ? setTimeout(fn, 0) : immediate(fn);
}
function cancelEndOfTurn(handle: unknown): void {
  if (cancelImmediate === undefined) clearTimeout(handle as ReturnType<typeof setTimeout> | undefined);
  else cancelImmediate(handle);
}

export class Producer {
  readonly topic: string;
  readonly #connection: ClientConnection;
  readonly #lingerMs: number;
  readonly #batchRecords: number;
  readonly #idempotent: boolean;
  readonly #deliveryTimeoutMs: number;
  readonly #retryBackoffMs: number;
  /** The `describeTopic` request in flight; it batches `#waiting` when it settles. */
  #partitionCount: Promise<void> | undefined;
  /** The partition count once known, so sends need not wait for a promise. */
  #knownPartitionCount: number | undefined;
  /** Sends made while the partition count is unknown, in `send()` order. */
  #waiting: WaitingSend[] = [];
  #identity: Promise<{ producerId: number; producerEpoch: number }> | undefined;
  /** The producer id `#identity` resolved to, once it has. */
  #producerId: number | undefined;
  readonly #lanes: (Lane | undefined)[] = [];
  #sticky = -1;
  #closed = false;
  /** Set by a timed-out `close()`: no more retries, everything unsettled has failed. */
  #aborted: TributaryError | undefined;
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
      if (partitions !== undefined && this.#waiting.length === 0) {
        const partition = this.#choosePartition(record, wire, partitions);
        const promise = new Promise<RecordMetadata>(this.#capture);
        const resolve = this.#capturedResolve!;
        const reject = this.#capturedReject!;
        this.#capturedResolve = undefined;
        this.#capturedReject = undefined;
        this.#add(partition, wire, resolve, reject);
        return promise;
      }
      return new Promise<RecordMetadata>((resolve, reject) => {
        this.#waiting.push({ record, wire, resolve, reject });
        this.#requestPartitionCount();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends everything batched now and resolves once every send made before this call is
   * acknowledged or failed (`send()` promises tell which).
   */
  async flush(): Promise<void> {
    if (this.#waiting.length > 0) await this.#partitionCount;
    const waits: Promise<void>[] = [];
    for (let partition = 0; partition < this.#lanes.length; partition++) {
      const lane = this.#lanes[partition];
      if (lane === undefined || lane.settled === lane.added) continue;
      const target = lane.added;
      waits.push(new Promise<void>((wake) => lane.flushWaiters.push({ target, wake })));
      if (lane.open !== undefined) this.#seal(partition);
    }
    await Promise.all(waits);
  }

  /**
   * Refuses further sends and flushes: resolves once every earlier send is settled. With
   * `timeoutMs`, gives up after that long: what is still unsettled fails with `TIMEOUT`, and so
   * does `close()`.
   */
  async close(options: ProducerCloseOptions = {}): Promise<void> {
    this.#closed = true;
    const { timeoutMs } = options;
    if (timeoutMs === undefined) return this.flush();
    nonNegative(timeoutMs, 'timeoutMs');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), timeoutMs);
    });
    try {
      if ((await Promise.race([this.flush(), expired])) !== 'expired') return;
    } finally {
      clearTimeout(timer);
    }
    const error = new TributaryError('TIMEOUT', {
      ms: String(timeoutMs),
      what: `closing the producer of ${this.topic} (${this.#unsettled()} records unsettled)`,
    });
    this.#abort(error);
    throw error;
  }

  /** Asks the server for the partition count once; when it answers, batches the waiting sends in order. */
  #requestPartitionCount(): void {
    if (this.#partitionCount !== undefined) return;
    const request = this.#connection.request('describeTopic', { name: this.topic }, 'safe').then(
      (r) => {
        this.#partitionCount = undefined;
        this.#knownPartitionCount = r.topic.partitions.length;
        this.#batchWaiting(r.topic.partitions.length);
      },
      (error: unknown) => {
        // These sends fail; a later send asks again (the topic may be created meanwhile).
        this.#partitionCount = undefined;
        for (const send of this.#waiting.splice(0)) send.reject(error);
      },
    );
    this.#partitionCount = request;
  }

  #batchWaiting(partitions: number): void {
    for (const { record, wire, resolve, reject } of this.#waiting.splice(0)) {
      if (this.#aborted !== undefined) {
        reject(this.#aborted);
        continue;
      }
      let partition: number;
      try {
        partition = this.#choosePartition(record, wire, partitions);
      } catch (error) {
        reject(error);
        continue;
      }
      this.#add(partition, wire, resolve, reject);
    }
  }

  #unsettled(): number {
    let count = this.#waiting.length;
    for (const lane of this.#lanes) if (lane !== undefined) count += lane.added - lane.settled;
    return count;
  }

  /** A timed-out `close()`: every send not yet settled fails with `error`, and nothing is retried. */
  #abort(error: TributaryError): void {
    this.#aborted = error;
    for (const send of this.#waiting.splice(0)) send.reject(error);
    for (let partition = 0; partition < this.#lanes.length; partition++) {
      const lane = this.#lanes[partition];
      if (lane === undefined) continue;
      if (lane.current !== undefined) this.#fail(lane, lane.current, error);
      for (const batch of lane.queue.splice(0)) this.#fail(lane, batch, error);
      const open = lane.open;
      if (open !== undefined) {
        lane.open = undefined;
        if (this.#lingerMs > 0) clearTimeout(open.timer as ReturnType<typeof setTimeout> | undefined);
        else cancelEndOfTurn(open.timer);
        this.#fail(lane, open.batch, error);
      }
    }
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
      const batch: Batch = {
        partition,
        records: [],
        resolves: [],
        rejects: [],
        bytes: 0,
        deadlineMs: 0,
        done: false,
      };
      open = { batch, timer: undefined };
      if (this.#lingerMs > 0) {
        open.timer = setTimeout(() => this.#seal(partition), this.#lingerMs);
      } else if (!lane.inFlight) {
        // Nothing in flight: go at the end of this event-loop turn (records sent meanwhile join).
        // Node clamps setTimeout(0) to 1 ms, which would add a millisecond to every idle send.
        open.timer = atEndOfTurn(() => this.#seal(partition));
      }
      // Else (lingerMs 0, a batch in flight): it fills until that batch is acknowledged (#pump).
      lane.open = open;
    }
    open.batch.records.push(record);
    open.batch.resolves.push(resolve);
    open.batch.rejects.push(reject);
    open.batch.bytes += size;
    lane.added++;
    if (open.batch.records.length >= this.#batchRecords) this.#seal(partition);
  }

  #seal(partition: number): void {
    const lane = this.#lane(partition);
    const open = lane.open;
    if (open === undefined) return;
    lane.open = undefined;
    if (this.#lingerMs > 0) clearTimeout(open.timer as ReturnType<typeof setTimeout> | undefined);
    else cancelEndOfTurn(open.timer);
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
    lane.current = batch;
    void this.#deliver(lane, batch).finally(() => {
      lane.inFlight = false;
      lane.current = undefined;
      this.#pump(partition);
    });
  }

  async #deliver(lane: Lane, batch: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (batch.done) return; // failed meanwhile by a timed-out close()
      try {
        const params = await this.#batchParams(batch);
        const result = await this.#connection.request(
          'appendBatch',
          params,
          this.#idempotent ? 'safe' : 'unsafe',
        );
        if (batch.done) return; // failed meanwhile by a timed-out close()
        const { resolves, partition } = batch;
        for (let i = 0; i < resolves.length; i++) {
          resolves[i]!({ topic: this.topic, partition, offset: result.baseOffset + i });
        }
        batch.done = true;
        this.#settled(lane, resolves.length);
        return;
      } catch (error) {
        if (batch.done) return;
        if (isTributaryError(error) && FATAL_FOR_PRODUCER.has(error.code) && batch.producer !== undefined) {
          this.#resetIdentity(batch.producer.producerId);
        }
        const delay = Math.min(RETRY_BACKOFF_MAX_MS, this.#retryBackoffMs * 2 ** attempt);
        if (
          this.#idempotent &&
          this.#aborted === undefined &&
          isTributaryError(error) &&
          error.retriable &&
          Date.now() + delay < batch.deadlineMs
        ) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        this.#fail(lane, batch, error);
        return;
      }
    }
  }

  #fail(lane: Lane, batch: Batch, error: unknown): void {
    if (batch.done) return;
    batch.done = true;
    for (const reject of batch.rejects) reject(error);
    this.#settled(lane, batch.rejects.length);
  }

  /** `count` more records of `lane` were acknowledged or failed: wake the `flush()` calls they complete. */
  #settled(lane: Lane, count: number): void {
    lane.settled += count;
    const waiters = lane.flushWaiters;
    let woken = 0;
    while (woken < waiters.length && waiters[woken]!.target <= lane.settled) waiters[woken++]!.wake();
    if (woken > 0) waiters.splice(0, woken);
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
      lane = {
        open: undefined,
        queue: [],
        inFlight: false,
        sequence: 0,
        current: undefined,
        added: 0,
        settled: 0,
        flushWaiters: [],
      };
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
