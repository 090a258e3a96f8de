/**
 * @module socketio/adapter
 * The Socket.IO adapter of one namespace, on socket.io-adapter's `ClusterAdapterWithHeartbeat`:
 * every cluster message is a Tributary record (see `bus.ts` for the two topics).
 *
 * Delivery in log order: a broadcast is appended first and delivered to this server's sockets
 * only when the consumer hands its record back, like every other server's broadcasts. So every
 * client sees a namespace's broadcasts in offset order, and the offset id it keeps for
 * connection state recovery (`<partition>-<offset>`, appended as the packet's last argument by
 * Socket.IO) says exactly what it has seen: recovery returns the records after it, no gap, no
 * duplicate.
 *
 * Recovery on any server: {@link TributaryAdapter.restoreSession} finds the session in the
 * sessions collection and reads the broadcast topic from the client's offset up to where this
 * server's consumer has delivered (deliveries are held meanwhile), keeping the packets whose
 * rooms reach the session. When the history is gone (retention), the session is unknown or
 * expired (`sessionTtlMs`), the client never got an offset, or more than `recoveryPacketsMax` packets were missed, the client
 * gets a fresh socket and `onRecoveryFailed(socket, reason)` is called once it is connected.
 */
import type { Namespace, Socket } from 'socket.io';
import {
  Adapter,
  type BroadcastOptions,
  ClusterAdapterWithHeartbeat,
  type ClusterMessage,
  type ClusterResponse,
  type PrivateSessionId,
  type Room,
  type Session,
  type SocketId,
} from 'socket.io-adapter';
import type { SocketIoBus } from './bus.js';
import {
  BROADCAST,
  type BroadcastOpts,
  broadcastReaches,
  type ClusterMessageLike,
  decodeClusterMessage,
  EVENT_PACKET,
  type EventPacket,
  parseOffsetId,
} from './packet-record.js';
import type { SessionStore, StoredSession } from './sessions.js';

/** Why a client's connection state could not be recovered. */
export type RecoveryFailure =
  /** the client sent its session id but no offset (it had received no broadcast yet) */
  | 'no-offset'
  /** the offset is not one of this adapter's (malformed, or past the end of the topic) */
  | 'invalid-offset'
  /** no session is stored under the client's private id (deleted, or never saved) */
  | 'session-not-found'
  /** the session was saved longer ago than `sessionTtlMs` */
  | 'session-expired'
  /** records after the client's offset were deleted (the topic's retention) */
  | 'history-gone'
  /** more than `recoveryPacketsMax` packets were missed */
  | 'too-many-packets'
  /** Tributary could not be reached or refused a read */
  | 'unavailable';

export interface AdapterSettings {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly recoveryPacketsMax: number;
  readonly recoveryFetchRecords: number;
  readonly onRecoveryFailed: ((socket: Socket, reason: RecoveryFailure) => void) | undefined;
  readonly onError: (error: unknown) => void;
}

class RecoveryError extends Error {
  readonly reason: RecoveryFailure;
  constructor(reason: RecoveryFailure) {
    super(`connection state not recovered: ${reason}`);
    this.reason = reason;
  }
}

/** socket.io-adapter's uid of senders that are not servers of the cluster (`@socket.io/*-emitter`). */
const EMITTER_UID = 'emitter';

/** Failed recoveries remembered until their socket connects (bounded: oldest forgotten). */
const FAILURES_REMEMBERED_MAX = 10_000;

/** Socket.IO keeps the private session id on the socket without declaring it. */
function pidOf(socket: Socket): string | undefined {
  const pid = (socket as unknown as { pid?: unknown }).pid;
  return typeof pid === 'string' ? pid : undefined;
}

export class TributaryAdapter extends ClusterAdapterWithHeartbeat {
  /** Resolves once this server is connected to Tributary and subscribed to its topics. */
  readonly ready: Promise<void>;
  readonly #bus: SocketIoBus;
  readonly #sessions: () => SessionStore;
  readonly #settings: AdapterSettings;
  /** Local sockets with connection state recovery: socket id → private id. */
  readonly #pids = new Map<SocketId, PrivateSessionId>();
  /** Sockets whose session was saved for recovery at disconnect (it must outlive them). */
  readonly #keep = new Set<SocketId>();
  readonly #dirty = new Set<SocketId>();
  #saveScheduled = false;
  readonly #failures = new Map<PrivateSessionId, RecoveryFailure>();
  /** Restored sockets: records of their partition up to this offset were given at restore. */
  readonly #skipThrough = new Map<SocketId, { partition: number; offset: number }>();

  constructor(nsp: Namespace, bus: SocketIoBus, sessions: () => SessionStore, settings: AdapterSettings) {
    super(nsp, {
      heartbeatInterval: settings.heartbeatIntervalMs,
      heartbeatTimeout: settings.heartbeatTimeoutMs,
    });
    this.#bus = bus;
    this.#sessions = sessions;
    this.#settings = settings;
    this.ready = bus.ready;
    bus.join(nsp.name, this);
  }

