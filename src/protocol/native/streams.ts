/**
 * @module protocol/native/streams
 * Readers of the event-stream requests and results (see `streams-types.ts`). The protocol layer
 * checks shapes (strings, integers, JSON data); the event store checks meaning (names, limits,
 * expected revisions) with the same errors every front end gives.
 */
import { TributaryError } from '../../errors.js';
import type { WireJsonObject } from './collection-types.js';
import { checkJson } from './collections.js';
import type { Fields, Item } from './fields.js';
import { RANGES } from './shapes.js';
import type {
  StreamRequestMap,
  WireAppendResult,
  WireEventInput,
  WireExpectedRevision,
  WireGroupInfo,
  WireRecordedEvent,
  WireStreamAppend,
  WireStreamMetadata,
  WireSubscriptionTarget,
} from './streams-types.js';

type Spec<T extends keyof StreamRequestMap> = {
  readonly params: (fields: Fields) => StreamRequestMap[T]['params'];
  readonly result: (fields: Fields) => StreamRequestMap[T]['result'];
};

const { OFFSET } = RANGES;
/** Positions and revisions, with -1 for "before the first". */
const POSITION = { min: -1, max: Number.MAX_SAFE_INTEGER } as const;
const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const NAME = { min: 1, max: 256 } as const;
/** Most events or streams one list field may carry (the store's own limits are lower). */
const LIST_MAX = 100_000;
/** Longest wait of `streamReadAll`. */
export const STREAM_READ_WAIT_MS_MAX = 30_000;

function jsonObject(fields: Fields, name: string): WireJsonObject {
  const map = fields.map(name);
  return checkJson(Object.fromEntries(map.names().map((n) => [n, map.raw(n)])), map.path) as WireJsonObject;
}

function expectedRevision(f: Fields): WireExpectedRevision | undefined {
  if (!f.has('expectedRevision')) return undefined;
  const value = f.raw('expectedRevision');
  if (value === 'any' || value === 'no_stream' || value === 'exists') return value;
  return f.int('expectedRevision', POSITION);
}

function eventInput(item: Item): WireEventInput {
  const f = item.map();
  const id = f.optionalString('id', { min: 1, max: 128 });
  return {
    type: f.string('type', NAME),
    data: f.has('data') ? checkJson(f.raw('data'), f.pathOf('data')) : null,
    ...(id === undefined ? {} : { id }),
    ...(f.has('metadata') ? { metadata: jsonObject(f, 'metadata') } : {}),
  };
}

function streamAppend(f: Fields): WireStreamAppend {
  const expected = expectedRevision(f);
  return {
    stream: f.string('stream', NAME),
    events: f.list('events', LIST_MAX, eventInput),
    ...(expected === undefined ? {} : { expectedRevision: expected }),
  };
}

function appendResult(f: Fields): WireAppendResult {
  return { revision: f.int('revision', POSITION), position: f.int('position', POSITION) };
}

function recordedEvent(item: Item): WireRecordedEvent {
  return recordedEventOf(item.map());
}

function recordedEventOf(f: Fields): WireRecordedEvent {
  return {
    stream: f.string('stream', NAME),
    revision: f.int('revision', OFFSET),
    type: f.string('type', NAME),
    data: checkJson(f.raw('data'), f.pathOf('data')),
    id: f.string('id', NAME),
    metadata: jsonObject(f, 'metadata'),
    position: f.int('position', OFFSET),
    time: f.int('time', COUNT),
  };
}

const METADATA_NAMES = ['maxAgeMs', 'maxCount', 'truncateBefore'] as const;

function metadataChange(f: Fields): WireStreamMetadata {
  const map = f.map('metadata');
  const out: { -readonly [K in keyof WireStreamMetadata]: WireStreamMetadata[K] } = {};
  for (const name of map.names()) {
    if (!(METADATA_NAMES as readonly string[]).includes(name)) {
      throw new TributaryError('PROTOCOL_ERROR', {
        reason: `unknown metadata "${name}" (allowed: ${METADATA_NAMES.join(', ')})`,
        field: map.pathOf(name),
      });
    }
    out[name as (typeof METADATA_NAMES)[number]] = map.nullableInt(name, COUNT);
  }
  return out;
}

