/**
 * @module server/front/kafka/handlers/fetch
 * Fetch (1) v4–v11, a long poll:
 *
 * 1. Every requested partition is read from its fetch offset as the log stores it: whole
 *    RecordBatch v2 bytes (`broker.readBatches`), served as they are: a Kafka producer's batch
 *    exactly as it was sent (compressed stays compressed, its producer id, epoch and sequence
 *    kept), others as the log encoded them; only the base offset is the log's. The first batch
 *    starts at or before the fetch offset (clients skip the records before it). Limits follow
 *    Kafka (KIP-74): the first partition with data gets its first batch whole whatever its size;
 *    after that batches are added while they fit in `partition_max_bytes` and under `max_bytes`,
 *    and at most `kafkaFetchRecordsMax` records per partition (the first batch always whole).
 * 2. If that is at least `min_bytes`, or a partition has an error, or `max_wait_ms` has passed,
 *    the response goes out. Otherwise the handler waits, without polling, on a broker
 *    subscription per partition (positioned at the fetch offset, credit 1) until one of them has
 *    a record, the wait is over or the connection closes; then it reads again.
 *
 * Per partition: high watermark = the partition's next offset; `isolation_level` 1
 * (read_committed) reads only below the last stable offset and answers the list of aborted
 * transactions (empty: null for read_uncommitted, as Kafka); log start offset = the earliest
 * offset; a fetch offset below the earliest or above the high watermark is OFFSET_OUT_OF_RANGE;
 * no records is an empty (length 0) records field; `preferred_read_replica` is -1.
 *
 * Fetch sessions (KIP-227) are not kept: a full fetch (session id 0) is answered with session
 * id 0 (no session was created), and an incremental one gets FETCH_SESSION_ID_NOT_FOUND.
 *
 * Quotas (as Kafka's broker): a principal still over its fetch rate gets an empty response at
 * once with the `throttle_time_ms` until it is back under (its fetch offsets do not move, so
 * nothing is skipped); otherwise a fetch reads at most one burst of the rate (a first batch
 * larger than that is still served whole), counts what it returns, and answers with the
 * resulting throttle time. Either way the connection is muted for
 * that long.
 */
import type {
  AbortedTransaction,
  IsolationLevel,
  PartitionOffsets,
  StoredBatches,
  Subscription,
} from '../../../../broker/types.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type {
  FetchRequest,
  FetchResponsePartition,
  FetchResponseTopic,
} from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import type { Handler } from './types.js';

const EMPTY = new Uint8Array(0);
/** Fetch's isolation_level for read_committed. */
const READ_COMMITTED = 1;
/** Most bytes read from one partition for one Fetch, whatever its limits ask. */
const READ_BYTES_MAX = 256 * 1024 * 1024;
/** Offsets of a partition that could not be read (Kafka answers -1). */
const NO_OFFSETS = { next: -1, lastStable: -1, earliest: -1 } as const;

interface ReadOutcome {
  readonly responses: FetchResponseTopic[];
  readonly bytes: number;
  readonly records: number;
  readonly payload: number;
  readonly anyError: boolean;
  /** Partitions to wait on: (topic, partition, offset) with nothing to read yet. */
  readonly waitOn: { topic: string; partition: number; offset: number }[];
  /** What the reads saw, and what the wait watches: read_committed waits for the last stable offset. */
  readonly isolation: IsolationLevel;
}

export const handleFetch: Handler<'Fetch'> = async (ctx, request, scope) => {
  let body = request.body;
  if (body.sessionId !== 0) {
    countError(ctx, KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND,
      sessionId: 0,
      responses: [],
    };
  }
  const quota = scope.quota;
  if (quota !== undefined) {
    const waitMs = quota.fetchThrottleMs();
    if (waitMs > 0) {
      scope.throttle(waitMs);
      return { throttleTimeMs: waitMs, errorCode: KafkaErrorCode.NONE, sessionId: 0, responses: [] };
    }
    body = capFetchBytes(body, quota.fetchBytesMax());
  }
  const deadline = Date.now() + Math.max(0, Math.min(body.maxWaitMs, ctx.limits.kafkaFetchWaitMsMax));
  let outcome = await readAll(ctx, body);
  while (
    outcome.bytes < body.minBytes &&
    !outcome.anyError &&
    outcome.waitOn.length > 0 &&
    !scope.signal.aborted &&
    Date.now() < deadline
  ) {
    const woke = await waitForRecords(ctx, outcome, deadline - Date.now(), scope.signal);
    if (woke === 'timeout') break;
    outcome = await readAll(ctx, body);
    // A subscription that ended (topic deleted, broker closing): answer with what the read says.
    if (woke === 'ended') break;
  }
  if (outcome.records > 0) {
    ctx.metrics.recordsOut.inc({ frontend: 'kafka' }, outcome.records);
    ctx.metrics.bytesOut.inc({ frontend: 'kafka' }, outcome.payload);
  }
  let throttleTimeMs = 0;
  if (quota !== undefined) {
    throttleTimeMs = quota.recordFetch(outcome.bytes);
    scope.throttle(throttleTimeMs);
  }
  return { throttleTimeMs, errorCode: KafkaErrorCode.NONE, sessionId: 0, responses: outcome.responses };
};

