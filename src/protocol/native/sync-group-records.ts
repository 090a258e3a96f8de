/**
 * @module protocol/native/sync-group-records
 * The records of a sync group's topic, shared by the server that writes them and every member
 * (Node or browser) that reads them. A record's value is
 *
 * ```text
 * u32 LE header length · header (UTF-8 JSON) · zero padding to a multiple of 8 · data
 * ```
 *
 * so the data (little-endian float32 or float64 elements) starts 8-aligned within the value and
 * a reader can view it in place when the value itself is aligned. Three kinds:
 *
 * - `step`: one chunk of a step's result (its `byteOffset` in the step's bytes); the last record
 *   of a step carries `end`: who contributed and the generation that follows.
 * - `checkpoint`: one chunk of a member's state before step `step`; the last carries `end: true`.
 * - `generation`: the members changed between steps (a join, a leave, a step aborted).
 *
 * Anyone allowed to write the topic could append something else, so `decodeSyncRecord` checks
 * every field and answers `MALFORMED_DATA` for anything that is not one of these.
 */
import { TributaryError } from '../../errors.js';
import type { WireSyncDtype, WireSyncOp, WireSyncSpec } from './sync-group-types.js';

/** Bytes of one chunk of a step or checkpoint (the last may be shorter); a multiple of 8. */
export const SYNC_GROUP_CHUNK_BYTES = 256 * 1024;
/** Most tensors in one step, and most elements a step may carry in all (1 GiB of float32). */
export const SYNC_GROUP_LIMITS = {
  tensorsPerStepMax: 10_000,
  elementsPerStepMax: 256 * 1024 * 1024,
  /** Longest group name: the topic `sync-group.<name>` must fit Kafka's 249 characters. */
  groupNameLengthMax: 200,
  membersMax: 1024,
  /** Largest header of a record (members lists dominate it). */
  headerBytesMax: 256 * 1024,
} as const;

export const SYNC_DTYPES: readonly WireSyncDtype[] = ['float32', 'float64'];
export const SYNC_OPS: readonly WireSyncOp[] = ['sum', 'mean', 'min', 'max', 'broadcast'];

/** The topic that holds group `group`'s records. */
export function syncGroupTopic(group: string): string {
  return `sync-group.${group}`;
}

export function bytesPerElement(dtype: WireSyncDtype): number {
  return dtype === 'float32' ? 4 : 8;
}

/** Total bytes of a spec's tensors. */
export function specBytes(spec: WireSyncSpec): number {
  let elements = 0;
  for (const length of spec.lengths) elements += length;
  return elements * bytesPerElement(spec.dtype);
}

/** How many chunks a payload of `totalBytes` travels in (an empty one still takes one). */
export function chunkCount(totalBytes: number): number {
  return Math.max(1, Math.ceil(totalBytes / SYNC_GROUP_CHUNK_BYTES));
}

/** What follows a step: the members of the next generation, by rank. */
export interface SyncStepEnd {
  /** Members whose contributions the result holds, by rank. */
  readonly contributors: readonly string[];
  readonly generation: number;
  readonly members: readonly string[];
}

export type SyncRecordHeader =
  | (WireSyncSpec & {
      readonly kind: 'step';
      readonly step: number;
      readonly attempt: number;
      readonly generation: number;
      readonly op: WireSyncOp;
      readonly byteOffset: number;
      readonly end?: SyncStepEnd;
    })
  | (WireSyncSpec & {
      readonly kind: 'checkpoint';
      readonly step: number;
      readonly byteOffset: number;
      readonly end: boolean;
    })
  | {
      readonly kind: 'generation';
      readonly generation: number;
      readonly members: readonly string[];
      /** The next step to run, and its attempt (bumped when the step was aborted). */
      readonly step: number;
      readonly attempt: number;
      readonly reason: string;
    };

