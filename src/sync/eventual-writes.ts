/**
 * @module sync/eventual-writes
 * Plans the writes of an `eventual` collection. Each operation, stamped by the server's hybrid
 * logical clock (`put`, `patch`, `delete`, `increment` from the API) or by the client that made
 * it (CRDT operations an SDK queued, possibly offline), is merged into the document's state with
 * `src/crdt`, and the record holds the merged state (see `record-codec.ts`).
 *
 * Rules from `docs/crdt.md` section 6: the server's clock receives a document's latest
 * timestamp before it writes to it; a client's operation is checked for clock drift where it is
 * admitted (`CLOCK_DRIFT`, nothing written), and the clock then receives its timestamp.
 */
import {
  applyToDocument,
  type DocState,
  deleteOp,
  EMPTY_DOC,
  type HybridClock,
  incrementOp,
  latestTimestamp,
  materialize,
  type Operation,
  parseHlc,
  patchOp,
  putOp,
} from '../crdt/index.js';
import { TributaryError } from '../errors.js';
import type { Entry } from './partition-state.js';
import { encodeEventual } from './record-codec.js';
import type { Plan, PlanContext, PlannedWrite } from './sequencer.js';
import type { TransactResult, WriteOp, WriteResult } from './types.js';

export interface EventualContext {
  readonly collection: string;
  readonly partition: number;
  /** The server's clock (`maxDriftMs: Infinity`: admission checks drift itself). */
  readonly clock: HybridClock;
  readonly maxDriftMs: number;
  readonly now?: () => number;
}

/** The CRDT operation for a server-side write, made against the document's current state. */
export function serverOperation(
  op: WriteOp,
  state: DocState | undefined,
  clock: HybridClock,
  collection: string,
): Operation {
  if (op.ifVersion !== undefined) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `ifVersion needs a strong collection; "${collection}" is eventual (last writer wins per field)`,
    });
  }
  const latest = state === undefined ? '' : latestTimestamp(state);
  if (op.op === 'increment') {
    if (!Number.isSafeInteger(op.by)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'an eventual counter increments by a safe integer',
      });
    }
    if (latest !== '') clock.receive(latest);
    return incrementOp(state, op.key, op.field, op.by, clock.now());
  }
  // The operation must come after every timestamp of the document. The clock's next timestamp
  // usually does (this server made the document's latest write): the stored timestamp is then
  // neither parsed nor received. Otherwise the clock receives it and stamps the operation again.
  const made = madeOperation(op, clock);
  if (latest < made.ts) return made;
  clock.receive(latest);
  return madeOperation(op, clock);
}

function madeOperation(op: Exclude<WriteOp, { op: 'increment' }>, clock: HybridClock): Operation {
  switch (op.op) {
    case 'put':
      return putOp(op.key, op.value, clock.now());
    case 'patch':
      return patchOp(op.key, op.fields, clock.now());
    case 'delete':
      return deleteOp(op.key, clock.now());
  }
}

/** Checks a client-stamped operation's clock against the server's (`CLOCK_DRIFT`). */
export function admitOperation(op: Operation, ctx: EventualContext): void {
  const ts = parseHlc(op.ts);
  const driftMs = ts.wallMs - Math.floor((ctx.now ?? Date.now)());
  if (driftMs > ctx.maxDriftMs) {
    throw new TributaryError('CLOCK_DRIFT', { ts: op.ts, driftMs, limit: ctx.maxDriftMs });
  }
}

/**
 * The planner of eventual writes: each element is a server-side write (made into an operation
 * here, against the state the batch sees) or a client's CRDT operation (already admitted).
 * Several writes go in one batch with a `tx-end` header, applied together.
 */
export function planEventual(
  ctx: PlanContext,
  writes: readonly (WriteOp | Operation)[],
  eventual: EventualContext,
): Plan<TransactResult> {
  const local = new Map<string, Entry | undefined>();
  const current = (key: string): Entry | undefined => (local.has(key) ? local.get(key) : ctx.entry(key));
  const txEnd = writes.length > 1 ? ctx.firstOffset + writes.length - 1 : undefined;
  const planned: PlannedWrite[] = [];
  const results: WriteResult[] = [];
  writes.forEach((write, i) => {
    const before = current(write.key)?.state;
    let op: Operation;
    if ('op' in write) {
      op = serverOperation(write, before, eventual.clock, eventual.collection);
    } else {
      op = write;
      eventual.clock.receive(op.ts);
    }
    const state = applyToDocument(before ?? EMPTY_DOC, op);
    const offset = ctx.firstOffset + i;
    const value = materialize(state);
    const after: Entry = { key: op.key, version: offset, value, state };
    local.set(op.key, after);
    planned.push({ key: op.key, after, record: encodeEventual(op.key, state, txEnd) });
    results.push({
      key: op.key,
      partition: eventual.partition,
      version: offset,
      value: value ?? null,
      state,
    });
  });
  return { writes: planned, result: { partition: eventual.partition, writes: results } };
}
