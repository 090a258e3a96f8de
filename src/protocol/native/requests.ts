/**
 * @module protocol/native/requests
 * The registry of request types: for each, how its parameters are read (server side) and how its
 * result is read (client side). Adding a request means adding one entry here, its types in
 * `types.ts` and a section in `docs/protocol.md`.
 */
import { TributaryError } from '../../errors.js';
import { ATOMIC_REQUESTS, readIsolation } from './atomic.js';
import { COLLECTION_REQUESTS } from './collections.js';
import { Fields } from './fields.js';
import { NATIVE_PROTOCOL_LIMITS as LIMITS } from './limits.js';
import {
  fastRecordInput,
  PARTITION_MAX,
  RANGES,
  readCommittedOffset,
  readName,
  readProduceRecord,
  readRecordInput,
  readRecords,
  readStartPosition,
  readTopicConfig,
  readTopicDescription,
  readTopicName,
  readTopicPartition,
  readWireAuth,
} from './shapes.js';
import { STREAM_REQUESTS } from './streams.js';
import { SYNC_GROUP_REQUESTS } from './sync-group.js';
import type { RequestParams, RequestResult, RequestType, WireFormat } from './types.js';

interface RequestSpec<T extends RequestType> {
  readonly params: (fields: Fields) => RequestParams<T>;
  readonly result: (fields: Fields) => RequestResult<T>;
}

const { U32, OFFSET, PARTITION } = RANGES;
const none = (): Record<string, never> => ({});

export const REQUESTS: { readonly [T in RequestType]: RequestSpec<T> } = {
  createTopic: {
    params: (f) => {
      const config = f.optionalMap('config');
      const name = readTopicName(f, 'name');
      return config === undefined ? { name } : { name, config: readTopicConfig(config, false) };
    },
    result: (f) => ({ topic: readTopicDescription(f.map('topic')) }),
  },
  deleteTopic: { params: (f) => ({ name: readTopicName(f, 'name') }), result: none },
  listTopics: {
    params: none,
    result: (f) => ({
      topics: f.list('topics', Number.MAX_SAFE_INTEGER, (i) => readTopicDescription(i.map())),
    }),
  },
  describeTopic: {
    params: (f) => ({ name: readTopicName(f, 'name') }),
    result: (f) => ({ topic: readTopicDescription(f.map('topic')) }),
  },
  produce: {
    params: (f) => ({
      topic: readTopicName(f),
      records: f.list('records', LIMITS.recordsPerRequestMax, readProduceRecord, { min: 1 }),
    }),
    result: (f) => ({
      offsets: f.list('offsets', LIMITS.recordsPerRequestMax, (item) => {
        const o = item.map();
        return { partition: o.int('partition', PARTITION), offset: o.int('offset', OFFSET) };
      }),
    }),
  },
  appendBatch: { params: readAppendBatch, result: readAppendResult },
  initProducer: {
    params: none,
    result: (f) => ({
      producerId: f.int('producerId', { min: 0 }),
      producerEpoch: f.int('producerEpoch', { min: 0 }),
    }),
  },
  fetch: {
    params: (f) => {
      const maxRecords = f.optionalInt('maxRecords', { min: 1, max: LIMITS.fetchRecordsMax });
      const maxBytes = f.optionalInt('maxBytes', { min: 1, max: 0xffff_ffff });
      return {
        topic: readTopicName(f),
        partition: f.int('partition', PARTITION),
        offset: f.int('offset', OFFSET),
        ...(maxRecords === undefined ? {} : { maxRecords }),
        ...(maxBytes === undefined ? {} : { maxBytes }),
        ...readIsolation(f),
      };
    },
    result: (f) => ({ records: readRecords(f, 'records') }),
  },
  offsets: {
    params: (f) => ({ topic: readTopicName(f), partition: f.int('partition', PARTITION) }),
    result: (f) => {
      const lastStable = f.optionalInt('lastStable', OFFSET);
      return {
        earliest: f.int('earliest', OFFSET),
        next: f.int('next', OFFSET),
        ...(lastStable === undefined ? {} : { lastStable }),
      };
    },
  },
  subscribe: {
    params: (f) => ({
      topic: readTopicName(f),
      partition: f.int('partition', PARTITION),
      from: readStartPosition(f, 'from'),
      credit: f.int('credit', { min: 0, max: LIMITS.creditMax }),
      ...readIsolation(f),
    }),
    result: (f) => ({ sub: f.int('sub', U32), position: f.int('position', OFFSET) }),
  },
  credit: {
    params: (f) => ({ sub: f.int('sub', U32), n: f.int('n', { min: 1, max: LIMITS.creditMax }) }),
    result: none,
  },
  unsubscribe: { params: (f) => ({ sub: f.int('sub', U32) }), result: none },
  joinGroup: {
    params: (f) => {
      const sessionTimeoutMs = f.optionalInt('sessionTimeoutMs', { min: 1, max: 0x7fff_ffff });
      return {
        groupId: readName(f, 'groupId'),
        topics: f.list(
          'topics',
          LIMITS.listLengthMax,
          (i) => i.string({ min: 1, max: LIMITS.topicNameLengthMax }),
          {
            min: 1,
          },
        ),
        ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
      };
    },
    result: (f) => ({ memberId: readName(f, 'memberId') }),
  },
  heartbeat: { params: readMember, result: none },
  commit: {
    params: (f) => ({
      ...readMember(f),
      generation: f.int('generation', { min: 0 }),
      offsets: f.list('offsets', LIMITS.listLengthMax, readCommittedOffset),
    }),
    result: none,
  },
  fetchOffsets: {
    params: (f) => ({
      groupId: readName(f, 'groupId'),
      partitions: f.list('partitions', LIMITS.listLengthMax, readTopicPartition),
    }),
    result: (f) => ({ offsets: f.list('offsets', LIMITS.listLengthMax, readCommittedOffset) }),
  },
  leaveGroup: { params: readMember, result: none },
  authenticate: {
    params: (f) => ({ auth: readWireAuth(f.map('auth')) }),
    result: (f) => ({
      principal: readName(f, 'principal'),
      expiresAt: f.raw('expiresAt') === undefined ? null : f.nullableInt('expiresAt', RANGES.TIMESTAMP),
    }),
  },
  ...COLLECTION_REQUESTS,
  ...SYNC_GROUP_REQUESTS,
  ...ATOMIC_REQUESTS,
  ...STREAM_REQUESTS,
};