function storedMetadata(f: Fields): { maxAgeMs?: number; maxCount?: number; truncateBefore?: number } {
  const map = f.map('metadata');
  const out: { maxAgeMs?: number; maxCount?: number; truncateBefore?: number } = {};
  for (const name of METADATA_NAMES) {
    const value = map.optionalInt(name, COUNT);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function streamOnly(f: Fields): { stream: string } {
  return { stream: f.string('stream', NAME) };
}

function positionOnly(f: Fields): { position: number } {
  return { position: f.int('position', POSITION) };
}

function target(f: Fields): WireSubscriptionTarget {
  const t = f.map('target');
  if (t.has('stream')) return { stream: t.string('stream', NAME) };
  if (t.has('category')) return { category: t.string('category', NAME) };
  if (t.raw('all') === true) return { all: true };
  throw new TributaryError('PROTOCOL_ERROR', {
    reason: 'target must be {stream}, {category} or {all: true}',
    field: f.pathOf('target'),
  });
}

function groupInfo(f: Fields): WireGroupInfo {
  return {
    name: f.string('name', NAME),
    target: target(f),
    retriesMax: f.int('retriesMax', COUNT),
    ackTimeoutMs: f.int('ackTimeoutMs', COUNT),
    checkpoint: f.int('checkpoint', POSITION),
    pending: f.int('pending', COUNT),
    inFlight: f.int('inFlight', COUNT),
    parked: f.int('parked', COUNT),
  };
}

function positionList(f: Fields): number[] {
  return f.list('positions', LIST_MAX, (item) => {
    const value = item.value;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new TributaryError('PROTOCOL_ERROR', { reason: 'must be an event position', field: item.path });
    }
    return value;
  });
}

function groupMember(f: Fields): { group: string; member: string } {
  return { group: f.string('group', NAME), member: f.string('member', NAME) };
}

const none = (): Record<string, never> => ({});

function events(f: Fields): { events: WireRecordedEvent[] } {
  return { events: f.list('events', LIST_MAX, recordedEvent) };
}

export const STREAM_REQUESTS: { readonly [T in keyof StreamRequestMap]: Spec<T> } = {
  streamAppend: { params: streamAppend, result: appendResult },
  streamAppendMany: {
    params: (f) => ({ appends: f.list('appends', LIST_MAX, (item) => streamAppend(item.map())) }),
    result: (f) => ({ results: f.list('results', LIST_MAX, (item) => appendResult(item.map())) }),
  },
  streamRead: {
    params: (f) => {
      const from = f.optionalInt('from', POSITION);
      const limit = f.optionalInt('limit', COUNT);
      const direction = f.has('direction')
        ? f.choice('direction', ['forward', 'backward'] as const)
        : undefined;
      return {
        stream: f.string('stream', NAME),
        ...(from === undefined ? {} : { from }),
        ...(limit === undefined ? {} : { limit }),
        ...(direction === undefined ? {} : { direction }),
      };
    },
    result: events,
  },
  streamReadAll: {
    params: (f) => {
      const after = f.optionalInt('after', POSITION);
      const limit = f.optionalInt('limit', COUNT);
      const category = f.optionalString('category', NAME);
      const stream = f.optionalString('stream', NAME);
      const waitMs = f.optionalInt('waitMs', { min: 0, max: STREAM_READ_WAIT_MS_MAX });
      if (category !== undefined && stream !== undefined) {
        throw new TributaryError('PROTOCOL_ERROR', {
          reason: 'give "category" or "stream", not both',
          field: 'stream',
        });
      }
      return {
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
        ...(category === undefined ? {} : { category }),
        ...(stream === undefined ? {} : { stream }),
        ...(waitMs === undefined ? {} : { waitMs }),
      };
    },
    result: (f) => ({ ...events(f), head: f.int('head', POSITION) }),
  },
  streamRevision: {
    params: (f) => ({ stream: f.string('stream', NAME) }),
    result: (f) => ({ revision: f.int('revision', POSITION) }),
  },
  streamMetadataSet: {
    params: (f) => {
      const expected = expectedRevision(f);
      return {
        stream: f.string('stream', NAME),
        metadata: metadataChange(f),
        ...(expected === undefined ? {} : { expectedRevision: expected }),
      };
    },
    result: appendResult,
  },
  streamMetadataGet: {
    params: streamOnly,
    result: (f) => ({
      metadata: storedMetadata(f),
      deleted: f.boolean('deleted'),
      revision: f.int('revision', POSITION),
    }),
  },
  streamDelete: {
    params: (f) => {
      const expected = expectedRevision(f);
      return {
        stream: f.string('stream', NAME),
        ...(expected === undefined ? {} : { expectedRevision: expected }),
      };
    },
    result: positionOnly,
  },
  streamSnapshotSave: {
    params: (f) => ({
      stream: f.string('stream', NAME),
      revision: f.int('revision', OFFSET),
      state: checkJson(f.raw('state'), f.pathOf('state')),
    }),
    result: positionOnly,
  },
  streamGroupCreate: {
    params: (f) => {
      const after = f.optionalInt('after', POSITION);
      const retriesMax = f.optionalInt('retriesMax', COUNT);
      const ackTimeoutMs = f.optionalInt('ackTimeoutMs', COUNT);
      return {
        group: f.string('group', NAME),
        target: target(f),
        ...(after === undefined ? {} : { after }),
        ...(retriesMax === undefined ? {} : { retriesMax }),
        ...(ackTimeoutMs === undefined ? {} : { ackTimeoutMs }),
      };
    },
    result: groupInfo,
  },
  streamGroupDelete: { params: (f) => ({ group: f.string('group', NAME) }), result: none },
  streamGroupInfo: { params: (f) => ({ group: f.string('group', NAME) }), result: groupInfo },
  streamGroupRead: {
    params: (f) => {
      const max = f.optionalInt('max', COUNT);
      const waitMs = f.optionalInt('waitMs', { min: 0, max: STREAM_READ_WAIT_MS_MAX });
      return {
        ...groupMember(f),
        ...(max === undefined ? {} : { max }),
        ...(waitMs === undefined ? {} : { waitMs }),
      };
    },
    result: (f) => ({
      deliveries: f.list('deliveries', LIST_MAX, (item) => {
        const d = item.map();
        return { event: recordedEventOf(d.map('event')), retries: d.int('retries', COUNT) };
      }),
    }),
  },
  streamGroupAck: { params: (f) => ({ ...groupMember(f), positions: positionList(f) }), result: none },
  streamGroupNack: {
    params: (f) => {
      const reason = f.optionalString('reason', { min: 0, max: 1000 });
      return {
        ...groupMember(f),
        positions: positionList(f),
        action: f.choice('action', ['retry', 'park'] as const),
        ...(reason === undefined ? {} : { reason }),
      };
    },
    result: none,
  },
  streamGroupParked: {
    params: (f) => {
      const after = f.optionalInt('after', POSITION);
      const limit = f.optionalInt('limit', COUNT);
      return {
        group: f.string('group', NAME),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
      };
    },
    result: (f) => ({
      parked: f.list('parked', LIST_MAX, (item) => {
        const p = item.map();
        return {
          event: recordedEventOf(p.map('event')),
          reason: p.string('reason'),
          retries: p.int('retries', COUNT),
          parkedAt: p.int('parkedAt', OFFSET),
        };
      }),
    }),
  },
  streamSnapshotLoad: {
    params: streamOnly,
    result: (f) => {
      if (f.raw('snapshot') === null) return { snapshot: null };
      const s = f.map('snapshot');
      return {
        snapshot: {
          revision: s.int('revision', OFFSET),
          state: checkJson(s.raw('state'), s.pathOf('state')),
          position: s.int('position', OFFSET),
          time: s.int('time', COUNT),
        },
      };
    },
  },
};
