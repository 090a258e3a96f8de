/**
 * @module server/front/kafka/handlers/produce
 * Produce (0) v3–v7: each partition's one RecordBatch goes to `broker.appendBatch`, which
 * resolves once the records are durable under the topic's fsync policy; so acks=1 and acks=-1
 * (all in-sync replicas: there is one) are answered at the same point. acks=0 gets no response
 * at all; if its append fails the connection is closed, as Kafka does, so the client notices.
 *
 * Order: the appends of every partition are issued synchronously, before the first `await`,
 * and the connection calls handlers in arrival order, so pipelined produce requests keep their
 * order per partition.
 *
 * Idempotent producers: the batch's (producerId, epoch, baseSequence) go with the append; a
 * retried batch the log already holds is answered NONE with its original base offset, as Kafka
 * does; a gap in sequences is OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch INVALID_PRODUCER_EPOCH.
 *
 * Transactions: a transactional batch must come from the transactional id's current producer
 * and go to a partition added to its open transaction (`transactional-produce.ts`).
 *
 * Quotas: the request's record bytes count against the principal's produce rate when it is
 * handled; the response carries the resulting `throttle_time_ms` and the connection is muted for
 * that long (also for acks=0, which gets no response). Nothing is refused for a quota.
 */
import { performance } from 'node:perf_hooks';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { ProduceRequest, ProduceResponsePartition } from '../../../../protocol/kafka/requests/index.js';
import { type ConnectionScope, countError, errorCodeOf, type KafkaContext } from '../context.js';
import { decodeProduceBatch, ProduceBatchError } from '../records.js';
import { admitProduceBatch } from '../transactional-produce.js';
import { CloseConnection, type Handler } from './types.js';

export const handleProduce: Handler<'Produce'> = async (ctx, { body, header }, scope) => {
  const started = performance.now();
  const throttleTimeMs = scope.quota === undefined ? 0 : throttleProduce(scope, body.topics);
  const withLogStart = header.apiVersion >= 5;
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
  const failed = (errorCode: number): ProduceResponsePartition => {
    countError(ctx, errorCode);
    return { index: partition, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
  };
  if (acks !== 0 && acks !== 1 && acks !== -1) return failed(KafkaErrorCode.INVALID_REQUIRED_ACKS);
  let batch: ReturnType<typeof decodeProduceBatch>;
  try {
    batch = decodeProduceBatch(bytes, ctx.limits.kafkaDecompressedBytesMax);
  } catch (error) {
    if (error instanceof ProduceBatchError) {
      ctx.logger.debug({ topic, partition, reason: error.message }, 'Kafka produce batch refused');
      return failed(error.errorCode);
    }
    throw error;
  }
  const admitted = admitProduceBatch(ctx, transactionalId, batch, topic, partition);
  if (typeof admitted === 'number') return failed(admitted);
  let append: ReturnType<typeof ctx.broker.appendBatch>;
  try {
    append = ctx.broker.appendBatch(
      topic,
      partition,
      batch.records,
      batch.producer === undefined
        ? {}
        : { producer: batch.producer, ...(batch.transactional ? { transactional: true } : {}) },
    );
  } catch (error) {
    admitted.done();
    return failed(errorCodeOf(ctx, error, 'Produce'));
  }
  try {
    const result = await append;
    if (!result.duplicate) {
      ctx.metrics.recordsIn.inc({ frontend: 'kafka' }, batch.records.length);
      ctx.metrics.bytesIn.inc({ frontend: 'kafka' }, batch.payloadBytes);
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
    return failed(errorCodeOf(ctx, error, 'Produce'));
  } finally {
    admitted.done();
  }
}
