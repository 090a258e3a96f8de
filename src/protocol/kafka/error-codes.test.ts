import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../errors.js';
import { isRetriableKafkaError, KafkaErrorCode, kafkaErrorName } from './error-codes.js';

describe('Kafka error codes', () => {
  it('has the codes clients act on', () => {
    expect(KafkaErrorCode).toMatchObject({
      UNKNOWN_SERVER_ERROR: -1,
      NONE: 0,
      OFFSET_OUT_OF_RANGE: 1,
      CORRUPT_MESSAGE: 2,
      UNKNOWN_TOPIC_OR_PARTITION: 3,
      COORDINATOR_LOAD_IN_PROGRESS: 14,
      COORDINATOR_NOT_AVAILABLE: 15,
      NOT_COORDINATOR: 16,
      ILLEGAL_GENERATION: 22,
      INCONSISTENT_GROUP_PROTOCOL: 23,
      UNKNOWN_MEMBER_ID: 25,
      INVALID_SESSION_TIMEOUT: 26,
      REBALANCE_IN_PROGRESS: 27,
      UNSUPPORTED_VERSION: 35,
      TOPIC_ALREADY_EXISTS: 36,
      INVALID_PARTITIONS: 37,
      INVALID_REQUEST: 42,
      OUT_OF_ORDER_SEQUENCE: 45,
      DUPLICATE_SEQUENCE: 46,
      INVALID_PRODUCER_EPOCH: 47,
      MEMBER_ID_REQUIRED: 79,
    });
  });

  it("names codes by Kafka's current name, aliases aside", () => {
    expect(kafkaErrorName(6)).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(kafkaErrorName(45)).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(kafkaErrorName(79)).toBe('MEMBER_ID_REQUIRED');
    expect(kafkaErrorName(9999)).toBe('UNKNOWN(9999)');
  });

  it('marks the retriable ones', () => {
    expect(isRetriableKafkaError(KafkaErrorCode.NOT_COORDINATOR)).toBe(true);
    expect(isRetriableKafkaError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION)).toBe(true);
    expect(isRetriableKafkaError(KafkaErrorCode.ILLEGAL_GENERATION)).toBe(false);
    expect(isRetriableKafkaError(KafkaErrorCode.UNSUPPORTED_VERSION)).toBe(false);
  });

  it('knows every Kafka code of the error catalogue', () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      expect([code, kafkaErrorName(spec.kafkaCode)]).not.toEqual([code, `UNKNOWN(${spec.kafkaCode})`]);
    }
  });
});
