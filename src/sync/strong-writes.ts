/**
 * @module sync/strong-writes
 * Plans the writes of a `strong` collection: a transaction (one or more writes with
 * preconditions) becomes one record per write, all in one batch, or fails as a whole with
 * `VERSION_MISMATCH` / `PRECONDITION_FAILED` and writes nothing. The sequencer calls the planner
 * with the state the batch will be appended on, so the checks and the writes are atomic.
 *
 * What a transaction does (versions, conditions, each op's document) is the shared rule of
 * `model/strong-writes` (the client SDK predicts its optimistic results with the same code);
 * this module only turns its writes into records.
 */
import { evaluateTransaction } from '../model/index.js';
import type { Entry } from './partition-state.js';
import { encodeStrong } from './record-codec.js';
import type { Plan, PlanContext, PlannedWrite } from './sequencer.js';
import type { TransactRequest, TransactResult, WriteResult } from './types.js';

/** The planner of a checked transaction on partition `partition` of `collection`. */
export function planTransaction(
  ctx: PlanContext,
  request: TransactRequest,
  collection: string,
  partition: number,
): Plan<TransactResult> {
  const evaluated = evaluateTransaction(request, (key) => ctx.entry(key), ctx.firstOffset, collection);
  const txEnd = evaluated.length > 1 ? ctx.firstOffset + evaluated.length - 1 : undefined;
  const writes: PlannedWrite[] = [];
  const results: WriteResult[] = [];
  for (const { key, version, value } of evaluated) {
    const after: Entry | undefined = value === undefined ? undefined : { key, version, value };
    writes.push({ key, after, record: encodeStrong(key, value, txEnd) });
    results.push({ key, partition, version, value: value ?? null });
  }
  return { writes, result: { partition, writes: results } };
}
