/**
 * @module sync/service
 * The collection service: creates, lists and deletes live collections, opens them at start
 * (stored documents + tail replay) and hands them to the front ends. It sits on the Broker API only.
 *
 * - Creating: the catalog record is written first (the commit point), then the data topic
 *   (compacted, `fsync` of the collection) is created; a topic left over under that name is
 *   replaced. At start, a catalogued collection whose topic is missing gets an empty one.
 * - Deleting: the topic goes first, then the catalog record, then the stored documents; open
 *   subscriptions end with `COLLECTION_NOT_FOUND`.
 * - Stored documents: with `checkpointDir`, each collection's documents live on disk in LMDB
 *   (`lmdb-store.ts`), memory being a cache; every `checkpointIntervalMs` (and on `close()`, and
 *   whenever a partition's uncommitted documents reach their bound) partitions that changed
 *   commit their documents with the log offset they reflect. Without it, documents stay in memory
 *   and every start replays the whole log.
 *
 * @example
 * const collections = await CollectionService.open(broker, { logger, checkpointDir: join(dataDir, 'collections') });
 * await collections.create('accounts', { mode: 'strong' });
 * await collections.collection('accounts').transact({ ops: [...] });
 * await collections.close();
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Logger, pino } from 'pino';
import type { Broker, Subscription } from '../broker/types.js';
import { HybridClock } from '../crdt/index.js';
import { isDamageError, isTributaryError, TributaryError } from '../errors.js';
import { type CatalogEntry, CollectionCatalog } from './catalog.js';
import { Collection } from './collection.js';
import { checkCollectionName, collectionTopic, SYNC_DEFAULTS } from './limits.js';
import { type LmdbStoreLimits, removeCollectionState } from './lmdb-store.js';
import type { PartitionLeaders } from './partition-leader.js';
import type { CollectionInfo, CollectionOptions, ConsistencyMode, FsyncPolicy } from './types.js';

export interface CollectionServiceOptions {
  /** Default: silent. */
  readonly logger?: Logger;
  /** Directory of the collections' stored documents (LMDB); without one, documents stay in memory and every start replays each collection's whole log. */
  readonly checkpointDir?: string;
  /** Period of commits of stored documents. Default 10 000 ms; 0 turns the periodic commit off (close still commits). */
  readonly checkpointIntervalMs?: number;
  /** Memory bounds of stored documents per partition (defaults: `SYNC_LIMITS`). */
  readonly storeLimits?: LmdbStoreLimits;
  /** HLC node id of this server's eventual writes. Default: a fresh random id per process (see docs/crdt.md §6 rule 2). */
  readonly nodeId?: string;
  /** Longest wait of a linearizable read for local state to catch up. Default 10 000 ms. */
  readonly readWaitMs?: number;
  /** How far ahead of the server's clock a client's HLC timestamp may be. Default 60 000 ms. */
  readonly maxDriftMs?: number;
  /** Period of position-only progress frames to subscribers. Default 1000 ms. */
  readonly progressMs?: number;
  /**
   * Gateways sharing the log (docs/scale-out.md): each strong partition's writes run on the
   * gateway leading it, and this service answers the writes forwarded to it.
   */
  readonly leaders?: PartitionLeaders;
  /**
   * Follow the catalog: open collections created, and close those deleted, through other
   * servers sharing the log (gateways). Default false (one server owns the log).
   */
  readonly followCatalog?: boolean;
  /** Told of each append another writer of a partition beat (e.g. another gateway; planned again). */
  readonly onAppendConflict?: () => void;
}

const MODES: readonly ConsistencyMode[] = ['eventual', 'strong'];
const FSYNC: readonly FsyncPolicy[] = ['always', 'interval', 'never'];
const PARTITIONS_MAX = 1024;

