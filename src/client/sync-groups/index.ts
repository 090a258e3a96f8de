/**
 * @module client/sync-groups
 * Sync-group members of the SDK (`docs/sync-groups.md`).
 */

export type { SyncCheckpoint, SyncGenerationChange, SyncStepResult, Tensor } from './step-reader.js';
export {
  type AllReduceOptions,
  type SyncGroupEvents,
  type SyncGroupHistory,
  SyncGroupMember,
  type SyncGroupOptions,
} from './sync-group.js';
