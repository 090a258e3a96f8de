/**
 * @module server/front/socketio/socket-bridge
 * One Socket.IO socket (a client connected to a namespace) on the Broker API:
 *
 * - **events it emits** are appended to the namespace's topic (`records.ts`); its ack callback,
 *   if any, is called once the append is durable, with `{ topic, partition, offset }`, or with
 *   `{ error: { code, message } }`. At most `socketioEmitsInFlightMax` appends at once; more
 *   are refused with `RESOURCE_EXHAUSTED` (Socket.IO has no way to make a client wait);
 * - **the topic's records** reach it in offset order, each as an event whose last argument is
 *   the position string (`positions.ts`), except its own events and events to rooms it is not
 *   in. A socket caught up with the tail takes them from the partition's one shared
 *   subscription (`shared-feed.ts`); one behind it (recovering, reading slowly, saving a room
 *   change) reads on its own subscription and joins the shared one once it has caught up. On
 *   its own, credit is granted back only while fewer than `socketioSendBufferPacketsMax`
 *   packets wait to be written to it (a shared batch that leaves it congested sends it back to
 *   its own), so a client that reads slowly is paced from the log and one that stops reading is
 *   dropped by the heartbeat;
 * - **room commands** of Socket.IO servers on the adapter (`socketsJoin`, `socketsLeave`,
 *   `disconnectSockets`), read from the same topic in the same order, apply to the socket when
 *   their options reach it; deliveries wait until changed rooms are saved;
 * - **reserved events** (`tributary:join`, `tributary:leave`, `tributary:to`, `tributary:watch`,
 *   `tributary:unwatch`; docs/socket.io.md) manage rooms and live-collection watches.
 */
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { Broker, Delivery, ProduceRecord, Subscription } from '../../../broker/types.js';
import { isTributaryError, TributaryError } from '../../../errors.js';
import { toWireError } from '../../../protocol/native/frames.js';
import type { ServerFrame, WireError } from '../../../protocol/native/types.js';
import type { BroadcastOpts } from '../../../socketio/packet-record.js';
import { checkQuery } from '../../../sync/query.js';
import type { CollectionsAccess } from '../../auth/guard.js';
import type { ServerMetrics } from '../../metrics.js';
import { CollectionBridge, type CollectionPort } from '../ws/collection-bridge.js';
import { WS_FRONT_END_DEFAULTS } from '../ws/limits.js';
import { DELIVERY_CREDIT_RECORDS, ROOM_NAME_LENGTH_MAX, type SocketIoLimits } from './limits.js';
import type { PacketCache } from './packet-cache.js';
import { offsetText } from './positions.js';
import { eventRecord, type RoomCommand } from './records.js';
import type { SharedFeed, SharedFeedMember, SharedFeeds } from './shared-feed.js';

/** Prefix of the endpoint's own events; a client cannot append an event of that name. */
export const RESERVED_PREFIX = 'tributary:';

type Ack = (...args: unknown[]) => void;

/** Most events one append carries. */
const APPEND_BATCH_RECORDS_MAX = 500;
/** Bytes of a socket's appends in progress, in messages (`socketioMessageBytesMax`): past it, refused. */
const IN_FLIGHT_BYTES_FACTOR = 16;
/** … and from this many a WebSocket client is not read from until they complete. */
const IN_FLIGHT_BYTES_PAUSE_FACTOR = 4;

function recordBytes(record: ProduceRecord): number {
  let bytes = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const header of record.headers ?? []) bytes += header.key.length + header.value.byteLength;
  return bytes;
}

export interface SocketBridgeDeps {
  /** The broker as the socket's session may use it (guarded with security on). */
  readonly broker: Broker;
  readonly collections: CollectionsAccess | undefined;
  readonly topic: string;
  /** The partition of the socket's namespace. */
  readonly partition: number;
  readonly limits: SocketIoLimits;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** Each record's packet, encoded once for every socket. */
  readonly packets: PacketCache;
  /** Saves the socket's rooms for connection state recovery. */
  readonly saveRooms: (rooms: readonly string[]) => Promise<void>;
  /** The partitions' shared subscriptions (on the endpoint's own broker, not `broker`). */
  readonly feeds: SharedFeeds;
  /** Throws when the session may no longer read the topic (checked on every shared batch). */
  readonly authorizeRead: (() => void) | undefined;
}