export class CollectionService {
  readonly #broker: Broker;
  readonly #catalog: CollectionCatalog;
  readonly #options: CollectionServiceOptions;
  readonly #logger: Logger;
  readonly #clock: HybridClock;
  readonly #open = new Map<string, Collection>();
  /** Collections whose data was found damaged at start: every call on them answers the damage. */
  readonly #damaged = new Map<string, TributaryError>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #catalogTail: Subscription | undefined;
  /** Catalog changes run one at a time. */
  #admin: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(broker: Broker, catalog: CollectionCatalog, options: CollectionServiceOptions) {
    this.#broker = broker;
    this.#catalog = catalog;
    this.#options = options;
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.#clock = new HybridClock({
      node: options.nodeId ?? `srv-${randomBytes(6).toString('hex')}`,
      maxDriftMs: Number.POSITIVE_INFINITY,
    });
  }

  /** Loads the catalog and opens every collection (each caught up with its log). */
  static async open(broker: Broker, options: CollectionServiceOptions = {}): Promise<CollectionService> {
    const logger = options.logger ?? pino({ level: 'silent' });
    const catalog = await CollectionCatalog.load(broker, logger);
    const service = new CollectionService(broker, catalog, options);
    options.leaders?.serve((name) => service.collection(name));
    try {
      for (const entry of catalog.all()) {
        await service.#ensureTopic(entry, false);
        try {
          service.#open.set(entry.name, await service.#openCollection(entry));
        } catch (error) {
          // A damaged collection stays offline; the others open and serve.
          if (!isDamageError(error)) throw error;
          logger.error(
            { err: error, collection: entry.name },
            'a collection is offline: its data is damaged',
          );
          service.#damaged.set(entry.name, error);
        }
      }
    } catch (error) {
      await service.close();
      throw error;
    }
    if (options.followCatalog === true && catalog.damage === undefined) {
      try {
        service.#catalogTail = await catalog.follow(
          logger,
          (name, entry) => service.#catalogChanged(name, entry),
          (error) => {
            if (!isTributaryError(error, 'SHUTTING_DOWN'))
              logger.error({ err: error }, 'stopped following the collections catalog');
          },
        );
      } catch (error) {
        await service.close();
        throw error;
      }
    }
    const interval = options.checkpointIntervalMs ?? SYNC_DEFAULTS.checkpointIntervalMs;
    if (options.checkpointDir !== undefined && interval > 0) {
      service.#timer = setInterval(() => void service.checkpoint(), interval);
      service.#timer.unref();
    }
    return service;
  }

  async create(name: string, options: CollectionOptions): Promise<CollectionInfo> {
    checkCollectionName(name);
    const mode = options?.mode;
    if (!MODES.includes(mode)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `mode must be "eventual" or "strong", got ${JSON.stringify(mode)}`,
      });
    }
    const partitions = options.partitions ?? 1;
    if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `partitions must be an integer from 1 to ${PARTITIONS_MAX}`,
      });
    }
    const fsync = options.fsync ?? 'always';
    if (!FSYNC.includes(fsync)) {
      throw new TributaryError('INVALID_ARGUMENT', { reason: `fsync must be one of ${FSYNC.join(', ')}` });
    }
    return this.#serialized(async () => {
      this.#checkOpen();
      if (this.#catalog.get(name) !== undefined)
        throw new TributaryError('COLLECTION_EXISTS', { collection: name });
      const entry: CatalogEntry = {
        name,
        mode,
        partitions,
        fsync,
        topic: collectionTopic(name),
        createdAt: Date.now(),
        incarnation: randomUUID(),
      };
      await this.#catalog.put(entry);
      await this.#ensureTopic(entry, true);
      this.#open.set(name, await this.#openCollection(entry));
      return describe(entry);
    });
  }

  async delete(name: string): Promise<void> {
    await this.#serialized(async () => {
      this.#checkOpen();
      const entry = this.#catalog.get(name);
      if (entry === undefined) throw new TributaryError('COLLECTION_NOT_FOUND', { collection: String(name) });
      const collection = this.#open.get(name);
      this.#open.delete(name);
      this.#damaged.delete(name);
      await collection?.close(new TributaryError('COLLECTION_NOT_FOUND', { collection: name }));
      try {
        await this.#broker.deleteTopic(entry.topic);
      } catch (error) {
        if (!isTributaryError(error, 'TOPIC_NOT_FOUND')) throw error;
      }
      await this.#catalog.remove(name);
      await this.#options.leaders?.release(entry, entry.partitions).catch(() => undefined);
      if (this.#options.checkpointDir !== undefined)
        await removeCollectionState(this.#options.checkpointDir, name);
    });
  }

  list(): CollectionInfo[] {
    this.#checkOpen();
    return this.#catalog.all().map(describe);
  }

  describe(name: string): CollectionInfo {
    return this.collection(name).info;
  }

  /** The open collection `name` (`COLLECTION_NOT_FOUND` otherwise). */
  collection(name: string): Collection {
    this.#checkOpen();
    const collection = typeof name === 'string' ? this.#open.get(name) : undefined;
    const damage = collection === undefined ? this.#damaged.get(name) : undefined;
    if (damage !== undefined) throw damage;
    if (collection === undefined)
      throw new TributaryError('COLLECTION_NOT_FOUND', { collection: String(name) });
    return collection;
  }

  /** Commits the stored documents of partitions that changed (errors are logged). */
  async checkpoint(): Promise<void> {
    for (const collection of [...this.#open.values()]) {
      try {
        await collection.checkpoint();
      } catch (error) {
        this.#logger.warn(
          { err: error, collection: collection.info.name },
          'writing a collection checkpoint failed',
        );
      }
    }
  }

  /** Commits stored documents a last time and closes every collection. Call before closing the broker. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      this.#catalogTail?.close();
      await this.#admin.catch(() => undefined);
      await this.checkpoint();
      for (const collection of this.#open.values()) await collection.close();
      this.#open.clear();
    })();
    return this.#closing;
  }

  /**
   * A catalog record, maybe written through another server: open a collection this one does not
   * have open (or has open in an older incarnation), close one deleted. Runs with the other
   * catalog changes, so a create or delete made here has finished when its own record comes back.
   */
  #catalogChanged(name: string, entry: CatalogEntry | undefined): void {
    void this.#serialized(async () => {
      if (this.#closing !== undefined) return;
      const open = this.#open.get(name);
      if (entry !== undefined && open?.incarnation === entry.incarnation) return;
      if (open !== undefined) {
        this.#open.delete(name);
        await open.close(new TributaryError('COLLECTION_NOT_FOUND', { collection: name }));
      }
      this.#damaged.delete(name);
      if (entry === undefined) {
        if (this.#options.checkpointDir !== undefined)
          await removeCollectionState(this.#options.checkpointDir, name);
        return;
      }
      // The creating server writes the catalog record first, then the collection's topic.
      await this.#waitForTopic(entry.topic);
      this.#open.set(name, await this.#openCollection(entry));
    }).catch((error: unknown) =>
      this.#logger.error({ err: error, collection: name }, 'opening a collection created elsewhere failed'),
    );
  }

  async #waitForTopic(topic: string): Promise<void> {
    for (let waitedMs = 0; ; waitedMs += 50) {
      try {
        await this.#broker.offsets(topic, 0);
        return;
      } catch (error) {
        if (!isTributaryError(error, 'TOPIC_NOT_FOUND') || waitedMs > 30_000) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new TributaryError('SHUTTING_DOWN');
    if (this.#catalog.damage !== undefined) throw this.#catalog.damage;
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#admin.then(fn, fn);
    this.#admin = run.catch(() => undefined);
    return run;
  }

  /** Creates the data topic; `replace`: a leftover topic of that name is deleted first. */
  async #ensureTopic(entry: CatalogEntry, replace: boolean): Promise<void> {
    const config = { partitions: entry.partitions, compact: true, fsync: entry.fsync } as const;
    try {
      await this.#broker.createTopic(entry.topic, config);
    } catch (error) {
      if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
      if (!replace) return;
      this.#logger.warn({ topic: entry.topic }, 'replacing a leftover collection topic');
      await this.#broker.deleteTopic(entry.topic);
      await this.#broker.createTopic(entry.topic, config);
    }
  }

  #openCollection(entry: CatalogEntry): Promise<Collection> {
    const o = this.#options;
    return Collection.open({
      broker: this.#broker,
      info: describe(entry),
      incarnation: entry.incarnation,
      logger: this.#logger.child({ collection: entry.name }),
      clock: this.#clock,
      ...(o.checkpointDir === undefined ? {} : { checkpointDir: o.checkpointDir }),
      ...(o.storeLimits === undefined ? {} : { storeLimits: o.storeLimits }),
      ...(o.readWaitMs === undefined ? {} : { readWaitMs: o.readWaitMs }),
      ...(o.maxDriftMs === undefined ? {} : { maxDriftMs: o.maxDriftMs }),
      ...(o.progressMs === undefined ? {} : { progressMs: o.progressMs }),
      ...(o.leaders === undefined ? {} : { leaders: o.leaders }),
      ...(o.onAppendConflict === undefined ? {} : { onAppendConflict: o.onAppendConflict }),
    });
  }
}

function describe(entry: CatalogEntry): CollectionInfo {
  const { name, mode, partitions, fsync, topic, createdAt } = entry;
  return { name, mode, partitions, fsync, topic, createdAt };
}
