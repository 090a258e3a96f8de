/**
 * @module es/commands/handle-command
 * The command helper of event sourcing: load an aggregate (latest snapshot, then the events
 * after it), decide what the command does, append the new events with the revision the decision
 * was made on, and on `WRONG_EXPECTED_REVISION` (someone else appended meanwhile) load again and
 * decide again, up to `attemptsMax` times. A decision is therefore never made on stale state.
 *
 * A `Decider` is three pure functions (the shape Emmett and Marten users know): `initialState`,
 * `evolve(state, event)` and `decide(command, state)` returning the events to append (none: the
 * command changes nothing). `decide` throws to refuse a command; nothing is appended then.
 *
 * @example
 * const result = await handleCommand(store, 'order-17', orderDecider, { type: 'Ship' });
 * result.position; // of the last appended event: wait for projections with it
 */
import { isTributaryError, TributaryError } from '../../errors.js';
import type { AppendResult, EventInput, EventStore, RecordedEvent } from '../streams/types.js';

export interface Decider<State, Command> {
  initialState(): State;
  /** The state after `event`. Pure: loading calls it for every event of the stream. */
  evolve(state: State, event: RecordedEvent): State;
  /** The events `command` produces on `state` (none: nothing to do); throw to refuse it. */
  decide(command: Command, state: State): readonly EventInput[];
}

/** Where snapshots of an aggregate are kept (optional). */
export interface SnapshotStore<State> {
  /** The latest snapshot of `stream`: the state after the event of `revision`. */
  load(stream: string): Promise<{ readonly revision: number; readonly state: State } | null>;
  save(stream: string, revision: number, state: State): Promise<void>;
}

/**
 * Snapshots kept by the event store itself (`saveSnapshot` / `loadSnapshot`, in the log beside
 * the stream): the store answers none taken before a soft delete, so a recreated stream is
 * loaded from its new events only.
 */
export function eventStoreSnapshots<State>(
  store: Pick<EventStore, 'saveSnapshot' | 'loadSnapshot'>,
): SnapshotStore<State> {
  return {
    async load(stream) {
      const snapshot = await store.loadSnapshot(stream);
      return snapshot === null ? null : { revision: snapshot.revision, state: snapshot.state as State };
    },
    async save(stream, revision, state) {
      await store.saveSnapshot(stream, revision, state);
    },
  };
}

export interface HandleCommandOptions<State> {
  /** Attempts (decide + append) before `WRONG_EXPECTED_REVISION` is passed on. Default 10. */
  readonly attemptsMax?: number;
  readonly snapshots?: SnapshotStore<State>;
  /** Save a snapshot once this many events were read after the last one. Default 100. */
  readonly snapshotEveryEvents?: number;
}

export interface CommandResult<State> {
  /** The state after the new events. */
  readonly state: State;
  /** The events `decide` returned (empty: nothing was appended). */
  readonly events: readonly EventInput[];
  /** The stream's revision after the command (-1: no stream). */
  readonly revision: number;
  /** Position of the last appended event, or null when nothing was appended. */
  readonly position: number | null;
  /** How many times the command was decided (1 unless another writer got in between). */
  readonly attempts: number;
}

export interface LoadedAggregate<State> {
  readonly state: State;
  /** Revision of the last event folded in (-1: no stream). */
  readonly revision: number;
  /** Events read after the snapshot (0 without one: all of them). */
  readonly eventsRead: number;
}

const PAGE = 1000;

export const COMMAND_DEFAULTS = { attemptsMax: 10, snapshotEveryEvents: 100 } as const;

/** The state of `stream`: its snapshot (if any) and every event after it, folded with `evolve`. */
export async function loadAggregate<State>(
  store: Pick<EventStore, 'readStream'>,
  stream: string,
  decider: Pick<Decider<State, unknown>, 'initialState' | 'evolve'>,
  snapshots?: SnapshotStore<State>,
): Promise<LoadedAggregate<State>> {
  const snapshot = snapshots === undefined ? null : await snapshots.load(stream);
  let state = snapshot?.state ?? decider.initialState();
  let revision = snapshot?.revision ?? -1;
  let eventsRead = 0;
  for (;;) {
    const page = await store.readStream(stream, { from: revision + 1, limit: PAGE });
    for (const event of page) {
      state = decider.evolve(state, event);
      revision = event.revision;
    }
    eventsRead += page.length;
    if (page.length < PAGE) return { state, revision, eventsRead };
  }
}

/** Loads `stream`, decides `command`, appends with the expected revision; retries on conflict. */
export async function handleCommand<State, Command>(
  store: Pick<EventStore, 'readStream' | 'append'>,
  stream: string,
  decider: Decider<State, Command>,
  command: Command,
  options: HandleCommandOptions<State> = {},
): Promise<CommandResult<State>> {
  const attemptsMax = options.attemptsMax ?? COMMAND_DEFAULTS.attemptsMax;
  if (!Number.isSafeInteger(attemptsMax) || attemptsMax < 1)
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'attemptsMax must be a positive integer' });
  for (let attempt = 1; ; attempt++) {
    const loaded = await loadAggregate(store, stream, decider, options.snapshots);
    const events = decider.decide(command, loaded.state);
    if (events.length === 0) {
      return { state: loaded.state, events, revision: loaded.revision, position: null, attempts: attempt };
    }
    let appended: AppendResult;
    try {
      appended = await store.append(stream, events, loaded.revision < 0 ? 'no_stream' : loaded.revision);
    } catch (error) {
      if (isTributaryError(error, 'WRONG_EXPECTED_REVISION') && attempt < attemptsMax) continue;
      throw error;
    }
    // The new events as the store recorded them (contiguous in the stream after the loaded revision).
    // (An append whose event ids were all stored already is a no-op answering the original revision.)
    const recorded =
      appended.revision > loaded.revision
        ? await store.readStream(stream, { from: loaded.revision + 1, limit: events.length })
        : [];
    const state = recorded.reduce((current, event) => decider.evolve(current, event), loaded.state);
    const snapshotEvery = options.snapshotEveryEvents ?? COMMAND_DEFAULTS.snapshotEveryEvents;
    if (options.snapshots !== undefined && loaded.eventsRead + events.length >= snapshotEvery) {
      await options.snapshots.save(stream, appended.revision, state);
    }
    return { state, events, revision: appended.revision, position: appended.position, attempts: attempt };
  }
}
