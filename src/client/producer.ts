/**
 * @module client/producer
 * Batching producer for one topic. `send()` places each record in a partition (explicit, else
 * Kafka's murmur2 of the key — the same partition the server and Kafka clients pick — else a
 * sticky partition that moves on with every batch), collects records per partition for up to
 * `lingerMs` or `batchRecords`, and appends each batch with one `appendBatch` request. Up to
 * `maxInFlight` batches per partition are in flight at a time (Kafka's
 * `max.in.flight.requests.per.connection`), sent in order on the one connection, which the server
 * appends in the order they arrive: records stay in `send()` order within a partition, and a
 * record does not wait for the acknowledgement of the batch before it to be sent.
 *
 * Idempotence (default): the producer gets an id from the server and numbers its records per
 * partition. A batch that fails with a retriable error, or whose connection drops, is sent again
 * with the same producer id, epoch and sequence, so the server recognises a retry and returns the
 * original offsets instead of appending twice — also after a server restart, since the log keeps
 * producer state with the data. Retries stop after `deliveryTimeoutMs`.
 *
 * Failures with several batches in flight (`#recover`): after a batch fails, the partition sends
 * nothing new until every batch in flight is answered; then, in order, answered batches are
 * settled, the failed ones are decided as a lone batch would be (retried with the same numbers
 * or failed), and everything after a retried batch is sent again behind it (the server answers a
 * batch it already stored as a duplicate, with the original offsets). A later batch refused with
 * `OUT_OF_ORDER_SEQUENCE` because an earlier one failed for good was not stored: it is numbered
 * again under a new producer id and sent. `send()` promises of a partition settle in order.
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
import type { WireRecordInput } from '../protocol/native/types.js';
import type { ClientConnection } from './connection.js';
import { type ProducerRecord, type RecordMetadata, toWireRecordInput, wireRecordBytes } from './records.js';

export interface ProducerOptions {
  readonly topic: string;
  /**
   * How long a record may wait for more to join its batch. Default 5 ms. `0` sends without a
   * timer: a batch goes out at the end of the current event-loop turn while fewer than
   * `maxInFlight` batches of its partition are in flight, else as soon as one is acknowledged
   * (Nagle-like).
   */
  readonly lingerMs?: number;
  /** A batch is sent as soon as it has this many records. Default 500. */
  readonly batchRecords?: number;
  /**
   * Batches per partition sent and not yet acknowledged, 1 to 5 (the batches the server
   * remembers per producer to recognise retries). Default 5. `1` waits for each batch's
   * acknowledgement before sending the next, which adds a round trip to records sent meanwhile.
   */
  readonly maxInFlight?: number;
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
  readonly partition: number;
  /** The batch being filled. */
  open: OpenBatch | undefined;
  /** Sealed batches waiting to be sent (batches to send again go back to its front, in order). */
  readonly queue: Batch[];
  /** Batches sent and not yet settled, oldest first (at most `maxInFlight`). */
  readonly inFlight: Batch[];
  /** A batch in flight failed: nothing new is sent until `#recover` has decided (and backed off). */
  recovering: boolean;
  /** Idempotence: the sequence number of the partition's next record. */
  sequence: number;
  /** Batches sent that wait for the producer id to be numbered (later ones wait behind them). */
  numbering: number;
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
  /** The answer to the request in flight, held until the batches before it are settled. */
  outcome: Outcome | undefined;
  /** Failed attempts so far (the retry backoff doubles with each). */
  attempts: number;
  producer?: { producerId: number; producerEpoch: number; baseSequence: number } | undefined;
}

type Outcome =
  | { readonly ok: true; readonly baseOffset: number }
  | { readonly ok: false; readonly error: unknown };

