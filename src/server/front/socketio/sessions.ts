/**
 * @module server/front/socketio/sessions
 * What connection state recovery needs to know about a Socket.IO session besides the client's
 * last offset: its socket id, namespace, principal and rooms. Kept in memory and in the internal
 * compacted topic `__socket.io.sessions` (key = the private session id `pid`, fsync always), so
 * a session outlives its server process: the table is read back when the endpoint starts.
 *
 * A session is written when its socket connects and when it joins or leaves a room, so a
 * SIGKILL loses nothing that a client was told. One that ends on purpose (the client's own
 * `disconnect()`) is removed (tombstone). At most `socketioSessionsMax` are kept, the oldest
 * forgotten first; one older than `socketioSessionTtlMs` is not restored.
 *
 * Shared by gateways over one log (`catchUp`), every gateway writes the topic: before a session
 * is restored the table reads forward what was stored anywhere since it last read
 * ({@link SessionTable.follow}), so a client recovers through any gateway with its latest rooms.
 *
 * @example
 * const sessions = await SessionTable.open(broker.forSystem(), { sessionsMax: 1000, ttlMs: 86_400_000 });
 * await sessions.save({ pid, sid, nsp: '/', principal: 'alice', rooms: [] });
 * sessions.get(pid); // the saved session, or undefined
 */
import type { Logger } from 'pino';
import { readToEnd } from '../../../broker/read-to-end.js';
import type { Broker, LogRecord } from '../../../broker/types.js';
import { isDamageError, isTributaryError } from '../../../errors.js';

/** The internal topic of the sessions. */
export const SESSIONS_TOPIC = '__socket.io.sessions';

export interface SavedSession {
  readonly pid: string;
  readonly sid: string;
  readonly nsp: string;
  readonly principal: string;
  readonly rooms: readonly string[];
  /** When it was last written, ms since the epoch. */
  readonly at: number;
}

interface StoredSession {
  readonly v: 1;
  readonly sid: string;
  readonly nsp: string;
  readonly principal: string;
  readonly rooms: readonly string[];
  readonly at: number;
}