  get serverUid(): string {
    return this.uid;
  }

  get #recoveryOn(): boolean {
    return Boolean(this.nsp.server._opts.connectionStateRecovery);
  }

  protected override doPublish(message: ClusterMessage): Promise<string> {
    return this.#bus.publish(message as ClusterMessageLike);
  }

  protected override doPublishResponse(requesterUid: string, response: ClusterResponse): Promise<void> {
    return this.#bus.publishResponse(requesterUid, response as ClusterMessageLike);
  }

  /** Appends; this server's sockets get the packet when the record comes back (log order). */
  override async broadcast(packet: EventPacket, opts: BroadcastOptions): Promise<void> {
    if (opts.flags?.local) return Adapter.prototype.broadcast.call(this, packet, opts);
    try {
      await this.publishAndReturnOffset({
        type: BROADCAST,
        data: {
          packet,
          opts: { rooms: [...opts.rooms], except: [...(opts.except ?? [])], flags: opts.flags ?? {} },
        },
      } as Parameters<ClusterAdapterWithHeartbeat['publishAndReturnOffset']>[0]);
    } catch (error) {
      this.#settings.onError(error);
    }
  }

  onLogMessage(message: ClusterMessageLike, offset: string, partition: number, position: number): void {
    if (message.type === BROADCAST) this.#exceptRestored(message, partition, position);
    if (message.uid !== this.uid) {
      // As an emitter's: a server counts only those that send heartbeats (on the control topic),
      // not every writer of the broadcast topic (Tributary's endpoint, HTTP or Kafka producers).
      this.onMessage({ ...message, uid: EMITTER_UID } as ClusterMessage, offset);
      return;
    }
    if (message.type !== BROADCAST) return; // joins and leaves were applied when sent
    const { packet, opts } = message.data as { packet: EventPacket; opts: BroadcastOpts };
    if (this.#recoveryOn && packet.id === undefined && opts.flags.volatile === undefined) {
      packet.data.push(offset);
    }
    const local: BroadcastOptions = {
      rooms: new Set(opts.rooms),
      except: new Set(opts.except),
      flags: opts.flags,
    };
    Adapter.prototype.broadcast.call(this, packet, local);
  }

  onControlMessage(message: ClusterMessageLike): void {
    this.onMessage(message as ClusterMessage);
  }

  /** Sockets restored up to an offset at least this record's do not get it a second time. */
  #exceptRestored(message: ClusterMessageLike, partition: number, position: number): void {
    if (this.#skipThrough.size === 0) return;
    const opts = (message.data as { opts: BroadcastOpts }).opts;
    for (const [sid, skip] of this.#skipThrough) {
      if (skip.partition !== partition) continue;
      if (position <= skip.offset) opts.except.push(sid);
      else this.#skipThrough.delete(sid);
    }
  }

  override addAll(id: SocketId, rooms: Set<Room>): void {
    super.addAll(id, rooms);
    if (this.#recoveryOn) this.#markDirty(id);
  }

  override del(id: SocketId, room: Room): void {
    super.del(id, room);
    if (this.#recoveryOn && this.#pids.has(id)) this.#markDirty(id);
  }

  override delAll(id: SocketId): void {
    super.delAll(id);
    const pid = this.#pids.get(id);
    this.#pids.delete(id);
    this.#dirty.delete(id);
    this.#skipThrough.delete(id);
    if (pid !== undefined && !this.#keep.delete(id)) this.#sessions().remove(pid);
  }

  override persistSession(session: {
    sid: SocketId;
    pid: PrivateSessionId;
    rooms: Room[];
    data: unknown;
  }): void {
    this.#keep.add(session.sid);
    this.#dirty.delete(session.sid);
    this.#sessions().save({ ...session, nsp: this.nsp.name });
  }

  /**
   * Saves touched sessions once the current turn is over (the socket is connected by then, and
   * joins made in its `connection` handler are in). Deliveries of the broadcast topic wait until
   * the saves are confirmed, so no packet (no offset to resume from) reaches a client before
   * its session with the rooms that chose the packet is durable: a crash at any moment after
   * that leaves a session to recover.
   */
  #markDirty(id: SocketId): void {
    this.#dirty.add(id);
    if (this.#saveScheduled) return;
    this.#saveScheduled = true;
    const release = this.#bus.holdDeliveries();
    setImmediate(() => {
      this.#saveScheduled = false;
      const ids = [...this.#dirty];
      this.#dirty.clear();
      Promise.all(ids.map((sid) => this.#saveSocket(sid))).finally(release);
    });
  }

  #saveSocket(sid: SocketId): Promise<void> {
    const socket = this.nsp.sockets.get(sid) as Socket | undefined;
    const pid = socket === undefined ? undefined : pidOf(socket);
    if (socket === undefined || pid === undefined) return Promise.resolve();
    if (!this.#pids.has(sid)) {
      this.#pids.set(sid, pid);
      this.#reportFailedRecovery(socket);
    }
    const session: StoredSession = {
      sid,
      pid,
      nsp: this.nsp.name,
      rooms: [...socket.rooms],
      data: socket.data,
    };
    return this.#sessions().save(session);
  }

  #reportFailedRecovery(socket: Socket): void {
    if (socket.recovered) return;
    const auth = socket.handshake.auth as { pid?: unknown; offset?: unknown };
    if (typeof auth.pid !== 'string') return;
    const reason =
      this.#failures.get(auth.pid) ?? (typeof auth.offset === 'string' ? 'unavailable' : 'no-offset');
    this.#failures.delete(auth.pid);
    this.#sessions().remove(auth.pid);
    try {
      this.#settings.onRecoveryFailed?.(socket, reason);
    } catch (error) {
      this.#settings.onError(error);
    }
  }

  #rememberFailure(pid: PrivateSessionId, reason: RecoveryFailure): RecoveryError {
    if (this.#failures.size >= FAILURES_REMEMBERED_MAX) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(pid, reason);
    return new RecoveryError(reason);
  }

  override async restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> {
    const position = parseOffsetId(offset);
    if (position === null) throw this.#rememberFailure(pid, 'invalid-offset');
    await this.ready;
    const release = this.#bus.holdDeliveries();
    try {
      const stored = await this.#sessions().find(pid);
      if (stored === 'expired') throw this.#rememberFailure(pid, 'session-expired');
      if (stored === null || stored.nsp !== this.nsp.name)
        throw this.#rememberFailure(pid, 'session-not-found');
      const missedPackets = await this.#missedPackets(pid, stored, position.partition, position.offset);
      return { sid: stored.sid, pid, rooms: stored.rooms, data: stored.data, missedPackets };
    } catch (error) {
      if (error instanceof RecoveryError) throw error;
      this.#settings.onError(error);
      throw this.#rememberFailure(pid, 'unavailable');
    } finally {
      // Socket.IO builds the socket (joining its rooms) in the microtasks after this returns.
      setImmediate(release);
    }
  }

  /** Broadcasts after `offset` up to what this server delivered, that reach the session. */
  async #missedPackets(
    pid: string,
    session: StoredSession,
    partition: number,
    offset: number,
  ): Promise<unknown[][]> {
    const { topic } = this.#bus.options;
    const admin = this.#bus.client.admin;
    const range = await admin.offsets(topic, partition).catch(() => null);
    if (range === null || offset >= range.next) throw this.#rememberFailure(pid, 'invalid-offset');
    if (offset + 1 < range.earliest) throw this.#rememberFailure(pid, 'history-gone');
    const end = (this.#bus.deliveredNext(partition) ?? range.next) - 1;
    if (offset >= end) {
      // This server has not delivered the client's last packet yet: skip those records for it.
      this.#skipThrough.set(session.sid, { partition, offset });
      return [];
    }
    const missed: unknown[][] = [];
    let from = offset + 1;
    while (from <= end) {
      const records = await admin.fetch(topic, partition, from, {
        maxRecords: Math.min(this.#settings.recoveryFetchRecords, end - from + 1),
      });
      if (records.length === 0) throw this.#rememberFailure(pid, 'history-gone');
      for (const record of records) {
        if (record.offset > end) break;
        from = record.offset + 1;
        const packet = this.#missedPacket(record, session, partition);
        if (packet === null) continue;
        if (missed.length >= this.#settings.recoveryPacketsMax)
          throw this.#rememberFailure(pid, 'too-many-packets');
        missed.push(packet);
      }
    }
    return missed;
  }

  #missedPacket(
    record: Parameters<typeof decodeClusterMessage>[0] & { offset: number },
    session: StoredSession,
    partition: number,
  ): unknown[] | null {
    const message = decodeClusterMessage(record, (bytes) => Buffer.from(bytes));
    if (message === null || message.type !== BROADCAST || message.nsp !== this.nsp.name) return null;
    const { packet, opts, requestId } = message.data as {
      packet: EventPacket;
      opts: BroadcastOpts;
      requestId?: string;
    };
    if (requestId !== undefined || opts.flags.volatile !== undefined || packet.type !== EVENT_PACKET)
      return null;
    if (!broadcastReaches(opts, session.rooms)) return null;
    packet.data.push(`${partition}-${record.offset}`);
    return packet.data;
  }

  override close(): Promise<void> {
    super.close();
    return this.#bus.leave(this.nsp.name);
  }
}
