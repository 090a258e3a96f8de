/**
 * @module connectors/manager
 * Runs the server's connectors (docs/connectors.md): creates them from their specs, keeps the
 * specs in the log (`store.ts`, topic `__connectors`) so a restart brings every connector back
 * as it was, and drives their lifecycle — create, pause, resume, delete — for the HTTP API and
 * the CLI. A connector whose `start()` fails is retried with exponential backoff (state
 * `retrying`, the error shown) unless its config is bad (`failed`); one connector's failure
 * never touches another or the server.
 *
 * Calls on one connector run one after another (a pause never races a delete). Connectors get
 * the system view of the broker (they may write internal topics such as their positions in
 * `__connectors.positions`) and live collections.
 *
 * @example
 * const manager = await ConnectorManager.open({ broker: broker.forSystem(), collections, logger });
 * await manager.create({ name: 'orders-cdc', type: 'postgres-cdc', config: { ... } });
 * manager.list(); // [{ name: 'orders-cdc', state: 'snapshotting', position: null, ... }]
 * await manager.close();
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Broker } from '../broker/types.js';
import { isTributaryError, TributaryError } from '../errors.js';
import type { CollectionService } from '../sync/index.js';
import { registerConnectorMetrics } from './metrics.js';
import type { ConnectorPlacement } from './placement.js';
import { connectorPositions, openPositionTopic } from './positions.js';
import { CONNECTOR_FACTORIES } from './registry.js';
import { ConnectorStore } from './store.js';
import type { Connector, ConnectorFactory, ConnectorSpec, ConnectorStatus } from './types.js';

export interface ConnectorManagerOptions {
  /** The broker as Tributary's own layers use it (`broker.forSystem()`). */
  readonly broker: Broker;
  readonly collections: CollectionService;
  readonly logger: Logger;
  /** Where the connector metrics are registered (the server's /metrics); absent: none. */
  readonly registry?: Registry;
  /** Connector types; default: every registered one (`registry.ts`). */
  // biome-ignore lint/suspicious/noExplicitAny: factories differ in their config type; each checks its own.
  readonly factories?: readonly ConnectorFactory<any>[];
  /** First delay before a failed start is retried (doubles up to `retryMaxMs`). Default 500 ms. */
  readonly retryMinMs?: number;
  /** Longest delay between start retries. Default 30 000 ms. */
  readonly retryMaxMs?: number;
  /**
   * Gateways sharing one log: each connector runs on the gateway holding its lease, in state
   * `standby` on the others (`placement.ts`). Absent (a single server): every connector runs here.
   */
  readonly placement?: ConnectorPlacement;
}

/** Connector names: as topic names, 1–249 of `a-z A-Z 0-9 . _ -`, not starting with `__`. */
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

interface Entry {
  readonly spec: ConnectorSpec;
  readonly config: unknown;
  readonly factory: ConnectorFactory<unknown>;
  paused: boolean;
  connector: Connector | null;
  controller: AbortController;
  /** Set while the manager itself decides the state (a failed start, or paused before starting). */
  override: Pick<ConnectorStatus, 'state' | 'error'> | null;
  /** The last status reported or read; keeps the position when no connector is running. */
  last: ConnectorStatus;
  attempts: number;
  retry: NodeJS.Timeout | null;
  /** The tail of this connector's operations. */
  queue: Promise<unknown>;
  deleted: boolean;
  /** The server's config file declares it (`declare`). */
  declared: boolean;
  /** Its type is unknown or its stored config no longer passes `validate`: it never starts. */
  readonly broken: boolean;
}

export class ConnectorManager {
  readonly #options: ConnectorManagerOptions;
  readonly #store: ConnectorStore;
  readonly #entries = new Map<string, Entry>();
  // biome-ignore lint/suspicious/noExplicitAny: see ConnectorManagerOptions.factories.
  readonly #factories: readonly ConnectorFactory<any>[];
  #closed = false;

