/**
 * @module model
 * The live-collection model shared by the server's sync layer and the client SDK: query,
 * condition and write shapes and how conditions are evaluated. Browser-safe.
 */
export type {
  ComparisonOp,
  Condition,
  LiveQueryFilter,
  OrderBy,
  Query,
  TransactCondition,
  WriteOp,
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
