/**
 * @module broker/kafka-group-store
 * Durable metadata of Kafka-protocol consumer groups, so a group survives a broker restart the
 * way Apache Kafka's does (its GroupMetadata records in `__consumer_offsets`). The copy lives in
 * the compacted internal topic `__consumer_groups`: key = the UTF-8 group id, value = UTF-8 JSON
 * of `StoredKafkaGroup` (bytes as base64), a null value (tombstone) when the group empties.
 *
 * The coordinator writes a record each time a generation completes (after the leader's
 * SyncGroup) and a tombstone when the group becomes empty. Writes of one store are appended in
 * call order, so the last record of a group is its latest state. Loading is hostile-input safe:
 * a record that does not parse, or breaks a limit, is logged and skipped.
 */
import type { Logger } from 'pino';
import { isDamageError } from '../errors.js';
import type { Log, LogRecord } from '../log/types.js';
import { KAFKA_GROUPS_TOPIC } from './internal-topics.js';
import { readToEnd } from './read-to-end.js';

export interface StoredKafkaMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** The member's metadata for the chosen protocol (its subscription). */
  readonly subscription: Uint8Array;
  readonly assignment: Uint8Array;
}

export interface StoredKafkaGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly generation: number;
  readonly leader: string;
  readonly members: readonly StoredKafkaMember[];
}

/** Bounds on what is stored and loaded (one record per group). */
export const KAFKA_GROUP_STORE_LIMITS = {
  /** Groups restored at start; more are logged and left out. */
  groupsMax: 10_000,
  /** Members of one stored group. */
  membersMax: 1_000,
  /** Encoded size of one group's record (Kafka's default message.max.bytes is ~1 MiB). */
  recordBytesMax: 1024 * 1024,
  /** Longest id or name string kept in a record (group id limit is 255). */
  stringLengthMax: 1024,
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class KafkaGroupStore {
  private readonly groups = new Map<string, { group: StoredKafkaGroup; logOffset: number }>();
  /** The tail of the write chain: appends happen one after another, in call order. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly log: Log,
    private readonly logger: Logger,
  ) {}

  /** Reads `__consumer_groups` from the start and returns the store holding each group's latest state. */
  static async load(log: Log, logger: Logger): Promise<KafkaGroupStore> {
    const store = new KafkaGroupStore(log, logger);
    try {
      await readToEnd(log, KAFKA_GROUPS_TOPIC, 0, (records) => {
        for (const record of records) store.applyRecord(record);
      });
    } catch (error) {
      // Membership is soft state: damaged, groups start empty and their members rejoin (as after
      // a session timeout). Writes to the damaged partition fail and are logged; /healthz reports it.
      if (!isDamageError(error)) throw error;
      logger.error({ err: error }, 'Kafka groups start empty: __consumer_groups is damaged');
      store.groups.clear();
    }
    return store;
  }

  /** The groups to restore, at most `groupsMax` of them. */
  restored(): StoredKafkaGroup[] {
    const all = [...this.groups.values()].map((e) => e.group);
    if (all.length > KAFKA_GROUP_STORE_LIMITS.groupsMax) {
      this.logger.warn(
        { stored: all.length, restored: KAFKA_GROUP_STORE_LIMITS.groupsMax },
        'more stored Kafka groups than the limit: the rest start empty',
      );
    }
    return all.slice(0, KAFKA_GROUP_STORE_LIMITS.groupsMax);
  }

  /**
   * Stores a group's latest state (null: the group is empty or gone). Resolves when the record is
   * durable. A group over the limits is not stored (logged); its earlier record is removed so a
   * restart never brings back an older generation.
   */
  save(groupId: string, group: StoredKafkaGroup | null): Promise<void> {
    let value: Uint8Array | null = null;
    if (group !== null) {
      value = encoder.encode(JSON.stringify(toJson(group)));
      if (
        group.members.length > KAFKA_GROUP_STORE_LIMITS.membersMax ||
        value.byteLength > KAFKA_GROUP_STORE_LIMITS.recordBytesMax
      ) {
        this.logger.warn(
          { groupId, members: group.members.length, bytes: value.byteLength },
          'Kafka group too large to persist: it will restart empty',
        );
        value = null;
      }
    }
    const write = this.tail.then(async () => {
      if (value === null && !this.groups.has(groupId)) return;
      const { baseOffset } = await this.log.append(KAFKA_GROUPS_TOPIC, 0, [
        { key: encoder.encode(groupId), value },
      ]);
      if (value === null || group === null) this.groups.delete(groupId);
      else this.groups.set(groupId, { group, logOffset: baseOffset });
    });
    this.tail = write.catch(() => undefined);
    return write;
  }

  /** Resolves once every write asked for so far has settled. */
  flush(): Promise<void> {
    return this.tail;
  }

  private applyRecord(record: LogRecord): void {
    if (record.key === null) return;
    let groupId: string;
    try {
      groupId = decoder.decode(record.key);
    } catch {
      groupId = '';
    }
    if (groupId === '' || groupId.length > 255) {
      this.logger.warn({ offset: record.offset }, 'skipping a __consumer_groups record with a malformed key');
      return;
    }
    if (record.value === null) {
      this.groups.delete(groupId);
      return;
    }
    const group = parseGroup(groupId, record.value);
    if (group === undefined) {
      this.logger.warn(
        { offset: record.offset, groupId },
        'skipping a __consumer_groups record with a malformed value',
      );
      return;
    }
    this.groups.set(groupId, { group, logOffset: record.offset });
  }
}

interface MemberJson {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  subscription: string;
  assignment: string;
}

function toJson(group: StoredKafkaGroup): object {
  return {
    v: 1,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    generation: group.generation,
    leader: group.leader,
    members: group.members.map(
      (m): MemberJson => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        subscription: Buffer.from(m.subscription).toString('base64'),
        assignment: Buffer.from(m.assignment).toString('base64'),
      }),
    ),
  };
}

