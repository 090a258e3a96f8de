/**
 * @module crdt/replica
 * One replica: a clock and the documents it holds. It shows the one correct way to write:
 * take a timestamp, make the operation against the local state, apply it locally, send it;
 * and to read others' writes: let the clock receive the timestamp, then apply. The server's
 * sync layer and the client SDK can use it as is or copy the rules into their own stores.
 *
 * @example
 * import { Replica } from './replica.js';
 * const a = new Replica({ node: 'a' });
 * const b = new Replica({ node: 'b' });
 * const op = a.increment('page:home', 'views');
 * b.receive(op);
 * b.get('page:home'); // { views: 1 }
 */
import { HybridClock, type HybridClockOptions } from './hlc.js';
import { type JsonObject, sortedRecord } from './json.js';
import { type DocState, EMPTY_DOC, latestTimestamp, materialize, merge } from './lww-map.js';
import {
  applyToDocument,
  type CollectionState,
  type DeleteOp,
  deleteOp,
  type IncrementOp,
  incrementOp,
  type Operation,
  type PatchOp,
  type PutOp,
  patchOp,
  putOp,
} from './operation.js';

export class Replica {
  readonly clock: HybridClock;
  readonly #docs = new Map<string, DocState>();

  /** Takes clock options (`node`, `maxDriftMs`, `wallClock`) or a clock to share. */
  constructor(options: HybridClockOptions | { readonly clock: HybridClock }) {
    this.clock = 'clock' in options ? options.clock : new HybridClock(options);
  }

  get node(): string {
    return this.clock.node;
  }

  /** The materialized document, or `undefined` if deleted or unknown. */
  get(key: string): JsonObject | undefined {
    return materialize(this.#docs.get(key));
  }

  /** The document's CRDT state. */
  document(key: string): DocState | undefined {
    return this.#docs.get(key);
  }

  /** Every document's state (a plain JSON object with sorted keys). */
  snapshot(): CollectionState {
    return sortedRecord(this.#docs);
  }

  put(key: string, fields: JsonObject): PutOp {
    return this.#local(putOp(key, fields, this.clock.now()));
  }

  patch(key: string, fields: JsonObject): PatchOp {
    return this.#local(patchOp(key, fields, this.clock.now()));
  }

  delete(key: string): DeleteOp {
    return this.#local(deleteOp(key, this.clock.now()));
  }

  increment(key: string, field: string, by = 1): IncrementOp {
    return this.#local(incrementOp(this.#docs.get(key), key, field, by, this.clock.now()));
  }

  /**
   * Applies an operation from elsewhere (duplicates and any order are fine). The clock
   * receives `op.ts` first; a `ClockDriftError` from it leaves the replica unchanged.
   */
  receive(op: Operation): void {
    this.clock.receive(op.ts);
    this.#docs.set(op.key, applyToDocument(this.#docs.get(op.key), op));
  }

  /** Merges a document state from elsewhere (a snapshot); the clock receives its latest timestamp. */
  load(key: string, state: DocState): void {
    const latest = latestTimestamp(state);
    if (latest !== '') this.clock.receive(latest);
    this.#docs.set(key, merge(this.#docs.get(key) ?? EMPTY_DOC, state));
  }

  #local<T extends Operation>(op: T): T {
    this.#docs.set(op.key, applyToDocument(this.#docs.get(op.key), op));
    return op;
  }
}
