/**
 * @module server/front/mqtt/persistent-sessions
 * The MQTT front end's session store on the log: sessions that outlive their connection (MQTT 5
 * session expiry > 0, MQTT 3.1.1 clean session 0) are kept in `__mqtt.sessions`
 * (`session-store.ts`) while they are connected too, so they survive a server restart or crash,
 * not just a reconnect (docs/mqtt.md, "Persistent sessions").
 *
 * A live {@link MqttSession} (the connection's state, `session.ts`) is written out as a
 * `SessionState` document whenever the store builds an append (`setRefresher`): subscriptions,
 * in-flight messages, and per partition the stored position, which is the lowest of the
 * delivery position (after the last record sent) and the offsets still awaiting an
 * acknowledgement. Read back after a restart, the session resends its in-flight messages (DUP,
 * same packet ids), then replays the log from the stored positions, skipping the records it
 * resent and the QoS 2 records already completed ({@link SessionDurability.replayed}).
 *
 * What is written when: subscription changes and QoS 2 steps (before the PUBLISH, before the
 * PUBREL, inbound intents before their append, PUBREL before PUBCOMP) wait for durability
 * (`save`); positions and QoS 1 acknowledgements are stored lazily (`saveSoon`), group-committed.
 *
 * @example
 * const sessions = await LogSessionStore.open(broker.forSystem(), { logger, expiryMaxS });
 * attachMqttFrontEnd({ ..., sessions });
 */
import type { Logger } from 'pino';
import type { Broker } from '../../../broker/types.js';
import { ExactlyOnceInbound } from './inbound-qos2.js';
import { MqttSession, partitionKey, type SessionStore } from './session.js';
import {
  emptySession,
  SESSION_EXPIRY_NEVER,
  type SessionState,
  type StoredOutbound,
  type StoredSubscription,
} from './session-state.js';
import { MqttSessionStore } from './session-store.js';
import { MqttTopicError, parseTopicFilter } from './topics.js';

/** What a persistent session adds to an {@link MqttSession}; `session.durability`. */
export interface SessionDurability {
  /** Stores the session as it is now; resolves once durable. */
  save(): Promise<void>;
  /** Stores the session soon, group-committed with others (positions, QoS 1 acknowledgements). */
  saveSoon(): void;
  /**
   * True for a record read again after a restart that must not be sent as new: it was resent
   * from the in-flight messages, or it is a completed QoS 2 message.
   */
  replayed(topic: string, partition: number, offset: number): boolean;
  /** A QoS 2 message completed (PUBCOMP, or a refusing PUBREC): never sent again. */
  completed(topic: string, partition: number, offset: number): void;
  /** QoS 2 PUBLISHes from the client, appended exactly once (`inbound-qos2.ts`). */
  readonly inbound: ExactlyOnceInbound;
}

export interface LogSessionStoreOptions {
  readonly logger?: Logger;
  /** Longest a disconnected session is kept (s); 0: as long as the client asked. See `mqttSessionExpiryMaxS`. */
  readonly expiryMaxS?: number;
  /** Default `Date.now`. */
  readonly now?: () => number;
  /** Longest lazy writes (positions) wait to be group-committed. Default 100 ms. */
  readonly positionsFlushMs?: number;
  /** Gateways sharing the log write `__mqtt.sessions` too (`MqttSessionStore`'s `shared`). */
  readonly shared?: { readonly catchUp: () => Promise<void> };
}

/** The durable part of one session: its stored document and what replay must skip. */
class PersistedSession implements SessionDurability {
  /** Per partition: offsets at or past the stored position that replay skips. */
  private readonly skip = new Map<string, Set<number>>();
  /** Per partition: QoS 2 offsets completed at or past the stored position. */
  private readonly done = new Map<string, Set<number>>();
  readonly inbound: ExactlyOnceInbound;

