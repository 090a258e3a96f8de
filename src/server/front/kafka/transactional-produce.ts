/**
 * @module server/front/kafka/transactional-produce
 * The transaction check of a Produce partition: a transactional batch is appended only when the
 * request names its transactional id and the coordinator admits it (current producer epoch, the
 * partition added to the open transaction with AddPartitionsToTxn), as Kafka's partition leaders
 * verify since KIP-890. Refusals: TRANSACTIONAL_ID_AUTHORIZATION_FAILED (no transactional id, or
 * no coordinator), INVALID_TXN_STATE (partition not added), INVALID_PRODUCER_EPOCH (fenced; the
 * Produce versions Tributary speaks predate PRODUCER_FENCED), INVALID_PRODUCER_ID_MAPPING.
 */
import type { AdmittedProduce } from '../../../broker/transactions/coordinator.js';
import type { ProducerBatchId } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import { KafkaErrorCode } from '../../../protocol/kafka/error-codes.js';
import { errorCodeOf, type KafkaContext } from './context.js';

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
    if (isTributaryError(error, 'PRODUCER_FENCED')) return KafkaErrorCode.INVALID_PRODUCER_EPOCH;
    if (isTributaryError(error, 'INVALID_ARGUMENT'))
      return KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return errorCodeOf(ctx, error, 'Produce');
  }
}
