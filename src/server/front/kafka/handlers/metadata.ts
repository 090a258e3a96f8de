/**
 * @module server/front/kafka/handlers/metadata
 * Metadata (3) v0–v12: one broker (this node, at the advertised host:port), which is the
 * controller and the leader, only replica and only in-sync replica of every partition. With
 * several gateways over one shared log (`ctx.cluster`), every live gateway with a Kafka listener
 * is a broker and the partitions' leaders are spread over them (any gateway serves any
 * partition; the spread only spreads clients' connections). Leader
 * epochs are -1 (unknown: a single node has none); authorized-operation bit fields are "not
 * given". v10+ carries each topic's id (the log's topic id).
 *
 * Topics: null (v0: an empty list) lists every user topic. A named topic that does not exist
 * is created with 1 partition when the request allows it (`allow_auto_topic_creation`, always
 * true before v4) and the front end has auto-creation on, like Kafka's default
 * `auto.create.topics.enable=true`; otherwise it gets UNKNOWN_TOPIC_OR_PARTITION. A topic asked
 * for by id alone (v12: null name) that does not exist gets UNKNOWN_TOPIC_ID.
 */
import type { TopicDescription } from '../../../../broker/types.js';
import { isTributaryError } from '../../../../errors.js';
import { KafkaErrorCode } from '../../../../protocol/kafka/error-codes.js';
import type { MetadataResponseTopic } from '../../../../protocol/kafka/requests/index.js';
import { ZERO_UUID } from '../../../../protocol/kafka/schema.js';
import { countError, errorCodeOf, type KafkaContext } from '../context.js';
import { topicById } from '../topic-ids.js';
import type { Handler } from './types.js';

export const handleMetadata: Handler<'Metadata'> = async (ctx, { body }) => {
  // Read once: every leader named in the answer is one of the brokers it lists.
  const brokers = kafkaBrokers(ctx);
  let topics: MetadataResponseTopic[];
  if (body.topics === null) {
    const all = await ctx.broker.listTopics();
    topics = all.map((description) => describe(brokers, description));
  } else {
    topics = [];
    const autoCreate = body.allowAutoTopicCreation && ctx.autoCreateTopics;
    for (const { name, topicId } of body.topics) {
      topics.push(
        name === null
          ? await byId(ctx, brokers, topicId ?? ZERO_UUID)
          : await topicMetadata(ctx, brokers, name, autoCreate),
      );
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: brokers.map((broker) => ({ ...broker, rack: null })),
    clusterId: ctx.clusterId,
    controllerId: brokers[0]!.nodeId,
    topics,
  };
};

async function byId(
  ctx: KafkaContext,
  brokers: readonly Broker[],
  topicId: string,
): Promise<MetadataResponseTopic> {
  const found = await topicById(ctx.broker, topicId);
  if (found !== undefined) return describe(brokers, found);
  countError(ctx, KafkaErrorCode.UNKNOWN_TOPIC_ID);
  return {
    errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID,
    name: null,
    topicId,
    isInternal: false,
    partitions: [],
  };
}

async function topicMetadata(
  ctx: KafkaContext,
  brokers: readonly Broker[],
  name: string,
  autoCreate: boolean,
): Promise<MetadataResponseTopic> {
  try {
    return describe(brokers, await ctx.broker.describeTopic(name));
  } catch (error) {
    if (!(autoCreate && isTributaryError(error, 'TOPIC_NOT_FOUND'))) return failed(ctx, name, error);
  }
  try {
    const created = await ctx.broker.createTopic(name, { partitions: 1 });
    ctx.logger.info({ topic: name }, 'topic auto-created by a Kafka Metadata request');
    return describe(brokers, created);
  } catch (error) {
    // Another client created it meanwhile.
    if (isTributaryError(error, 'TOPIC_EXISTS')) {
      try {
        return describe(brokers, await ctx.broker.describeTopic(name));
      } catch (again) {
        return failed(ctx, name, again);
      }
    }
    return failed(ctx, name, error);
  }
}

function describe(brokers: readonly Broker[], description: TopicDescription): MetadataResponseTopic {
  // Every gateway serves every partition; "leaders" spread a client's connections over them.
  const first = topicSpread(description.name);
  return {
    errorCode: KafkaErrorCode.NONE,
    name: description.name,
    topicId: description.id,
    isInternal: false,
    partitions: description.partitions.map(({ partition }) => {
      const leader = brokers[(first + partition) % brokers.length]!.nodeId;
      return {
        errorCode: KafkaErrorCode.NONE,
        partitionIndex: partition,
        leaderId: leader,
        replicaNodes: [leader],
        isrNodes: [leader],
        offlineReplicas: [],
      };
    }),
  };
}

/** A Kafka broker as Metadata lists it. */
interface Broker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** This node, and with a cluster every live gateway that has a Kafka listener, by node id. */
function kafkaBrokers(ctx: KafkaContext): Broker[] {
  const self = { nodeId: ctx.nodeId, host: ctx.advertisedHost, port: ctx.advertisedPort };
  if (ctx.cluster === undefined) return [self];
  const brokers = [self];
  for (const gateway of ctx.cluster.gateways()) {
    if (gateway.nodeId === ctx.nodeId || gateway.kafka === null) continue;
    brokers.push({ nodeId: gateway.nodeId, host: gateway.kafka.host, port: gateway.kafka.port });
  }
  return brokers.sort((a, b) => a.nodeId - b.nodeId);
}

/** Where a topic's partition 0 goes in the broker list, so topics do not all start on the same gateway. */
function topicSpread(name: string): number {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  return hash;
}

function failed(ctx: KafkaContext, name: string, error: unknown): MetadataResponseTopic {
  const errorCode = errorCodeOf(ctx, error, 'Metadata');
  countError(ctx, errorCode);
  return { errorCode, name, isInternal: false, partitions: [] };
}
