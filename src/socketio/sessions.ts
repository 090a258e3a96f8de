/**
 * @module socketio/sessions
 * Socket.IO sessions kept for connection state recovery, in a live collection of Tributary
 * (default `socket.io.sessions`, one document per private session id `pid`), not
 * in a server's memory: a client whose server was killed finds its session from any other one.
 * Strong mode, so a read after a confirmed save always sees it.
 *
 * A session is saved when its socket connects and again when its rooms change, and the adapter
 * holds its deliveries until those saves are confirmed: every packet a client receives (and so
 * every offset it can resume from) was sent after its session, with the rooms that packet was
 * chosen by, was durable. It is saved with its final rooms and `socket.data` when the socket
 * disconnects in a way the client may recover from, and deleted when the socket leaves for good
 * (the client or the server closed it). `socket.data` is stored as JSON with binary parts as
 * attachments ({@link encodeValue}).
 *
 * Sessions expire: one saved more than `ttlMs` ago is not restored, and every server deletes
 * expired documents in the background ({@link SessionStore.sweep}, every `ttlMs / 2`, at most
 * hourly), each delete conditional on the version it read, so a session saved again meanwhile
 * stays.
 */
import type { Collection, JsonObject } from '../client/node/index.js';
import { decodeValue, encodeValue } from './packet-record.js';

/** What Socket.IO restores: the socket id, the private id, its rooms and `socket.data`. */
export interface StoredSession {
  readonly sid: string;
  readonly pid: string;
  readonly nsp: string;
  readonly rooms: string[];
  readonly data: unknown;
}

/** A session as read back, with when it was saved (ms since the epoch). */
export interface FoundSession extends StoredSession {
  readonly savedAt: number;
}

/** Expired sessions deleted per query of a sweep (a sweep repeats until none is left). */
const SWEEP_BATCH_MAX = 500;
/** Longest pause between two sweeps. */
const SWEEP_INTERVAL_MS_MAX = 3_600_000;
/** Shortest pause between two sweeps. */
const SWEEP_INTERVAL_MS_MIN = 100;

function toDocument(session: StoredSession, now: number): JsonObject {
  const { json, attachments } = encodeValue(session.data);
  return {
    sid: session.sid,
    nsp: session.nsp,
    rooms: session.rooms,
    data: json,
    attachments: attachments.map((bytes) => Buffer.from(bytes).toString('base64')),
    savedAt: now,
  };
}

function fromDocument(pid: string, value: unknown): FoundSession | null {
  if (typeof value !== 'object' || value === null) return null;
  const doc = value as Record<string, unknown>;
  const { sid, nsp, rooms, data, attachments, savedAt } = doc;
  if (typeof sid !== 'string' || typeof nsp !== 'string' || typeof data !== 'string') return null;
  if (typeof savedAt !== 'number') return null;
  if (!Array.isArray(rooms) || !rooms.every((room) => typeof room === 'string')) return null;
  const parts = Array.isArray(attachments) ? attachments : [];
  if (!parts.every((part) => typeof part === 'string')) return null;
  try {
    const bytes = (parts as string[]).map((part) => new Uint8Array(Buffer.from(part, 'base64')));
    return { sid, pid, nsp, rooms, savedAt, data: decodeValue(data, bytes, (b) => Buffer.from(b)) };
  } catch {
    return null;
  }
}

export interface SessionStoreOptions {
  /** How long after it was saved a session can be restored. */
  readonly ttlMs: number;
  readonly onError: (error: unknown) => void;
  /** The clock (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number;
}

export class SessionStore {
  readonly #collection: Promise<Collection>;
  readonly #ttlMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;

  constructor(collection: Promise<Collection>, options: SessionStoreOptions) {
    this.#collection = collection;
    this.#ttlMs = options.ttlMs;
    this.#onError = options.onError;
    this.#now = options.now ?? Date.now;
    const interval = Math.min(
      SWEEP_INTERVAL_MS_MAX,
      Math.max(SWEEP_INTERVAL_MS_MIN, Math.floor(this.#ttlMs / 2)),
    );
    this.#sweepTimer = setInterval(() => {
      this.sweep().catch(this.#onError);
    }, interval);
    this.#sweepTimer.unref();
  }

  /**
   * Saves; resolves once the save is confirmed (or failed: the failure goes to `onError`, never
   * to the caller). Writes of one store are applied in the order they were made.
   */
  save(session: StoredSession): Promise<void> {
    const doc = toDocument(session, this.#now());
    return this.#collection
      .then((collection) => collection.put(session.pid, doc))
      .then(() => undefined, this.#onError);
  }

  remove(pid: string): void {
    this.#collection.then((collection) => collection.delete(pid)).catch(this.#onError);
  }

  /**
   * The session saved under `pid`: `'expired'` when it was saved more than the TTL ago, `null`
   * when there is none. This server's own saves are waited for first (a client may come back
   * before its disconnect was saved); another server's saves are read once confirmed (strong
   * collection, linearizable read).
   */
  async find(pid: string): Promise<FoundSession | 'expired' | null> {
    const collection = await this.#collection;
    await collection.flush();
    const read = await collection.get(pid);
    if (read.value === null) return null;
    const session = fromDocument(pid, read.value);
    if (session === null) return null;
    return this.#now() - session.savedAt > this.#ttlMs ? 'expired' : session;
  }

  /**
   * Deletes the sessions saved more than the TTL ago; resolves with how many. Each delete is
   * conditional on the version read, so a session saved again meanwhile is kept. One sweep at
   * a time.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<number> {
    const collection = await this.#collection;
    let deleted = 0;
    for (;;) {
      const cutoff = this.#now() - this.#ttlMs;
      const { items } = await collection.query({
        where: [{ field: 'savedAt', op: '<', value: cutoff }],
        limit: SWEEP_BATCH_MAX,
      });
      const results = await Promise.allSettled(
        items.map((item) => collection.delete(item.key, { ifVersion: item.version })),
      );
      deleted += results.filter((result) => result.status === 'fulfilled').length;
      if (items.length < SWEEP_BATCH_MAX) return deleted;
    }
  }

  /** Stops the background sweeps (the adapter's connection closed). */
  close(): void {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }
}
