/**
 * @module es/projections/projection
 * A running projection: its active read model version, the status document that tells clients
 * which collection serves it, restarts after failures, read-your-writes waits, and rebuilds.
 *
 * - **Status**: the strong collection `tributary.projections` holds one document per projection
 *   (key = its name, `ProjectionStatus`): the version serving reads, its collection, and while a
 *   rebuild runs, its progress and ETA. Clients read or subscribe to it like any collection.
 * - **Rebuild**: a second runner folds every event from position 0 into `<name>.v<N+1>` while
 *   the active one keeps serving. Once it has caught up with the store's head, the active
 *   runner stops, the status document switches to the new version (compare-and-set) and the
 *   old collection is deleted (its subscribers get `COLLECTION_NOT_FOUND` and read the status
 *   again). A rebuild interrupted by a crash resumes from the new collection's checkpoint.
 * - **Failures**: a runner stopped by a retriable error (a lost connection, a server shutting
 *   down) is started again from the checkpoints after `restartDelayMs`; `PROJECTION_FAILED` and
 *   `PROJECTION_FENCED` stop the projection (`failure`).
 *
 * @example
 * const orders = await startProjection(definition, serverProjectionContext(store, collections));
 * const { position } = await store.append('order-1', [{ type: 'OrderPlaced', data }]);
 * await orders.waitFor(position); // the read model now shows order-1
 */
import type { JsonObject } from '../../crdt/index.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import {
  PROJECTION_DEFAULTS,
  ProjectionRunner,
  type ProjectionRunnerOptions,
  RunnerStopped,
} from './runner.js';
import type {
  ProjectionContext,
  ProjectionDefinition,
  ProjectionStatus,
  ReadModelDocument,
  RebuildProgress,
} from './types.js';

/** The collection of status documents, one per projection. */
export const PROJECTION_STATUS_COLLECTION = 'tributary.projections';

export interface StartProjectionOptions extends Omit<ProjectionRunnerOptions, 'onFailure'> {
  /** Wait before starting a runner again after a retriable failure. Default 1000 ms. */
  readonly restartDelayMs?: number;
  /** Called when the projection stops for good (`PROJECTION_FAILED`, `PROJECTION_FENCED`). */
  readonly onFailure?: (error: Error) => void;
}

export interface RebuildOptions {
  /** Called with each progress measurement (also written to the status document). */
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Period of progress measurements. Default 500 ms. */
  readonly progressIntervalMs?: number;
  /** Keep the previous version's collection after the swap. Default false (deleted). */
  readonly keepPrevious?: boolean;
}

const NAME = /^[A-Za-z0-9._-]{1,150}$/;

/** Starts `definition` on its active version (creating version 1 and the status document the first time). */
export async function startProjection<Doc extends JsonObject>(
  definition: ProjectionDefinition<Doc>,
  context: ProjectionContext,
  options: StartProjectionOptions = {},
): Promise<Projection<Doc>> {
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `projection name must be 1 to 150 letters, digits, ".", "_" or "-", got ${JSON.stringify(definition.name)}`,
    });
  }
  const partitions = definition.partitions ?? 1;
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new TributaryError('INVALID_ARGUMENT', { reason: 'partitions must be a positive integer' });
  }
  const store = new StatusStore(context, definition.name);
  const status = await store.load();
  const projection = new Projection(definition, context, store, status, options);
  await projection.startActive();
  return projection;
}

export class Projection<Doc extends JsonObject = JsonObject> {
  readonly #definition: ProjectionDefinition<Doc>;
  readonly #context: ProjectionContext;
  readonly #statusStore: StatusStore;
  readonly #options: StartProjectionOptions;
  #status: ProjectionStatus;
  #active: ProjectionRunner<Doc> | undefined;
  /** Resolves when a runner is active again after a restart. */
  #activeReady: Promise<void> = Promise.resolve();
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #rebuilding: Promise<ProjectionStatus> | undefined;
  #failure: Error | undefined;
  #stopped = false;

