/**
 * @module server/front/kafka/handlers/fetch-by-topic-id
 * Fetch v13+ names topics by id (KIP-516). Each id is resolved to its topic's name
 * (`topic-ids.ts`) before the Fetch handler (`fetch.ts`) reads, and the answer carries the ids
 * again; a topic id that is unknown gets UNKNOWN_TOPIC_ID for each of its partitions, as Kafka
 * answers. Earlier versions go to the Fetch handler unchanged.
 */
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { FetchRequestTopic, FetchResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { ZERO_UUID } from '../../../../protocol/kafka/schema.js';
import { countError } from '../context.js';
import { topicById } from '../topic-ids.js';
import { handleFetch } from './fetch.js';
import type { Handler } from './types.js';

const FIRST_VERSION_BY_ID = 13;
const NO_RECORDS = new Uint8Array(0);

export const handleFetchByTopicId: Handler<'Fetch'> = async (ctx, request, scope) => {
  if (request.header.apiVersion < FIRST_VERSION_BY_ID) return handleFetch(ctx, request, scope);
  const named: FetchRequestTopic[] = [];
  const unknown: FetchRequestTopic[] = [];
  const idOf = new Map<string, string>();
  for (const topic of request.body.topics) {
    const id = topic.topicId ?? ZERO_UUID;
    const found = await topicById(ctx.broker, id);
    if (found === undefined) {
      unknown.push(topic);
    } else {
      idOf.set(found.name, id);
      named.push({ ...topic, topic: found.name });
    }
  }
  const answer = await handleFetch(ctx, { ...request, body: { ...request.body, topics: named } }, scope);
  if (answer === null) return null;
  const responses: FetchResponseTopic[] = answer.responses.map((r) => ({
    ...r,
    topicId: idOf.get(r.topic) ?? ZERO_UUID,
  }));
  for (const topic of unknown) {
    countError(ctx, KafkaErrorCode.UNKNOWN_TOPIC_ID);
    responses.push({
      topic: '',
      topicId: topic.topicId ?? ZERO_UUID,
      partitions: topic.partitions.map(({ partition }) => ({
        partitionIndex: partition,
        errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: NO_RECORDS,
      })),
    });
  }
  return { ...answer, responses };
};