  private constructor(options: ConnectorManagerOptions, store: ConnectorStore) {
    this.#options = options;
    this.#store = store;
    this.#factories = options.factories ?? CONNECTOR_FACTORIES;
  }

  /** Loads the stored connectors and starts the ones not paused (their starts run in the background). */
  static async open(options: ConnectorManagerOptions): Promise<ConnectorManager> {
    const store = await ConnectorStore.open(options.broker, options.logger);
    await openPositionTopic(options.broker);
    const manager = new ConnectorManager(options, store);
    if (options.registry !== undefined) registerConnectorMetrics(options.registry, () => manager.list());
    options.placement?.onLost((name) => manager.#standDown(name));
    for (const stored of store.all()) {
      const factory = manager.#factory(stored.spec.type);
      let config: unknown;
      let problem: TributaryError | undefined;
      if (factory === undefined) {
        problem = new TributaryError('INVALID_ARGUMENT', {
          reason: `connector type "${stored.spec.type}" is not known to this server`,
        });
      } else {
        try {
          config = factory.validate(stored.spec.config);
        } catch (error) {
          problem = isTributaryError(error)
            ? error
            : new TributaryError('INVALID_ARGUMENT', { reason: String(error) });
        }
      }
      if (factory === undefined || problem !== undefined) {
        options.logger.error({ connector: stored.spec.name, err: problem }, 'stored connector cannot start');
        manager.#entries.set(
          stored.spec.name,
          manager.#newEntry(
            stored.spec,
            undefined,
            unknownFactory(stored.spec.type),
            stored.paused,
            problem,
            stored.declared,
          ),
        );
        continue;
      }
      const entry = manager.#newEntry(
        stored.spec,
        config,
        factory,
        stored.paused,
        undefined,
        stored.declared,
      );
      manager.#entries.set(stored.spec.name, entry);
      entry.last = { ...entry.last, position: await manager.#positions(stored.spec.name).load() };
      if (!stored.paused) manager.#enqueue(entry, () => manager.#start(entry));
    }
    return manager;
  }

  /** The registered connector types. */
  types(): { type: string; kind: string }[] {
    return this.#factories.map((f) => ({ type: f.type, kind: f.kind }));
  }

  /**
   * Checks the spec (`INVALID_ARGUMENT` naming the bad field, `CONNECTOR_EXISTS`), stores it,
   * and starts the connector; resolves once it is stored (the start goes on in the background:
   * its progress shows in `status`).
   */
  async create(input: unknown): Promise<ConnectorStatus> {
    this.#checkOpen();
    const spec = checkSpec(input);
    const factory = this.#factory(spec.type);
    if (factory === undefined) {
      const known = this.#factories.map((f) => f.type).join(', ') || 'none';
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `unknown connector type "${spec.type}" (known: ${known})`,
      });
    }
    const config = factory.validate(spec.config);
    if (this.#entries.has(spec.name)) throw new TributaryError('CONNECTOR_EXISTS', { connector: spec.name });
    const entry = this.#newEntry(spec, config, factory, false);
    this.#entries.set(spec.name, entry);
    try {
      await this.#store.save({ spec, paused: false, declared: false });
    } catch (error) {
      this.#entries.delete(spec.name);
      throw error;
    }
    this.#enqueue(entry, () => this.#start(entry));
    return this.#status(entry);
  }

  /**
   * Makes the connectors a config file declares exist as declared (`connectors` in the config
   * file, docs/connectors.md#in-the-config-file): a missing one is created, one whose config
   * differs is updated (stopped, stored, started again from its position; a paused one stays
   * paused), an equal one is left alone, so declaring at every start is idempotent. Every spec is
   * checked before anything changes (`INVALID_ARGUMENT` naming the connector): a bad one, a name
   * declared twice, or a type that differs from the stored connector's changes nothing. A
   * connector the file declared before and no longer does is left running and no longer counted
   * as declared (a warning is logged): deleting it, which drops its replication slot or
   * positions, is always an explicit `DELETE`.
   */
  async declare(inputs: readonly unknown[]): Promise<DeclareResult> {
    this.#checkOpen();
    const checked = inputs.map((input, i) => this.#checkDeclared(input, i));
    const names = new Set<string>();
    for (const { spec } of checked) {
      if (names.has(spec.name)) invalid(`connector "${spec.name}" is declared twice`);
      names.add(spec.name);
      const existing = this.#entries.get(spec.name);
      if (existing !== undefined && existing.spec.type !== spec.type) {
        invalid(
          `connector "${spec.name}" exists as type "${existing.spec.type}", declared as "${spec.type}"; ` +
            'delete it first (tributary connectors delete) to change its type',
        );
      }
    }
    const result: DeclareResult = { created: [], updated: [], unchanged: [], undeclared: [] };
    for (const { spec, config, factory } of checked) {
      const existing = this.#entries.get(spec.name);
      if (existing === undefined) {
        const entry = this.#newEntry(spec, config, factory, false, undefined, true);
        this.#entries.set(spec.name, entry);
        try {
          await this.#store.save({ spec, paused: false, declared: true });
        } catch (error) {
          this.#entries.delete(spec.name);
          throw error;
        }
        this.#enqueue(entry, () => this.#start(entry));
        result.created.push(spec.name);
      } else if (sameJson(existing.spec.config, spec.config) && !existing.broken) {
        if (!existing.declared) {
          // Created over HTTP with the same spec: from now on the file declares it.
          await this.#enqueue(existing, async () => {
            await this.#store.save({ spec: existing.spec, paused: existing.paused, declared: true });
            existing.declared = true;
          });
        }
        result.unchanged.push(spec.name);
      } else {
        await this.#replace(existing, spec, config, factory);
        result.updated.push(spec.name);
      }
    }
    for (const entry of [...this.#entries.values()]) {
      if (!entry.declared || names.has(entry.spec.name)) continue;
      await this.#enqueue(entry, async () => {
        await this.#store.save({ spec: entry.spec, paused: entry.paused, declared: false });
        entry.declared = false;
      });
      this.#options.logger.warn(
        { connector: entry.spec.name },
        'connector no longer declared in the config file; it keeps running: delete it to remove it',
      );
      result.undeclared.push(entry.spec.name);
    }
    return result;
  }

  /** Every connector's status, in creation order. */
  list(): ConnectorStatus[] {
    return [...this.#entries.values()].map((entry) => this.#status(entry));
  }

  /** One connector's status (`CONNECTOR_NOT_FOUND`). */
  status(name: string): ConnectorStatus {
    return this.#status(this.#entry(name));
  }

  /** Stops moving data, keeping the position; stored, so a restart keeps it paused. */
  async pause(name: string): Promise<ConnectorStatus> {
    this.#checkOpen();
    const entry = this.#entry(name);
    await this.#enqueue(entry, async () => {
      if (entry.paused) return;
      await this.#store.save({ spec: entry.spec, paused: true, declared: entry.declared });
      entry.paused = true;
      this.#cancelRetry(entry);
      if (entry.connector !== null && entry.override === null) await entry.connector.pause();
      else await this.#stopConnector(entry);
    });
    return this.#status(entry);
  }

  /** Goes on from the kept position. */
  async resume(name: string): Promise<ConnectorStatus> {
    this.#checkOpen();
    const entry = this.#entry(name);
    await this.#enqueue(entry, async () => {
      if (!entry.paused) return;
      await this.#store.save({ spec: entry.spec, paused: false, declared: entry.declared });
      entry.paused = false;
      if (entry.connector !== null) await entry.connector.resume();
      else await this.#start(entry);
    });
    return this.#status(entry);
  }

  /**
   * Stops the connector, removes what it created outside Tributary (`factory.destroy`: a
   * replication slot, a publication), then its spec and position. When the outside cleanup
   * fails the connector stays, stopped and `failed` with the error, and the call rejects: a
   * DELETE can be tried again.
   */
  async delete(name: string): Promise<void> {
    this.#checkOpen();
    const entry = this.#entry(name);
    await this.#enqueue(entry, async () => {
      if (entry.deleted) return;
      this.#cancelRetry(entry);
      await this.#stopConnector(entry);
      if (entry.factory.destroy !== undefined) {
        try {
          await entry.factory.destroy(entry.spec, entry.config, this.#context(entry));
        } catch (error) {
          entry.override = { state: 'failed', error: errorOf(error) };
          throw error;
        }
      }
      await this.#store.remove(entry.spec.name);
      await this.#positions(entry.spec.name).clear();
      entry.deleted = true;
      this.#entries.delete(entry.spec.name);
      await this.#options.placement?.release(entry.spec.name).catch(() => undefined);
    });
  }

  /** Stops every connector (their outside resources stay: they resume on the next start). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [...this.#entries.values()].map((entry) =>
        this.#enqueue(entry, async () => {
          this.#cancelRetry(entry);
          await this.#stopConnector(entry);
        }).catch(() => undefined),
      ),
    );
  }

  // ---- internals ------------------------------------------------------------------------------

  #newEntry(
    spec: ConnectorSpec,
    config: unknown,
    factory: ConnectorFactory<unknown>,
    paused: boolean,
    problem?: TributaryError,
    declared = false,
  ): Entry {
    return {
      spec,
      config,
      factory,
      paused,
      connector: null,
      controller: new AbortController(),
      override: problem === undefined ? null : { state: 'failed', error: errorOf(problem) },
      last: {
        name: spec.name,
        type: spec.type,
        kind: factory.kind,
        state: 'starting',
        position: null,
        lag: null,
        records: 0,
      },
      attempts: 0,
      retry: null,
      queue: Promise.resolve(),
      deleted: false,
      declared,
      broken: problem !== undefined,
    };
  }

  /** Swaps a connector's spec: stops it, stores the new spec (its position kept), starts it unless paused. */
  async #replace(
    old: Entry,
    spec: ConnectorSpec,
    config: unknown,
    factory: ConnectorFactory<unknown>,
  ): Promise<void> {
    await this.#enqueue(old, async () => {
      this.#cancelRetry(old);
      await this.#stopConnector(old);
      await this.#store.save({ spec, paused: old.paused, declared: true });
      const entry = this.#newEntry(spec, config, factory, old.paused, undefined, true);
      entry.last = { ...entry.last, position: old.last.position };
      entry.queue = old.queue;
      old.deleted = true;
      this.#entries.set(spec.name, entry);
      if (!entry.paused) this.#enqueue(entry, () => this.#start(entry)).catch(() => undefined);
    });
  }

  /** One declared spec checked whole (`INVALID_ARGUMENT` naming the connector and the problem). */
  #checkDeclared(
    input: unknown,
    index: number,
  ): { spec: ConnectorSpec; config: unknown; factory: ConnectorFactory<unknown> } {
    const label =
      typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
        ? `connectors[${index}] "${(input as { name: string }).name}"`
        : `connectors[${index}]`;
    try {
      const spec = checkSpec(input);
      const factory = this.#factory(spec.type);
      if (factory === undefined) {
        const known = this.#factories.map((f) => f.type).join(', ') || 'none';
        invalid(`unknown connector type "${spec.type}" (known: ${known})`);
      }
      return { spec, config: factory.validate(spec.config), factory };
    } catch (error) {
      const reason = isTributaryError(error) ? String(error.details.reason ?? error.message) : String(error);
      throw new TributaryError('INVALID_ARGUMENT', { reason: `${label}: ${reason}` });
    }
  }

  #factory(type: string): ConnectorFactory<unknown> | undefined {
    return this.#factories.find((f) => f.type === type);
  }

  #entry(name: string): Entry {
    const entry = typeof name === 'string' ? this.#entries.get(name) : undefined;
    if (entry === undefined) throw new TributaryError('CONNECTOR_NOT_FOUND', { connector: String(name) });
    return entry;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TributaryError('SHUTTING_DOWN');
  }

  #enqueue<T>(entry: Entry, work: () => Promise<T>): Promise<T> {
    const run = entry.queue.then(work);
    entry.queue = run.catch(() => undefined);
    return run;
  }

  #positions(name: string) {
    return connectorPositions(this.#options.broker, name);
  }

  #context(entry: Entry) {
    return {
      broker: this.#options.broker,
      collections: this.#options.collections,
      logger: this.#options.logger.child({ connector: entry.spec.name, type: entry.spec.type }),
      signal: entry.controller.signal,
      onStatus: (status: ConnectorStatus) => {
        if (status.state !== entry.last.state) {
          this.#options.logger.info(
            { connector: entry.spec.name, state: status.state, error: status.error },
            'connector state',
          );
        }
        entry.last = status;
      },
      positions: this.#positions(entry.spec.name),
    };
  }

  async #start(entry: Entry): Promise<void> {
    if (entry.paused || entry.deleted || this.#closed || entry.broken) return;
    if (this.#options.placement !== undefined && !(await this.#placedHere(entry, this.#options.placement))) {
      return;
    }
    await entry.factory.prepare?.();
    entry.controller = new AbortController();
    const connector = entry.factory.create(entry.spec, entry.config, this.#context(entry));
    entry.connector = connector;
    try {
      await connector.start();
      entry.override = null;
      entry.attempts = 0;
    } catch (error) {
      await connector.stop().catch(() => undefined);
      entry.connector = null;
      const fatal = isTributaryError(error, 'INVALID_ARGUMENT');
      entry.override = { state: fatal ? 'failed' : 'retrying', error: errorOf(error) };
      this.#options.logger.warn({ connector: entry.spec.name, err: error, fatal }, 'connector start failed');
      if (!fatal) this.#scheduleRetry(entry);
    }
  }

  /**
   * Whether `entry` runs here: claims its lease; held elsewhere, the entry waits in `standby` and
   * claims again after `recheckMs`. Won from a state of standby, the stored spec is read again
   * first, so a connector paused or deleted through the gateway that ran it stays so.
   */
  async #placedHere(entry: Entry, placement: ConnectorPlacement): Promise<boolean> {
    let claim: { mine: boolean; holder: string };
    try {
      claim = await placement.claim(entry.spec.name);
    } catch (error) {
      entry.override = { state: 'retrying', error: errorOf(error) };
      this.#scheduleRetry(entry);
      return false;
    }
    if (!claim.mine) {
      entry.override = { state: 'standby' };
      this.#schedule(entry, placement.recheckMs);
      return false;
    }
    if (entry.override?.state !== 'standby') return true;
    const stored = await this.#store.reload(entry.spec.name, this.#options.logger);
    if (stored === undefined) {
      entry.deleted = true;
      this.#entries.delete(entry.spec.name);
      await placement.release(entry.spec.name).catch(() => undefined);
      return false;
    }
    entry.paused = stored.paused;
    entry.last = { ...entry.last, position: await this.#positions(entry.spec.name).load() };
    entry.override = null;
    this.#options.logger.info({ connector: entry.spec.name }, 'connector taken over from another gateway');
    return !entry.paused;
  }

  /** Another gateway took the lease: stop here and wait in `standby`. */
  #standDown(name: string): void {
    const entry = this.#entries.get(name);
    const placement = this.#options.placement;
    if (entry === undefined || placement === undefined) return;
    this.#enqueue(entry, async () => {
      this.#cancelRetry(entry);
      await this.#stopConnector(entry);
      entry.override = { state: 'standby' };
      this.#options.logger.warn({ connector: name }, 'another gateway took this connector over');
      this.#schedule(entry, placement.recheckMs);
    }).catch(() => undefined);
  }

  #schedule(entry: Entry, delayMs: number): void {
    this.#cancelRetry(entry);
    entry.retry = setTimeout(() => {
      entry.retry = null;
      this.#enqueue(entry, () => this.#start(entry)).catch(() => undefined);
    }, delayMs);
    entry.retry.unref();
  }

  #scheduleRetry(entry: Entry): void {
    const min = this.#options.retryMinMs ?? 500;
    const max = this.#options.retryMaxMs ?? 30_000;
    const delay = Math.min(max, min * 2 ** Math.min(entry.attempts, 16));
    entry.attempts++;
    entry.retry = setTimeout(() => {
      entry.retry = null;
      this.#enqueue(entry, () => this.#start(entry)).catch(() => undefined);
    }, delay);
    entry.retry.unref();
  }

  #cancelRetry(entry: Entry): void {
    if (entry.retry !== null) clearTimeout(entry.retry);
    entry.retry = null;
  }

  async #stopConnector(entry: Entry): Promise<void> {
    entry.controller.abort();
    const connector = entry.connector;
    entry.connector = null;
    if (connector === null) return;
    try {
      entry.last = { ...connector.status() };
    } catch {
      // status() of a broken connector: keep the last one reported.
    }
    await connector.stop();
  }

  #status(entry: Entry): ConnectorStatus {
    const status = this.#liveStatus(entry);
    return entry.declared ? { ...status, declared: true } : status;
  }

  #liveStatus(entry: Entry): ConnectorStatus {
    let status = entry.last;
    if (entry.connector !== null) {
      try {
        status = entry.connector.status();
        entry.last = status;
      } catch {
        // keep the last one
      }
    }
    if (entry.paused) return withoutError({ ...status, state: 'paused' });
    if (entry.override !== null) {
      const { error } = entry.override;
      return {
        ...withoutError(status),
        state: entry.override.state,
        ...(error === undefined ? {} : { error }),
      };
    }
    if (entry.connector === null && !this.#closed && status.state !== 'failed') {
      return withoutError({ ...status, state: 'starting' });
    }
    return status;
  }
}

