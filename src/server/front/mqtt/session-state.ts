/**
 * @module server/front/mqtt/session-state
 * What an MQTT persistent session keeps across client and server restarts, and its stored form:
 * one versioned UTF-8 JSON document per client id in the compacted topic `__mqtt.sessions`
 * (`session-store.ts`).
 *
 * - `subscriptions`: filter, granted QoS and the MQTT 5 options, so a reconnect needs no SUBSCRIBE;
 * - `positions`: per (topic, partition) the next offset owed to the client, i.e. the first record
 *   not yet acknowledged (PUBACK/PUBCOMP) or passed over; a reconnect replays the log from there;
 * - `outbound`: QoS 1 and 2 PUBLISHes sent and not yet acknowledged, each naming the record
 *   (topic, partition, offset) and the packet id it went out as; resent with DUP and the same
 *   packet id. A QoS 2 entry is written BEFORE its PUBLISH is sent, and `released` BEFORE the
 *   PUBREL, so after a crash the same record is resent under the same packet id (the client's own
 *   QoS 2 state drops it) or only the PUBREL is resent. `completed` QoS 2 entries stay until the
 *   position passes them, so a replay from an older position never sends them again. (QoS 1
 *   entries are stored lazily: after a crash, QoS 1 may repeat, as QoS 1 allows);
 * - `inbound`: QoS 2 PUBLISHes received and not yet released (PUBREL), each with the producer
 *   sequence its record was (or will be) appended with (`inbound-qos2.ts`);
 * - `producer` and `sequences`: the session's idempotent producer id and, per partition, the next
 *   sequence it appends with.
 *
 * Decoding checks every field: a record that does not parse is skipped with a warning (the client
 * then starts a fresh session), never a crash.
 */

/** Format of the stored document; a reader refuses versions it does not know. */
export const SESSION_STATE_VERSION = 1;

/** MQTT 5's "never expires" session expiry interval (0xFFFFFFFF seconds). */
export const SESSION_EXPIRY_NEVER = 0xffff_ffff;

export type Qos = 0 | 1 | 2;

export interface StoredSubscription {
  /** As subscribed, `$share/<name>/` prefix included. */
  readonly filter: string;
  readonly qos: Qos;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** MQTT 5 subscription identifier (1 to 268,435,455), absent when none was given. */
  readonly subscriptionId?: number;
}

export interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  /** Next offset owed to the client. */
  readonly offset: number;
}

export type OutboundState = 'sent' | 'released' | 'completed';

export interface StoredOutbound {
  readonly packetId: number;
  readonly qos: 1 | 2;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** `sent`: awaiting PUBACK/PUBREC; `released`: PUBREC came, PUBREL sent; `completed`: PUBCOMP came (QoS 2). */
  readonly state: OutboundState;
}

export interface InboundQos2 {
  readonly packetId: number;
  readonly topic: string;
  readonly partition: number;
  /** Producer sequence of the record's batch. */
  sequence: number;
  /** Known to be in the log (appended or found a duplicate) by this process. Not stored. */
  appended?: boolean;
}

export interface ProducerSequence {
  readonly topic: string;
  readonly partition: number;
  /** Next sequence to append with. */
  next: number;
}

export interface SessionState {
  readonly clientId: string;
  /** The principal that owns the session: another principal never takes it up. */
  principal: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5. */
  protocolVersion: 4 | 5;
  /** Seconds the session outlives its connection; SESSION_EXPIRY_NEVER for never. */
  expiryIntervalS: number;
  /** When the last connection ended (ms epoch); null while connected. */
  disconnectedAt: number | null;
  subscriptions: StoredSubscription[];
  positions: PartitionPosition[];
  /** Topics a filter named before they existed: read from their beginning once they appear. */
  awaitedTopics: string[];
  outbound: StoredOutbound[];
  inbound: InboundQos2[];
  producer: { readonly producerId: number; readonly producerEpoch: number } | null;
  sequences: ProducerSequence[];
}

/** A new, empty session. */
export function emptySession(
  clientId: string,
  principal: string,
  protocolVersion: 4 | 5,
  expiryIntervalS: number,
): SessionState {
  return {
    clientId,
    principal,
    protocolVersion,
    expiryIntervalS,
    disconnectedAt: null,
    subscriptions: [],
    positions: [],
    awaitedTopics: [],
    outbound: [],
    inbound: [],
    producer: null,
    sequences: [],
  };
}

/**
 * When a disconnected session ends (ms epoch), or null when it never does. A session still
 * connected in the stored copy (the server stopped without recording the disconnect) counts as
 * disconnected at `loadedAt`.
 */
