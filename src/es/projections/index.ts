/**
 * @module es/projections
 * Projections (CQRS read models) over the event store: definitions, the runner, rebuild and swap,
 * read-your-writes, and where they run (server or SDK worker). See `docs/event-sourcing.md`.
 */
export { CHECKPOINT_KEY_PREFIX, checkpointKeys, partitionOfKey } from './checkpoint.js';
export { clientProjectionContext, type ReadModelClient } from './client-context.js';
export {
  PROJECTION_STATUS_COLLECTION,
  Projection,
  type RebuildOptions,
  type StartProjectionOptions,
  startProjection,
} from './projection.js';
export { PROJECTION_DEFAULTS, ProjectionRunner, type ProjectionRunnerOptions } from './runner.js';
export { serverProjectionContext } from './server-context.js';
export type * from './types.js';
