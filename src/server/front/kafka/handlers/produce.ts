/**
 * @module server/front/kafka/handlers/produce
 * Produce (0) v3–v7: each partition's one RecordBatch is stored as the client sent it
 * (`broker.appendEncoded`: compressed stays compressed) when its header allows it, the usual
 * case; the rest (no timestamps, LogAppendTime, a record count that does not match the offsets)
 * is decoded and appended record by record (`broker.appendBatch`); see `records.ts`. Either
 * resolves once the records are durable under the topic's fsync policy; so acks=1 and acks=-1
 * (all in-sync replicas: there is one) are answered at the same point. acks=0 gets no response
 * at all; if its append fails the connection is closed, as Kafka does, so the client notices.
 *
 * Order: the appends of every partition are issued synchronously, before the first `await`,
 * and the connection calls handlers in arrival order, so pipelined produce requests keep their
 * order per partition.
 *
 * Idempotent producers: the batch header's (producerId, epoch, baseSequence) rule the append; a
 * retried batch the log already holds is answered NONE with its original base offset, as Kafka
 * does; a gap in sequences is OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch INVALID_PRODUCER_EPOCH.
 *
 * Transactions: a transactional batch must come from the transactional id's current producer
 * and go to a partition added to its open transaction (`transactional-produce.ts`). With several
 * gateways it is admitted by the id's coordinating gateway first, so its append is issued after
 * that answer (in admission order per transactional id), not before the first `await`.
 *
 * Quotas: the request's record bytes count against the principal's produce rate when it is
 * handled; the response carries the resulting `throttle_time_ms` and the connection is muted for
 * that long (also for acks=0, which gets no response). Nothing is refused for a quota.
 */
import { performance } from 'node:perf_hooks';
import type { AdmittedProduce } from '../../../../broker/transactions/coordinator.js';
import type { AppendResult, ProducerBatchId } from '../../../../broker/types.js';
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { TRANSACTIONAL_FLAG } from '../../../../protocol/kafka/record-batch/index.js';
import type { ProduceRequest, ProduceResponsePartition } from '../../../../protocol/kafka/requests/index.js';
import { authorizeKafka } from '../acl.js';
import { type ConnectionScope, countError, errorCodeOf, type KafkaContext } from '../context.js';
import { decodeProduceBatch, keepableBatchHeader, ProduceBatchError, producerOf } from '../records.js';
import {
  admitProduceBatch,
  appendTransactionalAcrossGateways,
  KafkaRefusal,
} from '../transactional-produce.js';
import { CloseConnection, type Handler } from './types.js';

export const handleProduce: Handler<'Produce'> = async (ctx, { body, header }, scope) => {
  const started = performance.now();
  const throttleTimeMs = scope.quota === undefined ? 0 : throttleProduce(scope, body.topics);
  const withLogStart = header.apiVersion >= 5;
  // A transactional producer's request needs `write` on its transactional id: nothing is appended.
  const denied =
    body.transactionalId === null
      ? KafkaErrorCode.NONE
      : authorizeKafka(scope, 'Produce', 'transactionalId', body.transactionalId);
  if (denied !== KafkaErrorCode.NONE) {
    if (body.acks === 0) throw new CloseConnection('an acks=0 produce with a denied transactional id');
    return { throttleTimeMs, responses: deniedResponses(ctx, body.topics, denied) };
  }
  // Issue every append now (no await before the last one): keeps pipelined requests in order.
  const topics = body.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((partition) =>
      producePartition(
        ctx,
        topic.name,
        partition.index,
        partition.records,
        body.acks,
        body.transactionalId,
        withLogStart,
      ),
    ),
  }));
  const responses = await Promise.all(
    topics.map(async (topic) => ({ name: topic.name, partitions: await Promise.all(topic.partitions) })),
  );
  ctx.metrics.appendLatency.observe({ frontend: 'kafka' }, (performance.now() - started) / 1000);
  if (body.acks === 0) {
    const failed = responses.flatMap((t) => t.partitions).find((p) => p.errorCode !== KafkaErrorCode.NONE);
    if (failed !== undefined) {
      throw new CloseConnection(`an acks=0 produce failed with error ${failed.errorCode}`);
    }
    return null;
  }
  return { throttleTimeMs, responses };
};

/** Every partition of the request refused with `errorCode`, nothing appended. */
function deniedResponses(
  ctx: KafkaContext,
  topics: ProduceRequest['topics'],
  errorCode: number,
): { name: string; partitions: ProduceResponsePartition[] }[] {
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((p) => {
      countError(ctx, errorCode);
      return {
        index: p.index,
        errorCode,
        baseOffset: -1,
        logAppendTimeMs: -1,
        logStartOffset: -1,
        errorMessage: null,
      };
    }),
  }));
}

/** Counts the request's record bytes against the principal's produce rate; mutes the connection. */
function throttleProduce(scope: ConnectionScope, topics: ProduceRequest['topics']): number {
  let bytes = 0;
  for (const topic of topics)
    for (const partition of topic.partitions) bytes += partition.records?.length ?? 0;
  const throttleTimeMs = scope.quota?.recordProduce(bytes) ?? 0;
  scope.throttle(throttleTimeMs);
  return throttleTimeMs;
}

