/**
 * @module server/front/mqtt/session-store
 * MQTT persistent sessions on the log: the compacted internal topic `__mqtt.sessions` (one
 * partition, fsync always), key = client id, value = the session document of `session-state.ts`,
 * a null value (tombstone) = no session. The store keeps every session in memory, loaded at start
 * by reading the topic from its earliest offset; sessions whose expiry passed are removed then and
 * while the server runs.
 *
 * Shared by several gateways (scale-out, `shared`): every gateway writes the topic, so a gateway
 * reads it forward ({@link MqttSessionStore.follow}) before it takes a session up and before
 * it expires sessions, after asking the log for everything stored anywhere (`catchUp`). The
 * records of sessions this gateway holds (a live connection, or a session kept here) are its own
 * writes and are not read back; a session handed to another gateway ({@link MqttSessionStore.handOff})
 * is no longer written from here.
 *
 * Writes are group-committed: `save` marks a session dirty and resolves once a later append holds
 * it; all sessions dirtied while one append is in flight go out together in the next one, so a
 * thousand devices acknowledging messages cost one fdatasync per round, not a thousand. `saveSoon`
 * (positions after acknowledgements) waits up to `positionsFlushMs` for company before it forces
 * an append. A session is encoded when its append is built, so an append always carries the
 * newest state of each session it names.
 *
 * @example
 * const store = await MqttSessionStore.open(broker.forSystem(), { logger });
 * const session = store.get('sensor-1') ?? emptySession('sensor-1', principal, 5, 3600);
 * session.subscriptions.push({ filter: 'plant/#', qos: 1, ... });
 * await store.save(session); // durable
 */
import { type Logger, pino } from 'pino';
import { readToEnd } from '../../../broker/read-to-end.js';
import type { Broker, LogRecord, RecordInput } from '../../../broker/types.js';
import { isDamageError, isTributaryError, type TributaryError } from '../../../errors.js';
import {
  decodeSession,
  encodeSession,
  expiresAt,
  SESSION_EXPIRY_NEVER,
  type SessionState,
} from './session-state.js';

export const SESSIONS_TOPIC = '__mqtt.sessions';

const decoder = new TextDecoder();

/** Records read per fetch while loading. */
/** Bytes of session documents one append carries at most (the log takes 16 MiB per batch). */
const APPEND_BYTES_MAX = 4 * 1024 * 1024;