/** A fetch whose `max_bytes` and every `partition_max_bytes` are at most `bytesMax`. */
function capFetchBytes(body: FetchRequest, bytesMax: number): FetchRequest {
  if (
    body.maxBytes <= bytesMax &&
    body.topics.every((t) => t.partitions.every((p) => p.partitionMaxBytes <= bytesMax))
  )
    return body;
  return {
    ...body,
    maxBytes: Math.min(body.maxBytes, bytesMax),
    topics: body.topics.map((topic) => ({
      ...topic,
      partitions: topic.partitions.map((p) => ({
        ...p,
        partitionMaxBytes: Math.min(p.partitionMaxBytes, bytesMax),
      })),
    })),
  };
}

async function readAll(ctx: KafkaContext, body: FetchRequest): Promise<ReadOutcome> {
  let bytes = 0;
  let records = 0;
  let payload = 0;
  let anyError = false;
  const isolation = body.isolationLevel === READ_COMMITTED ? 'committed' : 'uncommitted';
  const waitOn: ReadOutcome['waitOn'] = [];
  const responses: FetchResponseTopic[] = [];
  for (const topic of body.topics) {
    const partitions: FetchResponsePartition[] = [];
    for (const request of topic.partitions) {
      // KIP-74: the first partition with data gets its first batch whole, whatever the limits;
      // the others get only batches that fit.
      const first = bytes === 0;
      const budget = first
        ? request.partitionMaxBytes
        : Math.min(request.partitionMaxBytes, body.maxBytes - bytes);
      const read = await readPartition(ctx, topic.topic, request.partition, request.fetchOffset, {
        budget,
        wholeFirstBatch: first,
        isolation,
      });
      partitions.push(read.response);
      bytes += read.response.records.length;
      records += read.records;
      payload += read.response.records.length;
      if (read.response.errorCode !== KafkaErrorCode.NONE) anyError = true;
      else if (read.records === 0)
        waitOn.push({ topic: topic.topic, partition: request.partition, offset: request.fetchOffset });
    }
    responses.push({ topic: topic.topic, partitions });
  }
  return { responses, bytes, records, payload, anyError, waitOn, isolation };
}

interface PartitionRead {
  /** Bytes this partition may add to the response. */
  readonly budget: number;
  /** Serve the first batch even if it is larger than `budget`. */
  readonly wholeFirstBatch: boolean;
  readonly isolation: IsolationLevel;
}

async function readPartition(
  ctx: KafkaContext,
  topic: string,
  partition: number,
  fetchOffset: number,
  { budget, wholeFirstBatch, isolation }: PartitionRead,
): Promise<{ response: FetchResponsePartition; records: number }> {
  const answer = (
    errorCode: number,
    offsets: PartitionOffsets = NO_OFFSETS,
    records: Uint8Array = EMPTY,
    aborted: readonly AbortedTransaction[] = [],
  ): FetchResponsePartition => {
    countError(ctx, errorCode);
    return {
      partitionIndex: partition,
      errorCode,
      highWatermark: offsets.next,
      lastStableOffset: offsets.lastStable,
      logStartOffset: offsets.earliest,
      // Kafka's form: a list (empty when nothing was aborted) for read_committed, else null.
      abortedTransactions:
        isolation === 'committed'
          ? aborted.map(({ producerId, firstOffset }) => ({ producerId, firstOffset }))
          : null,
      preferredReadReplica: -1,
      records,
    };
  };
  if (budget <= 0) {
    // The response is full: offsets only.
    try {
      const offsets = await ctx.broker.offsets(topic, partition);
      return { response: answer(KafkaErrorCode.NONE, offsets), records: 0 };
    } catch (error) {
      return { response: answer(errorCodeOf(ctx, error, 'Fetch')), records: 0 };
    }
  }
  let read: StoredBatches;
  try {
    read = await ctx.broker.readBatches(topic, partition, fetchOffset, {
      maxBytes: Math.min(budget, READ_BYTES_MAX),
      isolation,
    });
  } catch (error) {
    const errorCode = errorCodeOf(ctx, error, 'Fetch');
    if (errorCode !== KafkaErrorCode.OFFSET_OUT_OF_RANGE) return { response: answer(errorCode), records: 0 };
    // Kafka answers an offset out of range with the partition's offsets, so the client can reset.
    try {
      const offsets = await ctx.broker.offsets(topic, partition);
      return { response: answer(errorCode, offsets), records: 0 };
    } catch (offsetsError) {
      return { response: answer(errorCodeOf(ctx, offsetsError, 'Fetch')), records: 0 };
    }
  }
  const served = servedBatches(read.batches, budget, wholeFirstBatch, ctx.limits.kafkaFetchRecordsMax);
  let aborted: readonly AbortedTransaction[] = [];
  if (isolation === 'committed' && served.records > 0) {
    // The transactions aborted among the served batches: the client drops their records.
    const first = read.batches[0]!;
    try {
      aborted = await ctx.broker.abortedTransactions(topic, partition, baseOffsetOf(first), served.endOffset);
    } catch (error) {
      return { response: answer(errorCodeOf(ctx, error, 'Fetch')), records: 0 };
    }
  }
  return { response: answer(KafkaErrorCode.NONE, read, served.bytes, aborted), records: served.records };
}

