/**
 * @module es/streams/stream-index
 * What the writer checks appends against and readers find events by, kept in memory and rebuilt
 * from the log at start: per stream the position of each revision and the revision of each event
 * id, per category the positions of its events. It holds only durable events: the writer applies
 * a batch after the log acknowledged it, and a restart replays the log.
 */
import { assert } from '../../assert.js';
import { categoryOf } from './limits.js';
import { metadataTarget, type StoredMeta } from './visibility.js';

export interface StreamEntry {
  /** `positions[r]` is the position of revision r. */
  readonly positions: number[];
  /** Event id → revision. */
  readonly ids: Map<string, number>;
}

export class StreamIndex {
  readonly #streams = new Map<string, StreamEntry>();
  readonly #categories = new Map<string, number[]>();
  /** Per stream, its latest metadata (the last event of its `$$<stream>`). */
  readonly #metas = new Map<string, StoredMeta>();
  /** The log offset after the last record applied. */
  #next = 0;

  get next(): number {
    return this.#next;
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  entry(stream: string): StreamEntry | undefined {
    return this.#streams.get(stream);
  }

  /** The last revision of `stream`, -1 when it has no events. */
  revision(stream: string): number {
    const entry = this.#streams.get(stream);
    return entry === undefined ? -1 : entry.positions.length - 1;
  }

  /** The stream's metadata, undefined when it never had any. */
  meta(stream: string): StoredMeta | undefined {
    return this.#metas.get(stream);
  }

  /** Positions of `category`'s events, ascending. */
  categoryPositions(category: string): readonly number[] {
    return this.#categories.get(category) ?? [];
  }

  /**
   * Applies one stored event. Positions only grow and revisions are dense per stream. `meta` is
   * the data of an event of a metadata stream (`$$<stream>`).
   */
  apply(stream: string, revision: number, id: string, position: number, meta?: StoredMeta): void {
    assert(position >= this.#next, `event position ${position} below the index's next ${this.#next}`);
    let entry = this.#streams.get(stream);
    if (entry === undefined) {
      entry = { positions: [], ids: new Map() };
      this.#streams.set(stream, entry);
    }
    assert(
      revision === entry.positions.length,
      `stream ${stream}: revision ${revision} after ${entry.positions.length - 1}`,
    );
    entry.positions.push(position);
    entry.ids.set(id, revision);
    const category = categoryOf(stream);
    let positions = this.#categories.get(category);
    if (positions === undefined) {
      positions = [];
      this.#categories.set(category, positions);
    }
    positions.push(position);
    const target = metadataTarget(stream);
    if (target !== undefined && meta !== undefined) this.#metas.set(target, meta);
    this.#next = position + 1;
  }

  /** Moves past log offsets that hold no event (a record the store cannot read). */
  skipTo(next: number): void {
    if (next > this.#next) this.#next = next;
  }
}

/** Index of the first element of ascending `values` greater than `after`. */
export function firstAbove(values: readonly number[], after: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) > after) high = mid;
    else low = mid + 1;
  }
  return low;
}