/** Parses and checks a stored value; undefined for anything malformed or out of bounds. */
export function parseGroup(groupId: string, bytes: Uint8Array): StoredKafkaGroup | undefined {
  if (bytes.byteLength > KAFKA_GROUP_STORE_LIMITS.recordBytesMax) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed.v !== 1) return undefined;
  const { protocolType, protocolName, generation, leader, members } = parsed;
  if (!isString(protocolType) || protocolType === '' || !isString(protocolName) || !isString(leader))
    return undefined;
  if (!Number.isSafeInteger(generation) || (generation as number) < 1 || (generation as number) > 2 ** 31 - 1)
    return undefined;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  if (members.length > KAFKA_GROUP_STORE_LIMITS.membersMax) return undefined;
  const out: StoredKafkaMember[] = [];
  const ids = new Set<string>();
  const instances = new Set<string>();
  for (const raw of members as unknown[]) {
    const member = parseMember(raw);
    if (member === undefined || member.memberId === '' || ids.has(member.memberId)) return undefined;
    if (member.groupInstanceId !== null) {
      if (instances.has(member.groupInstanceId)) return undefined;
      instances.add(member.groupInstanceId);
    }
    ids.add(member.memberId);
    out.push(member);
  }
  if (!ids.has(leader)) return undefined;
  return { groupId, protocolType, protocolName, generation: generation as number, leader, members: out };
}

function parseMember(raw: unknown): StoredKafkaMember | undefined {
  if (!isObject(raw)) return undefined;
  const { memberId, groupInstanceId, clientId, clientHost, sessionTimeoutMs, rebalanceTimeoutMs } = raw;
  if (!isString(memberId) || !isString(clientId) || !isString(clientHost)) return undefined;
  if (groupInstanceId !== null && !isString(groupInstanceId)) return undefined;
  if (!isTimeout(sessionTimeoutMs) || !isTimeout(rebalanceTimeoutMs)) return undefined;
  const subscription = base64(raw.subscription);
  const assignment = base64(raw.assignment);
  if (subscription === undefined || assignment === undefined) return undefined;
  return {
    memberId,
    groupInstanceId: groupInstanceId as string | null,
    clientId,
    clientHost,
    sessionTimeoutMs,
    rebalanceTimeoutMs,
    subscription,
    assignment,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string' && value.length <= KAFKA_GROUP_STORE_LIMITS.stringLengthMax;
}

function isTimeout(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 2 ** 31 - 1;
}

function base64(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  return new Uint8Array(Buffer.from(value, 'base64'));
}
