/**
 * @module server/front/kafka/handlers/transaction-errors
 * The Kafka error code of a transaction coordinator refusal, as Kafka answers it: a fenced
 * producer gets PRODUCER_FENCED (90) from the request version that knows it (KIP-588) and
 * INVALID_PRODUCER_EPOCH (47) below it, so older clients take the same path.
 */
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { errorCodeOf, type KafkaContext } from '../context.js';

export function transactionErrorCode(
  ctx: KafkaContext,
  error: unknown,
  what: string,
  apiVersion: number,
  fencedFromVersion: number,
): number {
  if (isTributaryError(error, 'PRODUCER_FENCED')) {
    return apiVersion >= fencedFromVersion
      ? KafkaErrorCode.PRODUCER_FENCED
      : KafkaErrorCode.INVALID_PRODUCER_EPOCH;
  }
  // A transactional id Tributary keeps for itself, or a malformed one: Kafka's answer to an id the
  // client may not use.
  if (isTributaryError(error, 'INVALID_ARGUMENT'))
    return KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  return errorCodeOf(ctx, error, what);
}

/** The answer when the server runs without a transaction coordinator. */
export const NO_COORDINATOR = KafkaErrorCode.COORDINATOR_NOT_AVAILABLE;
