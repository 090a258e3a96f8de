/**
 * @module es/streams/visibility
 * Which of a stream's events reads and subscriptions return, from its stored metadata (max age,
 * max count, truncate before a revision, soft delete). Events are never removed from the log
 * (it is append-only); hiding them is a read-side rule, applied by every read and every
 * subscription at the moment it hands an event out, so a truncation also holds for events
 * already queued to a subscriber.
 *
 * Metadata lives in the log as the events of the system stream `$$<stream>`; snapshots as the
 * events of `$snapshots-<stream>`. Names starting with `$` are the store's own: callers cannot
 * name them, and reads of every stream leave them out.
 */

/** The metadata of a stream as its `$$<stream>` events store it. */
export interface StoredMeta {
  readonly maxAgeMs?: number;
  readonly maxCount?: number;
  readonly truncateBefore?: number;
  /** Set by a soft delete: the first revision of the stream as recreated. */
  readonly deletedBefore?: number;
}

export const METADATA_EVENT_TYPE = '$metadata';
export const SNAPSHOT_EVENT_TYPE = '$snapshot';
const METADATA_PREFIX = '$$';
const SNAPSHOT_PREFIX = '$snapshots-';

export function isSystemStream(stream: string): boolean {
  return stream.startsWith('$');
}

export function metadataStreamOf(stream: string): string {
  return METADATA_PREFIX + stream;
}

export function snapshotStreamOf(stream: string): string {
  return SNAPSHOT_PREFIX + stream;
}

/** The stream whose metadata `stream` holds, or undefined when it is not a metadata stream. */
export function metadataTarget(stream: string): string | undefined {
  return stream.startsWith(METADATA_PREFIX) ? stream.slice(METADATA_PREFIX.length) : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Reads a stored metadata event's data; fields it does not recognise are dropped. */
export function parseStoredMeta(data: unknown): StoredMeta {
  if (typeof data !== 'object' || data === null) return {};
  const d = data as Record<string, unknown>;
  const meta: { -readonly [K in keyof StoredMeta]: StoredMeta[K] } = {};
  for (const name of ['maxAgeMs', 'maxCount', 'truncateBefore', 'deletedBefore'] as const) {
    const value = count(d[name]);
    if (value !== undefined) meta[name] = value;
  }
  return meta;
}

/** Soft-deleted and not appended to since. */
export function isDeleted(meta: StoredMeta | undefined, last: number): boolean {
  return meta?.deletedBefore !== undefined && last < meta.deletedBefore;
}

/** The revision an expected-revision check sees: -1 for a deleted stream. */
export function visibleRevision(meta: StoredMeta | undefined, last: number): number {
  return isDeleted(meta, last) ? -1 : last;
}

/** The lowest revision not hidden by truncation, a soft delete or `maxCount` (age aside). */
export function firstVisibleRevision(meta: StoredMeta | undefined, last: number): number {
  if (meta === undefined) return 0;
  let first = Math.max(meta.truncateBefore ?? 0, meta.deletedBefore ?? 0);
  if (meta.maxCount !== undefined) first = Math.max(first, last + 1 - meta.maxCount);
  return first;
}

/** Whether an event of a stream whose last revision is `last` is visible at `now`. */
export function isVisible(
  meta: StoredMeta | undefined,
  last: number,
  revision: number,
  time: number,
  now: number,
): boolean {
  if (meta === undefined) return true;
  if (revision < firstVisibleRevision(meta, last)) return false;
  return meta.maxAgeMs === undefined || now - time <= meta.maxAgeMs;
}