/** The spec a user sent, checked field by field (`INVALID_ARGUMENT`). */
export function checkSpec(input: unknown): ConnectorSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalid('a connector spec must be a JSON object {"name", "type", "config"}');
  }
  const { name, type, config, ...rest } = input as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) invalid(`unknown field "${extra[0]}" (allowed: name, type, config)`);
  if (
    typeof name !== 'string' ||
    !NAME_PATTERN.test(name) ||
    name.startsWith('__') ||
    name === '.' ||
    name === '..'
  ) {
    invalid(
      '"name" must be 1–249 characters of a-z, A-Z, 0-9, ".", "_", "-", not "." or "..", not starting with "__"',
    );
  }
  if (typeof type !== 'string' || type === '')
    invalid('"type" (a connector type such as "postgres-cdc") is required');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    invalid('"config" must be a JSON object');
  }
  return { name, type, config: config as Record<string, unknown> };
}

/** What `declare` did, by connector name. */
export interface DeclareResult {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
  /** Declared before, not any more: left running, no longer counted as declared. */
  readonly undeclared: string[];
}

/** Equal as JSON, whatever the order of object keys. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

function errorOf(error: unknown): { code: string; message: string } {
  if (isTributaryError(error)) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

function withoutError(status: ConnectorStatus): ConnectorStatus {
  if (status.error === undefined) return status;
  const { error: _error, ...rest } = status;
  return rest;
}

/** A stand-in for a stored connector whose type this server does not know: it never starts. */
function unknownFactory(type: string): ConnectorFactory<unknown> {
  return {
    type,
    kind: 'source',
    validate: (config) => config,
    create: () => {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `connector type "${type}" is not known to this server`,
      });
    },
  };
}