/** The socket's own subscription, while it reads apart from the shared one. */
interface OwnReader {
  subscription: Subscription | undefined;
  /** Credit owed while `subscribe` has not returned yet. */
  owed: number;
  closed: boolean;
}

export class SocketBridge implements SharedFeedMember {
  readonly #socket: Socket;
  readonly #deps: SocketBridgeDeps;
  /** Next offset of the namespace's partition to deliver (what the client resumes from). */
  #next: number;
  /** The partition's shared subscription (joined when {@link #inShared}). */
  #feed: SharedFeed | undefined;
  #inShared = false;
  #acquiringFeed = false;
  #own: OwnReader | undefined;
  readonly #watches = new Map<number, CollectionBridge>();
  readonly #collectionPort: CollectionPort;
  #nextWatch = 1;
  #inFlight = 0;
  #inFlightBytes = 0;
  /** Events taken but not yet handed to the broker (appended together on the next turn). */
  #pending: { readonly record: ProduceRecord; readonly ack: Ack | undefined; readonly bytes: number }[] = [];
  #pendingBytes = 0;
  /** The WebSocket not read from while appends catch up. */
  #paused: { resume(): void } | undefined;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  /** Deliveries waiting while a room change a record made is being saved (in order). */
  #backlog: { readonly delivery: Delivery; readonly from: number; readonly source: OwnReader | undefined }[] =
    [];
  #suspended = false;

