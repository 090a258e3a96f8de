/**
 * @module processing/snapshots
 * Snapshots of a task's state: every so many commits the whole state of each stateful step is
 * written to `<pipeline>.snapshots` (compacted, partition n = the task of source partition n) as
 * chunk records, and the task's progress record refers to it ({@link SnapshotRef}). A restore
 * then reads that snapshot and only the changelog records written since, instead of every
 * changelog record of every live key.
 *
 * A snapshot exists for a restore only through the reference in the progress record, and that
 * record is written in the same atomic commit as the state it describes. The chunks go in that
 * commit too, except those that would make it too large: they are committed just before, and
 * until the progress commit lands nothing refers to them. A worker killed at any point leaves
 * either the previous reference or the new one with all its chunks committed. A restore checks
 * that every chunk of the referenced snapshot is there (chunks carry the snapshot's id); if not
 * (compacted over by a worker that lost the task, a topic deleted by hand), it restores from the
 * changelogs alone, as without snapshots.
 *
 * Chunks alternate between two sets of keys (`slot` 0 and 1), so compaction replaces the
 * snapshot before the previous one and never the one referred to.
 */
import type { TributaryClient } from '../client/client.js';
import type { ProducerRecord } from '../client/records.js';
import type { StateStore } from './state.js';
import { readCommitted } from './topics.js';

const DECODER = new TextDecoder();

/** About this many characters of JSON per chunk record. */
const CHUNK_CHARS = 64 * 1024;
/**
 * About this many characters of chunks per atomic commit: a request must fit in one frame (1 MiB
 * by default), and a character is up to 3 bytes of UTF-8.
 */
const COMMIT_CHARS = 192 * 1024;

/** Where a task's newest complete snapshot is and what it covers (in the task's progress record). */
export interface SnapshotRef {
  /** Unique per snapshot; every chunk carries it. */
  readonly id: string;
  /** The key set its chunks use (0 or 1): the next snapshot uses the other. */
  readonly slot: number;
  /** An offset of `<pipeline>.snapshots` at or before its first chunk. */
  readonly from: number;
  /** When it was taken (ms): a snapshot older than a changelog's tombstone retention is not used. */
  readonly at: number;
  /** The task's commit count (`TaskMeta.commits`) when it was taken. */
  readonly commit: number;
  /**
   * Per stateful step: its chunks, and the changelog offset from which the records written
   * since are read on top of it. That offset is at or before the snapshot's own commit: reading
   * a changelog record the snapshot already holds sets the key to the value it has.
   */
  readonly steps: readonly { readonly step: string; readonly chunks: number; readonly changelog: number }[];
}

/** A stateful step's store and where the changelog records not in a snapshot taken now start. */
export interface SnapshotSource {
  readonly step: string;
  readonly store: StateStore;
  readonly changelogNext: number;
}

interface Chunk {
  readonly id: string;
  readonly step: string;
  readonly n: number;
  readonly entries: [string, unknown][];
}

/** The records of a snapshot of `sources` and the reference to it (`from` still to be set). */
export function snapshotChunks(
  sources: readonly SnapshotSource[],
  previous: SnapshotRef | undefined,
  commit: number,
): { ref: Omit<SnapshotRef, 'from'>; records: ProducerRecord[] } {
  const id = crypto.randomUUID();
  const slot = previous === undefined ? 0 : 1 - previous.slot;
  const records: ProducerRecord[] = [];
  const steps: SnapshotRef['steps'][number][] = [];
  for (const { step, store, changelogNext } of sources) {
    let n = 0;
    let parts: string[] = [];
    let bytes = 0;
    const flush = () => {
      const value = `{"id":${JSON.stringify(id)},"step":${JSON.stringify(step)},"n":${n},"entries":[${parts.join(',')}]}`;
      records.push({ key: `${slot}\u0001${step}\u0001${n}`, value });
      n++;
      parts = [];
      bytes = 0;
    };
    for (const [key, value] of store.entries()) {
      // A key set to undefined is a delete in the changelog: not part of the state.
      if (value === undefined) continue;
      const part = JSON.stringify([key, value]);
      parts.push(part);
      bytes += part.length;
      if (bytes >= CHUNK_CHARS) flush();
    }
    if (parts.length > 0 || n === 0) flush();
    steps.push({ step, chunks: n, changelog: changelogNext });
  }
  return { ref: { id, slot, at: Date.now(), commit, steps }, records };
}

/**
 * Splits snapshot records into groups of at most about {@link COMMIT_CHARS}: all but the last
 * are committed on their own before the progress commit, the last goes into it.
 */
export function commitGroups(records: readonly ProducerRecord[]): ProducerRecord[][] {
  const groups: ProducerRecord[][] = [[]];
  let bytes = 0;
  for (const record of records) {
    const size = typeof record.value === 'string' ? record.value.length : (record.value?.length ?? 0);
    if (bytes > 0 && bytes + size > COMMIT_CHARS) {
      groups.push([]);
      bytes = 0;
    }
    groups.at(-1)!.push(record);
    bytes += size;
  }
  return groups;
}

/**
 * Reads the snapshot `ref` from partition `partition` of `topic` into `stores` (by step name);
 * false, with the stores untouched, when a chunk is missing or a record carrying its id is not
 * JSON (damaged).
 */
export async function readSnapshot(
  client: TributaryClient,
  topic: string,
  partition: number,
  ref: SnapshotRef,
  stores: ReadonlyMap<string, StateStore>,
): Promise<boolean> {
  const wanted = new Map(ref.steps.map((s) => [s.step, s.chunks]));
  const found = new Map<string, Chunk[]>();
  let damaged = false;
  await readCommitted(
    client,
    topic,
    partition,
    (records) => {
      for (const record of records) {
        if (record.value === null) continue;
        const text = DECODER.decode(record.value);
        // Chunks of other snapshots are skipped before parsing them.
        if (!text.includes(ref.id)) continue;
        let chunk: Chunk;
        try {
          chunk = JSON.parse(text) as Chunk;
        } catch {
          // A damaged record that may be one of this snapshot's chunks: the snapshot is not used.
          damaged = true;
          continue;
        }
        if (chunk.id !== ref.id || !wanted.has(chunk.step)) continue;
        let list = found.get(chunk.step);
        if (list === undefined) {
          list = [];
          found.set(chunk.step, list);
        }
        list[chunk.n] = chunk;
      }
    },
    { from: ref.from },
  );
  if (damaged) return false;
  for (const [step, chunks] of wanted) {
    const list = found.get(step) ?? [];
    for (let n = 0; n < chunks; n++) if (list[n] === undefined) return false;
  }
  for (const [step, list] of found) {
    const store = stores.get(step);
    if (store === undefined) continue;
    for (const chunk of list) for (const [key, value] of chunk.entries) store.load(key, value);
  }
  return true;
}
