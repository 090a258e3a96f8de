/**
 * @module protocol/native/atomic
 * Readers of the atomic-commit request and its result (see `atomic-types.ts`), and of the
 * `isolation` field that `fetch` and `subscribe` take. The protocol layer checks shapes and
 * bounds (at most `recordsPerRequestMax` records in all); the broker checks names and partitions.
 */
import type { AtomicRequestMap, WireAtomicAppend, WireIsolation } from './atomic-types.js';
import type { Fields, Item } from './fields.js';
import { NATIVE_PROTOCOL_LIMITS as LIMITS } from './limits.js';
import { RANGES, readCommittedOffset, readName, readProduceRecord, readTopicName } from './shapes.js';

const { OFFSET, PARTITION } = RANGES;
const ISOLATIONS: readonly WireIsolation[] = ['uncommitted', 'committed'];

type Spec<T extends keyof AtomicRequestMap> = {
  readonly params: (fields: Fields) => AtomicRequestMap[T]['params'];
  readonly result: (fields: Fields) => AtomicRequestMap[T]['result'];
};

/** `isolation` of a `fetch` or `subscribe`, when present. */
export function readIsolation(fields: Fields): { isolation?: WireIsolation } {
  return fields.has('isolation') ? { isolation: fields.choice('isolation', ISOLATIONS) } : {};
}

function readAppend(item: Item): WireAtomicAppend {
  const f = item.map();
  const partition = f.optionalInt('partition', PARTITION);
  const expectedLastOffset = f.optionalInt('expectedLastOffset', { min: -1 });
  if (expectedLastOffset !== undefined && partition === undefined) {
    f.fail('expectedLastOffset', 'needs a partition');
  }
  return {
    topic: readTopicName(f),
    ...(partition === undefined ? {} : { partition }),
    records: f.list('records', LIMITS.recordsPerRequestMax, readProduceRecord, { min: 1 }),
    ...(expectedLastOffset === undefined ? {} : { expectedLastOffset }),
  };
}

function readAppends(f: Fields): WireAtomicAppend[] {
  const appends = f.list('appends', LIMITS.listLengthMax, readAppend, { min: 1 });
  let records = 0;
  for (const append of appends) records += append.records.length;
  if (records > LIMITS.recordsPerRequestMax) {
    f.fail('appends', `holds ${records} records, more than ${LIMITS.recordsPerRequestMax} in all`);
  }
  return appends;
}

export const ATOMIC_REQUESTS: { readonly [T in keyof AtomicRequestMap]: Spec<T> } = {
  commitAtomically: {
    params: (f) => {
      const offsets = f.optionalMap('offsets');
      return {
        appends: readAppends(f),
        ...(offsets === undefined
          ? {}
          : {
              offsets: {
                groupId: readName(offsets, 'groupId'),
                offsets: offsets.list('offsets', LIMITS.listLengthMax, readCommittedOffset),
              },
            }),
      };
    },
    result: (f) => ({
      appends: f.list('appends', LIMITS.listLengthMax, (item) => {
        const entry = item.map();
        return {
          topic: readTopicName(entry),
          offsets: entry.list('offsets', LIMITS.recordsPerRequestMax, (o) => {
            const at = o.map();
            return { partition: at.int('partition', PARTITION), offset: at.int('offset', OFFSET) };
          }),
        };
      }),
    }),
  },
};
