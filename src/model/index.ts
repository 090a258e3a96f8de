/**
 * @module model
 * The live-collection model shared by the server's sync layer and the client SDK: query,
 * condition and write shapes, how conditions are evaluated and what a strong write does.
 * Browser-safe.
 */
export type {
  CollectionInfo,
  CollectionOptions,
  ComparisonOp,
  Condition,
  ConsistencyMode,
  FsyncPolicy,
  Item,
  LiveQueryFilter,
  OrderBy,
  PartitionOffset,
  Query,
  QueryResult,
  ReadConsistency,
  ReadResult,
  TransactCondition,
  TransactResult,
  WriteOp,
  WriteResult,
} from './collection-types.js';
export {
  COMPARISON_OPS,
  compareScalars,
  describeCondition,
  fieldAt,
  inResult,
  jsonEqual,
  KEY_FIELD,
  matches,
  matchesAll,
} from './conditions.js';
export {
  applyStrongWrite,
  evaluateTransaction,
  type StrongTransaction,
  type StrongWrite,
  type VersionedDocument,
  versionOf,
} from './strong-writes.js';