export function expiresAt(state: SessionState, loadedAt: number): number | null {
  if (state.expiryIntervalS === SESSION_EXPIRY_NEVER) return null;
  return (state.disconnectedAt ?? loadedAt) + state.expiryIntervalS * 1000;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeSession(state: SessionState): Uint8Array {
  const stored = {
    v: SESSION_STATE_VERSION,
    clientId: state.clientId,
    principal: state.principal,
    protocolVersion: state.protocolVersion,
    expiryIntervalS: state.expiryIntervalS,
    disconnectedAt: state.disconnectedAt,
    subscriptions: state.subscriptions,
    positions: state.positions,
    awaitedTopics: state.awaitedTopics,
    outbound: state.outbound,
    inbound: state.inbound.map(({ packetId, topic, partition, sequence }) => ({
      packetId,
      topic,
      partition,
      sequence,
    })),
    producer: state.producer,
    sequences: state.sequences,
  };
  return encoder.encode(JSON.stringify(stored));
}

/** The session in `bytes`, or a string saying what is wrong with them. */
export function decodeSession(bytes: Uint8Array): SessionState | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return 'not UTF-8 JSON';
  }
  if (!isObject(parsed)) return 'not an object';
  if (parsed.v !== SESSION_STATE_VERSION) return `unknown version ${String(parsed.v)}`;
  const { clientId, principal, protocolVersion, expiryIntervalS, disconnectedAt, producer } = parsed;
  if (typeof clientId !== 'string') return 'clientId';
  if (typeof principal !== 'string') return 'principal';
  if (protocolVersion !== 4 && protocolVersion !== 5) return 'protocolVersion';
  if (!isIntIn(expiryIntervalS, 0, SESSION_EXPIRY_NEVER)) return 'expiryIntervalS';
  if (disconnectedAt !== null && !isIntIn(disconnectedAt, 0, Number.MAX_SAFE_INTEGER))
    return 'disconnectedAt';
  if (
    producer !== null &&
    !(isObject(producer) && isCount(producer.producerId) && isCount(producer.producerEpoch))
  ) {
    return 'producer';
  }
  const subscriptions = listOf(parsed.subscriptions, isSubscription);
  const positions = listOf(parsed.positions, (p) => isPartitionRef(p) && isCount(p.offset));
  const outbound = listOf(parsed.outbound, isOutbound);
  const inbound = listOf(
    parsed.inbound,
    (p) => isPartitionRef(p) && isPacketId(p.packetId) && isCount(p.sequence),
  );
  const sequences = listOf(parsed.sequences, (p) => isPartitionRef(p) && isCount(p.next));
  if (subscriptions === undefined) return 'subscriptions';
  if (positions === undefined) return 'positions';
  if (outbound === undefined) return 'outbound';
  if (inbound === undefined) return 'inbound';
  if (sequences === undefined) return 'sequences';
  const { awaitedTopics } = parsed;
  if (!Array.isArray(awaitedTopics) || !awaitedTopics.every((t) => typeof t === 'string'))
    return 'awaitedTopics';
  return {
    clientId,
    principal,
    protocolVersion,
    expiryIntervalS: expiryIntervalS as number,
    disconnectedAt: disconnectedAt as number | null,
    subscriptions: subscriptions as unknown as StoredSubscription[],
    positions: positions as unknown as PartitionPosition[],
    awaitedTopics: awaitedTopics as string[],
    outbound: outbound as unknown as StoredOutbound[],
    inbound: inbound as unknown as InboundQos2[],
    producer: producer as SessionState['producer'],
    sequences: sequences as unknown as ProducerSequence[],
  };
}

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

const isCount = (value: unknown): value is number => isIntIn(value, 0, Number.MAX_SAFE_INTEGER);
const isPacketId = (value: unknown): value is number => isIntIn(value, 1, 0xffff);
const isQos = (value: unknown): value is Qos => value === 0 || value === 1 || value === 2;

function isPartitionRef(value: Fields): boolean {
  return typeof value.topic === 'string' && isCount(value.partition);
}

function isSubscription(value: Fields): boolean {
  return (
    typeof value.filter === 'string' &&
    isQos(value.qos) &&
    typeof value.noLocal === 'boolean' &&
    typeof value.retainAsPublished === 'boolean' &&
    isQos(value.retainHandling) &&
    (value.subscriptionId === undefined || isIntIn(value.subscriptionId, 1, 268_435_455))
  );
}

function isOutbound(value: Fields): boolean {
  return (
    isPartitionRef(value) &&
    isPacketId(value.packetId) &&
    (value.qos === 1 || value.qos === 2) &&
    isCount(value.offset) &&
    (value.state === 'sent' ||
      (value.qos === 2 && (value.state === 'released' || value.state === 'completed')))
  );
}

function listOf(value: unknown, check: (item: Fields) => boolean): Fields[] | undefined {
  if (!Array.isArray(value)) return undefined;
  for (const item of value) if (!isObject(item) || !check(item)) return undefined;
  return value as Fields[];
}
