/**
 * @module errors
 * The error catalogue: every failure a caller can act on has a stable code, a message template,
 * a transport mapping (HTTP status, Kafka error code) and a `retriable` flag.
 * `docs/errors.md` is kept in step with this table by `errors.test.ts`.
 *
 * @example
 * throw new TributaryError('TOPIC_NOT_FOUND', { topic: 'orders' });
 */

export interface ErrorSpec {
  /** Message template; `{name}` is replaced by the detail of that name. */
  readonly message: string;
  readonly httpStatus: number;
  /** Kafka protocol error code a Kafka front end answers with. */
  readonly kafkaCode: number;
  readonly retriable: boolean;
}

export const ERROR_CATALOGUE = {
  INVALID_ARGUMENT: { message: '{reason}', httpStatus: 400, kafkaCode: 42, retriable: false },
  INVALID_TOPIC_NAME: {
    message: 'Topic name "{topic}" is invalid: {reason}',
    httpStatus: 400,
    kafkaCode: 17,
    retriable: false,
  },
  TOPIC_NOT_FOUND: {
    message: 'Topic "{topic}" does not exist',
    httpStatus: 404,
    kafkaCode: 3,
    retriable: false,
  },
  TOPIC_EXISTS: {
    message: 'Topic "{topic}" already exists',
    httpStatus: 409,
    kafkaCode: 36,
    retriable: false,
  },
  PARTITION_NOT_FOUND: {
    message: 'Topic "{topic}" has no partition {partition}',
    httpStatus: 404,
    kafkaCode: 3,
    retriable: false,
  },
  INVALID_PARTITIONS: {
    message: 'Topic "{topic}" cannot go from {current} to {requested} partitions: {reason}',
    httpStatus: 400,
    kafkaCode: 37,
    retriable: false,
  },
  OFFSET_OUT_OF_RANGE: {
    message: 'Offset {offset} is outside {topic}/{partition} (earliest {earliest}, next {next})',
    httpStatus: 416,
    kafkaCode: 1,
    retriable: false,
  },
  EXPECTED_OFFSET_MISMATCH: {
    message: 'Append to {topic}/{partition} expected last offset {expected}, but it is {actual}',
    httpStatus: 409,
    kafkaCode: 87,
    retriable: false,
  },
  RECORD_TOO_LARGE: {
    message: 'Batch of {bytes} bytes exceeds the limit of {limit} bytes ({limitName})',
    httpStatus: 413,
    kafkaCode: 10,
    retriable: false,
  },
  INVALID_RECORD: { message: 'Invalid record: {reason}', httpStatus: 400, kafkaCode: 87, retriable: false },
  MALFORMED_DATA: { message: 'Malformed {what}: {reason}', httpStatus: 400, kafkaCode: 2, retriable: false },
  CORRUPT_LOG: {
    message: 'Corrupt data in {file} at byte {position}: {reason}',
    httpStatus: 500,
    kafkaCode: 2,
    retriable: false,
  },
  PARTITION_DAMAGED: {
    message:
      'Partition {topic}/{partition} is offline: damaged data in {file} at byte {position}: {reason} (see: tributary data verify)',
    httpStatus: 500,
    kafkaCode: 56,
    retriable: false,
  },
  TOPIC_DAMAGED: {
    message:
      'Topic "{topic}" is offline: {reason} in {dir}; its data is kept (see: tributary data rebuild-metadata)',
    httpStatus: 409,
    kafkaCode: 56,
    retriable: false,
  },
  OUT_OF_ORDER_SEQUENCE: {
    message: 'Producer {producerId} sent sequence {sequence} to {topic}/{partition}, expected {expected}',
    httpStatus: 409,
    kafkaCode: 45,
    retriable: false,
  },
  PRODUCER_FENCED: {
    message: 'Producer {producerId} epoch {epoch} is older than the current epoch {current}',
    httpStatus: 409,
    kafkaCode: 47,
    retriable: false,
  },
  /** Kafka's INVALID_TXN_STATE (48), for the producer's side and the coordinator's alike. */
  INVALID_TXN_STATE: {
    message: '{what}: {reason}',
    httpStatus: 409,
    kafkaCode: 48,
    retriable: false,
  },
  PRODUCER_ID_MISMATCH: {
    message: 'Transactional id "{transactionalId}" belongs to producer {current}, not {producerId}',
    httpStatus: 409,
    kafkaCode: 49,
    retriable: false,
  },
  INVALID_TRANSACTION_TIMEOUT: {
    message: 'Transaction timeout {timeoutMs} ms is outside 1 to {max} ms',
    httpStatus: 400,
    kafkaCode: 50,
    retriable: false,
  },
  CONCURRENT_TRANSACTIONS: {
    message: 'Transactional id "{transactionalId}" is still finishing its previous transaction; retry',
    httpStatus: 409,
    kafkaCode: 51,
    retriable: true,
  },
  ILLEGAL_GENERATION: {
    message:
      'Group "{groupId}" is at generation {current}, not {generation}: rejoin and use the new assignment',
    httpStatus: 409,
    kafkaCode: 22,
    retriable: false,
  },
  UNKNOWN_MEMBER: {
    message: 'Group "{groupId}" has no member "{memberId}" (it left or its session timed out)',
    httpStatus: 404,
    kafkaCode: 25,
    retriable: false,
  },
  GROUP_PROTOCOL_MISMATCH: {
    message:
      'Group "{groupId}" is in use by {inUseBy} consumers: native and Kafka consumer groups cannot share a group id',
    httpStatus: 409,
    kafkaCode: 23,
    retriable: false,
  },
  NOT_FOUND: { message: 'No such resource: {what}', httpStatus: 404, kafkaCode: 3, retriable: false },
  COLLECTION_NOT_FOUND: {
    message: 'Collection "{collection}" does not exist',
    httpStatus: 404,
    kafkaCode: 3,
    retriable: false,
  },
  COLLECTION_EXISTS: {
    message: 'Collection "{collection}" already exists',
    httpStatus: 409,
    kafkaCode: 36,
    retriable: false,
  },
  CONNECTOR_NOT_FOUND: {
    message: 'Connector "{connector}" does not exist',
    httpStatus: 404,
    kafkaCode: 3,
    retriable: false,
  },
  CONNECTOR_EXISTS: {
    message: 'Connector "{connector}" already exists',
    httpStatus: 409,
    kafkaCode: 36,
    retriable: false,
  },
  VERSION_MISMATCH: {
    message: 'Key "{key}" of collection "{collection}" is at version {actual}, not {expected}',
    httpStatus: 409,
    kafkaCode: 87,
    retriable: false,
  },
  PRECONDITION_FAILED: {
    message: 'Precondition failed on key "{key}" of collection "{collection}": {reason}',
    httpStatus: 409,
    kafkaCode: 87,
    retriable: false,
  },
  WRONG_EXPECTED_REVISION: {
    message: 'Stream "{stream}" is at revision {actual}, not the expected {expected}',
    httpStatus: 409,
    kafkaCode: 87,
    retriable: false,
  },
  EVENT_ID_CONFLICT: {
    message: 'Stream "{stream}" already holds event id "{id}" but not every other event of this append',
    httpStatus: 409,
    kafkaCode: 87,
    retriable: false,
  },
  PROJECTION_FENCED: {
    message: 'Projection "{projection}" lost its read model {collection} to another runner',
    httpStatus: 409,
    kafkaCode: 90,
    retriable: false,
  },
  PROJECTION_FAILED: {
    message: 'Projection "{projection}" failed at position {position} (stream "{stream}"): {reason}',
    httpStatus: 500,
    kafkaCode: -1,
    retriable: false,
  },
  CLOCK_DRIFT: {
    message: 'Timestamp {ts} is {driftMs} ms ahead of the server clock (limit {limit} ms, maxDriftMs)',
    httpStatus: 400,
    kafkaCode: 42,
    retriable: false,
  },
  METHOD_NOT_ALLOWED: {
    message: '{method} is not allowed on {path} (allowed: {allow})',
    httpStatus: 405,
    kafkaCode: 42,
    retriable: false,
  },
  RESOURCE_EXHAUSTED: {
    message: '{what} is at its limit ({limit}); retry later',
    httpStatus: 503,
    kafkaCode: 7,
    retriable: true,
  },
  INTERNAL: {
    message: 'Internal server error (see the server log)',
    httpStatus: 500,
    kafkaCode: -1,
    retriable: true,
  },
  FRAME_TOO_LARGE: {
    message: 'Frame of {bytes} bytes exceeds the limit of {limit} bytes ({limitName})',
    httpStatus: 413,
    kafkaCode: 10,
    retriable: false,
  },
  PROTOCOL_ERROR: {
    message: 'Protocol violation: {reason}',
    httpStatus: 400,
    kafkaCode: 2,
    retriable: false,
  },
  UNSUPPORTED_VERSION: {
    message: 'Protocol version {version} is not supported (supported: {supported})',
    httpStatus: 400,
    kafkaCode: 35,
    retriable: false,
  },
  TIMEOUT: { message: 'Timed out after {ms} ms: {what}', httpStatus: 504, kafkaCode: 7, retriable: true },
  CONNECTION_LOST: { message: 'Connection lost: {reason}', httpStatus: 503, kafkaCode: 13, retriable: true },
  GATEWAY_UNREACHABLE: {
    message: 'Gateway {gateway} is not reachable (nothing answers {method}); the request was not delivered',
    httpStatus: 503,
    kafkaCode: 13,
    retriable: true,
  },
  NOT_PARTITION_LEADER: {
    message: 'This gateway does not lead the writes of collection "{collection}", partition {partition}',
    httpStatus: 503,
    kafkaCode: 6,
    retriable: true,
  },
  WRITE_OUTCOME_UNKNOWN: {
    message:
      'The write to collection "{collection}", partition {partition} may or may not have been applied: {reason}',
    httpStatus: 504,
    kafkaCode: 7,
    retriable: false,
  },
  CONNECT_FAILED: {
    message: 'Could not connect to {url}: {reason}',
    httpStatus: 503,
    kafkaCode: 13,
    retriable: true,
  },
  WRONG_ENDPOINT: {
    message: 'Could not connect to {url}: {reason}',
    httpStatus: 502,
    kafkaCode: -1,
    retriable: false,
  },
  TLS_FAILED: {
    message: 'Could not connect to {url}: {reason}',
    httpStatus: 502,
    kafkaCode: -1,
    retriable: false,
  },
  UNAUTHENTICATED: {
    message: 'Authentication failed: {reason}',
    httpStatus: 401,
    kafkaCode: 58,
    retriable: false,
  },
  AUTHENTICATION_BUSY: {
    message: 'Too many logins are being checked right now; retry shortly',
    httpStatus: 503,
    kafkaCode: 58,
    retriable: true,
  },
  TOKEN_EXPIRED: {
    message: 'The credential of "{principal}" expired; refresh it or authenticate again',
    httpStatus: 401,
    kafkaCode: 58,
    retriable: false,
  },
  ACCESS_REVOKED: {
    message: 'The access of "{principal}" was revoked',
    httpStatus: 401,
    kafkaCode: 58,
    retriable: false,
  },
  TOPIC_ACCESS_DENIED: {
    message: 'Principal "{principal}" may not {operation} topic "{topic}"',
    httpStatus: 403,
    kafkaCode: 29,
    retriable: false,
  },
  COLLECTION_ACCESS_DENIED: {
    message: 'Principal "{principal}" may not {operation} collection "{collection}"',
    httpStatus: 403,
    kafkaCode: 29,
    retriable: false,
  },
  STREAM_ACCESS_DENIED: {
    message: 'Principal "{principal}" may not {operation} stream "{stream}"',
    httpStatus: 403,
    kafkaCode: 29,
    retriable: false,
  },
  TRANSACTIONAL_ID_ACCESS_DENIED: {
    message: 'Principal "{principal}" may not {operation} transactional id "{transactionalId}"',
    httpStatus: 403,
    kafkaCode: 53,
    retriable: false,
  },
  GROUP_ACCESS_DENIED: {
    message: 'Principal "{principal}" may not {operation} group "{group}"',
    httpStatus: 403,
    kafkaCode: 30,
    retriable: false,
  },
  CLUSTER_ACCESS_DENIED: {
    message: 'Principal "{principal}" may not {operation} the cluster',
    httpStatus: 403,
    kafkaCode: 31,
    retriable: false,
  },
  ORIGIN_NOT_ALLOWED: {
    message: 'Origin {origin} may not use this server (allowedOrigins)',
    httpStatus: 403,
    kafkaCode: 31,
    retriable: false,
  },
  HOST_NOT_ALLOWED: {
    message: 'This server does not answer to the host name "{host}" (allowedHosts)',
    httpStatus: 403,
    kafkaCode: 31,
    retriable: false,
  },
  UNSUPPORTED_MEDIA_TYPE: {
    message: 'A {method} request needs Content-Type: application/json, not {contentType}',
    httpStatus: 415,
    kafkaCode: 42,
    retriable: false,
  },
  SHUTTING_DOWN: { message: 'The server is shutting down', httpStatus: 503, kafkaCode: 6, retriable: true },
  LOG_CLOSED: { message: 'The log is closed', httpStatus: 503, kafkaCode: 6, retriable: true },
  STORAGE_ERROR: { message: 'Storage failure: {reason}', httpStatus: 500, kafkaCode: 56, retriable: true },
  REQUEST_TIMEOUT: {
    message: 'The request was not received in time: {reason} ({limitName} = {limit} ms)',
    httpStatus: 408,
    kafkaCode: 7,
    retriable: true,
  },
  INVALID_SETTING: {
    message: 'Invalid setting {setting}: {reason}',
    httpStatus: 500,
    kafkaCode: -1,
    retriable: false,
  },
  QUOTA_EXCEEDED: {
    message: 'Principal "{principal}" is at its quota of {limit} {what} (quotas in the auth file)',
    httpStatus: 429,
    kafkaCode: 89,
    retriable: true,
  },
  SINK_RECORD_INVALID: {
    message: 'Sink "{connector}" cannot write {topic}/{partition}:{offset}: {reason}',
    httpStatus: 422,
    kafkaCode: -1,
    retriable: false,
  },
  SINK_TARGET_REFUSED: {
    message: 'Sink "{connector}": the target refused a write: {reason}',
    httpStatus: 502,
    kafkaCode: -1,
    retriable: false,
  },
  SYNC_GROUP_MISMATCH: {
    message: 'Sync group "{group}", step {step}: {reason}',
    httpStatus: 409,
    kafkaCode: 42,
    retriable: false,
  },
  SYNC_GROUP_NOT_MEMBER: {
    message: 'Member "{memberId}" is not in sync group "{group}": {reason}',
    httpStatus: 409,
    kafkaCode: 25,
    retriable: false,
  },
  SYNC_GROUP_STEP_ABORTED: {
    message: 'Sync group "{group}" aborted attempt {attempt} of step {step}: {reason}',
    httpStatus: 409,
    kafkaCode: 27,
    retriable: true,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export type ErrorDetails = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** The one error type Tributary throws for operating errors; `code` is stable across versions. */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly retriable: boolean;
  readonly httpStatus: number;
  readonly kafkaCode: number;

  constructor(code: ErrorCode, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    super(formatMessage(spec.message, details), options);
    this.name = 'TributaryError';
    this.code = code;
    this.details = details;
    this.retriable = spec.retriable;
    this.httpStatus = spec.httpStatus;
    this.kafkaCode = spec.kafkaCode;
  }
}

function formatMessage(template: string, details: ErrorDetails): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = details[name];
    return value === undefined ? whole : String(value);
  });
}

export function isTributaryError(error: unknown, code?: ErrorCode): error is TributaryError {
  return error instanceof TributaryError && (code === undefined || error.code === code);
}

/** Stored data found damaged: a partition or a topic kept offline until an operator repairs it. */
export function isDamageError(error: unknown): error is TributaryError {
  return isTributaryError(error, 'PARTITION_DAMAGED') || isTributaryError(error, 'TOPIC_DAMAGED');
}
