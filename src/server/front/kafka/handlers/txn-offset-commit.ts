/**
 * @module server/front/kafka/handlers/txn-offset-commit
 * TxnOffsetCommit (28) v0–v3: consumer-offset commits held in the transaction and applied to
 * the group's committed offsets only when it commits (exactly-once consume-transform-produce).
 * Needs `write` on the transactional id, `read` on the group and on each topic, as OffsetCommit does; the group must have been
 * added with AddOffsetsToTxn (else INVALID_TXN_STATE). Commit metadata is not kept.
 *
 * v3 (KIP-447) names the committing consumer's membership: one that names a generation, a
 * member id or an instance id must be a current member (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * FENCED_INSTANCE_ID otherwise), so a zombie consumer's offsets are refused; none named
 * (generation -1, no member: a consumer with partitions assigned by hand) is accepted, as Kafka
 * accepts it for transactional commits.
 */
import type { CommittedOffset } from '../../../../broker/types.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError } from '../context.js';
import { NO_COORDINATOR, transactionErrorCode } from './transaction-errors.js';
import { checkTransactionPartitions, partitionKey } from './transaction-partitions.js';
import type { Handler } from './types.js';

export const handleTxnOffsetCommit: Handler<'TxnOffsetCommit'> = async (ctx, { body, header }, scope) => {
  let errorCode: number = authorizeKafka(scope, 'TxnOffsetCommit', 'transactionalId', body.transactionalId);
  if (errorCode === KafkaErrorCode.NONE) {
    errorCode = authorizeKafka(scope, 'TxnOffsetCommit', 'group', body.groupId);
  }
  if (errorCode === KafkaErrorCode.NONE && namesMember(body)) {
    const refusal = ctx.groups.checkCommit(
      body.groupId,
      body.generationId,
      body.memberId,
      body.groupInstanceId,
    );
    if (refusal !== null) errorCode = KafkaErrorCode[refusal];
  }
  let refused = new Map<string, number>();
  if (errorCode === KafkaErrorCode.NONE) {
    const checked = await checkTransactionPartitions(
      ctx,
      scope,
      'TxnOffsetCommit',
      body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    refused = checked.refused;
    const valid = new Set(checked.valid.map((p) => partitionKey(p.topic, p.partition)));
    const offsets: CommittedOffset[] = [];
    for (const topic of body.topics) {
      for (const p of topic.partitions) {
        if (valid.has(partitionKey(topic.name, p.partitionIndex)))
          offsets.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset });
      }
    }
    if (ctx.transactions === undefined) {
      errorCode = NO_COORDINATOR;
    } else if (offsets.length > 0) {
      try {
        const producer = { producerId: body.producerId, producerEpoch: body.producerEpoch };
        // With several gateways this request reaches the group's coordinator: the offsets go to
        // the transaction's.
        await (ctx.transactionRoutes ?? ctx.transactions).commitOffsets(
          body.transactionalId,
          producer,
          body.groupId,
          offsets,
        );
      } catch (error) {
        errorCode = transactionErrorCode(ctx, error, 'TxnOffsetCommit', header.apiVersion, 3);
      }
    }
  }
  return {
    throttleTimeMs: 0,
    topics: body.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partitionIndex }) => {
        const code = refused.get(partitionKey(topic.name, partitionIndex)) ?? errorCode;
        countError(ctx, code);
        return { partitionIndex, errorCode: code };
      }),
    })),
  };
};

/** Whether the request names a group membership to check (v3+; older versions carry none). */
function namesMember(body: {
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}): boolean {
  return body.generationId >= 0 || body.memberId !== '' || body.groupInstanceId !== null;
}