/** Frame bytes kept free for the request's own fields. */
const FRAME_OVERHEAD_BYTES = 4096;
const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const RETRY_BACKOFF_MAX_MS = 5_000;
/** The server recognises a retry among a producer's last 5 batches of a partition (log/producer-state.ts). */
const MAX_IN_FLIGHT_LIMIT = 5;
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
  readonly #maxInFlight: number;
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
  #knownIdentity: { producerId: number; producerEpoch: number } | undefined;
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
    this.#maxInFlight = positive(options.maxInFlight ?? MAX_IN_FLIGHT_LIMIT, 'maxInFlight');
    if (this.#maxInFlight > MAX_IN_FLIGHT_LIMIT) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `maxInFlight must be at most ${MAX_IN_FLIGHT_LIMIT}, got ${this.#maxInFlight}`,
      });
    }
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
      for (const batch of lane.inFlight.splice(0)) this.#fail(lane, batch, error);
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
        outcome: undefined,
        attempts: 0,
      };
      open = { batch, timer: undefined };
      if (this.#lingerMs > 0) {
        open.timer = setTimeout(() => this.#seal(partition), this.#lingerMs);
      } else if (this.#canSend(lane)) {
        // Room in flight: go at the end of this event-loop turn (records sent meanwhile join).
        // Node clamps setTimeout(0) to 1 ms, which would add a millisecond to every idle send.
        open.timer = atEndOfTurn(() => this.#seal(partition));
      }
      // Else (lingerMs 0, maxInFlight batches in flight): it fills until one is settled (#pump).
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

  #canSend(lane: Lane): boolean {
    return !lane.recovering && lane.queue.length === 0 && lane.inFlight.length < this.#maxInFlight;
  }

  /** Sends queued batches while fewer than `maxInFlight` are in flight. */
  #pump(partition: number): void {
    const lane = this.#lane(partition);
    while (!lane.recovering && lane.inFlight.length < this.#maxInFlight) {
      const batch = lane.queue.shift();
      if (batch !== undefined) {
        this.#send(lane, batch);
        continue;
      }
      // lingerMs 0: what collected while the batches in flight were unanswered goes out now.
      if (this.#lingerMs === 0 && lane.open !== undefined) this.#seal(partition);
      return;
    }
  }

  /** One attempt: the answer is held on the batch and settled in order by `#settleInOrder`. */
  #send(lane: Lane, batch: Batch): void {
    batch.outcome = undefined;
    lane.inFlight.push(batch);
    const answered = (outcome: Outcome): void => {
      if (batch.done) return; // failed meanwhile by a timed-out close()
      batch.outcome = outcome;
      if (!outcome.ok) lane.recovering = true;
      this.#settleInOrder(lane);
    };
    this.#request(lane, batch).then(
      (result) => answered({ ok: true, baseOffset: result.baseOffset }),
      (error: unknown) => answered({ ok: false, error }),
    );
  }

  /**
   * Numbers the batch if it is new and sends it. Requests leave in the order of the calls: a
   * batch numbered as soon as it is sent, or, while the producer id is unknown or a batch of the
   * lane still waits for it, in the same callback as the batches before it.
   */
  #request(lane: Lane, batch: Batch): Promise<{ baseOffset: number }> {
    const { records, partition } = batch;
    const topic = this.topic;
    const mode = this.#idempotent ? 'safe' : 'unsafe';
    if (!this.#idempotent)
      return this.#connection.request('appendBatch', { topic, partition, records }, mode);
    const send = (): Promise<{ baseOffset: number }> => {
      const { producerId, producerEpoch, baseSequence } = batch.producer!;
      return this.#connection.request(
        'appendBatch',
        { topic, partition, records, producerId, producerEpoch, baseSequence },
        mode,
      );
    };
    const known = this.#knownIdentity;
    if (batch.producer !== undefined || (known !== undefined && lane.numbering === 0)) {
      if (batch.producer === undefined) this.#number(batch, known!);
      return send();
    }
    const identity = this.#identity ?? this.#newIdentity();
    lane.numbering++;
    return identity.then(
      (id) => {
        lane.numbering--;
        if (batch.producer === undefined) this.#number(batch, id);
        return send();
      },
      (error: unknown) => {
        lane.numbering--;
        throw error;
      },
    );
  }

  /** Settles the answered batches at the head of the lane; after a failure, recovers once all are answered. */
  #settleInOrder(lane: Lane): void {
    const inFlight = lane.inFlight;
    while (inFlight.length > 0) {
      const head = inFlight[0]!;
      if (head.done) {
        inFlight.shift();
        continue;
      }
      const outcome = head.outcome;
      if (outcome === undefined || !outcome.ok) break;
      inFlight.shift();
      this.#acknowledge(lane, head, outcome.baseOffset);
    }
    if (lane.recovering) {
      for (const batch of inFlight) if (!batch.done && batch.outcome === undefined) return;
      this.#recover(lane);
    } else {
      this.#pump(lane.partition);
    }
  }

  #acknowledge(lane: Lane, batch: Batch, baseOffset: number): void {
    const { resolves, partition } = batch;
    for (let i = 0; i < resolves.length; i++) {
      resolves[i]!({ topic: this.topic, partition, offset: baseOffset + i });
    }
    batch.done = true;
    this.#settled(lane, resolves.length);
  }

  /**
   * Every batch in flight is answered and (at least) one failed. In order: acknowledged batches
   * settle while nothing before them waits for a retry; a failed one is retried (same numbers,
   * after a backoff) or failed; whatever follows a retried batch is sent again behind it.
   */
  #recover(lane: Lane): void {
    const answered = lane.inFlight.splice(0);
    const again: Batch[] = [];
    let delay = 0;
    // A refusal of a batch's sequence (OUT_OF_ORDER_SEQUENCE) is explained by an earlier batch of
    // the same producer id in this round: one to be retried (send it again behind it, same
    // numbers) or one failed for good (not stored: number it again under a new producer id).
    let retryingId: number | undefined;
    let gapId: number | undefined;
    for (const batch of answered) {
      if (batch.done) continue;
      const outcome = batch.outcome!;
      batch.outcome = undefined;
      if (outcome.ok) {
        if (again.length === 0) this.#acknowledge(lane, batch, outcome.baseOffset);
        else again.push(batch); // stored; sent again it is answered as a duplicate, in order
        continue;
      }
      const { error } = outcome;
      const producerId = batch.producer?.producerId;
      const refused =
        producerId !== undefined &&
        this.#aborted === undefined &&
        Date.now() < batch.deadlineMs &&
        isTributaryError(error, 'OUT_OF_ORDER_SEQUENCE');
      if (refused && producerId === retryingId) {
        again.push(batch);
        continue;
      }
      if (refused && producerId === gapId) {
        this.#resetIdentity(producerId);
        batch.producer = undefined;
        again.push(batch);
        continue;
      }
      if (isTributaryError(error) && FATAL_FOR_PRODUCER.has(error.code) && producerId !== undefined) {
        this.#resetIdentity(producerId);
      }
      const backoff = Math.min(RETRY_BACKOFF_MAX_MS, this.#retryBackoffMs * 2 ** batch.attempts);
      batch.attempts++;
      if (
        this.#idempotent &&
        this.#aborted === undefined &&
        isTributaryError(error) &&
        error.retriable &&
        Date.now() + backoff < batch.deadlineMs
      ) {
        delay = Math.max(delay, backoff);
        again.push(batch);
        if (producerId !== undefined) retryingId = producerId;
        continue;
      }
      this.#fail(lane, batch, error);
      if (producerId !== undefined) gapId = producerId;
    }
    lane.queue.unshift(...again);
    const resume = (): void => {
      lane.recovering = false;
      this.#pump(lane.partition);
    };
    if (delay > 0) setTimeout(resume, delay);
    else resume();
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

  #number(batch: Batch, { producerId, producerEpoch }: { producerId: number; producerEpoch: number }): void {
    const lane = this.#lane(batch.partition);
    const baseSequence = lane.sequence;
    lane.sequence = (baseSequence + batch.records.length) % 0x8000_0000;
    batch.producer = { producerId, producerEpoch, baseSequence };
  }

  #newIdentity(): Promise<{ producerId: number; producerEpoch: number }> {
    const identity = this.#connection.request('initProducer', {}, 'safe');
    this.#identity = identity;
    this.#producerId = undefined;
    this.#knownIdentity = undefined;
    identity.then(
      (id) => {
        if (this.#identity === identity) {
          this.#producerId = id.producerId;
          this.#knownIdentity = id;
        }
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
    this.#knownIdentity = undefined;
    for (const lane of this.#lanes) if (lane !== undefined) lane.sequence = 0;
  }

  #lane(partition: number): Lane {
    let lane = this.#lanes[partition];
    if (lane === undefined) {
      lane = {
        partition,
        open: undefined,
        queue: [],
        inFlight: [],
        recovering: false,
        sequence: 0,
        numbering: 0,
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