export interface SyncRecord {
  readonly header: SyncRecordHeader;
  /** The chunk's elements (empty for `generation`): a view of the record's value. */
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a record value: one copy of `data` into the value. */
export function encodeSyncRecord(header: SyncRecordHeader, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const record = allocateSyncRecord(header, data.byteLength);
  record.data.set(data);
  return record.value;
}

/**
 * A record value with its header written and `dataBytes` of zeroed data for the caller to fill
 * in place (`data` starts at byte 0 of an 8-aligned offset of a fresh buffer, so typed arrays can
 * view it): how the server reduces straight into the record it appends.
 */
export function allocateSyncRecord(
  header: SyncRecordHeader,
  dataBytes: number,
): { readonly value: Uint8Array; readonly data: Uint8Array } {
  const json = encoder.encode(JSON.stringify(header));
  const dataStart = align8(4 + json.byteLength);
  const value = new Uint8Array(dataStart + dataBytes);
  new DataView(value.buffer).setUint32(0, json.byteLength, true);
  value.set(json, 4);
  return { value, data: value.subarray(dataStart) };
}

/** Decodes a record value; `MALFORMED_DATA` naming the fault for anything else. */
export function decodeSyncRecord(value: Uint8Array | null): SyncRecord {
  if (value === null || value.byteLength < 4) throw malformed('a value shorter than its header length');
  const headerBytes = new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
  if (headerBytes > SYNC_GROUP_LIMITS.headerBytesMax || 4 + headerBytes > value.byteLength) {
    throw malformed(`a header length of ${headerBytes} bytes past the value`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value.subarray(4, 4 + headerBytes)));
  } catch {
    throw malformed('a header that is not UTF-8 JSON');
  }
  const header = checkHeader(parsed);
  const dataStart = align8(4 + headerBytes);
  const data = value.subarray(Math.min(dataStart, value.byteLength));
  if (header.kind === 'generation') {
    if (data.byteLength !== 0) throw malformed('data after a generation record');
    return { header, data };
  }
  const total = specBytes(header);
  const expected = Math.min(SYNC_GROUP_CHUNK_BYTES, total - header.byteOffset);
  if (header.byteOffset % SYNC_GROUP_CHUNK_BYTES !== 0 || (total > 0 && header.byteOffset >= total)) {
    throw malformed(`byteOffset ${header.byteOffset} is not a chunk of ${total} bytes`);
  }
  if (data.byteLength !== Math.max(0, expected)) {
    throw malformed(`a chunk of ${data.byteLength} bytes where ${Math.max(0, expected)} belong`);
  }
  return { header, data };
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function malformed(reason: string): TributaryError {
  return new TributaryError('MALFORMED_DATA', { what: 'sync-group record', reason });
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function int(o: Obj, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = o[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw malformed(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function memberList(o: Obj, name: string): string[] {
  const value = o[name];
  if (!Array.isArray(value) || value.length > SYNC_GROUP_LIMITS.membersMax) {
    throw malformed(`${name} must be a list of at most ${SYNC_GROUP_LIMITS.membersMax} member ids`);
  }
  for (const id of value) {
    if (typeof id !== 'string' || id.length === 0 || id.length > 1024) {
      throw malformed(`${name} must hold member ids (strings of 1 to 1024 characters)`);
    }
  }
  return value as string[];
}

function oneOf<T extends string>(o: Obj, name: string, choices: readonly T[]): T {
  const value = o[name];
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw malformed(`${name} must be one of ${choices.join(', ')}`);
  }
  return value as T;
}

/** Checks a spec's shape (the protocol reader and the record reader share it). */
export function checkSpec(dtype: WireSyncDtype, lengths: unknown): WireSyncSpec {
  if (!Array.isArray(lengths) || lengths.length > SYNC_GROUP_LIMITS.tensorsPerStepMax) {
    throw malformed(`lengths must be a list of at most ${SYNC_GROUP_LIMITS.tensorsPerStepMax} integers`);
  }
  let elements = 0;
  for (const length of lengths) {
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw malformed('lengths must hold non-negative integers');
    }
    elements += length;
  }
  if (elements > SYNC_GROUP_LIMITS.elementsPerStepMax) {
    throw malformed(`${elements} elements exceed ${SYNC_GROUP_LIMITS.elementsPerStepMax}`);
  }
  return { dtype, lengths: lengths as number[] };
}

function checkHeader(value: unknown): SyncRecordHeader {
  if (!isObject(value)) throw malformed('a header that is not a JSON object');
  const kind = oneOf(value, 'kind', ['step', 'checkpoint', 'generation'] as const);
  if (kind === 'generation') {
    return {
      kind,
      generation: int(value, 'generation'),
      members: memberList(value, 'members'),
      step: int(value, 'step'),
      attempt: int(value, 'attempt'),
      reason: typeof value.reason === 'string' ? value.reason.slice(0, 1024) : '',
    };
  }
  const spec = checkSpec(oneOf(value, 'dtype', SYNC_DTYPES), value.lengths);
  const base = { ...spec, step: int(value, 'step'), byteOffset: int(value, 'byteOffset') };
  if (kind === 'checkpoint') {
    if (typeof value.end !== 'boolean') throw malformed('end must be a boolean');
    return { kind, ...base, end: value.end };
  }
  const step = {
    kind,
    ...base,
    attempt: int(value, 'attempt'),
    generation: int(value, 'generation'),
    op: oneOf(value, 'op', SYNC_OPS),
  } as const;
  if (value.end === undefined) return step;
  if (!isObject(value.end)) throw malformed('end must be an object');
  const end = value.end;
  return {
    ...step,
    end: {
      contributors: memberList(end, 'contributors'),
      generation: int(end, 'generation'),
      members: memberList(end, 'members'),
    },
  };
}
