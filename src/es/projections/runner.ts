/**
 * @module es/projections/runner
 * Runs one projection into one read-model collection: follows the events from its checkpoint,
 * folds them into documents with the definition's `evolve`, and commits documents and checkpoint
 * in one transaction per partition (`checkpoint.ts`), so every event's effect is applied exactly
 * once across crashes.
 *
 * - **Start**: reads each partition's checkpoint (position and version) and subscribes after the
 *   lowest; an event at or below a partition's checkpoint is skipped for that partition's keys
 *   (another partition may still need it after a crash between two partitions' commits).
 * - **Batches**: events are buffered as they arrive and applied by one drain loop; while one
 *   batch commits, the next accumulates (group commit, no timers). A batch ends at
 *   `batchEventsMax` events or before an event whose writes would pass a transaction's op limit.
 *   Every batch writes each partition's checkpoint (with `ifVersion`, which fences out a second
 *   runner of the same collection), so every checkpoint is at the batch's last position.
 * - **Documents** are read once through the `ReadModelStore` and kept in a bounded cache: the
 *   runner is the only writer of its collection. A batch's documents that are not cached are
 *   read before it is folded, several at once (over the SDK each read is a round trip).
 * - **Failure**: any error (an `evolve` that throws, a refused transaction, a lost connection)
 *   stops the runner: its cache may hold documents that were not committed, so it is not reused.
 *   The `Projection` that owns it starts a fresh one from the checkpoints.
 */
import type { JsonObject } from '../../crdt/index.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import type { WriteOp } from '../../model/index.js';
import { SYNC_LIMITS } from '../../sync/limits.js';
import type { EventSubscription, RecordedEvent } from '../streams/types.js';
import {
  CHECKPOINT_KEY_PREFIX,
  type CheckpointDocument,
  checkpointKeys,
  checkpointPosition,
  partitionOfKey,
} from './checkpoint.js';
import { sourceHasEventsBetween } from './source.js';
import type { ProjectionContext, ProjectionDefinition } from './types.js';

export interface ProjectionRunnerOptions {
  /** Most events applied in one batch (one transaction per partition). Default 500. */
  readonly batchEventsMax?: number;
  /** Documents kept in memory between batches; the cache is dropped past it. Default 10 000. */
  readonly cachedDocumentsMax?: number;
  /** Called once if the runner stops on an error (not on `stop()`). */
  readonly onFailure?: (error: Error) => void;
  /** Called after each committed batch with its last position. */
  readonly onCommit?: (position: number, events: number) => void;
}

export const PROJECTION_DEFAULTS = {
  batchEventsMax: 500,
  cachedDocumentsMax: 10_000,
  waitForTimeoutMs: 10_000,
} as const;

/** Documents read at once before a batch is folded. */
const LOADS_IN_FLIGHT_MAX = 64;

/** Writes one transaction may hold besides the checkpoint. */
const DOCUMENT_OPS_MAX = SYNC_LIMITS.opsPerTransactionMax - 1;

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Raised to waiters of a runner stopped on purpose (a swap): `Projection.waitFor` moves on to the new one. */
export class RunnerStopped extends Error {}

export class ProjectionRunner<Doc extends JsonObject = JsonObject> {
  readonly collection: string;
  readonly #definition: ProjectionDefinition<Doc>;
  readonly #context: ProjectionContext;
  readonly #options: ProjectionRunnerOptions;
  readonly #keys: readonly string[];
  /** Per partition: position of its checkpoint and the checkpoint document's version. */
  readonly #checkpoints: number[];
  readonly #fences: number[];
  readonly #cache = new Map<string, Doc | null>();
  readonly #buffer: RecordedEvent[] = [];
  readonly #waiters: Waiter[] = [];
  #committed: number;
  #lastSeen: number;
  #draining: Promise<void> | undefined;
  #subscription: EventSubscription | undefined;
  #failure: Error | undefined;
  #stopped = false;
  #eventsApplied = 0;

  private constructor(
    definition: ProjectionDefinition<Doc>,
    context: ProjectionContext,
    collection: string,
    keys: readonly string[],
    checkpoints: { position: number; version: number }[],
    options: ProjectionRunnerOptions,
  ) {
    this.#definition = definition;
    this.#context = context;
    this.collection = collection;
    this.#keys = keys;
    this.#checkpoints = checkpoints.map((c) => c.position);
    this.#fences = checkpoints.map((c) => c.version);
    this.#options = options;
    this.#committed = Math.min(...this.#checkpoints);
    this.#lastSeen = this.#committed;
  }

