/**
 * @module server/front/kafka/handlers/txn-offset-commit
 * TxnOffsetCommit (28) v0–v2: consumer-offset commits held in the transaction and applied to
 * the group's committed offsets only when it commits (exactly-once consume-transform-produce).
 * Needs `read` on the group and on each topic, as OffsetCommit does; the group must have been
 * added with AddOffsetsToTxn (else INVALID_TXN_STATE). Commit metadata is not kept.
 */
import type { CommittedOffset } from '../../../../broker/types.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import { authorizeKafka } from '../acl.js';
import { countError } from '../context.js';
import { NO_COORDINATOR, transactionErrorCode } from './transaction-errors.js';
import { checkTransactionPartitions, partitionKey } from './transaction-partitions.js';
import type { Handler } from './types.js';

export const handleTxnOffsetCommit: Handler<'TxnOffsetCommit'> = async (ctx, { body, header }, scope) => {
  let errorCode: number = authorizeKafka(scope, 'TxnOffsetCommit', 'group', body.groupId);
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
        await ctx.transactions.commitOffsets(
          body.transactionalId,
          { producerId: body.producerId, producerEpoch: body.producerEpoch },
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