export interface SessionStoreOptions {
  readonly logger?: Logger;
  /** Clock (ms epoch). Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Longest a disconnected session is kept, in seconds, whatever the client asked for (MQTT 3.1.1
   * sessions ask for "never"). 0: no limit. Default 0.
   */
  readonly expiryMaxS?: number;
  /** Longest `saveSoon` waits before forcing an append. Default 100 ms. */
  readonly positionsFlushMs?: number;
  /** How often disconnected sessions are checked for expiry; 0: only by `expire()`. Default 1000 ms. */
  readonly expiryCheckMs?: number;
  /** Called for each session removed because it expired. */
  readonly onExpired?: (clientId: string) => void;
  /**
   * Other gateways write the topic too (scale-out): `catchUp` resolves once this process's copy
   * of `__mqtt.sessions` holds everything stored anywhere before the call (`Log.catchUp`).
   */
  readonly shared?: { readonly catchUp: () => Promise<void> };
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class MqttSessionStore {
  private readonly sessions = new Map<string, SessionState>();
  private readonly refreshers = new Map<string, (state: SessionState) => void>();
  /** Client ids to write in the next append; a missing session there means a tombstone. */
  private dirty = new Set<string>();
  private waiters: Waiter[] = [];
  private appending = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The offset after the last record read (load, then `follow`). */
  private next = 0;
  private following: Promise<void> | undefined;
  /** Session documents handed to another gateway: saving them again writes nothing. */
  private readonly handedOff = new WeakSet<SessionState>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly expiryMaxS: number;
  private readonly positionsFlushMs: number;

  private constructor(
    private readonly broker: Broker,
    private readonly options: SessionStoreOptions,
  ) {
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.now = options.now ?? Date.now;
    this.expiryMaxS = options.expiryMaxS ?? 0;
    this.positionsFlushMs = options.positionsFlushMs ?? 100;
  }

  /** Creates `__mqtt.sessions` if needed, loads it, removes expired sessions. `broker` is a system view. */
  static async open(broker: Broker, options: SessionStoreOptions = {}): Promise<MqttSessionStore> {
    try {
      await broker.createTopic(SESSIONS_TOPIC, {
        partitions: 1,
        compact: true,
        fsync: 'always',
        segmentBytes: 16 * 1024 * 1024,
      });
    } catch (error) {
      if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    }
    const store = new MqttSessionStore(broker, options);
    try {
      await store.load();
    } catch (error) {
      // Damaged: persistent sessions are offline (a client asking for its session is refused,
      // clean sessions go on); MQTT itself serves and /healthz reports the damage.
      if (!isDamageError(error)) throw error;
      store.logger.error({ err: error }, 'persistent MQTT sessions are offline: __mqtt.sessions is damaged');
      store.sessions.clear();
      store.damage = error;
      return store;
    }
    await store.expire();
    const everyMs = options.expiryCheckMs ?? 1000;
    if (everyMs > 0) {
      store.expiryTimer = setInterval(() => {
        store.expire().catch((error: unknown) => store.logger.warn({ err: error }, 'session expiry failed'));
      }, everyMs);
      store.expiryTimer.unref();
    }
    return store;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Set when `__mqtt.sessions` was found damaged at load: which sessions exist is unknown. */
  damage: TributaryError | undefined;

  /** The stored session of `clientId`; throws the damage while the store is damaged. */
  get(clientId: string): SessionState | undefined {
    if (this.damage !== undefined) throw this.damage;
    return this.sessions.get(clientId);
  }

  all(): IterableIterator<SessionState> {
    return this.sessions.values();
  }

  /** The expiry interval a session gets when its client asks for `requestedS` (capped by `expiryMaxS`). */
  effectiveExpiryS(requestedS: number): number {
    if (this.expiryMaxS === 0) return requestedS;
    return Math.min(requestedS, this.expiryMaxS);
  }

  /**
   * `refresh` is called right before the session is encoded for an append, to copy in what its
   * owner keeps elsewhere (the live connection's state); undefined removes it.
   */
  setRefresher(clientId: string, refresh: ((state: SessionState) => void) | undefined): void {
    if (refresh === undefined) this.refreshers.delete(clientId);
    else this.refreshers.set(clientId, refresh);
  }

  /** Stores `state` (as it is when the append is built); resolves once durable. */
  save(state: SessionState): Promise<void> {
    if (this.damage !== undefined) return Promise.reject(this.damage);
    if (this.handedOff.has(state)) return Promise.resolve();
    this.sessions.set(state.clientId, state);
    return this.enqueue(state.clientId, 0);
  }

  /** Stores `state` within `positionsFlushMs`, together with whatever else is saved by then. */
  saveSoon(state: SessionState): void {
    if (this.handedOff.has(state)) return;
    this.sessions.set(state.clientId, state);
    this.enqueue(state.clientId, this.positionsFlushMs).catch((error: unknown) => {
      this.logger.warn({ err: error, clientId: state.clientId }, 'could not store an MQTT session');
    });
  }

  /** Removes the session (tombstone); resolves once durable. */
  remove(clientId: string): Promise<void> {
    this.sessions.delete(clientId);
    this.refreshers.delete(clientId);
    return this.enqueue(clientId, 0);
  }

  /**
   * Another gateway takes the session of `clientId` up: this one stops writing it (what is
   * pending was stored before this is called) and reads it from the topic from now on.
   */
  handOff(clientId: string): void {
    const state = this.sessions.get(clientId);
    if (state !== undefined) this.handedOff.add(state);
    this.refreshers.delete(clientId);
  }

  /**
   * Shared store: reads what other gateways stored since the last read (after `catchUp`, so
   * everything stored anywhere before the call). Nothing for a store of one server.
   */
  follow(): Promise<void> {
    const shared = this.options.shared;
    if (shared === undefined || this.damage !== undefined) return Promise.resolve();
    // One read at a time, each after the previous one: records apply in offset order.
    const run = (this.following ?? Promise.resolve()).then(async () => {
      await shared.catchUp();
      await this.readForward();
    });
    this.following = run.catch(() => undefined);
    return run;
  }

  /** Removes every disconnected session whose expiry passed; returns their client ids. */
  async expire(now = this.now()): Promise<string[]> {
    await this.follow();
    const expired: string[] = [];
    for (const state of this.sessions.values()) {
      if (state.disconnectedAt === null) continue;
      const at = expiresAt({ ...state, expiryIntervalS: this.cappedExpiry(state.expiryIntervalS) }, now);
      if (at !== null && at <= now) expired.push(state.clientId);
    }
    if (expired.length === 0) return expired;
    await Promise.all(expired.map((clientId) => this.remove(clientId)));
    for (const clientId of expired) this.options.onExpired?.(clientId);
    this.logger.debug({ sessions: expired.length }, 'expired MQTT sessions removed');
    return expired;
  }

  /** Writes what is pending and stops the expiry timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.expiryTimer);
    if (this.dirty.size > 0 || this.appending) {
      await new Promise<void>((resolve, reject) => {
        this.waiters.push({ resolve, reject });
        this.kick(0);
      });
    }
    this.closed = true;
    clearTimeout(this.flushTimer);
  }

  private cappedExpiry(expiryS: number): number {
    if (this.expiryMaxS === 0) return expiryS;
    return Math.min(expiryS === SESSION_EXPIRY_NEVER ? Number.MAX_SAFE_INTEGER : expiryS, this.expiryMaxS);
  }

  private async load(): Promise<void> {
    let skipped = 0;
    this.next = await readToEnd(this.broker, SESSIONS_TOPIC, 0, (records) => {
      for (const record of records) if (!this.apply(record)) skipped++;
    });
    // No client is connected to a server that just started: a session stored as connected (the
    // server stopped without recording the disconnect) was disconnected when it stopped, which
    // is not known more precisely than "by now". Shared by gateways, it may be connected to
    // another one: it stays as stored (expired by none until it is disconnected).
    if (this.options.shared === undefined) {
      const loadedAt = this.now();
      for (const state of this.sessions.values()) state.disconnectedAt ??= loadedAt;
    }
    this.logger.debug({ sessions: this.sessions.size, skipped }, 'MQTT sessions loaded');
  }

  /** Reads the topic from `next` to its end, passing over the sessions this gateway holds. */
  private async readForward(): Promise<void> {
    const { next } = await this.broker.offsets(SESSIONS_TOPIC, 0);
    while (this.next < next) {
      const records = await this.broker.fetch(SESSIONS_TOPIC, 0, this.next, { maxRecords: 1000 });
      const last = records.at(-1);
      if (last === undefined) break;
      for (const record of records) {
        if (record.offset >= next) break;
        const clientId = record.key === null ? null : decoder.decode(record.key);
        if (clientId !== null && this.refreshers.has(clientId)) continue;
        this.apply(record);
      }
      this.next = Math.max(this.next, Math.min(last.offset + 1, next));
    }
  }

  /** Applies one record of the topic to the sessions held in memory; false if unreadable. */
  private apply(record: LogRecord): boolean {
    if (record.key === null) return true;
    const clientId = decoder.decode(record.key);
    if (record.value === null) {
      this.sessions.delete(clientId);
      return true;
    }
    const state = decodeSession(record.value);
    if (typeof state === 'string' || state.clientId !== clientId) {
      this.logger.warn(
        { offset: record.offset, problem: typeof state === 'string' ? state : 'clientId' },
        'skipping an unreadable __mqtt.sessions record',
      );
      this.sessions.delete(clientId);
      return false;
    }
    this.sessions.set(clientId, state);
    return true;
  }

  private enqueue(clientId: string, delayMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the MQTT session store is closed'));
    this.dirty.add(clientId);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.kick(delayMs);
    });
  }