  /** @internal Made by `startProjection`. */
  constructor(
    definition: ProjectionDefinition<Doc>,
    context: ProjectionContext,
    statusStore: StatusStore,
    status: ProjectionStatus,
    options: StartProjectionOptions,
  ) {
    this.#definition = definition;
    this.#context = context;
    this.#statusStore = statusStore;
    this.#status = status;
    this.#options = options;
  }

  get name(): string {
    return this.#definition.name;
  }

  /** The status as this projection last wrote or read it. */
  get status(): ProjectionStatus {
    return this.#status;
  }

  /** The collection serving reads now. */
  get collection(): string {
    return this.#status.collection;
  }

  /** Last position committed by the active version (-1: none yet or no runner active). */
  get position(): number {
    return this.#active?.position ?? -1;
  }

  /** Set when the projection stopped for good. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** @internal */
  async startActive(): Promise<void> {
    this.#active = await this.#startRunner(this.#status.collection);
  }

  /**
   * Resolves once the serving read model reflects every event of the projection's source at or
   * below `position` (typically an append's `position`): read-your-writes. Follows a swap to the
   * new version. `TIMEOUT` after `timeoutMs` (default 10 s).
   */
  async waitFor(position: number, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? PROJECTION_DEFAULTS.waitForTimeoutMs);
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#stopped) throw new TributaryError('SHUTTING_DOWN');
      await this.#activeReady;
      const runner = this.#active;
      const left = deadline - Date.now();
      if (runner === undefined || left <= 0) {
        throw new TributaryError('TIMEOUT', {
          ms: options.timeoutMs ?? PROJECTION_DEFAULTS.waitForTimeoutMs,
          what: `projection "${this.name}" reaching position ${position}`,
        });
      }
      try {
        await runner.waitFor(position, left);
        return;
      } catch (error) {
        // A swap or a restart replaces the runner: wait on the next one.
        const replaced = error instanceof RunnerStopped || (runner.failure === error && !isFinal(error));
        if (!replaced) throw error;
      }
    }
  }

  /**
   * Builds the next version from position 0 while the current one serves, then swaps. Resolves
   * with the status after the swap. One rebuild at a time (a second call gets the same promise).
   */
  rebuild(options: RebuildOptions = {}): Promise<ProjectionStatus> {
    this.#rebuilding ??= this.#rebuild(options).finally(() => {
      this.#rebuilding = undefined;
    });
    return this.#rebuilding;
  }

  /** Stops the active runner (and a rebuild's); the read models stay. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    await this.#active?.stop();
  }

  async #rebuild(options: RebuildOptions): Promise<ProjectionStatus> {
    const version = this.#status.rebuild?.version ?? this.#status.version + 1;
    const collection = `${this.name}.v${version}`;
    const startedAt = this.#status.rebuild?.startedAt ?? Date.now();
    const measure = progressMeter(version, collection, startedAt);
    const runner = await this.#startRunner(collection);
    try {
      for (;;) {
        if (runner.failure !== undefined) throw runner.failure;
        if (this.#stopped) throw new TributaryError('SHUTTING_DOWN');
        const head = await this.#context.events.headPosition();
        const done = await runner.reached(head);
        // Caught up: everything of the source up to the head is in, whatever the last checkpoint says.
        const progress = measure(done ? Math.max(head, runner.position) : runner.position, head);
        this.#status = await this.#statusStore.write({
          ...this.#status,
          rebuild: progress,
          updatedAt: Date.now(),
        });
        options.onProgress?.(progress);
        if (done) break;
        await sleep(options.progressIntervalMs ?? 500);
      }
      const previous = this.#status.collection;
      await this.#active?.stop();
      this.#active = runner;
      this.#status = await this.#statusStore.write({
        name: this.name,
        version,
        collection,
        rebuild: null,
        updatedAt: Date.now(),
      });
      if (options.keepPrevious !== true) await this.#context.readModels.deleteCollection(previous);
      return this.#status;
    } catch (error) {
      if (this.#active !== runner) await runner.stop();
      throw error;
    }
  }

  async #startRunner(collection: string): Promise<ProjectionRunner<Doc>> {
    const runner: ProjectionRunner<Doc> = await ProjectionRunner.start(
      this.#definition,
      this.#context,
      collection,
      {
        ...this.#options,
        onFailure: (error) => {
          if (this.#active === runner) this.#onActiveFailure(error);
        },
      },
    );
    return runner;
  }

  #onActiveFailure(error: Error): void {
    if (this.#stopped) return;
    if (isFinal(error)) {
      this.#failure = error;
      this.#options.onFailure?.(error);
      return;
    }
    let ready: () => void = () => undefined;
    this.#activeReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const restart = () => {
      this.#restartTimer = undefined;
      if (this.#stopped) return ready();
      this.#startRunner(this.#status.collection).then(
        (runner) => {
          this.#active = runner;
          ready();
        },
        () => {
          this.#restartTimer = setTimeout(restart, this.#options.restartDelayMs ?? 1000);
        },
      );
    };
    this.#restartTimer = setTimeout(restart, this.#options.restartDelayMs ?? 1000);
  }
}

/** Failures a restart cannot fix; anything else (a lost connection, a resent write) starts a new runner. */
function isFinal(error: unknown): boolean {
  return isTributaryError(error, 'PROJECTION_FAILED') || isTributaryError(error, 'PROJECTION_FENCED');
}

