/**
 * @module es/sync-groups
 * All-reduce groups kept bit-identical through the log (`docs/sync-groups.md`).
 */
export type { SyncGroupJoined, SyncGroupStats, SyncGroupTimers } from './group.js';
export { SYNC_GROUP_DEFAULTS, SyncGroupService, type SyncGroupServiceOptions } from './service.js';
