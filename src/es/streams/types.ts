/**
 * @module es/streams/types
 * Event streams: many small, named sequences of events (one per order, per account…) stored on
 * the log without a topic each. The event store (`store.ts`) implements `EventStore`;
 * projections, the command helper, the HTTP and native front ends and the SDK all use it through
 * this interface.
 *
 * Two numbers locate an event:
 * - its **revision**: 0, 1, 2… within its stream, dense, the number optimistic concurrency checks;
 * - its **position**: where it is in the store's commit order across all streams. Positions grow
 *   strictly in commit order (not necessarily by one), so "every event after position p" is a
 *   complete, gap-free resume point for catch-up subscriptions and projection checkpoints.
 */

/** What an append expects the stream to be before it: see `EventStore.append`. */
export type ExpectedRevision = 'any' | 'no_stream' | 'exists' | number;

/** An event to append. */
export interface EventInput {
  readonly type: string;
  /** JSON-compatible. */
  readonly data: unknown;
  /** Idempotency: appending an id the stream already holds is a no-op. Default: a random UUID. */
  readonly id?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** An event as stored. */
export interface RecordedEvent {
  readonly stream: string;
  readonly revision: number;
  readonly type: string;
  readonly data: unknown;
  readonly id: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly position: number;
  /** Commit time, ms since the epoch. */
  readonly time: number;
}

/** Where an append left the stream: its last event's revision and position. */
export interface AppendResult {
  readonly revision: number;
  readonly position: number;
}

export interface StreamAppend {
  readonly stream: string;
  readonly events: readonly EventInput[];
  /** Default `any`. */
  readonly expectedRevision?: ExpectedRevision;
}

export interface ReadStreamOptions {
  /** First revision to read (forward: lowest, backward: highest). Default: the start (forward) or the end (backward). */
  readonly from?: number;
  /** Default 1000. */
  readonly limit?: number;
  /** Default `forward`. */
  readonly direction?: 'forward' | 'backward';
}

export interface ReadAllOptions {
  /** Events after this position (exclusive). Default: from the beginning. */
  readonly after?: number;
  /** Default 1000. */
  readonly limit?: number;
  /** Only streams of this category: the part of the name before the first `-` (`order` for `order-17`). */
  readonly category?: string;
  /** Only this stream's events (by position; not with `category`). */
  readonly stream?: string;
}

/** Which events a subscription follows. */
export type SubscriptionTarget =
  | { readonly stream: string }
  | { readonly category: string }
  | { readonly all: true };

export interface SubscribeOptions {
  readonly target: SubscriptionTarget;
  /** Resume after this position (exclusive); default: from the beginning. */
  readonly after?: number;
  /**
   * Called for each event in position order, history first then live, with no gap or
   * duplicate at the switch. The next event waits for the returned promise.
   */
  readonly onEvent: (event: RecordedEvent) => void | Promise<void>;
  /** Called once when the subscription ends with an error (not on `close()`). */
  readonly onError?: (error: Error) => void;
}

export interface EventSubscription {
  /** Position of the last event delivered (and whose `onEvent` settled); undefined before the first. */
  readonly position: number | undefined;
  close(): Promise<void>;
}

/**
 * What a stream keeps visible (docs/event-sourcing.md, "Stream metadata"). A setting given
 * replaces the stored one, `null` removes it, an absent one stays as it is. Hidden events stay in
 * the log (it is append-only) but no read or subscription returns them.
 */
export interface StreamMetadata {
  /** Events committed longer ago than this (ms) are hidden. */
  readonly maxAgeMs?: number | null;
  /** Only the last `maxCount` events are visible. */
  readonly maxCount?: number | null;
  /** Revisions below this one are hidden (truncate before a revision). */
  readonly truncateBefore?: number | null;
}

/** A stream's stored metadata as `getStreamMetadata` answers it. */
export interface StreamMetadataState {
  readonly metadata: {
    readonly maxAgeMs?: number;
    readonly maxCount?: number;
    /** The revisions hidden by a truncation or a soft delete, whichever is higher. */
    readonly truncateBefore?: number;
  };
  /** Soft-deleted and not appended to since: the stream reads as one that never existed. */
  readonly deleted: boolean;
  /** Revision of the stream's metadata (each change adds one), -1 when it never had any. */
  readonly revision: number;
}

/** The latest snapshot of an aggregate: its state after the event of `revision`. */
export interface StreamSnapshot {
  readonly revision: number;
  /** JSON-compatible. */
  readonly state: unknown;
  /** Position and commit time of the snapshot itself. */
  readonly position: number;
  readonly time: number;
}

export interface EventStore {
  /**
   * Appends `events` to `stream` atomically if the stream matches `expectedRevision`: `any`
   * (no check), `no_stream` (it has no events), `exists` (it has some), or the exact revision of
   * its last event. A mismatch appends nothing and throws `WRONG_EXPECTED_REVISION` with the
   * actual revision (-1 for no stream) in the error's details. Events whose id the stream
   * already holds make the append a no-op answering the original result.
   */
  append(
    stream: string,
    events: readonly EventInput[],
    expectedRevision?: ExpectedRevision,
  ): Promise<AppendResult>;
  /** Appends to several streams at once: all or nothing, each with its own expectation. */
  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** The last event's revision, -1 for a stream with no events. */
  streamRevision(stream: string): Promise<number>;
  /** Position of the last committed event in the store; -1 when empty. */
  headPosition(): Promise<number>;
  subscribe(options: SubscribeOptions): Promise<EventSubscription>;
  /**
   * Changes what `stream` keeps visible (max age, max count, truncate before a revision);
   * `expectedRevision` is the metadata's own revision. Answers the metadata's revision and
   * position.
   */
  setStreamMetadata(
    stream: string,
    metadata: StreamMetadata,
    expectedRevision?: ExpectedRevision,
  ): Promise<AppendResult>;
  getStreamMetadata(stream: string): Promise<StreamMetadataState>;
  /**
   * Soft delete: the stream reads as one that never existed (no events, revision -1) until the
   * next append, whose revisions continue after the deleted ones. `expectedRevision` is checked
   * against the stream. Answers the position of the deletion (-1: nothing to delete).
   */
  deleteStream(stream: string, expectedRevision?: ExpectedRevision): Promise<{ readonly position: number }>;
  /** Stores `state` as the snapshot of `stream` after its event of `revision`. */
  saveSnapshot(stream: string, revision: number, state: unknown): Promise<{ readonly position: number }>;
  /** The latest snapshot of `stream`, or null (none, or taken before a soft delete). */
  loadSnapshot(stream: string): Promise<StreamSnapshot | null>;
}

// ---- competing-consumer groups (`groups.ts`; here so browser code can name them) ----

export interface GroupSettings {
  readonly target: SubscriptionTarget;
  /** Start after this position when the group is created (default: from the beginning). */
  readonly after?: number;
  /** Retries of an event before it is parked. Default 5. */
  readonly retriesMax?: number;
  /** An event dealt to a member and not acked within this is dealt again. Default 30 000 ms. */
  readonly ackTimeoutMs?: number;
}

export interface GroupDelivery {
  readonly event: RecordedEvent;
  /** How many times it was dealt before (0 the first time). */
  readonly retries: number;
}

export interface GroupInfo {
  readonly name: string;
  readonly target: SubscriptionTarget;
  readonly retriesMax: number;
  readonly ackTimeoutMs: number;
  /** Every event at or below it is acked or parked (-1: none yet). */
  readonly checkpoint: number;
  /** Events read from the store and not yet acked or parked. */
  readonly pending: number;
  /** Of those, dealt to a member and waiting for its ack. */
  readonly inFlight: number;
  readonly parked: number;
}

export interface ParkedEvent {
  readonly event: RecordedEvent;
  readonly reason: string;
  readonly retries: number;
  /** Position of the parked record itself (page on with it). */
  readonly parkedAt: number;
}

/** Competing-consumer groups over an event store. */
export interface ConsumerGroups {
  /** Creates the group; creating it again with the same target is a no-op. */
  createGroup(name: string, settings: GroupSettings): Promise<GroupInfo>;
  deleteGroup(name: string): Promise<void>;
  groupInfo(name: string): Promise<GroupInfo>;
  /**
   * Up to `max` events dealt to `member` (an id the member picks); with none to deal, waits up
   * to `waitMs` for one. Each must be acked or nacked within the group's `ackTimeoutMs`.
   */
  readGroup(
    name: string,
    member: string,
    options?: { readonly max?: number; readonly waitMs?: number },
  ): Promise<GroupDelivery[]>;
  /** Marks events (by position) handled. Unknown positions (already acked, parked) are ignored. */
  ack(name: string, member: string, positions: readonly number[]): Promise<void>;
  /** `retry`: deal again (a retry); `park`: set aside now. */
  nack(
    name: string,
    member: string,
    positions: readonly number[],
    action: 'retry' | 'park',
    reason?: string,
  ): Promise<void>;
  /** Parked events of the group after `after` (the `parkedAt` of the last one seen). */
  readParked(
    name: string,
    options?: { readonly after?: number; readonly limit?: number },
  ): Promise<ParkedEvent[]>;
}