  constructor(
    readonly state: SessionState,
    readonly live: MqttSession,
    private readonly store: MqttSessionStore,
    broker: Broker,
  ) {
    this.inbound = new ExactlyOnceInbound({ broker, session: state, persist: () => this.save() });
    for (const entry of state.outbound) {
      addTo(this.skip, partitionKey(entry.topic, entry.partition), entry.offset);
      if (entry.state === 'completed')
        addTo(this.done, partitionKey(entry.topic, entry.partition), entry.offset);
    }
    store.setRefresher(state.clientId, () => this.refresh());
  }

  save(): Promise<void> {
    return this.store.save(this.state);
  }

  saveSoon(): void {
    this.store.saveSoon(this.state);
  }

  replayed(topic: string, partition: number, offset: number): boolean {
    if (this.skip.size === 0) return false;
    return this.skip.get(partitionKey(topic, partition))?.has(offset) === true;
  }

  completed(topic: string, partition: number, offset: number): void {
    addTo(this.done, partitionKey(topic, partition), offset);
  }

  /** Copies the live session into the stored document (see the module comment). */
  refresh(): void {
    const { live, state } = this;
    state.expiryIntervalS = live.expiryIntervalS;
    state.subscriptions = [...live.subscriptions].map(([text, s]) => storedSubscription(text, s));
    const owed = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const [key, offset] of live.positions) {
      const [topic, partition] = splitKey(key);
      owed.set(key, { topic, partition, offset });
    }
    const outbound: StoredOutbound[] = [];
    for (const entry of live.outbound.values()) {
      if (entry.shared === true) continue; // a shared subscription's: owed to the group, not the session
      const key = partitionKey(entry.topic, entry.partition);
      const position = owed.get(key);
      if (position !== undefined && entry.offset < position.offset) position.offset = entry.offset;
      outbound.push({
        packetId: entry.packetId,
        qos: entry.qos,
        topic: entry.topic,
        partition: entry.partition,
        offset: entry.offset,
        state: entry.phase === 'publish' ? 'sent' : 'released',
      });
    }
    for (const [key, offsets] of this.done) {
      const position = owed.get(key);
      if (position === undefined) {
        this.done.delete(key);
        continue;
      }
      for (const offset of offsets) {
        if (offset < position.offset) offsets.delete(offset);
        else outbound.push({ packetId: 1, qos: 2, ...position, offset, state: 'completed' });
      }
    }
    for (const [key, offsets] of this.skip) {
      const position = owed.get(key)?.offset ?? Number.POSITIVE_INFINITY;
      for (const offset of offsets) if (offset < position) offsets.delete(offset);
      if (offsets.size === 0) this.skip.delete(key);
    }
    state.outbound = outbound;
    state.positions = [...owed.values()];
    state.awaitedTopics = [...live.awaitedTopics];
  }
}

export class LogSessionStore implements SessionStore {
  /** Disconnected sessions of this process, with their in-flight state as it was. */
  private readonly kept = new Map<string, MqttSession>();
  private readonly now: () => number;

  private constructor(
    readonly store: MqttSessionStore,
    private readonly broker: Broker,
    options: LogSessionStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Opens `__mqtt.sessions` on `systemBroker` (a `forSystem()` view), loads, expires. */
  static async open(systemBroker: Broker, options: LogSessionStoreOptions = {}): Promise<LogSessionStore> {
    let self: LogSessionStore | undefined;
    const store = await MqttSessionStore.open(systemBroker, {
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.positionsFlushMs === undefined ? {} : { positionsFlushMs: options.positionsFlushMs }),
      ...(options.shared === undefined ? {} : { shared: options.shared }),
      expiryMaxS: options.expiryMaxS ?? 0,
      onExpired: (clientId) => self?.kept.delete(clientId),
    });
    self = new LogSessionStore(store, systemBroker, options);
    return self;
  }

  async take(clientId: string): Promise<MqttSession | null> {
    const kept = this.kept.get(clientId);
    if (kept !== undefined) {
      this.kept.delete(clientId);
      return kept;
    }
    // Shared by gateways: what another gateway stored (it handed the session over first).
    await this.store.follow();
    const state = this.store.get(clientId);
    return state === undefined ? null : this.restore(state);
  }

