/**
 * @module es/commands
 * The command helper: load an aggregate, decide, append with the expected revision, retry on
 * conflict. See `docs/event-sourcing.md`, "Commands".
 */
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
} from './handle-command.js';
