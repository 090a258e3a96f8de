/**
 * @module es/projections/types
 * Projections (CQRS read models): TypeScript code that folds events of the event store into
 * documents of a live collection, so browsers subscribe to read models with queries and
 * snapshots like any collection. The same definition runs inside the server (over the
 * `EventStore` and the `CollectionService`) or in a worker process over the client SDK: the
 * runner only sees the two ports below, `ProjectionEvents` and `ReadModelStore`.
 *
 * @example
 * const totals: ProjectionDefinition<{ orders: number; total: number }> = {
 *   name: 'customer-totals',
 *   source: { category: 'order' },
 *   documentKeys: (event) => (event.type === 'OrderPlaced' ? String((event.data as { customer: string }).customer) : null),
 *   evolve: (doc, event) => ({ orders: (doc?.orders ?? 0) + 1, total: (doc?.total ?? 0) + (event.data as { amount: number }).amount }),
 * };
 */
import type { JsonObject } from '../../crdt/index.js';
import type { WriteOp } from '../../model/index.js';
import type { EventStore, RecordedEvent, SubscriptionTarget } from '../streams/types.js';

/** What a projection does with events. `docs/event-sourcing.md`, "Projections". */
export interface ProjectionDefinition<Doc extends JsonObject = JsonObject> {
  /**
   * Name of the projection: letters, digits, `.`, `_`, `-`. Its read model is the strong
   * collection `<name>.v<version>` (version 1 at first, one more per rebuild).
   */
  readonly name: string;
  /** Which events it follows. Default: every stream (`{ all: true }`). */
  readonly source?: SubscriptionTarget;
  /** Partitions of the read model collection. Default 1. */
  readonly partitions?: number;
  /**
   * The keys of the documents `event` changes (a key, several, or none: `null`/`undefined`/`[]`).
   * Keys starting with `$checkpoint.` are reserved.
   */
  documentKeys(event: RecordedEvent): string | readonly string[] | null | undefined;
  /**
   * The document `key` after `event` (`document` is `null` when absent); `null` deletes it. It must
   * be deterministic and depend only on its arguments: crash recovery and rebuilds call it again on
   * the same events and must reach the same documents.
   */
  evolve(document: Doc | null, event: RecordedEvent, key: string): Doc | null;
}

/** The events side of a projection: the subset of `EventStore` it reads (the SDK's `client.streams` offers it too). */
export type ProjectionEvents = Pick<EventStore, 'subscribe' | 'readAll' | 'readStream' | 'headPosition'>;

/** A document as the read model holds it: value (null when absent) and version (-1 when absent). */
export interface ReadModelDocument {
  readonly value: JsonObject | null;
  readonly version: number;
}

/**
 * The collections side of a projection. The server implements it over `CollectionService`
 * (`server-context.ts`), a worker over the SDK (`client-context.ts`).
 */
export interface ReadModelStore {
  /** Creates the strong collection `name` with `partitions` if it does not exist; answers its partition count. */
  ensureCollection(name: string, partitions: number): Promise<number>;
  /** Deletes the collection `name` if it exists. */
  deleteCollection(name: string): Promise<void>;
  /** A document as this store last acknowledged it (a worker's reads see its own writes). */
  get(collection: string, key: string): Promise<ReadModelDocument>;
  /** One atomic transaction of a strong collection (all keys in one partition); answers the new version per op. */
  transact(collection: string, ops: readonly WriteOp[]): Promise<number[]>;
}

/** Where a projection runs: its events and its read models. */
export interface ProjectionContext {
  readonly events: ProjectionEvents;
  readonly readModels: ReadModelStore;
}

/** Progress of a rebuild, as `onProgress` gets it and as the status document shows it. */
export interface RebuildProgress {
  /** The version being built and its collection. */
  readonly version: number;
  readonly collection: string;
  /** Last position the new version has committed (-1 before the first). */
  readonly position: number;
  /** The store's head position when this was measured. */
  readonly head: number;
  /** `position / head` from 0 to 1 (1 when the store is empty). */
  readonly progress: number;
  /** Positions per second over the last interval. */
  readonly positionsPerSecond: number;
  /** Estimated time to catch up, ms (null until a rate is known). */
  readonly etaMs: number | null;
  readonly startedAt: number;
}

/** The status document of a projection: key `<name>` of the collection `tributary.projections`. */
export interface ProjectionStatus {
  readonly name: string;
  /** The version serving reads and its collection. */
  readonly version: number;
  readonly collection: string;
  /** Set while a rebuild runs. */
  readonly rebuild: RebuildProgress | null;
  readonly updatedAt: number;
}
