/**
 * @module crdt/testing/arbitraries
 * fast-check arbitraries shared by the crdt tests: timestamps, operations, random
 * multi-replica histories (clock skew, partial syncs) and delivery schedules with duplicates.
 */
import fc from 'fast-check';
import { encodeHlc, type Hlc } from '../hlc.js';
import { invalidArgument, type Json, type JsonObject, readJson } from '../json.js';
import { CRDT_LIMITS } from '../limits.js';
import { type DocState, EMPTY_DOC } from '../lww-map.js';
import { applyToDocument, type Operation } from '../operation.js';
import { Replica } from '../replica.js';

/** Node ids, keys and field names chosen to collide often and to include prototype names. */
export const NODES = ['a', 'b', 'c', '__proto__'] as const;
export const KEYS = ['k1', 'k2', '__proto__'] as const;
export const PLAIN_FIELDS = ['x', 'y', 'constructor', '__proto__'] as const;
/** Fields only ever given numbers, so they can be incremented. */
export const COUNTER_FIELDS = ['n', 'm'] as const;
export const FIELDS = [...PLAIN_FIELDS, ...COUNTER_FIELDS] as const;

export const nodeIdArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NODES),
  fc.stringMatching(/^[0-9A-Za-z._:-]{1,64}$/),
);

/** Timestamps over the whole valid range, with small values often so that ties happen. */
export const hlcArb: fc.Arbitrary<Hlc> = fc.record({
  wallMs: fc.oneof(
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: CRDT_LIMITS.wallMsMax }),
    fc.constant(CRDT_LIMITS.wallMsMax),
  ),
  counter: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: CRDT_LIMITS.counterMax })),
  node: nodeIdArb,
});

const ts = (wallMs: number, node = 'a', counter = 0): Hlc => ({ wallMs, counter, node });

/** One valid operation of each kind, for unit tests and as fuzz seeds. */
export const SAMPLE_OPERATIONS: readonly Operation[] = [
  { kind: 'put', key: 'sku-1', fields: { name: 'Widget', stock: 10 }, ts: encodeHlc(ts(10)), node: 'a' },
  { kind: 'patch', key: 'sku-1', fields: { price: { eur: 3.5 } }, ts: encodeHlc(ts(11, 'b')), node: 'b' },
  { kind: 'delete', key: 'sku-1', ts: encodeHlc(ts(12)), node: 'a' },
  {
    kind: 'increment',
    key: 'sku-1',
    field: 'stock',
    by: -2,
    counter: { epoch: encodeHlc(ts(10)), p: 1, n: 2 },
    ts: encodeHlc(ts(13, 'c')),
    node: 'c',
  },
];

/** JSON values as the decoder returns them (fast-check also generates -0, which decoding makes 0). */
export const jsonArb: fc.Arbitrary<Json> = fc
  .jsonValue({ maxDepth: 3 })
  .map((value) => readJson(value, 'value', invalidArgument));

const smallTsArb = (node: fc.Arbitrary<string>, maxWall = 12): fc.Arbitrary<string> =>
  fc
    .record({ wallMs: fc.integer({ min: 1, max: maxWall }), counter: fc.integer({ min: 0, max: 2 }), node })
    .map(encodeHlc);

const fieldsArb: fc.Arbitrary<JsonObject> = fc
  .record({
    plain: fc.dictionary(fc.constantFrom(...PLAIN_FIELDS), jsonArb, { maxKeys: 3 }),
    counters: fc.dictionary(fc.constantFrom(...COUNTER_FIELDS), fc.integer({ min: -50, max: 50 }), {
      maxKeys: 2,
    }),
  })
  .map(({ plain, counters }) => Object.fromEntries([...Object.entries(plain), ...Object.entries(counters)]));

/**
 * Arbitrary valid operations, not made by replicas: timestamps collide (even between different
 * operations of one node) and increments carry arbitrary totals, so tie-breaks get exercised.
 */
export const operationArb: fc.Arbitrary<Operation> = fc
  .record({
    kind: fc.constantFrom('put', 'patch', 'delete', 'increment'),
    key: fc.constantFrom(...KEYS),
    node: fc.constantFrom(...NODES),
    wallMs: fc.integer({ min: 1, max: 12 }),
    counter: fc.integer({ min: 0, max: 2 }),
    fields: fieldsArb,
    field: fc.constantFrom(...COUNTER_FIELDS),
    by: fc.integer({ min: -5, max: 5 }),
    extra: fc.record({ p: fc.nat(20), n: fc.nat(20) }),
    epoch: fc.option(smallTsArb(fc.constantFrom(...NODES)), { nil: '' }),
  })
  .map((r): Operation => {
    const ts = encodeHlc({ wallMs: r.wallMs, counter: r.counter, node: r.node });
    const base = { key: r.key, ts, node: r.node };
    switch (r.kind) {
      case 'put':
      case 'patch':
        return { kind: r.kind, ...base, fields: r.fields };
      case 'delete':
        return { kind: 'delete', ...base };
      default: {
        const epoch = r.epoch < ts ? r.epoch : '';
        const p = r.extra.p + Math.max(r.by, 0);
        const n = r.extra.n + Math.max(-r.by, 0);
        return { kind: 'increment', ...base, field: r.field, by: r.by, counter: { epoch, p, n } };
      }
    }
  });