async function producePartition(
  ctx: KafkaContext,
  topic: string,
  partition: number,
  bytes: Uint8Array | null,
  acks: number,
  transactionalId: string | null,
  withLogStart: boolean,
): Promise<ProduceResponsePartition> {
  // The reason goes to clients that read it (Produce v8+, KIP-467), for their logs.
  const failed = (errorCode: number, reason?: unknown): ProduceResponsePartition => {
    countError(ctx, errorCode);
    // Only refusals explain themselves: an unexpected error's text stays in the server log.
    const errorMessage =
      reason instanceof ProduceBatchError || isTributaryError(reason) ? reason.message : null;
    return {
      index: partition,
      errorCode,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      errorMessage,
    };
  };
  if (acks !== 0 && acks !== 1 && acks !== -1) return failed(KafkaErrorCode.INVALID_REQUIRED_ACKS);
  let prepared: PreparedAppend;
  try {
    prepared = prepareAppend(ctx, topic, partition, bytes);
  } catch (error) {
    if (error instanceof ProduceBatchError) {
      ctx.logger.debug({ topic, partition, reason: error.message }, 'Kafka produce batch refused');
      return failed(error.errorCode, error);
    }
    throw error;
  }
  let admitted: AdmittedProduce;
  let append: Promise<AppendResult>;
  if (prepared.transactional && ctx.transactionRoutes !== undefined && ctx.transactions !== undefined) {
    // Several gateways: admitted at the transactional id's gateway, appended once admitted.
    admitted = NOTHING_TO_RELEASE;
    append = appendTransactionalAcrossGateways(
      ctx,
      ctx.transactionRoutes,
      transactionalId,
      prepared,
      topic,
      partition,
      () => prepared.append(),
    );
  } else {
    const admission = admitProduceBatch(ctx, transactionalId, prepared, topic, partition);
    if (typeof admission === 'number') return failed(admission);
    admitted = admission;
    try {
      append = prepared.append();
    } catch (error) {
      admitted.done();
      return failed(errorCodeOf(ctx, error, 'Produce'), error);
    }
  }
  try {
    const result = await append;
    if (!result.duplicate) {
      ctx.metrics.recordsIn.inc({ frontend: 'kafka' }, prepared.records);
      ctx.metrics.bytesIn.inc({ frontend: 'kafka' }, prepared.bytes);
    }
    let logStartOffset = -1;
    if (withLogStart) {
      try {
        logStartOffset = (await ctx.broker.offsets(topic, partition)).earliest;
      } catch {
        // The topic went away right after the append: the append itself succeeded.
      }
    }
    return {
      index: partition,
      errorCode: KafkaErrorCode.NONE,
      baseOffset: result.baseOffset,
      logAppendTimeMs: -1,
      logStartOffset,
    };
  } catch (error) {
    if (error instanceof KafkaRefusal) return failed(error.errorCode, error.reason);
    return failed(errorCodeOf(ctx, error, 'Produce'), error);
  } finally {
    admitted.done();
  }
}

const NOTHING_TO_RELEASE: AdmittedProduce = { done: () => undefined };

/** A produced batch ready to append, as sent or decoded. */
interface PreparedAppend {
  readonly transactional: boolean;
  readonly producer: ProducerBatchId | undefined;
  /** Records and bytes it carries, for metrics (bytes: as sent when kept, else keys and values). */
  readonly records: number;
  readonly bytes: number;
  /** Issues the append (synchronously: pipelined requests keep their order). */
  append(): Promise<AppendResult>;
}

/**
 * The append of one partition's batch: kept as sent when its header allows it, else decoded.
 * Throws `ProduceBatchError` for a batch refused before the log sees it.
 */
function prepareAppend(
  ctx: KafkaContext,
  topic: string,
  partition: number,
  bytes: Uint8Array | null,
): PreparedAppend {
  const header = keepableBatchHeader(bytes);
  if (header !== undefined && bytes !== null) {
    return {
      transactional: (header.attributes & TRANSACTIONAL_FLAG) !== 0,
      producer: producerOf(header),
      records: header.recordCount,
      bytes: bytes.length,
      append: () =>
        ctx.broker.appendEncoded(topic, partition, bytes, {
          decompressedBytesMax: ctx.limits.kafkaDecompressedBytesMax,
        }),
    };
  }
  const batch = decodeProduceBatch(bytes, ctx.limits.kafkaDecompressedBytesMax);
  return {
    transactional: batch.transactional,
    producer: batch.producer,
    records: batch.records.length,
    bytes: batch.payloadBytes,
    append: () =>
      ctx.broker.appendBatch(
        topic,
        partition,
        batch.records,
        batch.producer === undefined
          ? {}
          : { producer: batch.producer, ...(batch.transactional ? { transactional: true } : {}) },
      ),
  };
}
