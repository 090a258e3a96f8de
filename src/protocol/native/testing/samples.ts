/**
 * Sample frames of every type, shared by the codec tests and the fuzz tests (mutated seeds).
 */
import type { ClientFrame, RequestFrame, RequestResult, RequestType, ServerFrame } from '../types.js';
import { STREAM_SAMPLE_REQUESTS, STREAM_SAMPLE_RESULTS } from './streams-samples.js';
import { SYNC_GROUP_SAMPLE_REQUESTS, SYNC_GROUP_SAMPLE_RESULTS } from './sync-group-samples.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const TOPIC = {
  name: 'orders',
  config: {
    partitions: 3,
    fsync: 'interval' as const,
    fsyncIntervalMs: 100,
    retentionMs: null,
    retentionBytes: 1_000_000,
    compact: false,
    tombstoneRetentionMs: 86_400_000,
    segmentBytes: 67_108_864,
    segmentMs: 604_800_000,
  },
  partitions: [
    { partition: 0, earliest: 0, next: 12, sizeBytes: 4096 },
    { partition: 1, earliest: 3, next: 2 ** 40, sizeBytes: 0 },
  ],
};

export const SAMPLE_REQUESTS: { readonly [T in RequestType]: RequestFrame<T> } = {
  createTopic: { type: 'createTopic', id: 1, name: 'orders', config: { partitions: 3, retentionMs: null } },
  deleteTopic: { type: 'deleteTopic', id: 2, name: 'orders' },
  listTopics: { type: 'listTopics', id: 3 },
  describeTopic: { type: 'describeTopic', id: 4, name: 'orders' },
  produce: {
    type: 'produce',
    id: 5,
    topic: 'orders',
    records: [
      { key: bytes('k'), value: bytes('v'), headers: [{ key: 'h', value: bytes('x') }], partition: 2 },
      { key: null, value: null, timestamp: 1_712_345_678_901 },
    ],
  },
  appendBatch: {
    type: 'appendBatch',
    id: 6,
    topic: 'orders',
    partition: 1,
    records: [{ key: null, value: bytes('hello') }],
    producerId: 7,
    producerEpoch: 0,
    baseSequence: 42,
  },
  initProducer: { type: 'initProducer', id: 7 },
  fetch: {
    type: 'fetch',
    id: 8,
    topic: 'orders',
    partition: 0,
    offset: 2 ** 35,
    maxRecords: 10,
    maxBytes: 65536,
    isolation: 'committed',
  },
  offsets: { type: 'offsets', id: 9, topic: 'orders', partition: 0 },
  subscribe: {
    type: 'subscribe',
    id: 10,
    topic: 'orders',
    partition: 0,
    from: { offset: 5 },
    credit: 100,
    isolation: 'committed',
  },
  credit: { type: 'credit', id: 11, sub: 3, n: 50 },
  unsubscribe: { type: 'unsubscribe', id: 12, sub: 3 },
  joinGroup: {
    type: 'joinGroup',
    id: 13,
    groupId: 'g',
    topics: ['orders', 'users'],
    sessionTimeoutMs: 10_000,
  },
  heartbeat: { type: 'heartbeat', id: 14, groupId: 'g', memberId: 'm-1' },
  commit: {
    type: 'commit',
    id: 15,
    groupId: 'g',
    memberId: 'm-1',
    generation: 3,
    offsets: [{ topic: 'orders', partition: 0, offset: 10 }],
  },
  fetchOffsets: {
    type: 'fetchOffsets',
    id: 16,
    groupId: 'g',
    partitions: [{ topic: 'orders', partition: 1 }],
  },
  leaveGroup: { type: 'leaveGroup', id: 4_294_967_295, groupId: 'g', memberId: 'm-1' },
  authenticate: { type: 'authenticate', id: 40, auth: { token: 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln' } },
  commitAtomically: {
    type: 'commitAtomically',
    id: 42,
    appends: [
      { topic: 'orders', partition: 1, records: [{ key: bytes('k'), value: bytes('v') }] },
      { topic: 'audit', records: [{ key: null, value: bytes('a'), partition: 0 }] },
    ],
    offsets: { groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: 7 }] },
  },
  createCollection: {
    type: 'createCollection',
    id: 17,
    name: 'accounts',
    mode: 'strong',
    partitions: 1,
    fsync: 'always',
  },
  deleteCollection: { type: 'deleteCollection', id: 18, name: 'accounts' },
  listCollections: { type: 'listCollections', id: 19 },
  describeCollection: { type: 'describeCollection', id: 20, name: 'accounts' },
  collectionGet: {
    type: 'collectionGet',
    id: 21,
    collection: 'accounts',
    key: 'alice',
    consistency: 'linearizable',
  },
  collectionPut: {
    type: 'collectionPut',
    id: 22,
    collection: 'accounts',
    key: 'alice',
    value: { balance: 10, tags: ['a', null], nested: { ok: true, ratio: 0.5 } },
    ifVersion: -1,
  },
  collectionPatch: {
    type: 'collectionPatch',
    id: 23,
    collection: 'accounts',
    key: 'alice',
    fields: { name: 'Alice' },
  },
  collectionDelete: {
    type: 'collectionDelete',
    id: 24,
    collection: 'accounts',
    key: 'alice',
    ifVersion: 2 ** 40,
  },
  collectionIncrement: {
    type: 'collectionIncrement',
    id: 25,
    collection: 'accounts',
    key: 'alice',
    field: 'balance',
    by: -2.5,
  },
  collectionTransact: {
    type: 'collectionTransact',
    id: 26,
    collection: 'accounts',
    ops: [
      { op: 'increment', key: 'alice', field: 'balance', by: -5 },
      { op: 'increment', key: 'bob', field: 'balance', by: 5 },
    ],
    conditions: [
      { key: 'alice', field: 'balance', op: '>=', value: 0, when: 'after' },
      { key: 'bob', version: 7 },
    ],
  },
  collectionApply: {
    type: 'collectionApply',
    id: 27,
    collection: 'likes',
    ops: [{ kind: 'put', key: 'p', fields: { n: 1 }, ts: '0migo2yo0-00000-tab-1', node: 'tab-1' }],
  },
  collectionQuery: {
    type: 'collectionQuery',
    id: 28,
    collection: 'accounts',
    query: { where: [{ field: 'balance', op: '<', value: 5 }], limit: 10 },
    consistency: 'local',
  },
  collectionSubscribe: {
    type: 'collectionSubscribe',
    id: 29,
    collection: 'accounts',
    query: { keyPrefix: 'a' },
    from: [{ partition: 0, offset: 2 ** 33 }],
  },
  collectionUnsubscribe: { type: 'collectionUnsubscribe', id: 30, sub: 4 },
  ...SYNC_GROUP_SAMPLE_REQUESTS,
  ...STREAM_SAMPLE_REQUESTS,
};