/** Progress from successive (position, head) measurements: fraction done, rate and ETA. */
function progressMeter(
  version: number,
  collection: string,
  startedAt: number,
): (position: number, head: number) => RebuildProgress {
  let previous: { position: number; at: number } | undefined;
  let rate = 0;
  return (position, head) => {
    const at = Date.now();
    if (previous !== undefined && at > previous.at) {
      const current = ((position - previous.position) * 1000) / (at - previous.at);
      rate = rate === 0 ? current : 0.5 * rate + 0.5 * current; // smoothed, so one slow tick does not swing the ETA
    }
    previous = { position, at };
    const remaining = Math.max(0, head - position);
    return {
      version,
      collection,
      position,
      head,
      progress: head < 0 ? 1 : Math.min(1, (position + 1) / (head + 1)),
      positionsPerSecond: Math.round(rate),
      etaMs: remaining === 0 ? 0 : rate > 0 ? Math.round((remaining / rate) * 1000) : null,
      startedAt,
    };
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The projection's status document, written with compare-and-set. */
export class StatusStore {
  readonly #context: ProjectionContext;
  readonly #name: string;
  #version = -1;

  constructor(context: ProjectionContext, name: string) {
    this.#context = context;
    this.#name = name;
  }

  /** Reads the status, creating it (version 1) the first time. */
  async load(): Promise<ProjectionStatus> {
    await this.#context.readModels.ensureCollection(PROJECTION_STATUS_COLLECTION, 1);
    const doc: ReadModelDocument = await this.#context.readModels.get(
      PROJECTION_STATUS_COLLECTION,
      this.#name,
    );
    this.#version = doc.version;
    if (doc.value !== null) return doc.value as unknown as ProjectionStatus;
    return this.write({
      name: this.#name,
      version: 1,
      collection: `${this.#name}.v1`,
      rebuild: null,
      updatedAt: Date.now(),
    });
  }

  async write(status: ProjectionStatus): Promise<ProjectionStatus> {
    try {
      const [version] = await this.#context.readModels.transact(PROJECTION_STATUS_COLLECTION, [
        { op: 'put', key: this.#name, value: status as unknown as JsonObject, ifVersion: this.#version },
      ]);
      this.#version = version!;
      return status;
    } catch (error) {
      if (!isTributaryError(error, 'VERSION_MISMATCH')) throw error;
      throw new TributaryError(
        'PROJECTION_FENCED',
        { projection: this.#name, collection: PROJECTION_STATUS_COLLECTION },
        { cause: error },
      );
    }
  }
}
