/**
 * @module server/front/kafka/handlers/fetch
 * Fetch (1) v4–v11, a long poll:
 *
 * 1. Every requested partition is read from its fetch offset (at most `partition_max_bytes`,
 *    and while the response is under `max_bytes`; the first partition with data always gets at
 *    least one record, as in KIP-74) and written as one RecordBatch v2 with the stored offsets.
 * 2. If that is at least `min_bytes`, or a partition has an error, or `max_wait_ms` has passed,
 *    the response goes out. Otherwise the handler waits, without polling, on a broker
 *    subscription per partition (positioned at the fetch offset, credit 1) until one of them has
 *    a record, the wait is over or the connection closes; then it reads again.
 *
 * Per partition: high watermark = the partition's next offset; last stable offset = the high
 * watermark (no transactions); log start offset = the earliest offset; a fetch offset below the
 * earliest or above the high watermark is OFFSET_OUT_OF_RANGE; no records is an empty (length 0)
 * records field; `preferred_read_replica` is -1.
 *
 * Fetch sessions (KIP-227) are not kept: a full fetch (session id 0) is answered with session
 * id 0 (no session was created), and an incremental one gets FETCH_SESSION_ID_NOT_FOUND.
 *
 * Quotas (as Kafka's broker): a principal still over its fetch rate gets an empty response at
 * once with the `throttle_time_ms` until it is back under (its fetch offsets do not move, so
 * nothing is skipped); otherwise a fetch reads at most one burst of the rate, counts what it
 * returns, and answers with the resulting throttle time. Either way the connection is muted for
 * that long.
 */
import type { Subscription } from '../../../../broker/types.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type {
  FetchRequest,
  FetchResponsePartition,
  FetchResponseTopic,
} from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import { encodeFetchBatch, payloadBytes } from '../records.js';
import type { Handler } from './types.js';

const EMPTY = new Uint8Array(0);

interface ReadOutcome {
  readonly responses: FetchResponseTopic[];
  readonly bytes: number;
  readonly records: number;
  readonly payload: number;
  readonly anyError: boolean;
  /** Partitions to wait on: (topic, partition, offset) with nothing to read yet. */
  readonly waitOn: { topic: string; partition: number; offset: number }[];
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
    const woke = await waitForRecords(ctx, outcome.waitOn, deadline - Date.now(), scope.signal);
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
  const waitOn: ReadOutcome['waitOn'] = [];
  const responses: FetchResponseTopic[] = [];
  for (const topic of body.topics) {
    const partitions: FetchResponsePartition[] = [];
    for (const request of topic.partitions) {
      const budget =
        bytes === 0 ? request.partitionMaxBytes : Math.min(request.partitionMaxBytes, body.maxBytes - bytes);
      const read = await readPartition(ctx, topic.topic, request.partition, request.fetchOffset, budget);
      partitions.push(read.response);
      bytes += read.response.records.length;
      records += read.records;
      payload += read.payload;
      if (read.response.errorCode !== KafkaErrorCode.NONE) anyError = true;
      else if (read.records === 0)
        waitOn.push({ topic: topic.topic, partition: request.partition, offset: request.fetchOffset });
    }
    responses.push({ topic: topic.topic, partitions });
  }
  return { responses, bytes, records, payload, anyError, waitOn };
}

async function readPartition(
  ctx: KafkaContext,
  topic: string,
  partition: number,
  fetchOffset: number,
  budget: number,
): Promise<{ response: FetchResponsePartition; records: number; payload: number }> {
  const answer = (
    errorCode: number,
    highWatermark: number,
    logStartOffset: number,
    records: Uint8Array = EMPTY,
  ): FetchResponsePartition => {
    countError(ctx, errorCode);
    return {
      partitionIndex: partition,
      errorCode,
      highWatermark,
      lastStableOffset: highWatermark,
      logStartOffset,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records,
    };
  };
  let earliest: number;
  let next: number;
  try {
    ({ earliest, next } = await ctx.broker.offsets(topic, partition));
  } catch (error) {
    return { response: answer(errorCodeOf(ctx, error, 'Fetch'), -1, -1), records: 0, payload: 0 };
  }
  if (fetchOffset < earliest || fetchOffset > next) {
    return { response: answer(KafkaErrorCode.OFFSET_OUT_OF_RANGE, next, earliest), records: 0, payload: 0 };
  }
  if (fetchOffset === next || budget <= 0) {
    return { response: answer(KafkaErrorCode.NONE, next, earliest), records: 0, payload: 0 };
  }
  try {
    const read = await ctx.broker.fetch(topic, partition, fetchOffset, {
      maxRecords: ctx.limits.kafkaFetchRecordsMax,
      maxBytes: Math.max(1, Math.min(budget, 256 * 1024 * 1024)),
    });
    const last = read.at(-1);
    const highWatermark = last === undefined ? next : Math.max(next, last.offset + 1);
    return {
      response: answer(KafkaErrorCode.NONE, highWatermark, earliest, encodeFetchBatch(read)),
      records: read.length,
      payload: payloadBytes(read),
    };
  } catch (error) {
    return { response: answer(errorCodeOf(ctx, error, 'Fetch'), next, earliest), records: 0, payload: 0 };
  }
}

/**
 * Resolves `records` once one of the partitions has a record at or after its offset, `ended`
 * when a subscription could not start or ended (the next read tells why), `timeout` when `ms`
 * passed or `signal` aborted.
 */
function waitForRecords(
  ctx: KafkaContext,
  partitions: ReadOutcome['waitOn'],
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
