/**
 * @module server/front/kafka/context
 * What every Kafka API handler gets: the broker and its Kafka group coordinator, the address
 * clients are told to connect to, limits, logging and metrics (`KafkaContext`), plus the
 * connection it serves (`ConnectionScope`). Also the mapping of errors to Kafka error codes.
 */
import type { Logger } from 'pino';
import type { KafkaGroupCoordinator } from '../../../broker/kafka-group-coordinator.js';
import type { Broker } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import { KafkaErrorCode, kafkaErrorName } from '../../../protocol/kafka/error-codes.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../../protocol/kafka/frame.js';
import type { ServerMetrics } from '../../metrics.js';

export interface KafkaFrontEndLimits {
  /** Largest request frame (Kafka's `socket.request.max.bytes`); a larger one closes the connection. */
  readonly maxFrameBytes: number;
  /** Requests of one connection being handled at once; past it the connection is not read. */
  readonly maxInFlightRequests: number;
  /**
   * Bytes of responses one connection's open requests may build (each reserves the most its
   * response can take; a Fetch its `max_bytes`, capped at this), and bytes its socket may buffer
   * before the next request waits for 'drain'. Default 4 MiB.
   */
  readonly pendingResponseBytesMax: number;
  /** Largest records section a compressed batch may decompress to (MESSAGE_TOO_LARGE past it). */
  readonly maxDecompressedBytes: number;
  /** Longest a Fetch is held, whatever `max_wait_ms` asks. */
  readonly maxFetchWaitMs: number;
  /** Most records read from one partition for one Fetch. */
  readonly maxFetchRecords: number;
  /** A connection with no request for this long is closed (Kafka's `connections.max.idle.ms`). */
  readonly idleTimeoutMs: number;
}

export const KAFKA_FRONT_END_DEFAULTS: KafkaFrontEndLimits = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxInFlightRequests: 64,
  pendingResponseBytesMax: 4 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
  maxFetchWaitMs: 30_000,
  maxFetchRecords: 10_000,
  idleTimeoutMs: 10 * 60 * 1000,
};

export interface KafkaContext {
  readonly broker: Broker;
  readonly groups: KafkaGroupCoordinator;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly limits: KafkaFrontEndLimits;
  /** Broker id of this node: every partition's leader and the coordinator of every group. */
  readonly nodeId: number;
  readonly clusterId: string;
  /** host:port clients are told to connect to (Metadata, FindCoordinator). */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  /** Metadata requests with `allow_auto_topic_creation` create missing topics (1 partition). */
  readonly autoCreateTopics: boolean;
}

/** The connection a request arrived on. */
export interface ConnectionScope {
  /** Kafka's client host form: `/127.0.0.1`. */
  readonly clientHost: string;
  /** Aborted when the connection closes (long polls stop waiting). */
  readonly signal: AbortSignal;
}

/** The Kafka error code for an error thrown by the broker (UNKNOWN_SERVER_ERROR for others). */
export function errorCodeOf(ctx: KafkaContext, error: unknown, what: string): number {
  if (isTributaryError(error)) return error.kafkaCode;
  ctx.logger.error({ err: error }, `Kafka ${what} failed`);
  return KafkaErrorCode.UNKNOWN_SERVER_ERROR;
}

/** Counts an error code answered to a client (`tributary_errors_total{frontend="kafka"}`). */
export function countError(ctx: KafkaContext, code: number): void {
  if (code === KafkaErrorCode.NONE) return;
  ctx.metrics.errors.inc({ frontend: 'kafka', code: kafkaErrorName(code) });
}
