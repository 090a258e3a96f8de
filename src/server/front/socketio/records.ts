/**
 * @module server/front/socketio/records
 * Socket.IO events as records of the `socket.io` topic, in the one format the `tributary-sync/socket.io`
 * adapter uses too (`socketio/packet-record.ts`), so clients of the endpoint and clients of
 * Socket.IO servers on the adapter share namespaces, rooms and broadcasts:
 *
 * - an event a client emits is a broadcast (`sio.type` 3) of its namespace (key and `sio.nsp`),
 *   to its namespace (`sio.rooms` `[]`) or to one room (`tributary:to`), except the sender
 *   (`sio.except` `[<socket id>]`); value = JSON `[event, ...args]`, binary arguments as
 *   placeholders with their bytes in `sio.attachment` headers;
 * - a record without the `sio.` headers (a Kafka or HTTP producer's) is an event of the
 *   namespace named by its key (`/` when it has none) to the whole namespace: a value that is a
 *   JSON array starting with a string is that event with those arguments; any other value is a
 *   `message` event with one argument (its JSON, else its text, else its bytes);
 * - a room command of a Socket.IO server on the adapter (`socketsJoin`, `socketsLeave`,
 *   `disconnectSockets`: `sio.type` 4, 5, 6) applies to the endpoint's sockets it reaches too.
 *
 * @example
 * const record = eventRecord('/', 'data-update', [{ x: 1 }], { sid: socket.id });
 * recordAction(record); // { kind: 'event', nsp: '/', event: 'data-update', args: [{ x: 1 }], opts: { rooms: [], except: [sid], … } }
 */
import type { LogRecord, ProduceRecord } from '../../../broker/types.js';
import {
  BROADCAST,
  type BroadcastOpts,
  decodeClusterMessage,
  EVENT_PACKET,
  type EventPacket,
  encodeClusterMessage,
} from '../../../socketio/packet-record.js';

/** `sio.uid` of what the endpoint appends (adapter servers use their own ids). */
export const ENDPOINT_UID = 'tributary';
/** The event a record that is not a Socket.IO event arrives as. */
export const MESSAGE_EVENT = 'message';

export interface SocketEvent {
  readonly kind: 'event';
  readonly nsp: string;
  readonly event: string;
  readonly args: readonly unknown[];
  readonly opts: BroadcastOpts;
}

/**
 * A command of a Socket.IO server on the adapter to the sockets its options reach, wherever
 * they are connected: `io.in(…).socketsJoin(rooms)`, `socketsLeave(rooms)`,
 * `disconnectSockets(close)`.
 */
export type RoomCommand =
  | {
      readonly kind: 'join' | 'leave';
      readonly nsp: string;
      readonly opts: BroadcastOpts;
      readonly rooms: readonly string[];
    }
  | {
      readonly kind: 'disconnect';
      readonly nsp: string;
      readonly opts: BroadcastOpts;
      readonly close: boolean;
    };

/** What a record of the topic means to the namespace's sockets. */
export type SocketAction = SocketEvent | RoomCommand;

/** socket.io-adapter's `MessageType` of the commands the endpoint obeys. */
const SOCKETS_JOIN = 4;
const SOCKETS_LEAVE = 5;
const DISCONNECT_SOCKETS = 6;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const WHOLE_NAMESPACE: BroadcastOpts = Object.freeze({ rooms: [], except: [], flags: {} });
const isString = (value: unknown): value is string => typeof value === 'string';
const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes);

/** The record of `event` emitted with `args` on namespace `nsp` by socket `sid`, to `room` (absent: the namespace). */
export function eventRecord(
  nsp: string,
  event: string,
  args: readonly unknown[],
  from: { readonly sid: string; readonly room?: string },
): ProduceRecord {
  const packet: EventPacket = { type: EVENT_PACKET, data: [event, ...args], nsp };
  const opts: BroadcastOpts = {
    rooms: from.room === undefined ? [] : [from.room],
    except: [from.sid],
    flags: {},
  };
  const record = encodeClusterMessage({ type: BROADCAST, uid: ENDPOINT_UID, nsp, data: { packet, opts } });
  return { key: encoder.encode(record.key), value: record.value, headers: record.headers };
}

/**
 * What a record means to the sockets: an event to deliver, or a room command of an adapter
 * server; undefined for a tombstone or another cluster message (heartbeats, requests).
 */
export function recordAction(record: LogRecord): SocketAction | undefined {
  if (record.value === null) return undefined;
  if (record.headers.some((header) => header.key.startsWith('sio.'))) return adapterAction(record);
  const nsp = record.key === null ? '/' : utf8(record.key);
  if (nsp === undefined) return undefined;
  const text = utf8(record.value);
  if (text === undefined)
    return {
      kind: 'event',
      nsp,
      event: MESSAGE_EVENT,
      args: [Buffer.from(record.value)],
      opts: WHOLE_NAMESPACE,
    };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'event', nsp, event: MESSAGE_EVENT, args: [text], opts: WHOLE_NAMESPACE };
  }
  if (Array.isArray(parsed) && typeof parsed[0] === 'string') {
    return { kind: 'event', nsp, event: parsed[0], args: parsed.slice(1), opts: WHOLE_NAMESPACE };
  }
  return { kind: 'event', nsp, event: MESSAGE_EVENT, args: [parsed], opts: WHOLE_NAMESPACE };
}

function adapterAction(record: LogRecord): SocketAction | undefined {
  const message = decodeClusterMessage(record, toBuffer);
  if (message === null) return undefined;
  if (message.type === BROADCAST) {
    const { packet, opts } = message.data as { packet: EventPacket; opts: BroadcastOpts };
    const [event, ...args] = packet.data;
    if (typeof event !== 'string') return undefined;
    return { kind: 'event', nsp: message.nsp, event, args, opts };
  }
  if (message.type !== SOCKETS_JOIN && message.type !== SOCKETS_LEAVE && message.type !== DISCONNECT_SOCKETS)
    return undefined;
  const data = message.data as { opts?: unknown; rooms?: unknown; close?: unknown } | undefined;
  const opts = commandOpts(data?.opts);
  if (opts === undefined) return undefined;
  if (message.type === DISCONNECT_SOCKETS) {
    return { kind: 'disconnect', nsp: message.nsp, opts, close: data?.close === true };
  }
  if (!Array.isArray(data?.rooms)) return undefined;
  const rooms = data.rooms.filter(isString);
  return { kind: message.type === SOCKETS_JOIN ? 'join' : 'leave', nsp: message.nsp, opts, rooms };
}

/** The options of a command (socket.io-adapter's encoded `BroadcastOptions`), or undefined. */
function commandOpts(value: unknown): BroadcastOpts | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { rooms, except } = value as { rooms?: unknown; except?: unknown };
  if (!Array.isArray(rooms) || !Array.isArray(except)) return undefined;
  return { rooms: rooms.filter(isString), except: except.filter(isString), flags: {} };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}
