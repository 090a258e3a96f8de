/**
 * Sample event-stream requests and results, spread into the codec tests' samples (`samples.ts`).
 */
import type { RequestFrame, RequestResult, StreamRequestMap } from '../types.js';

type StreamType = keyof StreamRequestMap;

const EVENT = {
  stream: 'order-17',
  revision: 2 ** 33,
  type: 'OrderPlaced',
  data: { total: 30, lines: [{ sku: 'a', qty: 2 }], note: null },
  id: '0b7e4d1c-6a1f-4f43-9a9e-3c1f2b5d8e01',
  metadata: { user: 'ann' },
  position: 2 ** 40,
  time: 1_712_345_678_901,
};

const GROUP_INFO = {
  name: 'billing',
  target: { category: 'order' },
  retriesMax: 5,
  ackTimeoutMs: 30_000,
  checkpoint: -1,
  pending: 3,
  inFlight: 1,
  parked: 0,
};

export const STREAM_SAMPLE_REQUESTS: { readonly [T in StreamType]: RequestFrame<T> } = {
  streamAppend: {
    type: 'streamAppend',
    id: 71,
    stream: 'order-17',
    events: [
      { type: 'OrderPlaced', data: { total: 30 }, id: 'o17-placed', metadata: { user: 'ann' } },
      { type: 'Note', data: 'plain text' },
    ],
    expectedRevision: 'no_stream',
  },
  streamAppendMany: {
    type: 'streamAppendMany',
    id: 72,
    appends: [
      { stream: 'account-a', events: [{ type: 'Debited', data: 5 }], expectedRevision: 2 ** 33 },
      { stream: 'account-b', events: [{ type: 'Credited', data: [5, true] }] },
    ],
  },
  streamRead: { type: 'streamRead', id: 73, stream: 'order-17', from: 4, limit: 10, direction: 'backward' },
  streamReadAll: { type: 'streamReadAll', id: 74, after: -1, limit: 500, category: 'order', waitMs: 25_000 },
  streamRevision: { type: 'streamRevision', id: 75, stream: 'order-17' },
  streamMetadataSet: {
    type: 'streamMetadataSet',
    id: 76,
    stream: 'order-17',
    metadata: { maxAgeMs: 86_400_000, maxCount: null, truncateBefore: 2 ** 33 },
    expectedRevision: 'any',
  },
  streamMetadataGet: { type: 'streamMetadataGet', id: 77, stream: 'order-17' },
  streamDelete: { type: 'streamDelete', id: 78, stream: 'order-17', expectedRevision: 4 },
  streamSnapshotSave: {
    type: 'streamSnapshotSave',
    id: 79,
    stream: 'order-17',
    revision: 2 ** 33,
    state: { open: true, lines: [1, 2], note: null },
  },
  streamSnapshotLoad: { type: 'streamSnapshotLoad', id: 80, stream: 'order-17' },
  streamGroupCreate: {
    type: 'streamGroupCreate',
    id: 81,
    group: 'billing',
    target: { category: 'order' },
    after: -1,
    retriesMax: 5,
    ackTimeoutMs: 30_000,
  },
  streamGroupDelete: { type: 'streamGroupDelete', id: 82, group: 'billing' },
  streamGroupInfo: { type: 'streamGroupInfo', id: 83, group: 'billing' },
  streamGroupRead: {
    type: 'streamGroupRead',
    id: 84,
    group: 'billing',
    member: 'm-1',
    max: 50,
    waitMs: 10_000,
  },
  streamGroupAck: {
    type: 'streamGroupAck',
    id: 85,
    group: 'billing',
    member: 'm-1',
    positions: [3, 2 ** 40],
  },
  streamGroupNack: {
    type: 'streamGroupNack',
    id: 86,
    group: 'billing',
    member: 'm-1',
    positions: [4],
    action: 'park',
    reason: 'bad address',
  },
  streamGroupParked: { type: 'streamGroupParked', id: 87, group: 'billing', after: 9, limit: 10 },
};

export const STREAM_SAMPLE_RESULTS: { readonly [T in StreamType]: RequestResult<T> } = {
  streamAppend: { revision: 1, position: 2 ** 40 },
  streamAppendMany: {
    results: [
      { revision: 0, position: 0 },
      { revision: -1, position: -1 },
    ],
  },
  streamRead: { events: [EVENT] },
  streamReadAll: {
    events: [EVENT, { ...EVENT, revision: 0, position: 3, data: 'x', metadata: {} }],
    head: 2 ** 40,
  },
  streamRevision: { revision: -1 },
  streamMetadataSet: { revision: 0, position: 2 ** 40 },
  streamMetadataGet: { metadata: { maxCount: 10, truncateBefore: 3 }, deleted: false, revision: 1 },
  streamDelete: { position: -1 },
  streamSnapshotSave: { position: 12 },
  streamSnapshotLoad: {
    snapshot: { revision: 4, state: [1, 'a', { b: null }], position: 9, time: 1_712_345_678_901 },
  },
  streamGroupCreate: GROUP_INFO,
  streamGroupDelete: {},
  streamGroupInfo: { ...GROUP_INFO, target: { all: true } },
  streamGroupRead: { deliveries: [{ event: EVENT, retries: 2 }] },
  streamGroupAck: {},
  streamGroupNack: {},
  streamGroupParked: { parked: [{ event: EVENT, reason: 'bad address', retries: 5, parkedAt: 12 }] },
};
