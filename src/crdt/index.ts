/**
 * @module crdt
 * The merge core of live collections in `eventual` mode: hybrid logical clocks, documents as
 * maps of last-writer-wins registers with tombstones, PN-counters, and the operations
 * replicas exchange. Pure and browser-safe: the server's sync layer and the client SDK both
 * import it. The model is described in `docs/crdt.md`.
 *
 * @example
 * import { Replica } from './index.js';
 * const server = new Replica({ node: 'server-1' });
 * const client = new Replica({ node: 'tab-7f3a', maxDriftMs: Number.POSITIVE_INFINITY });
 * client.receive(server.put('sku-1', { name: 'Widget', stock: 10 }));
 * server.receive(client.increment('sku-1', 'stock', -1));
 */
export {
  ClockDriftError,
  compareHlc,
  encodeHlc,
  type Hlc,
  HybridClock,
  type HybridClockOptions,
  isValidNodeId,
  parseHlc,
} from './hlc.js';
export type { Json, JsonObject } from './json.js';
export { CRDT_LIMITS } from './limits.js';
export {
  type Cleared,
  type DocState,
  decodeDocState,
  EMPTY_DOC,
  type FieldState,
  fieldValue,
  isDeleted,
  latestTimestamp,
  materialize,
  merge,
  type Register,
} from './lww-map.js';
export {
  apply,
  applyAll,
  applyToDocument,
  type CollectionState,
  type DeleteOp,
  decodeOperation,
  deleteOp,
  type IncrementOp,
  incrementOp,
  mergeCollections,
  type Operation,
  type OperationKind,
  type PatchOp,
  type PutOp,
  patchOp,
  putOp,
} from './operation.js';
export {
  counterValue,
  EMPTY_COUNTER,
  type FieldCounter,
  incrementCounter,
  mergeCounters,
  type PnCounter,
} from './pn-counter.js';
export { Replica } from './replica.js';
