/**
 * @module server/front/kafka/handlers/list-offsets
 * ListOffsets (2) v1–v9 (leader epochs answered -1): timestamp -1 → the high watermark (next
 * offset), -2 → the earliest offset, any other timestamp → the first offset whose record
 * timestamp is at or after it, with that record's timestamp; none → offset -1 and timestamp -1,
 * as Kafka answers. v7+: -3 → the first record with the largest timestamp (found by a binary
 * search over timestamp lookups, about 50 of them); v8+: -4 (earliest local) → the earliest
 * offset, since everything is local; v9+: -5 (latest tiered) → offset -1, since nothing is
 * tiered. A special timestamp the request's version does not have is INVALID_REQUEST.
 *
 * With isolation_level 1 (read_committed, v2+) the partition ends at its last stable offset, as
 * in Kafka: -1 answers the LSO instead of the high watermark, and an offset found by timestamp
 * (or -3) at or past the LSO is answered as none (-1), since such a consumer cannot read it yet.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { ListOffsetsResponsePartition } from '../../../../protocol/kafka/requests/index.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import type { Handler } from './types.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;
const READ_COMMITTED = 1;

export const handleListOffsets: Handler<'ListOffsets'> = async (ctx, { body, header }) => {
  const committed = body.isolationLevel === READ_COMMITTED;
  const topics = [];
  for (const topic of body.topics) {
    const partitions: ListOffsetsResponsePartition[] = [];
    for (const { partitionIndex, timestamp } of topic.partitions) {
      partitions.push(
        await listOffset(ctx, topic.name, partitionIndex, timestamp, header.apiVersion, committed),
      );
    }
    topics.push({ name: topic.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
};

async function listOffset(
  ctx: KafkaContext,
  topic: string,
  partition: number,
  timestamp: number,
  version: number,
  committed: boolean,
): Promise<ListOffsetsResponsePartition> {
  const answer = (errorCode: number, offset: number, at = -1): ListOffsetsResponsePartition => {
    countError(ctx, errorCode);
    return { partitionIndex: partition, errorCode, timestamp: at, offset };
  };
  try {
    const { earliest, next, lastStable } = await ctx.broker.offsets(topic, partition);
    // What this consumer can read ends here (Kafka's "last fetchable offset").
    const end = committed ? lastStable : next;
    if (timestamp === LATEST) return answer(KafkaErrorCode.NONE, end);
    if (timestamp === EARLIEST) return answer(KafkaErrorCode.NONE, earliest);
    if (timestamp === MAX_TIMESTAMP && version >= 7) {
      const found = await maxTimestamp(ctx, topic, partition, earliest, next);
      return found === null || found.offset >= end
        ? answer(KafkaErrorCode.NONE, -1)
        : answer(KafkaErrorCode.NONE, found.offset, found.timestamp);
    }
    if (timestamp === EARLIEST_LOCAL && version >= 8) return answer(KafkaErrorCode.NONE, earliest);
    if (timestamp === LATEST_TIERED && version >= 9) return answer(KafkaErrorCode.NONE, -1);
    if (timestamp < 0) return answer(KafkaErrorCode.INVALID_REQUEST, -1);
    const offset = await ctx.broker.resolvePosition(topic, partition, { timestamp });
    if (offset >= end) return answer(KafkaErrorCode.NONE, -1);
    const [record] = await ctx.broker.fetch(topic, partition, offset, { maxRecords: 1 });
    if (record === undefined) return answer(KafkaErrorCode.NONE, -1);
    return answer(KafkaErrorCode.NONE, record.offset, record.timestamp);
  } catch (error) {
    return answer(errorCodeOf(ctx, error, 'ListOffsets'), -1);
  }
}

/** Timestamps searched for -3: records' timestamps are milliseconds since the epoch, below 2^53. */
const TIMESTAMP_SEARCH_MAX = Number.MAX_SAFE_INTEGER;

/**
 * The first readable record with the largest timestamp, or null when there is none (or every
 * timestamp is negative). The log answers "first offset at or after a timestamp"; the largest
 * timestamp is the last one that still finds a record, so a binary search over [0, 2^53) finds
 * it in about 53 lookups, each a sparse-index seek, without reading the partition.
 */
async function maxTimestamp(
  ctx: KafkaContext,
  topic: string,
  partition: number,
  earliest: number,
  next: number,
): Promise<{ offset: number; timestamp: number } | null> {
  if (earliest >= next) return null;
  const firstAtOrAfter = (timestamp: number) => ctx.broker.resolvePosition(topic, partition, { timestamp });
  if ((await firstAtOrAfter(0)) >= next) return null;
  let found = 0; // some record has a timestamp ≥ found
  let above = TIMESTAMP_SEARCH_MAX; // none has one ≥ above
  while (above - found > 1) {
    const middle = found + Math.floor((above - found) / 2);
    if ((await firstAtOrAfter(middle)) < next) found = middle;
    else above = middle;
  }
  const offset = await firstAtOrAfter(found);
  const [record] = await ctx.broker.fetch(topic, partition, offset, { maxRecords: 1 });
  return record === undefined ? null : { offset: record.offset, timestamp: record.timestamp };
}
