/**
 * @module connectors/types
 * The one interface every connector implements, source (Postgres CDC) or sink (Postgres, Redis,
 * webhook). The connector manager (`manager.ts`) creates connectors from their specs, keeps the
 * specs in the log so a restart brings them back, and drives their lifecycle; a connector only
 * moves data between its outside system and the Broker API, and reports where it is.
 *
 * Positions are the connector's own, as text (a Postgres LSN such as `0/16B3748`, or a sink's
 * `topic/partition:offset` list): the manager shows them and never interprets them.
 */
import type { Logger } from 'pino';
import type { AtomicAppend, Broker } from '../broker/types.js';
import type { CollectionService } from '../sync/index.js';

/** Where data flows: into Tributary (source) or out of it (sink). */
export type ConnectorKind = 'source' | 'sink';

/** What a user creates: `POST /v1/connectors` takes exactly this. */
export interface ConnectorSpec {
  /** Unique per server; the same rules as a topic name. */
  readonly name: string;
  /** A registered type, e.g. `postgres-cdc`, `postgres-sink`, `redis-sink`, `webhook-sink`. */
  readonly type: string;
  /** Type-specific settings, checked by the factory's `validate` before anything starts. */
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * - `starting`: connecting, or restoring its position;
 * - `snapshotting`: a source copying existing data before it streams changes;
 * - `running`: moving data;
 * - `paused`: stopped by a user, position kept;
 * - `retrying`: the outside system failed; retried with backoff, `error` says why;
 * - `failed`: cannot go on without a user (bad config found late, data it must not skip);
 * - `stopped`: deleted or the server is closing;
 * - `standby`: another gateway sharing the log runs it (docs/scale-out.md); this one takes over
 *   when that one dies.
 */
export type ConnectorState =
  | 'starting'
  | 'snapshotting'
  | 'running'
  | 'paused'
  | 'retrying'
  | 'failed'
  | 'stopped'
  | 'standby';

export interface ConnectorStatus {
  readonly name: string;
  readonly type: string;
  readonly kind: ConnectorKind;
  readonly state: ConnectorState;
  /** The last position made durable on both sides; null before the first. */
  readonly position: string | null;
  /**
   * How far behind its input the connector is: for a source, bytes of WAL not yet acknowledged;
   * for a sink, records not yet applied. Null when unknown.
   */
  readonly lag: number | null;
  /** Records moved since this process started. */
  readonly records: number;
  /**
   * Times a source lost its position outside Tributary (a replication slot dropped or
   * invalidated) and started over with a fresh snapshot marked as a reset, since this process
   * started; absent for connectors that cannot.
   */
  readonly resets?: number;
  /** Records a sink sent to its dead-letter topic since this process started (sinks with one). */
  readonly deadLettered?: number;
  /** Set on connectors the server's config file declares (created and updated from it at start). */
  readonly declared?: true;
  /** Snapshot progress while `snapshotting`. */
  readonly snapshot?: { readonly rowsDone: number; readonly rowsTotal: number | null };
  /** The last error, while `retrying` or `failed`. */
  readonly error?: { readonly code: string; readonly message: string };
  /**
   * Set while a connector's own alarm is raised (a source's slot lag over its `lagAlarmBytes`);
   * exported as `tributary_connector_alarm` in /metrics.
   */
  readonly alarm?: { readonly reason: string };
}

/** What the manager hands a connector. */
export interface ConnectorContext {
  readonly broker: Broker;
  /** For sources that write into a live collection. */
  readonly collections: CollectionService;
  readonly logger: Logger;
  /** Aborted when the connector is deleted or the server closes. */
  readonly signal: AbortSignal;
  /** Reports a state change (the manager logs it, exports it in /metrics and on GET /v1/connectors). */
  readonly onStatus: (status: ConnectorStatus) => void;
  /**
   * The connector's position kept in the log (`__connectors.positions`, keyed by connector
   * name): a connector that writes to Tributary puts `positions.append(p)` into the same
   * `broker.commitAtomically` call as its records, so the two are durable together or not at all.
   * Deleted with the connector.
   */
  readonly positions: ConnectorPositions;
}

/** One connector's position in the log (`positions.ts`). */
export interface ConnectorPositions {
  /** The last position committed (atomic commits that aborted are not seen); null before the first. */
  load(): Promise<string | null>;
  /** The append that records `position`, for a `broker.commitAtomically` call. */
  append(position: string): AtomicAppend;
  /** Records `position` on its own; resolves once durable. */
  save(position: string): Promise<void>;
}

/** One running connector. */
export interface Connector {
  /** Connects and starts moving data; resolves once started (not when the data ends). */
  start(): Promise<void>;
  /** Stops moving data, keeping the position; `resume` goes on from it. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops for good (delete or server close); releases every outside resource it holds. */
  stop(): Promise<void>;
  status(): ConnectorStatus;
}

/** One connector type; the manager keeps a registry of these (`registry.ts`). */
export interface ConnectorFactory<Config = unknown> {
  readonly type: string;
  readonly kind: ConnectorKind;
  /** Checks a spec's `config`; throws `TributaryError('INVALID_ARGUMENT', …)` naming the bad field. */
  validate(config: unknown): Config;
  /**
   * Loads what `create` needs (`lazy-factory.ts`: a type's code loads with its first connector);
   * the manager awaits it before every `create`. Absent: `create` is ready.
   */
  prepare?(): Promise<void>;
  create(spec: ConnectorSpec, config: Config, context: ConnectorContext): Connector;
  /**
   * Removes what the connector created outside Tributary when a user deletes it (a replication
   * slot, a publication); not called on server close.
   */
  destroy?(spec: ConnectorSpec, config: Config, context: ConnectorContext): Promise<void>;
}
