/**
 * @module broker/transactions/state
 * What the transaction coordinator remembers of one transactional id, and its durable form.
 *
 * One record per transactional id in the compacted internal topic `__transactions`: key = the
 * id (UTF-8), value = UTF-8 JSON of {@link TransactionRecord}. The latest record of a key is the
 * id's state, so compaction keeps exactly what recovery needs. The states are Kafka's (KIP-98):
 *
 * ```text
 * Empty ──add partitions/offsets──▶ Ongoing ──end──▶ PrepareCommit ──markers, offsets──▶ CompleteCommit
 *                                      │      └─end─▶ PrepareAbort  ──markers──────────▶ CompleteAbort
 *                                      └─ timeout or a new producer (InitProducerId): PrepareAbort, epoch + 1
 * ```
 *
 * Writing `Prepare*` is the decision: from then on the outcome is fixed, and a broker that
 * restarts finishes it (markers and offset application are idempotent).
 */
import type { CommittedOffset, TopicPartition } from '../types.js';

export type TransactionState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort';

const STATES: ReadonlySet<string> = new Set<TransactionState>([
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
]);

/** Consumer-offset commits that take effect only if the transaction commits. */
export interface PendingOffsets {
  readonly groupId: string;
  readonly offsets: readonly CommittedOffset[];
}

export interface TransactionRecord {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TransactionState;
  /** Partitions written in the current transaction (where the markers go). */
  readonly partitions: readonly TopicPartition[];
  /** Groups named by AddOffsetsToTxn in the current transaction. */
  readonly groups: readonly string[];
  /** Offset commits of the current transaction, applied on commit. */
  readonly offsets: readonly PendingOffsets[];
  /** When the current transaction became Ongoing (0 when none is). */
  readonly startedAtMs: number;
  /**
   * When the coordinator last wrote this state (ms since the epoch), for transactional id
   * expiry. Absent in records stored before it was kept: the coordinator counts from its start.
   */
  readonly updatedAtMs?: number;
  /**
   * The epoch that a producer's InitProducerId naming its own id and epoch (KIP-360) replaced,
   * kept while the id stays Empty: a retry of that call, whose answer was lost, gets the current
   * epoch again instead of PRODUCER_FENCED (Kafka's `lastProducerEpoch`).
   */
  readonly lastProducerEpoch?: number;
}

export function isPrepared(state: TransactionState): state is 'PrepareCommit' | 'PrepareAbort' {
  return state === 'PrepareCommit' || state === 'PrepareAbort';
}

export function isComplete(state: TransactionState): boolean {
  return state === 'Empty' || state === 'CompleteCommit' || state === 'CompleteAbort';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeTransactionKey(transactionalId: string): Uint8Array {
  return encoder.encode(transactionalId);
}

export function encodeTransactionRecord(record: TransactionRecord): Uint8Array {
  return encoder.encode(JSON.stringify({ v: 1, ...record }));
}

/** The record of a stored value, or undefined when it is not one (logged and skipped by the caller). */
export function decodeTransactionRecord(value: Uint8Array): TransactionRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const r = parsed as Record<string, unknown>;
  if (
    !isInt(r.producerId) ||
    !isInt(r.producerEpoch) ||
    !isInt(r.timeoutMs) ||
    !isInt(r.startedAtMs) ||
    typeof r.state !== 'string' ||
    !STATES.has(r.state)
  ) {
    return undefined;
  }
  const partitions = decodePartitions(r.partitions);
  const offsets = decodeOffsets(r.offsets);
  if (partitions === undefined || offsets === undefined) return undefined;
  if (!Array.isArray(r.groups) || !r.groups.every((g) => typeof g === 'string')) return undefined;
  return {
    producerId: r.producerId,
    producerEpoch: r.producerEpoch,
    timeoutMs: r.timeoutMs,
    state: r.state as TransactionState,
    partitions,
    groups: r.groups as string[],
    offsets,
    startedAtMs: r.startedAtMs,
    ...(isInt(r.updatedAtMs) ? { updatedAtMs: r.updatedAtMs } : {}),
    ...(isInt(r.lastProducerEpoch) ? { lastProducerEpoch: r.lastProducerEpoch } : {}),
  };
}

function isInt(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

function isTopicPartition(value: unknown): value is TopicPartition {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.topic === 'string' && isInt(v.partition);
}

function decodePartitions(value: unknown): TopicPartition[] | undefined {
  if (!Array.isArray(value) || !value.every(isTopicPartition)) return undefined;
  return value.map(({ topic, partition }) => ({ topic, partition }));
}

function decodeOffsets(value: unknown): PendingOffsets[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: PendingOffsets[] = [];
  for (const entry of value as unknown[]) {
    if (entry === null || typeof entry !== 'object') return undefined;
    const { groupId, offsets } = entry as Record<string, unknown>;
    if (typeof groupId !== 'string' || !Array.isArray(offsets)) return undefined;
    const committed: CommittedOffset[] = [];
    for (const o of offsets as unknown[]) {
      if (!isTopicPartition(o) || !isInt((o as unknown as Record<string, unknown>).offset)) return undefined;
      const { topic, partition, offset } = o as CommittedOffset;
      committed.push({ topic, partition, offset });
    }
    out.push({ groupId, offsets: committed });
  }
  return out;
}

/** Adds `offsets` of `groupId` to `pending`; a later commit of a partition replaces an earlier one. */
export function mergePendingOffsets(
  pending: readonly PendingOffsets[],
  groupId: string,
  offsets: readonly CommittedOffset[],
): PendingOffsets[] {
  const key = (o: TopicPartition) => `${o.topic}\0${o.partition}`;
  const existing = pending.find((p) => p.groupId === groupId);
  const merged = new Map((existing?.offsets ?? []).map((o) => [key(o), o]));
  for (const o of offsets) merged.set(key(o), o);
  const others = pending.filter((p) => p.groupId !== groupId);
  return [...others, { groupId, offsets: [...merged.values()] }];
}
