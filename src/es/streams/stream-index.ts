/**
 * @module es/streams/stream-index
 * What the writer checks appends against and readers find events by: per stream the position
 * of each revision and the revision of each event id, rebuilt from the log at start. It holds
 * only durable events: the writer applies a batch after the log acknowledged it, and a restart
 * replays the log.
 *
 * Memory is bounded (`eventsMax`, docs/event-sourcing.md "Limits"): streams are kept least
 * recently used first, and past the bound the oldest are evicted and remembered in a fixed-size
 * Bloom filter. A stream that may have been evicted is loaded again from the log before it is
 * used (`hold`: one scan of the log for every stream asked for at once), so revisions, event ids
 * and positions stay exact. An event applied to an evicted stream starts a partial entry: its
 * last revision is exact at once, its earlier positions and ids come with the next load.
 * Streams with metadata stay in memory (visibility checks need their revision synchronously).
 */
import { assert } from '../../assert.js';
import { metadataTarget, type StoredMeta } from './visibility.js';

export interface StreamEntry {
  /** `positions[r]` is the position of revision r. */
  readonly positions: number[];
  /** Event id → revision. */
  readonly ids: Map<string, number>;
}

/** A stream's events found in the log below some offset, in revision order from 0. */
export interface ScannedStream {
  readonly positions: number[];
  readonly ids: Map<string, number>;
}

/** Reads the log below `end` for the events of `streams`. */
export type StreamScan = (streams: ReadonlySet<string>, end: number) => Promise<Map<string, ScannedStream>>;

export interface StreamIndexOptions {
  /** Events (plus one per stream) kept in memory; least recently used streams out first. */
  readonly eventsMax: number;
  readonly scan: StreamScan;
  /** Bits of the filter remembering evicted streams. Default 2^23 (1 MiB). */
  readonly bloomBits?: number;
}

interface Resident {
  /** Revision of `positions[0]`: 0 for a complete entry, more for one started after an eviction. */
  first: number;
  readonly positions: number[];
  readonly ids: Map<string, number>;
}

export class StreamIndex {
  /** Resident streams, least recently used first. */
  readonly #streams = new Map<string, Resident>();
  readonly #evicted: BloomFilter;
  /** Streams in use by a caller between `hold` and its release: never evicted. */
  readonly #pins = new Map<string, number>();
  /** Per stream, its latest metadata (the last event of its `$$<stream>`). */
  readonly #metas = new Map<string, StoredMeta>();
  readonly #metaTargetsToLoad = new Set<string>();
  readonly #eventsMax: number;
  readonly #scan: StreamScan;
  #weight = 0;
  #streamCount = 0;
  #evictions = 0;
  /** The log offset after the last record applied. */
  #next = 0;

  constructor(options: StreamIndexOptions) {
    assert(Number.isSafeInteger(options.eventsMax) && options.eventsMax > 0, 'eventsMax must be positive');
    this.#eventsMax = options.eventsMax;
    this.#scan = options.scan;
    this.#evicted = new BloomFilter(options.bloomBits ?? 2 ** 23);
  }

  get next(): number {
    return this.#next;
  }

  /** Streams with at least one event (counted as their revision 0 is applied). */
  get streamCount(): number {
    return this.#streamCount;
  }

  /** What the index holds in memory now, against its bound. */
  get stats(): { residentStreams: number; residentEvents: number; eventsMax: number; evictions: number } {
    return {
      residentStreams: this.#streams.size,
      residentEvents: this.#weight - this.#streams.size,
      eventsMax: this.#eventsMax,
      evictions: this.#evictions,
    };
  }

  /** Whether `stream`'s complete entry must be read from the log before `entry` may be used. */
  needsLoad(stream: string): boolean {
    const resident = this.#streams.get(stream);
    return resident === undefined ? this.#evicted.has(stream) : resident.first > 0;
  }