export interface SessionTableOptions {
  readonly sessionsMax: number;
  readonly ttlMs: number;
  readonly logger?: Logger;
  /** Other gateways write the topic too: resolves once this process holds all stored before the call. */
  readonly catchUp?: () => Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SessionTable {
  readonly #broker: Broker;
  #sessionsMax: number;
  readonly #ttlMs: number;
  /** Oldest write first (a write moves a session to the end). */
  readonly #sessions = new Map<string, SavedSession>();
  readonly #catchUp: (() => Promise<void>) | undefined;
  /** The offset after the last record read (load, then `follow`). */
  #next = 0;
  #following: Promise<void> = Promise.resolve();

  private constructor(broker: Broker, options: SessionTableOptions) {
    this.#broker = broker;
    this.#sessionsMax = options.sessionsMax;
    this.#ttlMs = options.ttlMs;
    this.#catchUp = options.catchUp;
  }

  /** Creates the topic on first use and reads it back. `broker` must reach internal topics (`forSystem()`). */
  static async open(broker: Broker, options: SessionTableOptions): Promise<SessionTable> {
    const table = new SessionTable(broker, options);
    if (options.sessionsMax === 0) return table;
    try {
      await broker.createTopic(SESSIONS_TOPIC, { partitions: 1, compact: true, fsync: 'always' });
    } catch (error) {
      if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    }
    try {
      await table.#load();
    } catch (error) {
      // Damaged: Socket.IO goes on without connection state recovery, as with
      // `socketioSessionsMax: 0` (every reconnect is a fresh session, `socket.recovered` false),
      // rather than refusing every client; /healthz reports the damage.
      if (!isDamageError(error)) throw error;
      options.logger?.error({ err: error }, 'Socket.IO recovery is off: __socket.io.sessions is damaged');
      table.#sessions.clear();
      table.#sessionsMax = 0;
    }
    return table;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The session `pid` if it is known and not older than the TTL. */
  get(pid: string): SavedSession | undefined {
    const session = this.#sessions.get(pid);
    if (session === undefined || Date.now() - session.at > this.#ttlMs) return undefined;
    return session;
  }

  /**
   * Shared table: reads what other gateways stored since the last read (after `catchUp`, so
   * everything stored anywhere before the call). Nothing for a table of one server.
   */
  follow(): Promise<void> {
    const catchUp = this.#catchUp;
    if (catchUp === undefined || this.#sessionsMax === 0) return Promise.resolve();
    // One read at a time, each after the previous one: records apply in offset order.
    const run = this.#following.then(async () => {
      await catchUp();
      const { next } = await this.#broker.offsets(SESSIONS_TOPIC, 0);
      while (this.#next < next) {
        const records = await this.#broker.fetch(SESSIONS_TOPIC, 0, this.#next, { maxRecords: 1000 });
        const last = records.at(-1);
        if (last === undefined) break;
        this.#apply(records.filter((record) => record.offset < next));
        this.#next = Math.min(last.offset + 1, next);
      }
    });
    this.#following = run.catch(() => undefined);
    return run;
  }

  /** Writes a session (durable when this resolves). */
  async save(session: Omit<SavedSession, 'at'>): Promise<void> {
    if (this.#sessionsMax === 0) return;
    const saved: SavedSession = { ...session, at: Date.now() };
    const stored: StoredSession = {
      v: 1,
      sid: saved.sid,
      nsp: saved.nsp,
      principal: saved.principal,
      rooms: saved.rooms,
      at: saved.at,
    };
    await this.#broker.produce(SESSIONS_TOPIC, [
      { key: encoder.encode(saved.pid), value: encoder.encode(JSON.stringify(stored)) },
    ]);
    this.#remember(saved);
  }

  /** Forgets a session (a tombstone in the topic). */
  async remove(pid: string): Promise<void> {
    if (!this.#sessions.delete(pid)) return;
    await this.#broker.produce(SESSIONS_TOPIC, [{ key: encoder.encode(pid), value: null }]);
  }

  #remember(session: SavedSession): void {
    this.#sessions.delete(session.pid);
    this.#sessions.set(session.pid, session);
    while (this.#sessions.size > this.#sessionsMax) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
  }

  async #load(): Promise<void> {
    this.#next = await readToEnd(this.#broker, SESSIONS_TOPIC, 0, (records) => this.#apply(records));
  }

  #apply(records: readonly LogRecord[]): void {
    for (const record of records) {
      if (record.key === null) continue;
      const pid = decoder.decode(record.key);
      const stored = record.value === null ? undefined : parseStored(record.value);
      if (stored === undefined || Date.now() - stored.at > this.#ttlMs) {
        this.#sessions.delete(pid);
        continue;
      }
      this.#remember({ pid, ...withoutVersion(stored) });
    }
  }
}

function withoutVersion(stored: StoredSession): Omit<SavedSession, 'pid'> {
  return {
    sid: stored.sid,
    nsp: stored.nsp,
    principal: stored.principal,
    rooms: stored.rooms,
    at: stored.at,
  };
}

/** A stored session, or undefined for one this version cannot read (it is then not restored). */
function parseStored(value: Uint8Array): StoredSession | undefined {
  try {
    const parsed = JSON.parse(decoder.decode(value)) as Partial<StoredSession>;
    if (
      parsed.v !== 1 ||
      typeof parsed.sid !== 'string' ||
      typeof parsed.nsp !== 'string' ||
      typeof parsed.principal !== 'string' ||
      typeof parsed.at !== 'number' ||
      !Array.isArray(parsed.rooms) ||
      !parsed.rooms.every((room) => typeof room === 'string')
    ) {
      return undefined;
    }
    return parsed as StoredSession;
  } catch {
    return undefined;
  }
}
