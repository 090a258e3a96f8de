/**
 * @module broker
 * The Broker API and its implementation: what front ends and the sync layer import.
 *
 * @example
 * import { createBroker } from '../broker/index.js';
 * const broker = await createBroker(log, { logger, observer });
 */
export { assignPartitions } from './assignor.js';
export {
  createBroker,
  DEFAULT_CREDIT,
  DEFAULT_MAX_DELIVERY_RECORDS,
  type GroupLag,
  TributaryBroker,
} from './broker.js';
export { ensureTopic } from './ensure-topic.js';
export { DEFAULT_SESSION_TIMEOUT_MS } from './groups.js';
export {
  CONSUMER_OFFSETS_TOPIC,
  isInternalTopic,
  PRODUCER_IDS_TOPIC,
  userTopicNameProblem,
} from './internal-topics.js';
export {
  KAFKA_MAX_SESSION_TIMEOUT_MS,
  KAFKA_MIN_SESSION_TIMEOUT_MS,
  KafkaGroupCoordinator,
  type KafkaGroupDescription,
  type KafkaGroupErrorName,
  type KafkaGroupListing,
  type KafkaGroupState,
  type KafkaJoinRequest,
  type KafkaJoinResult,
  type KafkaLeaveResult,
  type KafkaMemberIdentity,
  type KafkaSyncRequest,
  type KafkaSyncResult,
} from './kafka-group-coordinator.js';
export type * from './types.js';
