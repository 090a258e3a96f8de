/**
 * @module protocol/kafka/error-codes
 * The Kafka protocol error codes Tributary sends or reads, with Kafka's names and whether a
 * client retries them (from `org.apache.kafka.common.protocol.Errors`).
 *
 * @example
 * const response = { errorCode: KafkaErrorCode.NOT_COORDINATOR, ... };
 * kafkaErrorName(16); // 'NOT_COORDINATOR'
 */

export const KafkaErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  SECURITY_DISABLED: 54,
  OPERATION_NOT_ATTEMPTED: 55,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  INVALID_FETCH_SESSION_EPOCH: 71,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  STALE_BROKER_EPOCH: 77,
  OFFSET_NOT_AVAILABLE: 78,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  INVALID_RECORD: 87,
  UNSTABLE_OFFSET_COMMIT: 88,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
  UNKNOWN_TOPIC_ID: 100,
  INCONSISTENT_TOPIC_ID: 103,
  // Aliases: older names of the same codes (Kafka ≤ 2.3, kafka-python, librdkafka). Kafka's
  // current name above is the one `kafkaErrorName` reports.
  NOT_LEADER_FOR_PARTITION: 6,
  OUT_OF_ORDER_SEQUENCE: 45,
  DUPLICATE_SEQUENCE: 46,
} as const;

export type KafkaErrorName = keyof typeof KafkaErrorCode;
export type KafkaErrorCodeValue = (typeof KafkaErrorCode)[KafkaErrorName];

/** Codes a Kafka client retries on its own (the `RetriableException` subclasses in Kafka). */
const RETRIABLE: ReadonlySet<number> = new Set<number>([
  KafkaErrorCode.CORRUPT_MESSAGE,
  KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaErrorCode.LEADER_NOT_AVAILABLE,
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.REQUEST_TIMED_OUT,
  KafkaErrorCode.REPLICA_NOT_AVAILABLE,
  KafkaErrorCode.NETWORK_EXCEPTION,
  KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
  KafkaErrorCode.NOT_COORDINATOR,
  KafkaErrorCode.NOT_ENOUGH_REPLICAS,
  KafkaErrorCode.NOT_CONTROLLER,
  KafkaErrorCode.CONCURRENT_TRANSACTIONS,
  KafkaErrorCode.KAFKA_STORAGE_ERROR,
  KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH,
  KafkaErrorCode.FENCED_LEADER_EPOCH,
  KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
  KafkaErrorCode.OFFSET_NOT_AVAILABLE,
  KafkaErrorCode.UNSTABLE_OFFSET_COMMIT,
  KafkaErrorCode.THROTTLING_QUOTA_EXCEEDED,
  KafkaErrorCode.UNKNOWN_TOPIC_ID,
  KafkaErrorCode.INCONSISTENT_TOPIC_ID,
]);

const NAMES: ReadonlyMap<number, KafkaErrorName> = (() => {
  const names = new Map<number, KafkaErrorName>();
  // First name wins: the aliases come last.
  for (const [name, code] of Object.entries(KafkaErrorCode) as [KafkaErrorName, number][]) {
    if (!names.has(code)) names.set(code, name);
  }
  return names;
})();

/** Kafka's name for `code`, or `UNKNOWN(code)` for one this table does not list. */
export function kafkaErrorName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN(${code})`;
}

/** Whether Kafka clients retry `code` by themselves. */
export function isRetriableKafkaError(code: number): boolean {
  return RETRIABLE.has(code);
}
