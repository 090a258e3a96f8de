/**
 * @module protocol/native/sync-group
 * Readers of the sync-group requests and results (see `sync-group-types.ts`). The protocol
 * layer checks shapes (names, integers, a chunk's place and size); the sync-group service checks
 * meaning (membership, the step's number, that every member sends the same shapes).
 */
import { TributaryError } from '../../errors.js';
import type { Fields } from './fields.js';
import { NATIVE_PROTOCOL_LIMITS as LIMITS } from './limits.js';
import { RANGES } from './shapes.js';
import {
  bytesPerElement,
  checkSpec,
  SYNC_DTYPES,
  SYNC_GROUP_CHUNK_BYTES,
  SYNC_GROUP_LIMITS,
  SYNC_OPS,
  specBytes,
} from './sync-group-records.js';
import type { SyncGroupRequestMap, WireSyncSpec } from './sync-group-types.js';

const { OFFSET } = RANGES;
const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER } as const;
/** Group names use the characters of topic names (the group's topic is `sync-group.<name>`). */
const GROUP_NAME = /^[A-Za-z0-9._-]+$/;

type Spec<T extends keyof SyncGroupRequestMap> = {
  readonly params: (fields: Fields) => SyncGroupRequestMap[T]['params'];
  readonly result: (fields: Fields) => SyncGroupRequestMap[T]['result'];
};

function groupName(f: Fields): string {
  const name = f.string('group', { min: 1, max: SYNC_GROUP_LIMITS.groupNameLengthMax });
  if (!GROUP_NAME.test(name)) f.fail('group', 'must be letters, digits, ".", "_" or "-"');
  return name;
}

function memberId(f: Fields): string {
  return f.string('memberId', { min: 1, max: LIMITS.nameLengthMax });
}

function spec(f: Fields): WireSyncSpec {
  const dtype = f.choice('dtype', SYNC_DTYPES);
  const lengths = f.list('lengths', SYNC_GROUP_LIMITS.tensorsPerStepMax, (i) => {
    const n = i.value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new TributaryError('PROTOCOL_ERROR', {
        reason: `field "${i.path}" must be a non-negative integer`,
        field: i.path,
      });
    }
    return n;
  });
  try {
    return checkSpec(dtype, lengths);
  } catch (error) {
    f.fail('lengths', error instanceof Error ? error.message : 'is not a tensor list');
  }
}

/** A chunk's data: at a chunk boundary of the spec's bytes, exactly the chunk's size. */
function chunk(f: Fields, s: WireSyncSpec): { byteOffset: number; data: Uint8Array } {
  const byteOffset = f.int('byteOffset', OFFSET);
  const data = f.bytes('data');
  const total = specBytes(s);
  if (byteOffset % SYNC_GROUP_CHUNK_BYTES !== 0 || (byteOffset >= total && total > 0) || byteOffset > total) {
    f.fail(
      'byteOffset',
      `must be a multiple of ${SYNC_GROUP_CHUNK_BYTES} below ${total} (the tensors' bytes)`,
    );
  }
  const expected = Math.min(SYNC_GROUP_CHUNK_BYTES, total - byteOffset);
  if (data.byteLength !== expected) {
    f.fail(
      'data',
      `must be ${expected} bytes (the chunk at ${byteOffset} of ${total}), got ${data.byteLength}`,
    );
  }
  if (data.byteLength % bytesPerElement(s.dtype) !== 0) f.fail('data', 'must hold whole elements');
  return { byteOffset, data };
}

const none = (): Record<string, never> => ({});

export const SYNC_GROUP_REQUESTS: { readonly [T in keyof SyncGroupRequestMap]: Spec<T> } = {
  syncGroupJoin: {
    params: (f) => {
      const minMembers = f.optionalInt('minMembers', { min: 1, max: SYNC_GROUP_LIMITS.membersMax });
      const stepTimeoutMs = f.optionalInt('stepTimeoutMs', { min: 1, max: 0x7fff_ffff });
      return {
        group: groupName(f),
        ...(minMembers === undefined ? {} : { minMembers }),
        ...(stepTimeoutMs === undefined ? {} : { stepTimeoutMs }),
      };
    },
    result: (f) => ({
      memberId: memberId(f),
      generation: f.int('generation', COUNT),
      rank: f.int('rank', COUNT),
      size: f.int('size', COUNT),
      step: f.int('step', COUNT),
      topic: f.string('topic', { min: 1, max: LIMITS.topicNameLengthMax }),
      replayFrom: f.int('replayFrom', OFFSET),
      replayTo: f.int('replayTo', OFFSET),
    }),
  },
  syncGroupContribute: {
    params: (f) => {
      const s = spec(f);
      return {
        group: groupName(f),
        memberId: memberId(f),
        step: f.int('step', COUNT),
        attempt: f.int('attempt', COUNT),
        op: f.choice('op', SYNC_OPS),
        ...s,
        ...chunk(f, s),
      };
    },
    result: none,
  },
  syncGroupCheckpoint: {
    params: (f) => {
      const s = spec(f);
      return { group: groupName(f), memberId: memberId(f), step: f.int('step', COUNT), ...s, ...chunk(f, s) };
    },
    result: (f) => ({ offset: f.raw('offset') === null ? null : f.nullableInt('offset', OFFSET) }),
  },
  syncGroupLeave: { params: (f) => ({ group: groupName(f), memberId: memberId(f) }), result: none },
};
