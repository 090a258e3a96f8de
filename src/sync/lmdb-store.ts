/**
 * @module sync/lmdb-store
 * A collection's materialized documents on disk, in one LMDB environment per collection
 * (`<stateDir>/<collection>/documents.mdb`), so a collection is bounded by disk, not memory, and
 * a restart replays only the log records after the stored offset. The layout (docs/FORMAT.md):
 *
 * ```
 * db "meta"   "format" → 1, "incarnation" → the collection's, "partitions" → n,
 *             "next.<p>" → every record of partition p below it is in the documents
 * db "p<p>"   document key (UTF-8 bytes) → crc32c (u32 BE) · version (f64 BE) · record value JSON
 * ```
 *
 * The value JSON is the record's (`{"doc": …}` or `{"crdt": state}`, record-codec.ts); strong
 * deletes remove the key, eventual ones keep the tombstone state. Every write of a commit and
 * its `next.<p>` go in one LMDB transaction, so the stored documents are always exactly the
 * state after one prefix of the log.
 *
 * Memory holds (per partition): entries set since the last commit began (they are what the next
 * commit writes; `uncommittedDocumentsMax` bounds them by committing early), entries of commits in
 * flight, and a least-recently-used cache of decoded entries, bounded both by count
 * (`cachedDocumentsMax`) and by their estimated heap size (`cachedDocumentBytes`), so memory does
 * not grow with the collection. Reads look in that order, then in LMDB. Nothing else is kept per
 * document: sizes, versions and keys are read from LMDB when needed.
 *
 * An environment that cannot be opened (its file truncated, overwritten or not LMDB: its two meta
 * pages are checked before LMDB maps it, since LMDB itself trusts them and would crash) is
 * deleted and made again, and one of another incarnation or partition count is emptied: the log
 * holds everything, so the collection is rebuilt from it (logged). Stored data is derived, never
 * the only copy. LMDB does not checksum its pages: each stored value carries a crc32c, checked on
 * every read (`MALFORMED_DATA` on a mismatch), but damage inside its B-tree pages is not detected
 * (delete `documents.mdb` to rebuild).
 *
 * @example
 * const stores = await LmdbCollectionStore.open({ dir, collection: 'orders', incarnation, mode, partitions: 4, logger });
 * const p0 = stores.partition(0); // a DocumentStore
 * p0.set('o-1', entry, undefined);
 * await p0.commit(18);
 * await stores.close();
 */