  /**
   * Loads every stream of `streams` that needs it (one log scan for all) and keeps them in
   * memory until the returned release is called: between the two, `entry` and `revision` of
   * those streams answer at once.
   */
  async hold(streams: Iterable<string>): Promise<() => void> {
    const held = [...new Set(streams)];
    for (const stream of held) this.#pins.set(stream, (this.#pins.get(stream) ?? 0) + 1);
    const release = () => {
      for (const stream of held) {
        const count = (this.#pins.get(stream) ?? 1) - 1;
        if (count <= 0) this.#pins.delete(stream);
        else this.#pins.set(stream, count);
      }
      this.#evict();
    };
    try {
      const missing = new Set(held.filter((stream) => this.needsLoad(stream)));
      if (missing.size > 0) {
        const end = this.#next;
        const scanned = await this.#scan(missing, end);
        for (const stream of missing) this.#install(stream, scanned.get(stream), end);
      }
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  /** The stream's positions and ids; undefined when it has no events. Loaded first if `needsLoad`. */
  entry(stream: string): StreamEntry | undefined {
    assert(!this.needsLoad(stream), `stream index: ${stream} is used without being loaded`);
    const resident = this.#streams.get(stream);
    if (resident === undefined) return undefined;
    this.#touch(stream, resident);
    return resident;
  }

  /** The last revision of `stream`, -1 when it has no events. */
  revision(stream: string): number {
    const resident = this.#streams.get(stream);
    if (resident !== undefined) return resident.first + resident.positions.length - 1;
    assert(!this.#evicted.has(stream), `stream index: the revision of ${stream} is asked without a load`);
    return -1;
  }

  /** The stream's metadata, undefined when it never had any. */
  meta(stream: string): StoredMeta | undefined {
    return this.#metas.get(stream);
  }

  /**
   * Applies one stored event. Positions only grow and revisions are dense per stream. `meta` is
   * the data of an event of a metadata stream (`$$<stream>`).
   */
  apply(stream: string, revision: number, id: string, position: number, meta?: StoredMeta): void {
    assert(position >= this.#next, `event position ${position} below the index's next ${this.#next}`);
    let resident = this.#streams.get(stream);
    if (resident === undefined) {
      // An evicted stream goes on from this event (partial); a stream never seen starts at 0.
      const first = this.#evicted.has(stream) ? revision : 0;
      resident = { first, positions: [], ids: new Map() };
      this.#streams.set(stream, resident);
      this.#weight++;
    } else {
      this.#touch(stream, resident);
    }
    assert(
      revision === resident.first + resident.positions.length,
      `stream ${stream}: revision ${revision} after ${resident.first + resident.positions.length - 1}`,
    );
    resident.positions.push(position);
    resident.ids.set(id, revision);
    this.#weight++;
    if (revision === 0) this.#streamCount++;
    const target = metadataTarget(stream);
    if (target !== undefined && meta !== undefined) {
      this.#metas.set(target, meta);
      // Streams with metadata stay in memory; one evicted before its metadata came is loaded
      // again (`loadMetadataTargets`) before anything asks its revision.
      if (!this.#streams.has(target) && this.#evicted.has(target)) this.#metaTargetsToLoad.add(target);
    }
    this.#next = position + 1;
    this.#evict();
  }

  /** Loads the streams that got metadata while evicted (after the log was read into the index). */
  async loadMetadataTargets(): Promise<void> {
    if (this.#metaTargetsToLoad.size === 0) return;
    const targets = [...this.#metaTargetsToLoad];
    this.#metaTargetsToLoad.clear();
    const release = await this.hold(targets);
    release();
  }

  /** Moves past log offsets that hold no event (a record the store cannot read). */
  skipTo(next: number): void {
    if (next > this.#next) this.#next = next;
  }

  /** Makes `stream` complete from what a scan found below `end` and what was applied since. */
  #install(stream: string, scanned: ScannedStream | undefined, end: number): void {
    const resident = this.#streams.get(stream);
    if (resident !== undefined && resident.first === 0) return; // another load completed it
    const positions = scanned?.positions ?? [];
    const ids = scanned?.ids ?? new Map<string, number>();
    if (resident !== undefined) {
      // Events applied while the scan ran (at or past `end`), or before it as a partial entry.
      assert(
        resident.first <= positions.length,
        `stream ${stream}: the log below ${end} ends at revision ${positions.length - 1}, memory starts at ${resident.first}`,
      );
      for (let i = positions.length - resident.first; i < resident.positions.length; i++) {
        positions.push(resident.positions[i] as number);
      }
      for (const [id, revision] of resident.ids) ids.set(id, revision);
      this.#weight -= 1 + resident.positions.length;
      this.#streams.delete(stream);
    }
    this.#streams.set(stream, { first: 0, positions, ids });
    this.#weight += 1 + positions.length;
  }

  #touch(stream: string, resident: Resident): void {
    // Most recently used last: delete and insert again.
    this.#streams.delete(stream);
    this.#streams.set(stream, resident);
  }

  #evict(): void {
    if (this.#weight <= this.#eventsMax) return;
    for (const [stream, resident] of this.#streams) {
      if (this.#weight <= this.#eventsMax) return;
      if (this.#pins.has(stream) || this.#metas.has(stream)) continue;
      this.#streams.delete(stream);
      this.#evicted.add(stream);
      this.#weight -= 1 + resident.positions.length;
      this.#evictions++;
    }
  }
}

/** A fixed-size Bloom filter of strings: `has` may answer true for one never added, never false for one added. */
class BloomFilter {
  readonly #bits: Uint8Array;
  readonly #size: number;

  constructor(bits: number) {
    this.#size = Math.max(64, bits);
    this.#bits = new Uint8Array(Math.ceil(this.#size / 8));
  }

  add(value: string): void {
    for (const bit of this.#positions(value)) this.#bits[bit >>> 3]! |= 1 << (bit & 7);
  }

  has(value: string): boolean {
    for (const bit of this.#positions(value))
      if ((this.#bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    return true;
  }

  /** Four bit positions by double hashing of two FNV-1a variants. */
  #positions(value: string): number[] {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 13);
    }
    const out: number[] = [];
    for (let k = 0; k < 4; k++) out.push(((h1 + Math.imul(k, h2 | 1)) >>> 0) % this.#size);
    return out;
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
