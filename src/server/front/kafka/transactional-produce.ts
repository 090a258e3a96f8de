/**
 * @module server/front/kafka/transactional-produce
 * The transaction check of a Produce partition: a transactional batch is appended only when the
 * request names its transactional id and the coordinator admits it (current producer epoch, the
 * partition added to the open transaction with AddPartitionsToTxn), as Kafka's partition leaders
 * verify since KIP-890. Refusals: TRANSACTIONAL_ID_AUTHORIZATION_FAILED (no transactional id, or
 * no coordinator), INVALID_TXN_STATE (partition not added), INVALID_PRODUCER_EPOCH (fenced; the
 * Produce versions Tributary speaks predate PRODUCER_FENCED), INVALID_PRODUCER_ID_MAPPING.
 * With several gateways, the coordinator that admits is the transactional id's gateway
 * (`broker/transactions/routes.ts`), asked over NATS when it is another one.
 */
import type { AdmittedProduce } from '../../../broker/transactions/coordinator.js';
import type { TransactionRoutes } from '../../../broker/transactions/routes.js';
import type { AppendResult, ProducerBatchId } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import { KafkaErrorCode } from '../../../protocol/kafka/error-codes.js';
import { errorCodeOf, type KafkaContext } from './context.js';

/**
 * With several gateways (`ctx.transactionRoutes`): admits a transactional batch at its
 * transactional id's coordinating gateway and issues `append` once admitted. Resolves to the
 * append's result, or rejects with a `KafkaRefusal` carrying the error code.
 */
export async function appendTransactionalAcrossGateways(
  ctx: KafkaContext,
  routes: TransactionRoutes,
  transactionalId: string | null,
  batch: { readonly producer: ProducerBatchId | undefined },
  topic: string,
  partition: number,
  append: () => Promise<AppendResult>,
): Promise<AppendResult> {
  if (transactionalId === null || batch.producer === undefined)
    throw new KafkaRefusal(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const { producerId, producerEpoch } = batch.producer;
  try {
    return await routes.admitAndAppend(
      transactionalId,
      { producerId, producerEpoch },
      topic,
      partition,
      append,
    );
  } catch (error) {
    throw new KafkaRefusal(refusalCode(ctx, error), error);
  }
}

/** A Kafka error code, with the error behind it. */
export class KafkaRefusal extends Error {
  constructor(
    readonly errorCode: number,
    readonly reason?: unknown,
  ) {
    super(`Kafka error ${errorCode}`);
  }
}

function refusalCode(ctx: KafkaContext, error: unknown): number {
  if (isTributaryError(error, 'PRODUCER_FENCED')) return KafkaErrorCode.INVALID_PRODUCER_EPOCH;
  if (isTributaryError(error, 'INVALID_ARGUMENT'))
    return KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  return errorCodeOf(ctx, error, 'Produce');
}

/** Nothing to track: the batch is not transactional. */
const NOT_TRANSACTIONAL: AdmittedProduce = { done: () => undefined };

/** The admission of a batch (call `done()` when its append settles), or the Kafka error code. */
export function admitProduceBatch(
  ctx: KafkaContext,
  transactionalId: string | null,
  batch: { readonly transactional: boolean; readonly producer: ProducerBatchId | undefined },
  topic: string,
  partition: number,
): AdmittedProduce | number {
  if (!batch.transactional) return NOT_TRANSACTIONAL;
  if (transactionalId === null || ctx.transactions === undefined || batch.producer === undefined) {
    return KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  }
  try {
    return ctx.transactions.admitProduce(transactionalId, batch.producer, topic, partition);
  } catch (error) {
    return refusalCode(ctx, error);
  }
}
