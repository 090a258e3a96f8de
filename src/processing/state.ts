/**
 * @module processing/state
 * The per-key state of one stateful step in one task (one input partition), in memory, with the
 * writes since the last commit kept apart so they go into the step's changelog topic in the
 * same atomic commit as the outputs and input offsets. A restarted or moved task rebuilds the
 * store by reading that changelog partition (committed records only), or its newest snapshot and
 * the changelog records written since (processing/snapshots); compaction keeps the latest value
 * per key, and tombstones delete keys whose state ended (a closed window).
 *
 * Values must survive `JSON.stringify`/`JSON.parse` unchanged (plain objects, arrays, strings,
 * finite numbers, booleans, null).
 */

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export interface ChangelogEntry {
  readonly key: string;
  /** Encoded value, or null for a deleted key. */
  readonly value: Uint8Array | null;
}

export class StateStore {
  readonly #data = new Map<string, unknown>();
  /** Keys written since the last `drain()`: the new value, or `undefined` for a delete. */
  readonly #dirty = new Map<string, unknown>();

  get size(): number {
    return this.#data.size;
  }

  get(key: string): unknown {
    return this.#data.get(key);
  }

  has(key: string): boolean {
    return this.#data.has(key);
  }

  set(key: string, value: unknown): void {
    this.#data.set(key, value);
    this.#dirty.set(key, value);
  }

  delete(key: string): void {
    if (!this.#data.delete(key) && !this.#dirty.has(key)) return;
    this.#dirty.set(key, undefined);
  }

  entries(): IterableIterator<[string, unknown]> {
    return this.#data.entries();
  }

  /** Applies one changelog record read back during a restore (not written again). */
  restore(key: string, value: Uint8Array | null): void {
    if (value === null) this.#data.delete(key);
    else this.#data.set(key, JSON.parse(DECODER.decode(value)));
  }

  /** Sets one key read back from a snapshot (already decoded; not written again). */
  load(key: string, value: unknown): void {
    this.#data.set(key, value);
  }

  /** The changelog records of the writes since the last call, oldest key first. */
  drain(): ChangelogEntry[] {
    const out: ChangelogEntry[] = [];
    for (const [key, value] of this.#dirty) {
      out.push({ key, value: value === undefined ? null : ENCODER.encode(JSON.stringify(value)) });
    }
    this.#dirty.clear();
    return out;
  }
}
