/**
 * Sample sync-group requests and results, spread into the codec tests' samples (`samples.ts`).
 */
import type { RequestFrame, RequestResult, SyncGroupRequestMap } from '../types.js';

type SyncGroupType = keyof SyncGroupRequestMap;

const floats = (values: readonly number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

export const SYNC_GROUP_SAMPLE_REQUESTS: { readonly [T in SyncGroupType]: RequestFrame<T> } = {
  syncGroupJoin: { type: 'syncGroupJoin', id: 51, group: 'trainer', minMembers: 3, stepTimeoutMs: 30_000 },
  syncGroupContribute: {
    type: 'syncGroupContribute',
    id: 52,
    group: 'trainer',
    memberId: 'sg-1',
    step: 2 ** 33,
    attempt: 1,
    op: 'mean',
    dtype: 'float32',
    lengths: [2, 1],
    byteOffset: 0,
    data: floats([1.5, -2, 3]),
  },
  syncGroupCheckpoint: {
    type: 'syncGroupCheckpoint',
    id: 53,
    group: 'trainer',
    memberId: 'sg-1',
    step: 40,
    dtype: 'float64',
    lengths: [1],
    byteOffset: 0,
    data: new Uint8Array(new Float64Array([0.25]).buffer),
  },
  syncGroupLeave: { type: 'syncGroupLeave', id: 54, group: 'trainer', memberId: 'sg-1' },
};

export const SYNC_GROUP_SAMPLE_RESULTS: { readonly [T in SyncGroupType]: RequestResult<T> } = {
  syncGroupJoin: {
    memberId: 'sg-1',
    generation: 3,
    rank: 1,
    size: 3,
    step: 17,
    topic: 'sync-group.trainer',
    replayFrom: 12,
    replayTo: 2 ** 34,
  },
  syncGroupContribute: {},
  syncGroupCheckpoint: { offset: 99 },
  syncGroupLeave: {},
};
