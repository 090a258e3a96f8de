/**
 * @module socketio/sessions
 * Socket.IO sessions kept for connection state recovery, in a live collection of Tributary
 * (default `socket.io.sessions`, one document per private session id `pid`), not
 * in a server's memory: a client whose server was killed finds its session from any other one.
 * Strong mode, so a read after a confirmed save always sees it.
 *
 * A session is saved when its socket connects and again when its rooms change (so a crash
 * loses at most the changes of the last moment), and with its final rooms and `socket.data` when
 * the socket disconnects in a way the client may recover from. It is deleted when the socket
 * leaves for good (the client or the server closed it). `socket.data` is stored as JSON with
 * binary parts as attachments ({@link encodeValue}).
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

function toDocument(session: StoredSession): JsonObject {
  const { json, attachments } = encodeValue(session.data);
  return {
    sid: session.sid,
    nsp: session.nsp,
    rooms: session.rooms,
    data: json,
    attachments: attachments.map((bytes) => Buffer.from(bytes).toString('base64')),
    savedAt: Date.now(),
  };
}

function fromDocument(pid: string, value: unknown): StoredSession | null {
  if (typeof value !== 'object' || value === null) return null;
  const doc = value as Record<string, unknown>;
  const { sid, nsp, rooms, data, attachments } = doc;
  if (typeof sid !== 'string' || typeof nsp !== 'string' || typeof data !== 'string') return null;
  if (!Array.isArray(rooms) || !rooms.every((room) => typeof room === 'string')) return null;
  const parts = Array.isArray(attachments) ? attachments : [];
  if (!parts.every((part) => typeof part === 'string')) return null;
  try {
    const bytes = (parts as string[]).map((part) => new Uint8Array(Buffer.from(part, 'base64')));
    return { sid, pid, nsp, rooms, data: decodeValue(data, bytes, (b) => Buffer.from(b)) };
  } catch {
    return null;
  }
}

export class SessionStore {
  readonly #collection: Promise<Collection>;
  readonly #onError: (error: unknown) => void;

  constructor(collection: Promise<Collection>, onError: (error: unknown) => void) {
    this.#collection = collection;
    this.#onError = onError;
  }

  /** Saves in the background: writes of one store are applied in the order they were made. */
  save(session: StoredSession): void {
    const doc = toDocument(session);
    this.#collection.then((collection) => collection.put(session.pid, doc)).catch(this.#onError);
  }

  remove(pid: string): void {
    this.#collection.then((collection) => collection.delete(pid)).catch(this.#onError);
  }

  /**
   * The session saved under `pid`, or `null`. This server's own saves are waited for first (a
   * client may come back before its disconnect was saved); another server's saves are read once
   * confirmed (strong collection, linearizable read).
   */
  async find(pid: string): Promise<StoredSession | null> {
    const collection = await this.#collection;
    await collection.flush();
    const read = await collection.get(pid);
    return read.value === null ? null : fromDocument(pid, read.value);
  }
}
