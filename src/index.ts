/**
 * @module tributary
 * Server-side and embedded API: the durable log engines and their types.
 *
 * @example
 * import { openFileLog } from 'tributary-sync';
 * const log = await openFileLog({ dir: './data' });
 */
export { ERROR_CATALOGUE, type ErrorCode, isTributaryError, TributaryError } from './errors.js';
export {
  COMMAND_DEFAULTS,
  type CommandResult,
  type Decider,
  eventStoreSnapshots,
  type HandleCommandOptions,
  handleCommand,
  type LoadedAggregate,
  loadAggregate,
  type SnapshotStore,
} from './es/commands/index.js';
export {
  CHECKPOINT_KEY_PREFIX,
  clientProjectionContext,
  PROJECTION_DEFAULTS,
  PROJECTION_STATUS_COLLECTION,
  Projection,
  type ProjectionContext,
  type ProjectionDefinition,
  type ProjectionEvents,
  type ProjectionStatus,
  type ReadModelClient,
  type ReadModelDocument,
  type ReadModelStore,
  type RebuildOptions,
  type RebuildProgress,
  type StartProjectionOptions,
  serverProjectionContext,
  startProjection,
} from './es/projections/index.js';
export { FileLog, type FileLogOptions, openFileLog } from './log/file/file-log.js';
export { createMemoryLog, MemoryLog } from './log/memory/memory-log.js';
export { tail } from './log/tail.js';
export * from './log/types.js';
export { kafkaPartition, murmur2 } from './protocol/kafka/primitives/murmur2.js';
export { type RunningServer, type ServerOptions, startServer } from './server/server.js';
