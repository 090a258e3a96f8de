/**
 * @module sync/checkpoint
 * Checkpoint files of materialized partitions, so a restart loads the state and replays only
 * the tail of the log. One file per collection partition, `<dir>/<collection>/<partition>.ckpt`:
 *
 * ```
 * line 1: sha256 (hex) of line 2
 * line 2: {"format":1,"collection","incarnation","partition","next","entries":[[key, version, data], …]}
 * ```
 *
 * `data` is the document (strong), or `{ "crdt": state }` (eventual, tombstones included).
 * Files are written to a temporary name and renamed, so a crash leaves the old or the new
 * checkpoint, never half of one. A file that fails its checksum, or belongs to another
 * incarnation of the collection (deleted and created again), is ignored: the partition is then
 * rebuilt from the log.
 *
 * @example
 * await saveCheckpoint(dir, { collection, incarnation, state });
 * const loaded = await loadCheckpoint(dir, { collection, incarnation, partition, mode, logger });
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { decodeDocState, materialize } from '../crdt/index.js';
import { isPlainObject, malformed, readJson } from '../crdt/json.js';
import type { Entry, PartitionState } from './partition-state.js';
import type { ConsistencyMode } from './types.js';

const FORMAT = 1;

export interface CheckpointIdentity {
  readonly collection: string;
  readonly incarnation: string;
}

export interface LoadedCheckpoint {
  readonly next: number;
  readonly entries: Entry[];
}

function fileOf(dir: string, collection: string, partition: number): string {
  return join(dir, collection, `${partition}.ckpt`);
}

export async function saveCheckpoint(
  dir: string,
  identity: CheckpointIdentity,
  state: PartitionState,
): Promise<void> {
  const entries: unknown[] = [];
  for (const entry of state.entries()) {
    entries.push([entry.key, entry.version, entry.state === undefined ? entry.value : { crdt: entry.state }]);
  }
  const body = JSON.stringify({
    format: FORMAT,
    collection: identity.collection,
    incarnation: identity.incarnation,
    partition: state.partition,
    next: state.next,
    entries,
  });
  const file = fileOf(dir, identity.collection, state.partition);
  await mkdir(join(dir, identity.collection), { recursive: true });
  const temporary = `${file}.tmp`;
  await writeFile(temporary, `${sha256(body)}\n${body}`, { flush: true });
  await rename(temporary, file);
}

/** The checkpoint of a partition, or undefined when there is none usable (logged). */
export async function loadCheckpoint(
  dir: string,
  identity: CheckpointIdentity & {
    readonly partition: number;
    readonly mode: ConsistencyMode;
    readonly logger: Logger;
  },
): Promise<LoadedCheckpoint | undefined> {
  const file = fileOf(dir, identity.collection, identity.partition);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return parseCheckpoint(text, identity);
  } catch (error) {
    identity.logger.warn(
      { err: error, file },
      'ignoring an unusable collection checkpoint (rebuilding from the log)',
    );
    return undefined;
  }
}

function parseCheckpoint(
  text: string,
  identity: CheckpointIdentity & { readonly partition: number; readonly mode: ConsistencyMode },
): LoadedCheckpoint | undefined {
  const fail = malformed('checkpoint');
  const newline = text.indexOf('\n');
  if (newline < 0) return fail('no checksum line');
  const body = text.slice(newline + 1);
  if (sha256(body) !== text.slice(0, newline)) return fail('checksum mismatch');
  const parsed: unknown = JSON.parse(body);
  if (!isPlainObject(parsed) || parsed.format !== FORMAT) return fail('unknown format');
  if (parsed.collection !== identity.collection || parsed.partition !== identity.partition) {
    return fail('another collection or partition');
  }
  if (parsed.incarnation !== identity.incarnation) return undefined;
  const next = parsed.next;
  if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 0) return fail('bad next');
  if (!Array.isArray(parsed.entries)) return fail('no entries');
  const entries: Entry[] = parsed.entries.map((raw: unknown) => {
    if (!Array.isArray(raw) || raw.length !== 3) return fail('bad entry');
    const [key, version, data] = raw as [unknown, unknown, unknown];
    if (typeof key !== 'string' || typeof version !== 'number' || !Number.isSafeInteger(version)) {
      return fail('bad entry');
    }
    if (identity.mode === 'strong') {
      if (!isPlainObject(data)) return fail('bad document');
      return { key, version, value: readJson(data, 'doc', fail) } as Entry;
    }
    if (!isPlainObject(data)) return fail('bad state');
    const state = decodeDocState(data.crdt);
    return { key, version, value: materialize(state), state };
  });
  return { next, entries };
}

/** Removes a collection's checkpoints (the collection was deleted). */
export async function removeCheckpoints(dir: string, collection: string): Promise<void> {
  await rm(join(dir, collection), { recursive: true, force: true });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