  /**
   * Another gateway takes `clientId` up: a session kept here is stored as it is and forgotten
   * here, and this gateway no longer writes it; it reads it from the log when it comes back.
   */
  async handOff(clientId: string, session: MqttSession | null): Promise<void> {
    const held = session ?? this.kept.get(clientId) ?? null;
    this.kept.delete(clientId);
    const durability = held?.durability as PersistedSession | null | undefined;
    if (durability != null) {
      durability.state.disconnectedAt ??= this.now();
      await durability.save();
    }
    this.store.handOff(clientId);
  }

  /**
   * Makes `session` persistent from now on (called at CONNECT once its expiry is known, so its
   * subscriptions survive a crash while connected); resolves once stored.
   */
  async attach(session: MqttSession, version: 4 | 5): Promise<void> {
    let durability = session.durability as PersistedSession | null;
    if (durability === null) {
      const state = emptySession(session.clientId, session.principal, version, session.expiryIntervalS);
      durability = new PersistedSession(state, session, this.store, this.broker);
      session.durability = durability;
    }
    durability.state.protocolVersion = version;
    durability.state.disconnectedAt = null;
    await durability.save();
  }

  async keep(session: MqttSession): Promise<void> {
    const durability = session.durability as PersistedSession | null;
    if (durability === null) return;
    this.kept.set(session.clientId, session);
    durability.state.disconnectedAt = this.now();
    await durability.save();
  }

  async discard(clientId: string): Promise<void> {
    const kept = this.kept.get(clientId);
    if (kept !== undefined) kept.durability = null;
    this.kept.delete(clientId);
    // A damaged store cannot tell or remove what it holds: a clean session just starts empty.
    if (this.store.damage !== undefined) return;
    await this.store.follow();
    if (this.store.get(clientId) !== undefined) await this.store.remove(clientId);
  }

  /** Writes what is pending; later changes are not stored. */
  close(): Promise<void> {
    return this.store.close();
  }

  /** A session read back from the log after a restart. */
  private restore(state: SessionState): MqttSession {
    const session = new MqttSession(state.clientId, state.principal);
    session.expiryIntervalS =
      state.expiryIntervalS === SESSION_EXPIRY_NEVER ? SESSION_EXPIRY_NEVER : state.expiryIntervalS;
    for (const stored of state.subscriptions) {
      try {
        session.subscriptions.set(stored.filter, {
          filter: parseTopicFilter(stored.filter),
          qos: stored.qos,
          noLocal: stored.noLocal,
          retainAsPublished: stored.retainAsPublished,
          retainHandling: stored.retainHandling,
          identifier: stored.subscriptionId ?? null,
        });
      } catch (error) {
        if (!(error instanceof MqttTopicError)) throw error;
      }
    }
    for (const topic of state.awaitedTopics) session.awaitedTopics.add(topic);
    for (const { topic, partition, offset } of state.positions) {
      session.positions.set(partitionKey(topic, partition), offset);
    }
    for (const entry of state.outbound) {
      if (entry.state === 'completed') continue;
      session.outbound.set(entry.packetId, {
        packetId: entry.packetId,
        qos: entry.qos,
        topic: entry.topic,
        partition: entry.partition,
        offset: entry.offset,
        phase: entry.state === 'sent' ? 'publish' : 'pubrel',
      });
    }
    session.durability = new PersistedSession(state, session, this.store, this.broker);
    return session;
  }
}

function storedSubscription(
  text: string,
  subscription: {
    readonly qos: 0 | 1 | 2;
    readonly noLocal: boolean;
    readonly retainAsPublished: boolean;
    readonly retainHandling: number;
    readonly identifier: number | null;
  },
): StoredSubscription {
  return {
    filter: text,
    qos: subscription.qos,
    noLocal: subscription.noLocal,
    retainAsPublished: subscription.retainAsPublished,
    retainHandling:
      subscription.retainHandling === 1 || subscription.retainHandling === 2
        ? subscription.retainHandling
        : 0,
    ...(subscription.identifier === null ? {} : { subscriptionId: subscription.identifier }),
  };
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

function addTo(map: Map<string, Set<number>>, key: string, offset: number): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(offset);
}