  constructor(socket: Socket, deps: SocketBridgeDeps, next: number) {
    this.#socket = socket;
    this.#deps = deps;
    this.#next = next;
    this.#collectionPort = this.#makeCollectionPort();
    socket.conn.on('drain', () => this.#onDrain());
  }

  /** The client's offset of what was delivered so far. */
  get offset(): string {
    return offsetText(this.#deps.partition, this.#next);
  }

  /** Starts the deliveries; events the client emits are taken from now on. */
  async start(): Promise<void> {
    this.#socket.onAny((event: unknown, ...args: unknown[]) => this.#onEvent(event, args));
    this.#feed = await this.#deps.feeds.acquire(this.#deps.partition);
    if (this.#closed || this.#joinShared()) return;
    await this.#readOwn();
  }

  /** Ends the subscriptions and watches (the socket disconnected). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backlog = [];
    this.#leaveShared();
    this.#closeOwn();
    for (const watch of this.#watches.values()) watch.close();
    this.#watches.clear();
    this.#drainWaiters = [];
  }

  // ---- deliveries ------------------------------------------------------------------------

  // ---- where records come from: the shared subscription, or the socket's own ----------

  /** A batch of the shared subscription; false when the socket left it (see SharedFeedMember). */
  onShared(delivery: Delivery): boolean {
    if (this.#closed || !this.#inShared) return false;
    try {
      this.#deps.authorizeRead?.();
    } catch (error) {
      this.#inShared = false;
      this.#onSubscriptionError(error);
      return false;
    }
    this.#deliver(delivery, 0, undefined);
    if (this.#closed) {
      this.#inShared = false;
      return false;
    }
    if (this.#suspended) {
      // Reads on its own once the rooms are saved (#resume).
      this.#inShared = false;
      return false;
    }
    if (this.#congested()) {
      this.#inShared = false;
      this.#afterDrain(() => this.#catchUp());
      return false;
    }
    return true;
  }

  onSharedError(error: unknown): void {
    this.#inShared = false;
    this.#onSubscriptionError(error);
  }

  /** Joins the shared subscription if nothing would be missed; true when it did. */
  #joinShared(): boolean {
    const feed = this.#feed;
    if (feed === undefined || feed.ended) {
      this.#acquireFeed();
      return false;
    }
    if (this.#closed || this.#suspended || this.#congested() || !feed.canJoin(this.#next)) return false;
    this.#closeOwn();
    feed.join(this);
    this.#inShared = true;
    return true;
  }

  #leaveShared(): void {
    if (!this.#inShared) return;
    this.#inShared = false;
    this.#feed?.leave(this);
  }

  /** The shared subscription of the partition ended (no member left): a new one, for next time. */
  #acquireFeed(): void {
    if (this.#acquiringFeed || this.#closed) return;
    this.#acquiringFeed = true;
    this.#deps.feeds.acquire(this.#deps.partition).then(
      (feed) => {
        this.#acquiringFeed = false;
        this.#feed = feed;
      },
      (error: unknown) => {
        this.#acquiringFeed = false;
        this.#deps.logger.debug({ err: error }, 'shared subscription not opened');
      },
    );
  }

  /** Reads again after a pause (congestion, a room save): shared if caught up, else its own. */
  #catchUp(): void {
    if (this.#closed || this.#inShared || this.#own !== undefined) return;
    if (this.#joinShared()) return;
    this.#readOwn().catch((error: unknown) => this.#onSubscriptionError(error));
  }

  async #readOwn(): Promise<void> {
    const reader: OwnReader = { subscription: undefined, owed: 0, closed: false };
    this.#own = reader;
    const subscription = await this.#deps.broker.subscribe({
      topic: this.#deps.topic,
      partition: this.#deps.partition,
      from: { offset: this.#next },
      credit: Math.min(DELIVERY_CREDIT_RECORDS, this.#deps.limits.socketioSendBufferPacketsMax),
      onRecords: (delivery) => this.#onOwnRecords(reader, delivery),
      onError: (error) => {
        if (!reader.closed) this.#onSubscriptionError(error);
      },
    });
    if (this.#closed || reader.closed) {
      subscription.close();
      return;
    }
    reader.subscription = subscription;
    if (reader.owed > 0) subscription.grant(reader.owed);
    reader.owed = 0;
  }

  #closeOwn(): void {
    const reader = this.#own;
    if (reader === undefined) return;
    this.#own = undefined;
    reader.closed = true;
    reader.subscription?.close();
  }

  #onOwnRecords(reader: OwnReader, delivery: Delivery): void {
    if (this.#closed || reader.closed) return;
    if (this.#suspended) {
      this.#backlog.push({ delivery, from: 0, source: reader });
      return;
    }
    this.#deliver(delivery, 0, reader);
    this.#joinShared();
  }

  /**
   * Delivers a batch from record `from` on. A room command that changes the socket's rooms
   * suspends the rest (and later batches) until the rooms are saved: no packet chosen by the
   * new rooms reaches the client before its session says so.
   */
  #deliver(delivery: Delivery, from: number, source: OwnReader | undefined): void {
    const socket = this.#socket;
    const nsp = socket.nsp.name;
    const { partition, packets } = this.#deps;
    const records = delivery.records;
    let sent = 0;
    for (let i = from; i < records.length; i++) {
      const record = records[i]!;
      // Joined the shared subscription ahead of it: what it already had is not given twice.
      if (record.offset < this.#next) continue;
      this.#next = record.offset + 1;
      const planned = packets.plan(record, partition);
      if (planned === undefined || planned.nsp !== nsp) continue;
      if (planned.kind !== 'event') {
        const saving = this.#obey(planned);
        if (this.#closed) return;
        if (saving === undefined) continue;
        this.#countSent(sent);
        this.#suspend(saving, delivery, i + 1, source);
        return;
      }
      if (!reaches(planned.opts, socket.rooms)) continue;
      if (planned.encoded === undefined) {
        // A record no Socket.IO packet can carry (nesting too deep to encode): skipped, counted.
        this.#deps.metrics.errors.inc({ frontend: 'socketio', code: 'MALFORMED_DATA' });
        this.#deps.logger.debug({ offset: record.offset }, 'record not deliverable');
        continue;
      }
      // Encoded once per record for every socket (packet-cache.ts), written as socket.io's own
      // broadcasts are.
      socket.client._packet(
        planned.encoded as Parameters<Socket['client']['_packet']>[0],
        planned.writeOptions,
      );
      sent++;
    }
    this.#countSent(sent);
    // The shared subscription's credit is its own business (shared-feed.ts).
    if (source === undefined) return;
    const credit = records.length;
    const grant = (): void => {
      if (this.#closed || source.closed) return;
      if (source.subscription === undefined) source.owed += credit;
      else source.subscription.grant(credit);
    };
    if (this.#congested()) this.#afterDrain(grant);
    else grant();
  }

  #countSent(sent: number): void {
    if (sent > 0) this.#deps.metrics.recordsOut.inc({ frontend: 'socketio' }, sent);
  }

  #suspend(saving: Promise<void>, delivery: Delivery, from: number, source: OwnReader | undefined): void {
    this.#suspended = true;
    this.#backlog.unshift({ delivery, from, source });
    saving.then(
      () => this.#resume(),
      (error: unknown) => {
        // The rooms could not be made durable: the client cannot be given packets they chose.
        this.#onSubscriptionError(error);
      },
    );
  }

  #resume(): void {
    this.#suspended = false;
    while (!this.#suspended && !this.#closed) {
      const next = this.#backlog.shift();
      if (next === undefined) break;
      this.#deliver(next.delivery, next.from, next.source);
    }
    if (this.#suspended || this.#closed) return;
    // Left the shared subscription to save its rooms: reads again (its own reader, if any, goes on).
    if (this.#own === undefined) this.#catchUp();
    else this.#joinShared();
  }

  /**
   * Applies an adapter server's room command if it reaches this socket; returns the save of
   * the socket's new rooms when they changed.
   */
  #obey(command: RoomCommand): Promise<void> | undefined {
    const socket = this.#socket;
    if (!reaches(command.opts, socket.rooms)) return undefined;
    if (command.kind === 'disconnect') {
      socket.disconnect(command.close);
      return undefined;
    }
    const before = socket.rooms.size;
    for (const room of command.rooms) {
      if (!isRoomName(room) || room === socket.id) continue;
      if (command.kind === 'leave') {
        socket.leave(room);
      } else if (!socket.rooms.has(room)) {
        if (socket.rooms.size - 1 >= this.#deps.limits.socketioRoomsPerSocketMax) {
          this.#deps.logger.debug({ room }, 'room not joined: socketioRoomsPerSocketMax');
          continue;
        }
        socket.join(room);
      }
    }
    return socket.rooms.size === before ? undefined : this.#deps.saveRooms(this.rooms());
  }

  #onSubscriptionError(error: unknown): void {
    if (this.#closed) return;
    this.#deps.logger.debug({ err: error }, 'socket subscription ended');
    this.#sendError(error);
    this.#socket.disconnect(true);
  }

  /** Whether the client has at least `socketioSendBufferPacketsMax` packets waiting to be written. */
  #congested(): boolean {
    return (
      (this.#socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length >=
      this.#deps.limits.socketioSendBufferPacketsMax
    );
  }

  #afterDrain(waiter: () => void): void {
    this.#drainWaiters.push(waiter);
  }

  #onDrain(): void {
    if (this.#closed || this.#congested()) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  // ---- events from the client ------------------------------------------------------------

  #onEvent(event: unknown, args: unknown[]): void {
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (args.pop() as Ack) : undefined;
    try {
      if (typeof event !== 'string') {
        throw new TributaryError('INVALID_ARGUMENT', { reason: 'an event name must be a string' });
      }
      if (event.startsWith(RESERVED_PREFIX)) {
        this.#onReserved(event, args, ack);
        return;
      }
      this.#append(eventRecord(this.#socket.nsp.name, event, args, { sid: this.#socket.id }), ack);
    } catch (error) {
      this.#refuse(error, ack);
    }
  }

  #append(record: ProduceRecord, ack: Ack | undefined): void {
    const { socketioEmitsInFlightMax, socketioMessageBytesMax } = this.#deps.limits;
    const bytes = recordBytes(record);
    if (
      this.#inFlight >= socketioEmitsInFlightMax ||
      this.#inFlightBytes + bytes > IN_FLIGHT_BYTES_FACTOR * socketioMessageBytesMax
    ) {
      throw new TributaryError('RESOURCE_EXHAUSTED', {
        what: 'events of this socket being appended',
        limit: `socketioEmitsInFlightMax = ${socketioEmitsInFlightMax}, or ${IN_FLIGHT_BYTES_FACTOR} × socketioMessageBytesMax`,
      });
    }
    this.#inFlight++;
    this.#inFlightBytes += bytes;
    this.#updateReading();
    this.#deps.metrics.recordsIn.inc({ frontend: 'socketio' });
    // Events that arrive together are appended together: one append (one fsync) for the lot.
    this.#pending.push({ record, ack, bytes });
    this.#pendingBytes += bytes;
    if (this.#pending.length >= APPEND_BATCH_RECORDS_MAX || this.#pendingBytes >= socketioMessageBytesMax) {
      this.#appendPending();
    } else if (this.#pending.length === 1) {
      setImmediate(() => this.#appendPending());
    }
  }

  #appendPending(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    const topic = this.#deps.topic;
    const settle = (): void => {
      this.#inFlight -= batch.length;
      for (const entry of batch) this.#inFlightBytes -= entry.bytes;
      this.#updateReading();
    };
    this.#deps.broker
      .produce(
        topic,
        batch.map((entry) => entry.record),
      )
      .then(
        (produced) => {
          settle();
          batch.forEach((entry, i) => {
            const at = produced[i];
            if (at !== undefined) entry.ack?.({ topic, partition: at.partition, offset: at.offset });
          });
        },
        (error: unknown) => {
          settle();
          for (const entry of batch) this.#refuse(error, entry.ack);
        },
      );
  }

  /**
   * Stops reading from a WebSocket client while an eighth of `socketioEmitsInFlightMax` appends
   * (or {@link IN_FLIGHT_BYTES_PAUSE_FACTOR} messages' worth of bytes) are in progress, and reads
   * again below half of that: a client that emits faster than the log appends waits in TCP. (A
   * polling client sends one request at a time; past the limits its events are refused.)
   */
  #updateReading(): void {
    const { socketioEmitsInFlightMax, socketioMessageBytesMax } = this.#deps.limits;
    const high = Math.max(1, Math.floor(socketioEmitsInFlightMax / 8));
    const highBytes = IN_FLIGHT_BYTES_PAUSE_FACTOR * socketioMessageBytesMax;
    const over = this.#inFlight >= high || this.#inFlightBytes >= highBytes;
    if (this.#paused === undefined && over && !this.#closed) {
      const transport = this.#socket.conn.transport as unknown as {
        socket?: { pause?(): void; resume?(): void };
      };
      const ws = transport.socket;
      if (typeof ws?.pause === 'function' && typeof ws.resume === 'function') {
        ws.pause();
        this.#paused = ws as { resume(): void };
      }
    } else if (
      this.#paused !== undefined &&
      ((this.#inFlight < high / 2 && this.#inFlightBytes < highBytes / 2) || this.#closed)
    ) {
      this.#paused.resume();
      this.#paused = undefined;
    }
  }

  #onReserved(event: string, args: unknown[], ack: Ack | undefined): void {
    switch (event) {
      case 'tributary:join':
      case 'tributary:leave': {
        const room = checkRoom(args[0]);
        const rooms = this.#socket.rooms;
        if (event === 'tributary:join' && !rooms.has(room)) {
          if (rooms.size - 1 >= this.#deps.limits.socketioRoomsPerSocketMax) {
            throw new TributaryError('RESOURCE_EXHAUSTED', {
              what: 'rooms of this socket',
              limit: `socketioRoomsPerSocketMax = ${this.#deps.limits.socketioRoomsPerSocketMax}`,
            });
          }
          this.#socket.join(room);
        } else if (event === 'tributary:leave') {
          this.#socket.leave(room);
        }
        const joined = this.rooms();
        this.#deps.saveRooms(joined).then(
          () => ack?.({ rooms: joined }),
          (error: unknown) => this.#refuse(error, ack),
        );
        return;
      }
      case 'tributary:to': {
        const room = checkRoom(args[0]);
        const name = args[1];
        if (typeof name !== 'string' || name.startsWith(RESERVED_PREFIX)) {
          throw new TributaryError('INVALID_ARGUMENT', {
            reason:
              'tributary:to takes a room, then an event name (not a tributary: one), then its arguments',
          });
        }
        this.#append(
          eventRecord(this.#socket.nsp.name, name, args.slice(2), { sid: this.#socket.id, room }),
          ack,
        );
        return;
      }
      case 'tributary:watch':
        ack?.({ watch: this.#watch(args[0]) });
        this.#watches.get(this.#nextWatch - 1)?.markReady();
        return;
      case 'tributary:unwatch': {
        const id = args[0];
        const watch = typeof id === 'number' ? this.#watches.get(id) : undefined;
        if (watch === undefined)
          throw new TributaryError('NOT_FOUND', { what: `watch ${String(id)} on this socket` });
        watch.close();
        this.#watches.delete(watch.sub);
        ack?.({});
        return;
      }
      default:
        throw new TributaryError('INVALID_ARGUMENT', {
          reason: `"${event}" is not an event of the endpoint (names starting with tributary: are reserved)`,
        });
    }
  }

  /** The rooms the socket joined (not its own id). */
  rooms(): string[] {
    return [...this.#socket.rooms].filter((room) => room !== this.#socket.id);
  }

  // ---- live collections ------------------------------------------------------------------

  /** `tributary:watch {collection, query?}`: a live query whose snapshot and changes come as events. */
  #watch(request: unknown): number {
    const collections = this.#deps.collections;
    if (collections === undefined)
      throw new TributaryError('NOT_FOUND', { what: 'live collections on this server' });
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: 'tributary:watch takes { collection, query? }',
      });
    }
    const { collection: name, query } = request as { collection?: unknown; query?: unknown };
    if (typeof name !== 'string') {
      throw new TributaryError('INVALID_ARGUMENT', { reason: 'tributary:watch needs a collection name' });
    }
    if (this.#watches.size >= this.#deps.limits.socketioWatchesPerSocketMax) {
      throw new TributaryError('RESOURCE_EXHAUSTED', {
        what: 'watches of this socket',
        limit: `socketioWatchesPerSocketMax = ${this.#deps.limits.socketioWatchesPerSocketMax}`,
      });
    }
    const collection = collections.collection(name);
    const checked = checkQuery(query, 'query', { live: true });
    const id = this.#nextWatch++;
    const bridge = new CollectionBridge(id, this.#collectionPort);
    this.#watches.set(id, bridge);
    const subscription = collection.subscribe(checked, bridge);
    bridge.subscription = subscription;
    subscription.start();
    return id;
  }

  #makeCollectionPort(): CollectionPort {
    return {
      // Snapshots are cut into events of at most a client message's size.
      limits: { ...WS_FRONT_END_DEFAULTS, wsFrameBytesMax: this.#deps.limits.socketioMessageBytesMax },
      send: (frame: ServerFrame) => {
        if (frame.type === 'collectionSnapshot') {
          const { sub, items, offsets, reset, done } = frame;
          this.#socket.emit('tributary:snapshot', { watch: sub, items, offsets, reset, done });
        } else if (frame.type === 'collectionChanges') {
          this.#socket.emit('tributary:change', {
            watch: frame.sub,
            changes: frame.changes,
            offsets: frame.offsets,
          });
        }
      },
      sendSubscriptionClosed: (sub: number, error: WireError) => {
        this.#socket.emit('tributary:unwatched', { watch: sub, error });
      },
      congested: () => this.#congested(),
      pumpAfterDrain: (bridge) => this.#afterDrain(() => bridge.pump()),
      ended: (sub) => {
        this.#watches.delete(sub);
      },
    };
  }

  // ---- errors ----------------------------------------------------------------------------

  #refuse(error: unknown, ack: Ack | undefined): void {
    const wire = toWireError(error);
    this.#deps.metrics.errors.inc({ frontend: 'socketio', code: wire.code });
    if (!isTributaryError(error)) this.#deps.logger.warn({ err: error }, 'Socket.IO event failed');
    if (ack !== undefined) ack({ error: { code: wire.code, message: wire.message } });
    else this.#sendError(error);
  }

  #sendError(error: unknown): void {
    const wire = toWireError(error);
    this.#socket.emit('tributary:error', { code: wire.code, message: wire.message });
  }
}

/** `broadcastReaches` (packet-record.ts) on the socket's own set of rooms, without copying it. */
function reaches(opts: BroadcastOpts, rooms: ReadonlySet<string>): boolean {
  if (opts.rooms.length > 0 && !opts.rooms.some((room) => rooms.has(room))) return false;
  return !opts.except.some((room) => rooms.has(room));
}

function isRoomName(room: unknown): room is string {
  return typeof room === 'string' && room.length > 0 && room.length <= ROOM_NAME_LENGTH_MAX;
}

function checkRoom(room: unknown): string {
  if (!isRoomName(room)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `a room is a string of 1 to ${ROOM_NAME_LENGTH_MAX} characters`,
    });
  }
  return room;
}