  /** Starts an append now (delay 0) or within `delayMs`, unless one is running (it chains the next). */
  private kick(delayMs: number): void {
    if (this.appending) return;
    if (delayMs === 0) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      // A microtask later, so the saves of one synchronous run share the append.
      queueMicrotask(() => void this.flush());
      this.appending = true;
      return;
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      if (this.appending) return;
      this.appending = true;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    while (this.dirty.size > 0) {
      const clientIds = this.dirty;
      const waiters = this.waiters;
      this.dirty = new Set();
      this.waiters = [];
      try {
        for (const batch of this.batches(clientIds)) await this.broker.appendBatch(SESSIONS_TOPIC, 0, batch);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    // Waiters with nothing dirty (close() while idle) are done too.
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    this.appending = false;
  }

  private *batches(clientIds: Set<string>): Generator<RecordInput[]> {
    const encoder = new TextEncoder();
    let batch: RecordInput[] = [];
    let bytes = 0;
    for (const clientId of clientIds) {
      const state = this.sessions.get(clientId);
      if (state !== undefined) {
        try {
          this.refreshers.get(clientId)?.(state);
        } catch (error) {
          this.logger.error({ err: error, clientId }, 'MQTT session refresh failed; storing it as it was');
        }
      }
      const value = state === undefined ? null : encodeSession(state);
      const size = value?.length ?? 0;
      if (batch.length > 0 && bytes + size > APPEND_BYTES_MAX) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push({ key: encoder.encode(clientId), value });
      bytes += size;
    }
    if (batch.length > 0) yield batch;
  }
}