const RECORD = {
  offset: 2 ** 33,
  timestamp: 1_712_345_678_901,
  key: bytes('k'),
  value: null,
  headers: [{ key: 'trace', value: bytes('abc') }],
};

const COLLECTION = {
  name: 'accounts',
  mode: 'strong' as const,
  partitions: 1,
  fsync: 'always' as const,
  topic: '__collection.accounts',
  createdAt: 1_712_345_678_901,
};
const STATE = { fields: { n: { lww: { ts: '0migo2yo0-00000-tab-1', value: 1 } } } };
const WRITE = { key: 'alice', partition: 0, version: 12, value: { balance: 5 } };
const ITEM = { key: 'alice', value: { balance: 5 }, version: 2 ** 34, partition: 0, state: STATE };

export const SAMPLE_RESULTS: { readonly [T in RequestType]: RequestResult<T> } = {
  createTopic: { topic: TOPIC },
  deleteTopic: {},
  listTopics: { topics: [TOPIC] },
  describeTopic: { topic: TOPIC },
  produce: { offsets: [{ partition: 2, offset: 0 }] },
  appendBatch: { baseOffset: 10, lastOffset: 12, timestamp: 1_712_345_678_901, duplicate: true },
  initProducer: { producerId: 9, producerEpoch: 0 },
  fetch: { records: [RECORD] },
  offsets: { earliest: 0, next: 99, lastStable: 97 },
  subscribe: { sub: 1, position: 17 },
  credit: {},
  unsubscribe: {},
  joinGroup: { memberId: 'm-1' },
  heartbeat: {},
  commit: {},
  fetchOffsets: { offsets: [{ topic: 'orders', partition: 1, offset: 4 }] },
  leaveGroup: {},
  authenticate: { principal: 'alice', expiresAt: 1_712_345_678_901 },
  commitAtomically: {
    appends: [
      { topic: 'orders', offsets: [{ partition: 1, offset: 2 ** 34 }] },
      { topic: 'audit', offsets: [{ partition: 0, offset: 0 }] },
    ],
  },
  createCollection: { collection: COLLECTION },
  deleteCollection: {},
  listCollections: { collections: [COLLECTION] },
  describeCollection: { collection: COLLECTION },
  collectionGet: { key: 'alice', value: null, version: -1, partition: 0 },
  collectionPut: WRITE,
  collectionPatch: { ...WRITE, state: STATE },
  collectionDelete: { key: 'alice', partition: 0, version: 13, value: null },
  collectionIncrement: WRITE,
  collectionTransact: { partition: 0, writes: [WRITE, WRITE] },
  collectionApply: { writes: [{ ...WRITE, state: STATE }] },
  collectionQuery: { items: [ITEM], offsets: [{ partition: 0, offset: 2 ** 35 }] },
  collectionSubscribe: { sub: 5, resumed: true },
  collectionUnsubscribe: {},
  ...SYNC_GROUP_SAMPLE_RESULTS,
  ...STREAM_SAMPLE_RESULTS,
};