  /** Opens the collection's checkpoints and starts following events after the lowest. */
  static async start<Doc extends JsonObject>(
    definition: ProjectionDefinition<Doc>,
    context: ProjectionContext,
    collection: string,
    options: ProjectionRunnerOptions = {},
  ): Promise<ProjectionRunner<Doc>> {
    const partitions = await context.readModels.ensureCollection(collection, definition.partitions ?? 1);
    const keys = checkpointKeys(partitions);
    const checkpoints = await Promise.all(
      keys.map(async (key) => {
        const doc = await context.readModels.get(collection, key);
        return { position: checkpointPosition(doc.value), version: doc.version };
      }),
    );
    const runner = new ProjectionRunner(definition, context, collection, keys, checkpoints, options);
    await runner.#subscribe();
    return runner;
  }

  /** The last position whose effects are committed in every partition (-1: none yet). */
  get position(): number {
    return this.#committed;
  }

  /** Events whose `evolve` ran and whose writes were committed, since this runner started. */
  get eventsApplied(): number {
    return this.#eventsApplied;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Resolves once the read model reflects every event of the projection's source at or below
   * `position`: its checkpoint reached it, or no event of the source lies between the checkpoint
   * and `position`. `TIMEOUT` after `timeoutMs`.
   */
  waitFor(position: number, timeoutMs: number = PROJECTION_DEFAULTS.waitForTimeoutMs): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#committed >= position) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(
          new TributaryError('TIMEOUT', {
            ms: timeoutMs,
            what: `projection "${this.#definition.name}" reaching position ${position} (at ${this.#committed})`,
          }),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const remove = () => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
      };
      this.#waiters.push(waiter);
      void this.#checkWaiter(waiter);
    });
  }

  /** Whether the read model reflects everything of the source up to `position` now. */
  async reached(position: number): Promise<boolean> {
    if (this.#committed >= position) return true;
    const committed = this.#committed;
    // A position the store has not reached yet may still get events of the source.
    if (position > (await this.#context.events.headPosition())) return false;
    const pending = await sourceHasEventsBetween(
      this.#context.events,
      this.#definition.source,
      committed,
      position,
    );
    return !pending;
  }

  /** Stops following events; a batch being committed finishes first. Waiters get `RunnerStopped`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#subscription?.close();
    this.#buffer.length = 0;
    await this.#draining?.catch(() => undefined);
    this.#rejectWaiters(new RunnerStopped(`projection runner of ${this.collection} stopped`));
  }

  async #subscribe(): Promise<void> {
    const after = this.#committed;
    this.#subscription = await this.#context.events.subscribe({
      target: this.#definition.source ?? { all: true },
      ...(after >= 0 ? { after } : {}),
      onEvent: (event) => this.#onEvent(event),
      onError: (error) => this.#fail(error),
    });
  }

  #onEvent(event: RecordedEvent): Promise<void> | undefined {
    if (this.#stopped || this.#failure !== undefined) return undefined;
    if (!(event.position > this.#lastSeen)) {
      this.#fail(
        new Error(
          `projection "${this.#definition.name}" got position ${event.position} after ${this.#lastSeen}`,
        ),
      );
      return undefined;
    }
    this.#lastSeen = event.position;
    this.#buffer.push(event);
    if (this.#draining === undefined) this.#draining = this.#drain();
    // Back-pressure: past one batch, the subscription waits for the drain.
    return this.#buffer.length >= this.#batchEventsMax() ? this.#draining : undefined;
  }

  #batchEventsMax(): number {
    return this.#options.batchEventsMax ?? PROJECTION_DEFAULTS.batchEventsMax;
  }

  async #drain(): Promise<void> {
    // Let the events of the current delivery arrive before the first batch is cut.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    try {
      while (this.#buffer.length > 0 && !this.#stopped && this.#failure === undefined) {
        const batch = this.#buffer.splice(0, this.#batchEventsMax());
        await this.#apply(batch);
      }
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#draining = undefined;
    }
  }

  /** Folds `batch` into documents and commits them, cutting it where a transaction would get too big. */
  async #apply(batch: readonly RecordedEvent[]): Promise<void> {
    const partitions = this.#keys.length;
    let dirty = this.#keys.map(() => new Map<string, Doc | null>());
    let applied = 0;
    let last = this.#committed;
    const keysOf = batch.map((event) => this.#documentKeys(event));
    await this.#loadMissing(keysOf);
    for (const [i, event] of batch.entries()) {
      const keys = keysOf[i]!;
      const fresh = keys.filter(
        (key) => event.position > this.#checkpoints[partitionOfKey(key, partitions)]!,
      );
      if (fresh.some((key) => dirty[partitionOfKey(key, partitions)]!.size >= DOCUMENT_OPS_MAX)) {
        await this.#commit(dirty, last, applied);
        dirty = this.#keys.map(() => new Map<string, Doc | null>());
        applied = 0;
      }
      for (const key of fresh) {
        // Loaded above; only a cache dropped by a commit in the middle of the batch reloads.
        const document = this.#cache.has(key) ? (this.#cache.get(key) as Doc | null) : await this.#load(key);
        const next = this.#evolve(document, event, key);
        this.#cache.set(key, next);
        dirty[partitionOfKey(key, partitions)]!.set(key, next);
      }
      if (fresh.length > 0) applied++;
      last = event.position;
    }
    await this.#commit(dirty, last, applied);
  }

  #documentKeys(event: RecordedEvent): string[] {
    let keys: string | readonly string[] | null | undefined;
    try {
      keys = this.#definition.documentKeys(event);
    } catch (error) {
      throw this.#failed(event, `documentKeys threw: ${describe(error)}`, error);
    }
    const list = keys === null || keys === undefined ? [] : typeof keys === 'string' ? [keys] : [...keys];
    for (const key of list) {
      if (typeof key !== 'string' || key.length === 0)
        throw this.#failed(event, `documentKeys returned ${JSON.stringify(key)}, not a non-empty string`);
      if (key.startsWith(CHECKPOINT_KEY_PREFIX))
        throw this.#failed(event, `key "${key}" starts with the reserved "${CHECKPOINT_KEY_PREFIX}"`);
    }
    return [...new Set(list)];
  }

  #evolve(document: Doc | null, event: RecordedEvent, key: string): Doc | null {
    let next: Doc | null;
    try {
      next = this.#definition.evolve(document, event, key);
    } catch (error) {
      throw this.#failed(event, `evolve threw for key "${key}": ${describe(error)}`, error);
    }
    if (next !== null && (typeof next !== 'object' || Array.isArray(next)))
      throw this.#failed(
        event,
        `evolve returned ${JSON.stringify(next)} for key "${key}", not an object or null`,
      );
    return next;
  }

  #failed(event: RecordedEvent, reason: string, cause?: unknown): TributaryError {
    return new TributaryError(
      'PROJECTION_FAILED',
      { projection: this.#definition.name, position: event.position, stream: event.stream, reason },
      { cause },
    );
  }

  /** Reads the batch's documents that are not cached, several at a time (one round trip each over the SDK). */
  async #loadMissing(keysOf: readonly string[][]): Promise<void> {
    const missing = [...new Set(keysOf.flat())].filter((key) => !this.#cache.has(key));
    for (let i = 0; i < missing.length; i += LOADS_IN_FLIGHT_MAX) {
      await Promise.all(
        missing.slice(i, i + LOADS_IN_FLIGHT_MAX).map(async (key) => {
          this.#cache.set(key, await this.#load(key));
        }),
      );
    }
  }

  async #load(key: string): Promise<Doc | null> {
    if (this.#cache.has(key)) return this.#cache.get(key)!;
    const doc = await this.#context.readModels.get(this.collection, key);
    return doc.value as Doc | null;
  }

  /** One transaction per partition: its documents and its checkpoint at `position`. */
  async #commit(dirty: readonly Map<string, Doc | null>[], position: number, applied: number): Promise<void> {
    if (position <= this.#committed) return;
    await Promise.all(
      dirty.map(async (documents, partition) => {
        const ops: WriteOp[] = [];
        for (const [key, value] of documents)
          ops.push(value === null ? { op: 'delete', key } : { op: 'put', key, value });
        const checkpoint: CheckpointDocument = { projection: this.#definition.name, position };
        ops.push({
          op: 'put',
          key: this.#keys[partition]!,
          value: checkpoint,
          ifVersion: this.#fences[partition]!,
        });
        let versions: number[];
        try {
          versions = await this.#context.readModels.transact(this.collection, ops);
        } catch (error) {
          // A mismatch on a write the SDK resent after a lost connection may be our own first
          // attempt: not a fence, start again from the checkpoints (a retriable failure).
          if (isTributaryError(error, 'VERSION_MISMATCH') && error.details.retried !== true) {
            throw new TributaryError(
              'PROJECTION_FENCED',
              { projection: this.#definition.name, collection: this.collection },
              { cause: error },
            );
          }
          throw error;
        }
        this.#fences[partition] = versions.at(-1)!;
        this.#checkpoints[partition] = position;
      }),
    );
    this.#committed = position;
    this.#eventsApplied += applied;
    if (this.#cache.size > (this.#options.cachedDocumentsMax ?? PROJECTION_DEFAULTS.cachedDocumentsMax))
      this.#cache.clear();
    this.#options.onCommit?.(position, applied);
    for (const waiter of [...this.#waiters]) void this.#checkWaiter(waiter);
  }

  async #checkWaiter(waiter: Waiter): Promise<void> {
    try {
      if (!(await this.reached(waiter.position))) return;
    } catch {
      return; // the next commit checks again
    }
    const at = this.#waiters.indexOf(waiter);
    if (at < 0) return;
    this.#waiters.splice(at, 1);
    waiter.resolve();
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined || this.#stopped) return;
    this.#failure = error;
    this.#cache.clear();
    this.#buffer.length = 0;
    void this.#subscription?.close().catch(() => undefined);
    this.#rejectWaiters(error);
    this.#options.onFailure?.(error);
  }

  #rejectWaiters(error: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
