/**
 * @module sync/limits
 * The named limits and defaults of live collections, and the names of the topics they live in.
 * Every one is listed in `docs/collections.md`.
 */
import { TributaryError } from '../errors.js';

export const SYNC_LIMITS = {
  /** Longest collection name (the data topic name adds `COLLECTION_TOPIC_PREFIX`). */
  collectionNameLengthMax: 200,
  /** Longest document key in bytes of UTF-8 (also `CRDT_LIMITS.keyLengthMax` characters). */
  keyBytesMax: 1024,
  /** Largest encoded record of one document (its whole state). */
  documentBytesMax: 1024 * 1024,
  /** Most writes in one transaction or one `apply` of CRDT operations. */
  opsPerTransactionMax: 1_000,
  /** Most conditions in one transaction or one query. */
  conditionsMax: 100,
  /** Most items one query returns (`limit` above it is an error). */
  queryLimitMax: 100_000,
  /** Most commands one partition sequencer puts in one append (one durable batch). */
  commandsPerBatchMax: 1_000,
  /**
   * Longest wait of a partition sequencer, before it appends a batch, for the writers its last
   * batch answered to send their next writes (group commit), when its last append took at least
   * twice as long (a slow fdatasync): one append for them all instead of two half-full ones.
   */
  batchGatherMs: 1,
  /** Attempts of one batch when another writer appended first (`EXPECTED_OFFSET_MISMATCH`). */
  appendAttemptsMax: 20,
  /** Changes per partition kept in memory for exact resumes; older resume points get a fresh snapshot. */
  changeJournalMax: 10_000,
  /** Queued changes of one subscription before it is reset to a fresh snapshot (slow consumer). */
  subscriberQueueMax: 10_000,
  /** Decoded documents a partition keeps in memory when its documents live on disk (LMDB); the rest are read from disk. */
  cachedDocumentsMax: 50_000,
  /**
   * Estimated heap bytes of the decoded documents a partition keeps in memory (LMDB): with the
   * count above, what bounds a collection's memory whatever its size.
   */
  cachedDocumentBytes: 8 * 1024 * 1024,
  /** Documents a partition writes to its state before it commits them to disk early (between periodic commits). */
  uncommittedDocumentsMax: 20_000,
  /** Largest `maxDriftMs` default: how far ahead of the server clock a client's HLC timestamp may be. */
  maxDriftMsDefault: 60_000,
} as const;

export const SYNC_DEFAULTS = {
  /** Period of state commits to disk (only partitions that changed are written). */
  checkpointIntervalMs: 10_000,
  /** How long a linearizable read waits for local state to catch up before `TIMEOUT`. */
  readWaitMs: 10_000,
} as const;

/**
 * Collections live in internal (`__`) topics, hidden from topic lists and closed to users; the
 * sync layer reaches them through `broker.forSystem()`.
 */
export const COLLECTION_TOPIC_PREFIX = '__collection.';
/** Compacted topic holding one record per collection (its description; a tombstone once deleted). */
export const COLLECTIONS_META_TOPIC = '__collections';

const NAME = /^[A-Za-z0-9._-]+$/;

/** Checks a collection name: 1–200 of letters, digits, `.`, `_`, `-` (`INVALID_ARGUMENT`). */
export function checkCollectionName(name: unknown): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > SYNC_LIMITS.collectionNameLengthMax ||
    !NAME.test(name) ||
    name === '.' ||
    name === '..'
  ) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `collection name must be 1 to ${SYNC_LIMITS.collectionNameLengthMax} letters, digits, ".", "_" or "-", got ${JSON.stringify(String(name).slice(0, 80))}`,
    });
  }
  return name;
}

export function collectionTopic(name: string): string {
  return `${COLLECTION_TOPIC_PREFIX}${name}`;
}

const ENCODER = new TextEncoder();

/** Checks a document key: a non-empty string of at most `keyBytesMax` UTF-8 bytes. */
export function checkKey(key: unknown, path = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: `${path} must be a non-empty string` });
  }
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: only a key near the bound is encoded to count them.
  if (
    key.length > SYNC_LIMITS.keyBytesMax ||
    (key.length * 3 > SYNC_LIMITS.keyBytesMax && ENCODER.encode(key).byteLength > SYNC_LIMITS.keyBytesMax)
  ) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `${path} is longer than ${SYNC_LIMITS.keyBytesMax} bytes`,
    });
  }
  return key;
}
