/**
 * @module connectors/postgres-cdc/collection-mirror
 * The optional `collection` output of a `postgres-cdc` source: the captured table mirrored as
 * the documents of a live collection, keyed by primary key, so browsers get live queries over
 * Postgres rows (docs/connectors.md, "Into a live collection").
 *
 * - insert / update / snapshot row → `put` of the whole row; delete → `delete`; truncate → every
 *   document deleted; a key change is a delete of the old key and a put of the new one.
 * - Changes are applied **before** the atomic commit that stores them in the topic with their
 *   LSN. A crash between the two makes Postgres send the transaction again, and it is applied
 *   again: puts of whole rows and deletes are idempotent, applied in commit order, so the
 *   collection ends equal to the table.
 * - After every snapshot (the first, or one after a `reset`), documents whose keys the snapshot
 *   did not contain are deleted: rows deleted while the slot was lost disappear too.
 */

import type { JsonObject } from '../../crdt/index.js';
import type { Collection, CollectionService } from '../../sync/index.js';
import type { ChangeValue, Row } from './records.js';

/** Documents a pass of the sweep or of a truncate reads at once (the query limit). */
const PASS_DOCUMENTS_MAX = 100_000;

export class CollectionMirror {
  #collection: Collection | null = null;
  #seen: Set<string> | null = null;

  constructor(
    private readonly collections: CollectionService,
    private readonly name: string,
    private readonly partitions: number,
  ) {}

  /** The collection, created (eventual, the topic's partition count) when missing. */
  async #open(): Promise<Collection> {
    if (this.#collection !== null) return this.#collection;
    if (!this.collections.list().some((c) => c.name === this.name)) {
      await this.collections
        .create(this.name, { mode: 'eventual', partitions: this.partitions })
        .catch((error: unknown) => {
          // Created meanwhile by someone else: use it.
          if (!this.collections.list().some((c) => c.name === this.name)) throw error;
        });
    }
    this.#collection = this.collections.collection(this.name);
    return this.#collection;
  }

  /** Applies changes in order: the last change per key between truncates, then each truncate. */
  async apply(changes: readonly { keyColumns: readonly string[]; value: ChangeValue }[]): Promise<void> {
    const collection = await this.#open();
    let latest = new Map<string, Row | null>();
    const flush = async () => {
      await Promise.all(
        [...latest].map(([key, row]) =>
          row === null
            ? collection.write({ op: 'delete', key })
            : collection.write({ op: 'put', key, value: row as JsonObject }),
        ),
      );
      latest = new Map();
    };
    for (const { keyColumns, value } of changes) {
      if (value.op === 't') {
        await flush();
        await this.#deleteWhere(() => true);
        continue;
      }
      const row = value.op === 'd' ? value.before : value.after;
      if (row === null || row === undefined || !['r', 'c', 'u', 'd'].includes(value.op)) continue;
      const key = documentKey(keyColumns, row);
      if (key === null) continue;
      latest.set(key, value.op === 'd' ? null : row);
      this.#seen?.add(key);
    }
    await flush();
  }

  /** A snapshot starts: keys it puts are remembered until `endSnapshot`. */
  beginSnapshot(): void {
    this.#seen = new Set();
  }

  /** The snapshot is durable: documents it did not contain are deleted. */
  async endSnapshot(): Promise<void> {
    const seen = this.#seen ?? new Set<string>();
    this.#seen = null;
    await this.#deleteWhere((key) => !seen.has(key));
  }

  /** Deletes the documents `doomed` picks, in passes of at most PASS_DOCUMENTS_MAX, until a pass deletes none. */
  async #deleteWhere(doomed: (key: string) => boolean): Promise<void> {
    const collection = await this.#open();
    for (;;) {
      const { items } = await collection.query({ limit: PASS_DOCUMENTS_MAX }, 'local');
      const keys = items.map((item) => item.key).filter(doomed);
      if (keys.length === 0) return;
      await Promise.all(keys.map((key) => collection.write({ op: 'delete', key })));
    }
  }
}

/** A row's document key: its one key column's value as text, or the key columns as a JSON object. */
export function documentKey(keyColumns: readonly string[], row: Row): string | null {
  if (keyColumns.length === 0) return null;
  if (keyColumns.length === 1) {
    const value = row[keyColumns[0] as string];
    if (value === undefined || value === null) return null;
    return typeof value === 'string' ? value : JSON.stringify(value);
  }
  const key: Row = {};
  for (const column of keyColumns) key[column] = row[column] ?? null;
  return JSON.stringify(key);
}
