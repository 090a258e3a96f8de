/**
 * @module sync/catalog
 * The list of collections, kept in the compacted topic `__collections`: one record per
 * collection keyed by its name, holding its description and incarnation (a random id that
 * changes when a collection is deleted and created again); a null value once deleted. The
 * catalog record is the commit point of a create and of a delete.
 *
 * @example
 * const catalog = await CollectionCatalog.load(broker, logger);
 * await catalog.put(entry);
 */
import type { Logger } from 'pino';
import { readToEnd } from '../broker/read-to-end.js';
import type { Broker, LogRecord, Subscription } from '../broker/types.js';
import { isPlainObject } from '../crdt/json.js';
import { isDamageError, isTributaryError, type TributaryError } from '../errors.js';
import { COLLECTIONS_META_TOPIC } from './limits.js';
import type { CollectionInfo, ConsistencyMode, FsyncPolicy } from './types.js';

export interface CatalogEntry extends CollectionInfo {
  readonly incarnation: string;
}

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export class CollectionCatalog {
  readonly #broker: Broker;
  readonly #entries = new Map<string, CatalogEntry>();
  /**
   * Set when `__collections` was found damaged at load: which collections exist is unknown, so
   * the collection service answers this error to every call (docs/FORMAT.md, "Damage").
   */
  damage: TributaryError | undefined;
  /** The offset after the last record read. */
  #next = 0;

  private constructor(broker: Broker) {
    this.#broker = broker;
  }

  /**
   * Reads the catalog topic whole. The topic is created with the first collection, so a server
   * without collections adds no topic to what users see.
   */
  static async load(broker: Broker, logger: Logger): Promise<CollectionCatalog> {
    const catalog = new CollectionCatalog(broker);
    try {
      catalog.#next = await readToEnd(broker, COLLECTIONS_META_TOPIC, 0, (records) =>
        catalog.#apply(records, logger),
      );
    } catch (error) {
      if (isTributaryError(error, 'TOPIC_NOT_FOUND')) return catalog;
      if (!isDamageError(error)) throw error;
      logger.error({ err: error }, 'collections are offline: their catalog (__collections) is damaged');
      catalog.#entries.clear();
      catalog.damage = error;
    }
    return catalog;
  }

  #apply(
    records: readonly LogRecord[],
    logger: Logger,
    onChange?: (name: string, entry: CatalogEntry | undefined) => void,
  ): void {
    for (const record of records) {
      this.#next = record.offset + 1;
      if (record.key === null) continue;
      const name = DECODER.decode(record.key);
      if (record.value === null) {
        this.#entries.delete(name);
        onChange?.(name, undefined);
        continue;
      }
      const entry = parseEntry(DECODER.decode(record.value));
      if (entry === undefined || entry.name !== name) {
        logger.warn({ offset: record.offset }, 'skipping an unreadable collections catalog record');
        continue;
      }
      this.#entries.set(name, entry);
      onChange?.(name, entry);
    }
  }

  /**
   * Follows the catalog from where `load` stopped, for servers sharing one log with others
   * (gateways, docs/scale-out.md): `onChange` hears of every collection created (its entry) or
   * deleted (undefined) through any of them, this one included.
   */
  async follow(
    logger: Logger,
    onChange: (name: string, entry: CatalogEntry | undefined) => void,
    onError: (error: unknown) => void,
  ): Promise<Subscription> {
    await this.#createTopic();
    let subscription: Subscription | undefined;
    let owed = 0;
    subscription = await this.#broker.subscribe({
      topic: COLLECTIONS_META_TOPIC,
      partition: 0,
      from: { offset: this.#next },
      credit: 100,
      onRecords: (delivery) => {
        this.#apply(delivery.records, logger, onChange);
        owed += delivery.records.length;
        if (subscription !== undefined) {
          subscription.grant(owed);
          owed = 0;
        }
      },
      onError,
    });
    if (owed > 0) subscription.grant(owed);
    return subscription;
  }

  async #createTopic(): Promise<void> {
    try {
      await this.#broker.createTopic(COLLECTIONS_META_TOPIC, {
        partitions: 1,
        compact: true,
        fsync: 'always',
      });
    } catch (error) {
      if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    }
  }

  get(name: string): CatalogEntry | undefined {
    return this.#entries.get(name);
  }

  all(): CatalogEntry[] {
    return [...this.#entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async put(entry: CatalogEntry): Promise<void> {
    await this.#createTopic();
    await this.#broker.produce(COLLECTIONS_META_TOPIC, [
      { key: ENCODER.encode(entry.name), value: ENCODER.encode(JSON.stringify(entry)), partition: 0 },
    ]);
    this.#entries.set(entry.name, entry);
  }

  async remove(name: string): Promise<void> {
    await this.#broker.produce(COLLECTIONS_META_TOPIC, [
      { key: ENCODER.encode(name), value: null, partition: 0 },
    ]);
    this.#entries.delete(name);
  }
}

const MODES: readonly ConsistencyMode[] = ['eventual', 'strong'];
const FSYNC: readonly FsyncPolicy[] = ['always', 'interval', 'never'];

function parseEntry(text: string): CatalogEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  const { name, mode, partitions, fsync, topic, createdAt, incarnation } = value;
  if (
    typeof name !== 'string' ||
    !MODES.includes(mode as ConsistencyMode) ||
    !Number.isSafeInteger(partitions) ||
    !FSYNC.includes(fsync as FsyncPolicy) ||
    typeof topic !== 'string' ||
    typeof createdAt !== 'number' ||
    typeof incarnation !== 'string'
  ) {
    return undefined;
  }
  return {
    name,
    mode: mode as ConsistencyMode,
    partitions: partitions as number,
    fsync: fsync as FsyncPolicy,
    topic,
    createdAt,
    incarnation,
  };
}
