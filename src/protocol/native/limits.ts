/**
 * @module protocol/native/limits
 * The version and the named limits of the native WebSocket protocol. Every limit here is also
 * listed in `docs/protocol.md`; a peer that exceeds one gets a typed error, never a crash.
 */

/** The protocol version this code speaks (`hello.protocol`, `welcome.protocol`). */
export const PROTOCOL_VERSION = 1;

/** Versions a server accepts in `hello`. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

export const NATIVE_PROTOCOL_LIMITS = {
  /** Largest frame (one WebSocket message) a server accepts by default; announced in `welcome`. */
  maxFrameBytesDefault: 1024 * 1024,
  /** Request ids are integers from 0 to this (uint32). */
  requestIdMax: 0xffff_ffff,
  /** Longest `hello.client` and `welcome.server` string. */
  clientNameLengthMax: 256,
  /** Longest group id, member id, session id and header key. */
  nameLengthMax: 1024,
  /** Longest topic name (Kafka's limit; the broker checks the characters). */
  topicNameLengthMax: 249,
  /** Most records in one `produce` or `appendBatch` request. */
  recordsPerRequestMax: 100_000,
  /** Most headers on one record. */
  headersPerRecordMax: 1_000,
  /** Most topics in one `joinGroup`, and partitions in one `commit` or `fetchOffsets`. */
  listLengthMax: 10_000,
  /** Largest credit one `subscribe` or `credit` request may carry, and most a subscription may hold. */
  creditMax: 100_000,
  /** Largest `fetch.maxRecords`. */
  fetchRecordsMax: 10_000,
  /** Longest credential string in `hello.auth` / `authenticate.auth` (a token, key, user name or password). */
  credentialLengthMax: 16 * 1024,
} as const;