import { mkdir, open as openFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import { type DocState, type JsonObject, materialize } from '../crdt/index.js';
import { isPlainObject, malformed } from '../crdt/json.js';
import { crc32c } from '../protocol/kafka/primitives/crc32c.js';
import type { DocumentStore, Entry } from './document-store.js';
import { SYNC_LIMITS } from './limits.js';
import { decodeValue } from './record-codec.js';
import type { ConsistencyMode } from './types.js';

const FORMAT = 1;
export const DOCUMENTS_FILE = 'documents.mdb';
const HEADER_BYTES = 12;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export interface LmdbStoreLimits {
  /** Decoded documents kept in memory per partition. Default `SYNC_LIMITS.cachedDocumentsMax`. */
  readonly cachedDocumentsMax?: number;
  /** Estimated heap bytes of the decoded documents a partition keeps. Default `SYNC_LIMITS.cachedDocumentBytes`. */
  readonly cachedDocumentBytes?: number;
  /** Uncommitted documents per partition that start a commit. Default `SYNC_LIMITS.uncommittedDocumentsMax`. */
  readonly uncommittedDocumentsMax?: number;
}

export interface LmdbCollectionStoreOptions extends LmdbStoreLimits {
  /** The state directory; the collection's environment is `<dir>/<collection>/documents.mdb`. */
  readonly dir: string;
  readonly collection: string;
  readonly incarnation: string;
  readonly mode: ConsistencyMode;
  readonly partitions: number;
  readonly logger: Logger;
}

type Meta = Database<unknown, string>;
type Documents = Database<Uint8Array, Uint8Array>;

export class LmdbCollectionStore {
  readonly #root: RootDatabase;
  readonly #partitions: LmdbDocumentStore[];

  private constructor(root: RootDatabase, partitions: LmdbDocumentStore[]) {
    this.#root = root;
    this.#partitions = partitions;
  }

  /** Opens (or creates) the collection's environment; see the module note for what is rebuilt. */
  static async open(options: LmdbCollectionStoreOptions): Promise<LmdbCollectionStore> {
    const { dir, collection, logger } = options;
    const folder = join(dir, collection);
    const path = join(folder, DOCUMENTS_FILE);
    await mkdir(folder, { recursive: true });
    let root: RootDatabase;
    try {
      await checkEnvironmentFile(path);
      root = await openEnvironment(path, options.partitions);
      checkMeta(root);
    } catch (error) {
      logger.warn(
        { err: error, file: path },
        'the stored documents of a collection cannot be read: deleting them and rebuilding from the log',
      );
      await rm(path, { force: true });
      await rm(`${path}-lock`, { force: true });
      root = await openEnvironment(path, options.partitions);
    }
    const meta: Meta = root.openDB({ name: 'meta' });
    const documents = Array.from({ length: options.partitions }, (_, p) => openDocuments(root, p));
    if (!sameCollection(meta, options)) {
      if (meta.get('format') !== undefined) {
        logger.warn(
          { file: path },
          'the stored documents belong to another incarnation of the collection: rebuilding from the log',
        );
      }
      root.transactionSync(() => {
        for (const db of documents) db.clearSync();
        meta.clearSync();
        meta.putSync('format', FORMAT);
        meta.putSync('incarnation', options.incarnation);
        meta.putSync('partitions', options.partitions);
      });
    }
    const limits = {
      cachedDocumentsMax: options.cachedDocumentsMax ?? SYNC_LIMITS.cachedDocumentsMax,
      cachedDocumentBytes: options.cachedDocumentBytes ?? SYNC_LIMITS.cachedDocumentBytes,
      uncommittedDocumentsMax: options.uncommittedDocumentsMax ?? SYNC_LIMITS.uncommittedDocumentsMax,
    };
    const stores = documents.map(
      (db, partition) => new LmdbDocumentStore({ root, meta, db, partition, mode: options.mode, ...limits }),
    );
    return new LmdbCollectionStore(root, stores);
  }

  partition(partition: number): LmdbDocumentStore {
    const store = this.#partitions[partition];
    if (store === undefined) throw new RangeError(`no partition ${partition}`);
    return store;
  }

  /** Waits for every commit in flight, then closes the environment. */
  async close(): Promise<void> {
    await Promise.all(this.#partitions.map((p) => p.close()));
    await this.#root.close();
  }
}

/** LMDB's meta pages (pages 0 and 1): magic and version, page size, last page, transaction id. */
const META = { magic: 24, version: 28, pageSize: 48, lastPage: 144, txnId: 152 } as const;
const LMDB_MAGIC = 0xbeefc0de;
const LMDB_DATA_VERSION = 2;

/** Throws unless `path` is absent or starts with two sound LMDB meta pages and is long enough for the newer. */
async function checkEnvironmentFile(path: string): Promise<void> {
  let file: Awaited<ReturnType<typeof openFile>>;
  try {
    file = await openFile(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(Math.min(size, 2 * 65536));
    await file.read(head, 0, head.byteLength, 0);
    const fail = (reason: string): never => {
      throw new Error(`${path} is not a sound LMDB file: ${reason}`);
    };
    if (head.byteLength < 2 * 4096) fail(`${size} bytes`);
    const pageSize = head.readUInt32LE(META.pageSize);
    if (pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0)
      fail(`page size ${pageSize}`);
    if (head.byteLength < 2 * pageSize) fail(`${size} bytes`);
    let newest = { txnId: -1n, lastPage: 0n };
    for (const page of [0, pageSize]) {
      if (head.readUInt32LE(page + META.magic) !== LMDB_MAGIC)
        fail(`no magic number in meta page ${page / pageSize}`);
      if (head.readUInt32LE(page + META.version) !== LMDB_DATA_VERSION) fail('unknown version');
      if (head.readUInt32LE(page + META.pageSize) !== pageSize) fail('meta pages disagree on the page size');
      const txnId = head.readBigUInt64LE(page + META.txnId);
      if (txnId > newest.txnId) newest = { txnId, lastPage: head.readBigUInt64LE(page + META.lastPage) };
    }
    if ((newest.lastPage + 1n) * BigInt(pageSize) > BigInt(size)) fail(`truncated at ${size} bytes`);
  } finally {
    await file.close();
  }
}

async function openEnvironment(path: string, partitions: number): Promise<RootDatabase> {
  // LMDB (a native addon and about 16 MiB of buffers) loads with the first collection opened: a
  // server without collections never pays for it.
  const { open } = await import('lmdb');
  // `maxDbs`: one per partition and the meta db; `pageSize` 8 KiB suits stores larger than memory.
  // `noReadAhead` (MDB_NORDAHEAD, madvise random): a point read faults in its own pages only, not
  // the kernel's read-ahead window around each one, which filled the process's RSS with pages
  // of documents nobody asked for and made a read from disk wait for them. The option is not in
  // lmdb's typings; its `open` passes it on.
  const options: Parameters<typeof open>[0] & { noReadAhead: boolean } = {
    path,
    maxDbs: partitions + 2,
    pageSize: 8192,
    noReadAhead: true,
  };
  return open(options);
}

/** Throws when the environment's meta db cannot be read (a damaged or foreign file). */
function checkMeta(root: RootDatabase): void {
  const meta: Meta = root.openDB({ name: 'meta' });
  const format = meta.get('format');
  if (format !== undefined && format !== FORMAT) throw new Error(`unknown format ${String(format)}`);
}

function openDocuments(root: RootDatabase, partition: number): Documents {
  return root.openDB({ name: `p${partition}`, keyEncoding: 'binary', encoding: 'binary' }) as Documents;
}

function sameCollection(meta: Meta, options: LmdbCollectionStoreOptions): boolean {
  return (
    meta.get('format') === FORMAT &&
    meta.get('incarnation') === options.incarnation &&
    meta.get('partitions') === options.partitions
  );
}

interface PartitionStoreOptions {
  readonly root: RootDatabase;
  readonly meta: Meta;
  readonly db: Documents;
  readonly partition: number;
  readonly mode: ConsistencyMode;
  readonly cachedDocumentsMax: number;
  readonly cachedDocumentBytes: number;
  readonly uncommittedDocumentsMax: number;
}

/** A cached entry with its estimated heap size (`cacheCost`). */
interface Cached {
  readonly entry: Entry;
  readonly cost: number;
}

/**
 * Estimated heap bytes of a decoded entry whose stored value is `storedBytes` long: about twice
 * the stored JSON (objects per CRDT field, strings decoded separately), plus the cache's slot.
 * Measured on 100-byte eventual documents (~330 stored bytes): 791 bytes each, estimated 790.
 */
function cacheCost(key: string, storedBytes: number): number {
  return 2 * (key.length + storedBytes) + 128;
}

/** Entries set but not yet committed; `null`: removed. */
type Overlay = Map<string, Entry | null>;

/** One partition's documents: LMDB below, uncommitted writes and a cache above. */
export class LmdbDocumentStore implements DocumentStore {
  readonly partition: number;
  readonly #root: RootDatabase;
  readonly #meta: Meta;
  readonly #db: Documents;
  readonly #nextKey: string;
  readonly #mode: ConsistencyMode;
  readonly #cachedMax: number;
  readonly #cachedBytesMax: number;
  #cachedBytes = 0;
  readonly uncommittedMax: number;
  #openedAt: number;
  #size: number;
  #dirty: Overlay = new Map();
  /** Overlays of commits in flight, oldest first. */
  #committing: Overlay[] = [];
  readonly #cache = new Map<string, Cached>();
  #chain: Promise<void> = Promise.resolve();
  #committedNext: number;

  constructor(options: PartitionStoreOptions) {
    this.#root = options.root;
    this.#meta = options.meta;
    this.#db = options.db;
    this.#mode = options.mode;
    this.partition = options.partition;
    this.#nextKey = `next.${options.partition}`;
    this.#cachedMax = options.cachedDocumentsMax;
    this.#cachedBytesMax = options.cachedDocumentBytes;
    this.uncommittedMax = options.uncommittedDocumentsMax;
    const next = this.#meta.get(this.#nextKey);
    this.#openedAt = typeof next === 'number' && Number.isSafeInteger(next) && next > 0 ? next : 0;
    this.#committedNext = this.#openedAt;
    this.#size = (this.#db.getStats() as { entryCount: number }).entryCount;
    // Documents without their offset cannot be placed in the log: start over.
    if (this.#openedAt === 0 && this.#size > 0) this.reset();
  }

  get openedAt(): number {
    return this.#openedAt;
  }

  get size(): number {
    return this.#size;
  }

  get uncommitted(): number {
    return this.#dirty.size;
  }

  /** Drops every stored document of the partition (they do not fit the log): start from offset 0. */
  reset(): void {
    this.#root.transactionSync(() => {
      this.#db.clearSync();
      this.#meta.removeSync(this.#nextKey);
    });
    this.#dirty.clear();
    this.#cache.clear();
    this.#cachedBytes = 0;
    this.#openedAt = 0;
    this.#committedNext = 0;
    this.#size = 0;
  }

  get(key: string): Entry | undefined {
    const overlaid = this.#overlaid(key);
    if (overlaid !== undefined) return overlaid ?? undefined;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      // Least recently used first: a hit moves to the end.
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached.entry;
    }
    const bytes = this.#db.get(ENCODER.encode(key));
    if (bytes === undefined) return undefined;
    const entry = this.#decode(key, bytes);
    this.#remember(entry, bytes.byteLength);
    return entry;
  }

  set(key: string, entry: Entry | undefined, before: Entry | undefined): void {
    if (before === undefined && entry !== undefined) this.#size++;
    else if (before !== undefined && entry === undefined) this.#size--;
    this.#dirty.set(key, entry ?? null);
    this.#forget(key);
  }

  *entries(prefix?: string): Generator<Entry> {
    const overlay = this.#mergedOverlay();
    const start = prefix === undefined || prefix === '' ? undefined : ENCODER.encode(prefix);
    const range = this.#db.getRange(start === undefined ? {} : { start });
    for (const { key, value } of range) {
      if (start !== undefined && !hasPrefix(key, start)) break;
      const text = DECODER.decode(key);
      if (overlay.has(text)) continue;
      yield this.#cache.get(text)?.entry ?? this.#decode(text, value);
    }
    for (const [key, entry] of overlay) {
      if (entry !== null && (prefix === undefined || key.startsWith(prefix))) yield entry;
    }
  }

  commit(next: number): Promise<void> {
    if (this.#dirty.size === 0 && next === this.#committedNext) return this.#chain;
    const overlay = this.#dirty;
    this.#dirty = new Map();
    this.#committing.push(overlay);
    this.#committedNext = next;
    const run = this.#chain.then(() => this.#write(overlay, next));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#chain;
  }

  async #write(overlay: Overlay, next: number): Promise<void> {
    const storedBytes = new Map<string, number>();
    try {
      await this.#root.transaction(() => {
        for (const [key, entry] of overlay) {
          const bytes = ENCODER.encode(key);
          if (entry === null) void this.#db.remove(bytes);
          else {
            const value = this.#encode(entry);
            storedBytes.set(key, value.byteLength);
            void this.#db.put(bytes, value);
          }
        }
        void this.#meta.put(this.#nextKey, next);
      });
    } catch (error) {
      // Not written: the writes go back under the newer ones, for the next commit.
      for (const [key, entry] of overlay) if (!this.#dirty.has(key)) this.#dirty.set(key, entry);
      this.#committedNext = -1;
      throw error;
    } finally {
      this.#committing.splice(this.#committing.indexOf(overlay), 1);
    }
    for (const entry of overlay.values())
      if (entry !== null && !this.#isOverlaid(entry.key))
        this.#remember(entry, storedBytes.get(entry.key) ?? HEADER_BYTES);
  }

  /** The uncommitted entry of `key`: an Entry, null (removed), or undefined (not overlaid). */
  #overlaid(key: string): Entry | null | undefined {
    const dirty = this.#dirty.get(key);
    if (dirty !== undefined) return dirty;
    for (let i = this.#committing.length - 1; i >= 0; i--) {
      const entry = this.#committing[i]!.get(key);
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  #isOverlaid(key: string): boolean {
    return this.#overlaid(key) !== undefined;
  }

  #mergedOverlay(): Overlay {
    if (this.#committing.length === 0) return this.#dirty;
    const merged: Overlay = new Map();
    for (const overlay of [...this.#committing, this.#dirty]) for (const [k, v] of overlay) merged.set(k, v);
    return merged;
  }

  /** Caches `entry` (its stored value is `storedBytes` long), evicting the least recently used. */
  #remember(entry: Entry, storedBytes: number): void {
    this.#forget(entry.key);
    const cost = cacheCost(entry.key, storedBytes);
    if (cost > this.#cachedBytesMax) return;
    this.#cache.set(entry.key, { entry, cost });
    this.#cachedBytes += cost;
    while (this.#cache.size > this.#cachedMax || this.#cachedBytes > this.#cachedBytesMax) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#forget(oldest.value);
    }
  }

  #forget(key: string): void {
    const cached = this.#cache.get(key);
    if (cached === undefined) return;
    this.#cache.delete(key);
    this.#cachedBytes -= cached.cost;
  }

  /** Entries cached and their estimated heap bytes (for tests and metrics). */
  get cached(): { readonly documents: number; readonly bytes: number } {
    return { documents: this.#cache.size, bytes: this.#cachedBytes };
  }

  #encode(entry: Entry): Uint8Array {
    const json = JSON.stringify(entry.state === undefined ? { doc: entry.value } : { crdt: entry.state });
    const body = ENCODER.encode(json);
    const out = new Uint8Array(HEADER_BYTES + body.byteLength);
    const view = new DataView(out.buffer);
    view.setFloat64(4, entry.version);
    out.set(body, HEADER_BYTES);
    view.setUint32(0, crc32c(out, 4));
    return out;
  }

  #decode(key: string, bytes: Uint8Array): Entry {
    const fail = malformed(`stored document "${key.slice(0, 80)}"`);
    if (bytes.byteLength < HEADER_BYTES) return fail('shorter than its header');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0) !== crc32c(bytes, 4)) return fail('checksum mismatch');
    const version = view.getFloat64(4);
    const stored = parseStored(bytes.subarray(HEADER_BYTES), this.#mode);
    if (stored !== undefined) return { key, version, ...stored };
    const decoded = decodeValue(key, bytes.subarray(HEADER_BYTES), this.#mode, fail);
    if (decoded.kind === 'doc') return { key, version, value: decoded.doc };
    if (decoded.kind === 'crdt')
      return { key, version, value: materialize(decoded.state), state: decoded.state };
    return fail('a delete is never stored');
  }
}

/**
 * A stored value as this store wrote it: `JSON.stringify` of a checked entry, its crc32c
 * verified. It is used as parsed, without the record codec's checks (a third of the CPU of a
 * point read from disk); anything of another shape returns undefined and goes through the codec,
 * which refuses it. A CRDT state's timestamps equal to the one before share one string (most
 * fields of a document were written together): less memory per cached document.
 */
function parseStored(
  json: Uint8Array,
  mode: ConsistencyMode,
): { value: JsonObject | undefined; state?: DocState } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(DECODER.decode(json));
  } catch {
    return undefined;
  }
  if (!isPlainObject(parsed)) return undefined;
  if (mode === 'strong') return isPlainObject(parsed.doc) ? { value: parsed.doc as JsonObject } : undefined;
  const state = parsed.crdt;
  if (!isPlainObject(state) || !isPlainObject(state.fields)) return undefined;
  let last = isPlainObject(state.cleared) && typeof state.cleared.at === 'string' ? state.cleared.at : '';
  for (const field of Object.values(state.fields)) {
    if (!isPlainObject(field)) return undefined;
    const lww = field.lww as { ts?: unknown } | undefined;
    if (lww === undefined) continue;
    if (!isPlainObject(lww) || typeof lww.ts !== 'string') return undefined;
    if (lww.ts === last) lww.ts = last;
    else last = lww.ts;
  }
  return { value: materialize(state as unknown as DocState), state: state as unknown as DocState };
}

function hasPrefix(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Removes a collection's stored documents (the collection was deleted; call after closing it). */
export async function removeCollectionState(dir: string, collection: string): Promise<void> {
  await rm(join(dir, collection), { recursive: true, force: true });
}

/**
 * Deletes checkpoint files of the first format (`<p>.ckpt`, whole partitions as JSON) that
 * earlier versions wrote beside where `documents.mdb` now lives; the state they held is rebuilt
 * from the log once, then kept in LMDB.
 */
export async function removeOldCheckpoints(dir: string, collection: string, logger: Logger): Promise<void> {
  const folder = join(dir, collection);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const old = names.filter((name) => /^\d+\.ckpt(\.tmp)?$/.test(name));
  if (old.length === 0) return;
  for (const name of old) await rm(join(folder, name), { force: true });
  logger.info(
    { collection, files: old },
    'removed checkpoint files of the old format: documents are now stored in documents.mdb',
  );
}