export const SAMPLE_CLIENT_FRAMES: readonly ClientFrame[] = [
  { type: 'hello', protocol: 1, client: 'test/1.0' },
  { type: 'hello', protocol: 1, client: 'test/1.0', resume: { sessionId: 's-1' } },
  { type: 'hello', protocol: 1, client: 'test/1.0', auth: { username: 'alice', password: 'pw' } },
  { type: 'hello', protocol: 1, client: 'test/1.0', auth: { apiKey: 'k-123' } },
  { type: 'hello', protocol: 1, client: 'test/1.0', auth: { token: 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln' } },
  { type: 'authenticate', id: 41, auth: { username: 'alice', password: '' } },
  { type: 'ping', nonce: 5 },
  { type: 'pong' },
  ...Object.values(SAMPLE_REQUESTS),
];

export const SAMPLE_SERVER_FRAMES: readonly ServerFrame[] = [
  {
    type: 'welcome',
    protocol: 1,
    server: 'tributary/0.1.0',
    sessionId: 's-1',
    maxFrameBytes: 1_048_576,
    heartbeatMs: 15_000,
  },
  { type: 'response', id: 5, ok: { offsets: [{ partition: 0, offset: 3 }] } },
  {
    type: 'response',
    id: 6,
    error: {
      code: 'TOPIC_NOT_FOUND',
      message: 'Topic "x" does not exist',
      details: { topic: 'x' },
      retriable: false,
    },
  },
  { type: 'delivery', sub: 1, topic: 'orders', partition: 0, records: [RECORD], highWatermark: 2 ** 33 + 1 },
  {
    type: 'assignment',
    groupId: 'g',
    memberId: 'm',
    generation: 2,
    partitions: [{ topic: 'orders', partition: 0 }],
  },
  {
    type: 'subscriptionClosed',
    sub: 1,
    error: {
      code: 'TOPIC_NOT_FOUND',
      message: 'Topic "orders" does not exist',
      details: { topic: 'orders' },
      retriable: false,
    },
  },
  {
    type: 'collectionSnapshot',
    sub: 5,
    items: [ITEM],
    offsets: [{ partition: 0, offset: 3 }],
    reset: false,
    done: true,
  },
  {
    type: 'collectionChanges',
    sub: 5,
    changes: [
      { type: 'added', key: 'bob', partition: 0, version: 3, value: { balance: 1 } },
      { type: 'changed', key: 'alice', partition: 0, version: 4, value: { balance: 2 }, state: STATE },
      { type: 'removed', key: 'carol', partition: 0, version: 5 },
    ],
    offsets: [{ partition: 0, offset: 6 }],
  },
  { type: 'error', error: { code: 'PROTOCOL_ERROR', message: 'x', details: {}, retriable: false } },
  { type: 'ping' },
  { type: 'pong', nonce: 1 },
  {
    type: 'welcome',
    protocol: 1,
    server: 'tributary/0.1.0',
    sessionId: 's-2',
    maxFrameBytes: 1_048_576,
    heartbeatMs: 15_000,
    principal: 'alice',
    expiresAt: 1_712_345_678_901,
  },
];

/** Replaces every Uint8Array subclass (Node Buffers from msgpackr) by a plain Uint8Array, for deep equality. */
export function plain<T>(value: T): T {
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  if (Array.isArray(value)) return value.map(plain) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
  }
  return value;
}