/**
 * The stored batches a partition answers with, as one records field: the first (whole, when
 * `wholeFirstBatch`, else only if it fits), then more while they fit in `budget` and the records
 * stay within `recordsMax`. Batches read together are usually adjacent in one buffer: then the
 * field is a view of it, no copy.
 */
function servedBatches(
  batches: readonly Uint8Array[],
  budget: number,
  wholeFirstBatch: boolean,
  recordsMax: number,
): { bytes: Uint8Array; records: number; endOffset: number } {
  let count = 0;
  let bytes = 0;
  let records = 0;
  let endOffset = 0;
  for (const batch of batches) {
    const batchRecords = recordCountOf(batch);
    if (count > 0 && (bytes + batch.byteLength > budget || records + batchRecords > recordsMax)) break;
    if (count === 0 && !wholeFirstBatch && batch.byteLength > budget) break;
    count++;
    bytes += batch.byteLength;
    records += batchRecords;
    endOffset = baseOffsetOf(batch) + lastOffsetDeltaOf(batch) + 1;
  }
  if (count === 0) return { bytes: EMPTY, records: 0, endOffset };
  return { bytes: joined(batches, count, bytes), records, endOffset };
}

/** The first `count` of `parts` as one byte array: a view when they are adjacent, else a copy. */
function joined(parts: readonly Uint8Array[], count: number, totalBytes: number): Uint8Array {
  const first = parts[0]!;
  let adjacent = true;
  for (let i = 1; i < count && adjacent; i++) {
    const previous = parts[i - 1]!;
    const part = parts[i]!;
    adjacent = part.buffer === first.buffer && part.byteOffset === previous.byteOffset + previous.byteLength;
  }
  if (adjacent) return new Uint8Array(first.buffer, first.byteOffset, totalBytes);
  return Buffer.concat(parts.slice(0, count), totalBytes);
}

/** recordCount of a stored batch (int32 at byte 57 of its header). */
function recordCountOf(batch: Uint8Array): number {
  return int32At(batch, 57);
}

/** lastOffsetDelta of a stored batch (int32 at byte 23). */
function lastOffsetDeltaOf(batch: Uint8Array): number {
  return int32At(batch, 23);
}

/** baseOffset of a stored batch (int64 at byte 0; offsets are safe integers). */
function baseOffsetOf(batch: Uint8Array): number {
  return int32At(batch, 0) * 2 ** 32 + (int32At(batch, 4) >>> 0);
}

function int32At(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/**
 * Resolves `records` once one of the partitions has a record at or after its offset, `ended`
 * when a subscription could not start or ended (the next read tells why), `timeout` when `ms`
 * passed or `signal` aborted.
 */
function waitForRecords(
  ctx: KafkaContext,
  { waitOn: partitions, isolation }: ReadOutcome,
  ms: number,
  signal: AbortSignal,
): Promise<'records' | 'ended' | 'timeout'> {
  return new Promise((resolve) => {
    const subscriptions: Subscription[] = [];
    let settled = false;
    const finish = (woke: 'records' | 'ended' | 'timeout'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      for (const subscription of subscriptions) subscription.close();
      resolve(woke);
    };
    const onAbort = (): void => finish('timeout');
    const timer = setTimeout(() => finish('timeout'), Math.max(0, ms));
    signal.addEventListener('abort', onAbort);
    for (const { topic, partition, offset } of partitions) {
      ctx.broker
        .subscribe({
          topic,
          partition,
          from: { offset },
          isolation,
          credit: 1,
          onRecords: () => finish('records'),
          onError: () => finish('ended'),
        })
        .then(
          (subscription) => {
            if (settled) subscription.close();
            else subscriptions.push(subscription);
          },
          () => finish('ended'),
        );
    }
  });
}