type Command =
  | { readonly type: 'tick'; readonly ms: number }
  | { readonly type: 'sync'; readonly to: number; readonly from: number; readonly share: number }
  | { readonly type: 'put' | 'patch'; readonly at: number; readonly key: string; readonly fields: JsonObject }
  | { readonly type: 'delete'; readonly at: number; readonly key: string }
  | {
      readonly type: 'increment';
      readonly at: number;
      readonly key: string;
      readonly field: string;
      readonly by: number;
    };

const REPLICAS = 3;
const replicaArb = fc.integer({ min: 0, max: REPLICAS - 1 });
const keyArb = fc.constantFrom('k1', 'k2');

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('sync' as const),
      to: replicaArb,
      from: replicaArb,
      share: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constantFrom('put' as const, 'patch' as const),
      at: replicaArb,
      key: keyArb,
      fields: fieldsArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), at: replicaArb, key: keyArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('increment' as const),
      at: replicaArb,
      key: keyArb,
      field: fc.constantFrom(...COUNTER_FIELDS),
      by: fc.integer({ min: -5, max: 5 }),
    }),
  },
);

export interface History {
  /** Every operation any replica made, in the order they were made. */
  readonly ops: readonly Operation[];
  readonly replicas: readonly Replica[];
  /** Each replica's operations seen so far, by `opId` (what it could forward). */
  readonly known: readonly Map<string, Operation>[];
}

/** The identity of an operation; equal for a duplicate. */
export const opId = (op: Operation): string => JSON.stringify(op);

/**
 * Random histories of three replicas whose wall clocks are skewed by up to ±25 s: local
 * writes against local state, ticks of the shared true time, and partial syncs (a random
 * share of what one replica knows, delivered to another).
 */
export const historyArb: fc.Arbitrary<History> = fc
  .record({
    skewsMs: fc.array(fc.integer({ min: -25_000, max: 25_000 }), {
      minLength: REPLICAS,
      maxLength: REPLICAS,
    }),
    commands: fc.array(commandArb, { minLength: 1, maxLength: 40 }),
  })
  .map(({ skewsMs, commands }) => runHistory(skewsMs, commands));

function runHistory(skewsMs: readonly number[], commands: readonly Command[]): History {
  let trueMs = 1_700_000_000_000;
  const replicas = skewsMs.map((skew, i) => new Replica({ node: `r${i}`, wallClock: () => trueMs + skew }));
  const known = replicas.map(() => new Map<string, Operation>());
  const ops: Operation[] = [];
  const local = (at: number, make: (r: Replica) => Operation): void => {
    const op = make(replicas[at]!);
    ops.push(op);
    known[at]!.set(opId(op), op);
  };
  for (const command of commands) {
    switch (command.type) {
      case 'tick':
        trueMs += command.ms;
        break;
      case 'sync': {
        const source = [...known[command.from]!.values()];
        for (const op of source.slice(0, Math.ceil(source.length * command.share))) {
          replicas[command.to]!.receive(op);
          known[command.to]!.set(opId(op), op);
        }
        break;
      }
      case 'put':
        local(command.at, (r) => r.put(command.key, command.fields));
        break;
      case 'patch':
        local(command.at, (r) => r.patch(command.key, command.fields));
        break;
      case 'delete':
        local(command.at, (r) => r.delete(command.key));
        break;
      case 'increment':
        local(command.at, (r) => r.increment(command.key, command.field, command.by));
        break;
    }
  }
  return { ops, replicas, known };
}

/**
 * A delivery schedule over `items`: every item at least once, in a random order, plus up to
 * `maxExtra` duplicates at random places.
 */
export function deliveryArb<T>(items: readonly T[], maxExtra = 10): fc.Arbitrary<T[]> {
  const indices = items.map((_, i) => i);
  return fc
    .record({
      order: fc.shuffledSubarray(indices, { minLength: indices.length, maxLength: indices.length }),
      extra: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: items.length === 0 ? 0 : maxExtra }),
    })
    .map(({ order, extra }) => {
      const out = [...order];
      for (const [which, where] of extra)
        out.splice(where % (out.length + 1), 0, order[which % order.length]!);
      return out.map((i) => items[i]!);
    });
}

/** Applies `ops` in order to one document. */
export function documentOf(ops: Iterable<Operation>, doc: DocState = EMPTY_DOC): DocState {
  let out = doc;
  for (const op of ops) out = applyToDocument(out, op);
  return out;
}
