/**
 * @module server/front/mqtt/session
 * The state of one MQTT client, apart from its socket (MQTT's "session state", §4.1): the
 * subscriptions, the QoS 1/2 messages sent and not yet acknowledged (with their packet ids),
 * the QoS 2 packet ids received and not yet released, and where delivery stands on each
 * partition. A connection attaches to a session and detaches from it; a session with
 * `expiryIntervalS > 0` (MQTT 5 session expiry; 3.1.1 clean session false) outlives the
 * connection in a {@link SessionStore} and is taken up by the next CONNECT with the same client
 * id, which resends the unacknowledged messages with DUP and their original packet ids.
 *
 * Everything here is plain data keyed by log positions (topic, partition, offset), so a store
 * can write it out and read it back after a restart and delivery resumes from the log: the
 * payload of an unacknowledged message is not needed, only where it is.
 *
 * @example
 * const session = (await store.take(clientId)) ?? new MqttSession(clientId, principal);
 * session.subscriptions.set('sensors/#', { filter, qos: 1, ... });
 */
import type { QoS } from 'mqtt-packet';
import type { SessionDurability } from './persistent-sessions.js';
import type { TopicFilter } from './topics.js';

/** One subscription of a session (MQTT 5 subscription options included). */
export interface SessionSubscription {
  readonly filter: TopicFilter;
  /** The maximum QoS granted. */
  readonly qos: QoS;
  /** MQTT 5 No Local: messages this client published are not sent back. */
  readonly noLocal: boolean;
  /** MQTT 5 Retain As Published. */
  readonly retainAsPublished: boolean;
  /** MQTT 5 Retain Handling (0, 1, 2). */
  readonly retainHandling: number;
  /** MQTT 5 Subscription Identifier, if one was given. */
  readonly identifier: number | null;
}

/** A QoS 1 or 2 message sent to the client and not yet acknowledged. */
export interface OutboundInFlight {
  readonly packetId: number;
  readonly qos: 1 | 2;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** `publish`: waits for PUBACK / PUBREC; `pubrel`: PUBREC came, PUBREL sent, waits for PUBCOMP. */
  phase: 'publish' | 'pubrel';
  /** Sent for a shared subscription: owed to its group, not kept with the session. */
  readonly shared?: boolean;
}

/** Key of a partition in the session's maps. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class MqttSession {
  readonly clientId: string;
  /** The principal that owns the session: another may not take it over. */
  readonly principal: string;
  /** Filter text (as subscribed, `$share/…` included) → subscription. */
  readonly subscriptions = new Map<string, SessionSubscription>();
  /** Packet id → message, in the order they were sent (resent in that order). */
  readonly outbound = new Map<number, OutboundInFlight>();
  /** QoS 2 packet ids received (PUBREC sent or being made durable) and not yet released. */
  readonly inboundQos2 = new Set<number>();
  /**
   * Next offset to deliver per partition ({@link partitionKey}): everything below was sent (or
   * skipped as not matching). Absent: the partition starts at its tail.
   */
  readonly positions = new Map<string, number>();
  /**
   * Literal topics a filter named before they existed: read from their first record once they
   * appear, whichever connection of the session (or server run, when kept on the log) sees them.
   */
  readonly awaitedTopics = new Set<string>();
  /** Seconds the session outlives its connection; 0: it ends with it. */
  expiryIntervalS = 0;
  /** Set when the session is kept on the log (`persistent-sessions.ts`); null: in memory only. */
  durability: SessionDurability | null = null;
  #nextPacketId = 1;

  constructor(clientId: string, principal: string) {
    this.clientId = clientId;
    this.principal = principal;
  }

  /** A packet id not in use by an outbound message (1…65535); null when all are. */
  allocatePacketId(): number | null {
    if (this.outbound.size >= 65535) return null;
    for (;;) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.outbound.has(id)) return id;
    }
  }
}

/**
 * Where sessions that outlive their connection wait (MQTT 5 session expiry > 0, or 3.1.1 clean
 * session false). The default keeps them in memory; a persistent store (a compacted internal
 * topic) keeps them across restarts.
 */
export interface SessionStore {
  /** The stored session of `clientId`, removed from the store (the caller now owns it); null: none. */
  take(clientId: string): Promise<MqttSession | null>;
  /** Keeps `session` (its connection ended) for `session.expiryIntervalS` seconds. */
  keep(session: MqttSession): Promise<void>;
  /** Forgets any stored session of `clientId` (a clean start). */
  discard(clientId: string): Promise<void>;
  /**
   * A session that outlives its connection was taken up or made at CONNECT: a store that keeps
   * sessions across restarts stores it now, before CONNACK. Optional.
   */
  attach?(session: MqttSession, version: 4 | 5): Promise<void>;
  /**
   * Another gateway takes `clientId` up (scale-out): stores `session` (the connection taken over
   * here, or else a session kept here) as it is, and forgets it here. Optional: stores of one server.
   */
  handOff?(clientId: string, session: MqttSession | null): Promise<void>;
  /** Stops timers; a store that writes resolves once what is pending is written. */
  close(): void | Promise<void>;
}

/** Sessions kept by a {@link MemorySessionStore} unless told otherwise. */
export const MEMORY_SESSIONS_MAX = 100_000;

/**
 * Sessions kept in this process's memory until they expire (lost on restart). At most
 * `sessionsMax`: past it the session kept longest ago is dropped, so client ids that connect once
 * with clean session 0 and never return cannot grow memory without bound.
 */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, { session: MqttSession; timer: NodeJS.Timeout | null }>();
  readonly #sessionsMax: number;

  constructor(options: { readonly sessionsMax?: number } = {}) {
    this.#sessionsMax = options.sessionsMax ?? MEMORY_SESSIONS_MAX;
  }

  async take(clientId: string): Promise<MqttSession | null> {
    const kept = this.#sessions.get(clientId);
    if (kept === undefined) return null;
    if (kept.timer !== null) clearTimeout(kept.timer);
    this.#sessions.delete(clientId);
    return kept.session;
  }

  async keep(session: MqttSession): Promise<void> {
    await this.discard(session.clientId);
    const seconds = session.expiryIntervalS;
    // 0xFFFFFFFF: never expires (MQTT 5 §3.1.2.11.2); longer than a timer can wait too.
    const timer =
      seconds >= 0xffffffff || seconds * 1000 > 2_147_483_647
        ? null
        : setTimeout(() => this.#sessions.delete(session.clientId), seconds * 1000);
    timer?.unref();
    this.#sessions.set(session.clientId, { session, timer });
    if (this.#sessions.size > this.#sessionsMax) {
      const oldest = this.#sessions.keys().next().value as string;
      await this.discard(oldest);
    }
  }

  async discard(clientId: string): Promise<void> {
    const kept = this.#sessions.get(clientId);
    if (kept?.timer != null) clearTimeout(kept.timer);
    this.#sessions.delete(clientId);
  }

  /** Sessions held (for tests and metrics). */
  get size(): number {
    return this.#sessions.size;
  }

  close(): void {
    for (const { timer } of this.#sessions.values()) if (timer !== null) clearTimeout(timer);
  }
}