export const REQUEST_TYPES = Object.keys(REQUESTS) as readonly RequestType[];

export function isRequestType(type: string): type is RequestType {
  return Object.hasOwn(REQUESTS, type);
}

/** Reads the `ok` value of a response to a request of `type`; `PROTOCOL_ERROR` if it does not fit. */
export function decodeResult<T extends RequestType>(
  type: T,
  ok: unknown,
  format: WireFormat,
): RequestResult<T> {
  const spec = REQUESTS[type] as RequestSpec<T>;
  return spec.result(Fields.of(ok, 'ok', format));
}

function readMember(f: Fields): { groupId: string; memberId: string } {
  return { groupId: readName(f, 'groupId'), memberId: readName(f, 'memberId') };
}

function readAppendBatch(f: Fields): RequestParams<'appendBatch'> {
  const producerFields = ['producerId', 'producerEpoch', 'baseSequence'].filter((n) => f.has(n));
  if (producerFields.length !== 0 && producerFields.length !== 3) {
    throw new TributaryError('PROTOCOL_ERROR', {
      reason: 'fields "producerId", "producerEpoch" and "baseSequence" come together or not at all',
      field: 'producerId',
    });
  }
  const expectedLastOffset = f.optionalInt('expectedLastOffset', { min: -1 });
  const base = {
    topic: readTopicName(f),
    partition: f.int('partition', { min: 0, max: PARTITION_MAX }),
    records: f.fastList('records', LIMITS.recordsPerRequestMax, fastRecordInput, readRecordInput, {
      min: 1,
    }),
    ...(expectedLastOffset === undefined ? {} : { expectedLastOffset }),
  };
  if (producerFields.length === 0) return base;
  return {
    ...base,
    producerId: f.int('producerId', { min: 0 }),
    producerEpoch: f.int('producerEpoch', { min: 0, max: 0x7fff }),
    baseSequence: f.int('baseSequence', { min: 0, max: 0x7fff_ffff }),
  };
}

function readAppendResult(f: Fields): RequestResult<'appendBatch'> {
  return {
    baseOffset: f.int('baseOffset', OFFSET),
    lastOffset: f.int('lastOffset', OFFSET),
    timestamp: f.int('timestamp', { min: Number.MIN_SAFE_INTEGER }),
    duplicate: f.boolean('duplicate'),
  };
}
