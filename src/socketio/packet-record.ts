/**
 * @module socketio/packet-record
 * Socket.IO messages as Tributary records, and back: the one format shared by the Socket.IO
 * adapter (`tributary-sync/socket.io`) and Socket.IO clients served by Tributary itself, so both read
 * and write the same topics. Browser-safe: no Node imports.
 *
 * A broadcast (`io.to(room).emit(event, ...args)`) is one record:
 * - value: the JSON of the packet's data, `[event, ...args]`. Binary arguments (`Uint8Array`,
 *   `ArrayBuffer`, any typed array or `Buffer`) are replaced by Socket.IO's own placeholder
 *   `{ "_placeholder": true, "num": i }` and carried as the i-th `sio.attachment` header, so
 *   the value stays readable JSON for any other client of the topic (Kafka, HTTP, the SDK);
 * - key: the namespace (`/`, `/chat`): every record of a namespace lands in one partition, so
 *   every server delivers a namespace's broadcasts in one order, the log's;
 * - headers (`sio.` is reserved): `sio.type` (the cluster message type, `3` for a broadcast),
 *   `sio.nsp`, `sio.uid` (the sending server), `sio.rooms` / `sio.except` (JSON arrays of room
 *   names; empty rooms = the whole namespace), `sio.flags` (JSON: `volatile`, `compress`, …),
 *   `sio.request` (request id, for broadcasts that expect acknowledgements), `sio.to` (the
 *   server a response is for).
 *
 * Every other cluster message (heartbeats, `fetchSockets`, `serverSideEmit`, their responses,
 * room joins) uses the same headers with the JSON of the message's `data` as value.
 *
 * The offset id a Socket.IO client keeps for connection state recovery is
 * `<partition>-<offset>` of the broadcast's record ({@link offsetId}).
 *
 * @example
 * const record = encodeClusterMessage({ type: BROADCAST, uid, nsp: '/', data: { packet, opts } });
 * await producer.send(record);
 * // … on another server:
 * const message = decodeClusterMessage(consumerRecord); // null when it is not a Socket.IO record
 */

import { putUtf8, utf8Length } from '../protocol/kafka/primitives/utf8.js';

/** The cluster message type of a broadcast (socket.io-adapter's `MessageType.BROADCAST`). */
export const BROADCAST = 3;
/** Socket.IO's packet type of an event (socket.io-parser's `PacketType.EVENT`). */
export const EVENT_PACKET = 2;

/** Names of the headers this format uses; every name starting with `sio.` is reserved. */
export const SIO_HEADERS = {
  type: 'sio.type',
  nsp: 'sio.nsp',
  uid: 'sio.uid',
  rooms: 'sio.rooms',
  except: 'sio.except',
  flags: 'sio.flags',
  request: 'sio.request',
  attachment: 'sio.attachment',
  to: 'sio.to',
} as const;

/** A header as records carry them. */
export interface PacketHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

/** What to produce: feed it to a producer's `send()`. */
export interface PacketRecord {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: PacketHeader[];
}

/** What was consumed (a `ConsumerRecord` fits). */
export interface ConsumedRecord {
  readonly value: Uint8Array | null;
  readonly headers: readonly PacketHeader[];
}

/** Rooms and flags of a broadcast, as socket.io-adapter encodes them between servers. */
export interface BroadcastOpts {
  readonly rooms: string[];
  readonly except: string[];
  readonly flags: Record<string, unknown>;
}

/** A Socket.IO event packet (`{ type: 2, data: [event, ...args], nsp }`). */
export interface EventPacket {
  type: number;
  data: unknown[];
  nsp: string;
  id?: number;
}

/** A socket.io-adapter cluster message or response: `{ type, uid, nsp, data? }`. */
export interface ClusterMessageLike {
  readonly type: number;
  readonly uid: string;
  readonly nsp: string;
  readonly data?: unknown;
}

/** Turns attachment bytes into the value handed to Socket.IO (Node: a `Buffer`). Default: a copy. */
export type BinaryFactory = (bytes: Uint8Array) => unknown;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Strings up to this length are converted by hand when ASCII; longer ones by the encoder and decoder. */
const ASCII_BY_HAND_MAX = 64;

/**
 * UTF-8 of a header's text. Every broadcast has six such headers; `TextEncoder.encode` and
 * `TextDecoder.decode` cost a call into C++ each (measured about 5× `Buffer.from` for these short
 * strings), so short ASCII, which header values nearly always are, is copied by hand.
 */
function utf8Bytes(text: string): Uint8Array {
  if (text.length > ASCII_BY_HAND_MAX) return encoder.encode(text);
  const length = utf8Length(text);
  const bytes = new Uint8Array(length);
  putUtf8(bytes, 0, text, length);
  return bytes;
}

/**
 * The text of a header's bytes; not UTF-8 throws, like the decoder (`fatal`). Short ASCII is made
 * in one string from the bytes (building it a character at a time made a string per character).
 */
function utf8Text(bytes: Uint8Array): string {
  if (bytes.length <= ASCII_BY_HAND_MAX && isAscii(bytes)) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return decoder.decode(bytes);
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function binaryBytes(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * False only when `value` surely holds no binary part: plain JSON data (arrays, objects without
 * `toJSON`, primitives). Anything else (a `Date`, a `Buffer`) says maybe, and takes the replacer.
 */
function mayHoldBinary(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth > PLAIN_DEPTH_MAX || isBinary(value)) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (mayHoldBinary(value[i], depth + 1)) return true;
    return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  for (const key in value) {
    if (mayHoldBinary((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/** Deeper values than this are left to the replacer (the walk is only a shortcut). */
const PLAIN_DEPTH_MAX = 32;

/**
 * JSON of `value` with binary parts taken out as attachments (Socket.IO's placeholders).
 * The replacer looks at the holder's original value because `Buffer#toJSON` runs first. Values
 * without binary parts (most events) skip it: `JSON.stringify` with a replacer function is
 * several times slower than without, on every broadcast a server sends.
 */
export function encodeValue(value: unknown): { json: string; attachments: Uint8Array[] } {
  const attachments: Uint8Array[] = [];
  if (!mayHoldBinary(value)) return { json: JSON.stringify(value) ?? 'null', attachments };
  const json = JSON.stringify(value, function replace(this: Record<string, unknown>, key, current) {
    const original = key === '' ? value : this[key];
    if (isBinary(original)) {
      attachments.push(binaryBytes(original));
      return { _placeholder: true, num: attachments.length - 1 };
    }
    return current;
  });
  return { json: json ?? 'null', attachments };
}

/**
 * Parses what {@link encodeValue} made; placeholders become the attachments' bytes. Text that
 * cannot hold a placeholder (no `_placeholder`, and no `\u` escape that could spell one) is parsed
 * without the reviver, several times faster.
 */
export function decodeValue(
  json: string,
  attachments: readonly Uint8Array[],
  binary: BinaryFactory = (bytes) => bytes.slice(),
): unknown {
  if (!json.includes('_placeholder') && !json.includes('\\u')) return JSON.parse(json);
  return JSON.parse(json, (_key, current: unknown) => {
    if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
      const candidate = current as { _placeholder?: unknown; num?: unknown };
      if (candidate._placeholder === true && typeof candidate.num === 'number') {
        const bytes = attachments[candidate.num];
        if (bytes === undefined) throw new SyntaxError(`attachment ${candidate.num} is missing`);
        return binary(bytes);
      }
    }
    return current;
  });
}

function textHeader(key: string, value: string): PacketHeader {
  return { key, value: utf8Bytes(value) };
}

/** The record of one cluster message (a broadcast keeps its packet's data as the value). */
export function encodeClusterMessage(message: ClusterMessageLike): PacketRecord {
  const headers: PacketHeader[] = [
    textHeader(SIO_HEADERS.type, String(message.type)),
    textHeader(SIO_HEADERS.nsp, message.nsp),
    textHeader(SIO_HEADERS.uid, message.uid),
  ];
  let body: unknown = message.data;
  if (message.type === BROADCAST) {
    const data = message.data as { packet: EventPacket; opts: BroadcastOpts; requestId?: string };
    headers.push(
      textHeader(SIO_HEADERS.rooms, JSON.stringify(data.opts.rooms)),
      textHeader(SIO_HEADERS.except, JSON.stringify(data.opts.except)),
      textHeader(SIO_HEADERS.flags, JSON.stringify(data.opts.flags ?? {})),
    );
    if (data.requestId !== undefined) headers.push(textHeader(SIO_HEADERS.request, data.requestId));
    body = data.packet.data;
  }
  const { json, attachments } = encodeValue(body);
  for (const bytes of attachments) headers.push({ key: SIO_HEADERS.attachment, value: bytes });
  return { key: message.nsp, value: utf8Bytes(json), headers };
}

function stringArray(json: string | undefined): string[] {
  if (json === undefined || json === '[]') return [];
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new SyntaxError('expected a JSON array of room names');
  }
  return parsed;
}

function flagsOf(json: string | undefined): Record<string, unknown> {
  if (json === undefined || json === '{}') return {};
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SyntaxError('expected a JSON object of flags');
  }
  return parsed as Record<string, unknown>;
}

/**
 * The cluster message a record holds, or `null` when the record is not one (no `sio.type`
 * header, or a part that does not parse): records written by other clients of the topic are
 * skipped, never thrown at Socket.IO. Every `sio.` header must be UTF-8; of a header given twice
 * the last counts.
 */
export function decodeClusterMessage(
  record: ConsumedRecord,
  binary?: BinaryFactory,
): ClusterMessageLike | null {
  let typeText: string | undefined;
  let nsp: string | undefined;
  let uid: string | undefined;
  let rooms: string | undefined;
  let except: string | undefined;
  let flags: string | undefined;
  let requestId: string | undefined;
  const attachments: Uint8Array[] = [];
  try {
    for (const header of record.headers) {
      const key = header.key;
      if (key === SIO_HEADERS.attachment) {
        attachments.push(header.value);
        continue;
      }
      if (!key.startsWith('sio.')) continue;
      const text = utf8Text(header.value);
      switch (key) {
        case SIO_HEADERS.type:
          typeText = text;
          break;
        case SIO_HEADERS.nsp:
          nsp = text;
          break;
        case SIO_HEADERS.uid:
          uid = text;
          break;
        case SIO_HEADERS.rooms:
          rooms = text;
          break;
        case SIO_HEADERS.except:
          except = text;
          break;
        case SIO_HEADERS.flags:
          flags = text;
          break;
        case SIO_HEADERS.request:
          requestId = text;
          break;
      }
    }
    const type = Number(typeText);
    if (!Number.isSafeInteger(type) || nsp === undefined || uid === undefined) return null;
    const body = record.value === null ? undefined : decodeValue(utf8Text(record.value), attachments, binary);
    if (type !== BROADCAST) return body === undefined ? { type, uid, nsp } : { type, uid, nsp, data: body };
    if (!Array.isArray(body)) return null;
    const opts: BroadcastOpts = {
      rooms: stringArray(rooms),
      except: stringArray(except),
      flags: flagsOf(flags),
    };
    const packet: EventPacket = { type: EVENT_PACKET, data: body, nsp };
    const data = requestId === undefined ? { packet, opts } : { packet, opts, requestId };
    return { type, uid, nsp, data };
  } catch {
    return null;
  }
}

/** The offset id Socket.IO clients keep for recovery: `<partition>-<offset>`. */
export function offsetId(partition: number, offset: number): string {
  return `${partition}-${offset}`;
}

/** Parses an {@link offsetId}; `null` for anything else (a client may send any string). */
export function parseOffsetId(id: string): { partition: number; offset: number } | null {
  const match = /^(\d{1,6})-(\d{1,16})$/.exec(id);
  if (match === null) return null;
  const partition = Number(match[1]);
  const offset = Number(match[2]);
  if (!Number.isSafeInteger(offset)) return null;
  return { partition, offset };
}

/**
 * Whether a broadcast reaches a socket that was in `socketRooms` (its own id among them):
 * Socket.IO's rule, used to pick a recovering client's missed packets.
 */
export function broadcastReaches(opts: BroadcastOpts, socketRooms: readonly string[]): boolean {
  const included = opts.rooms.length === 0 || socketRooms.some((room) => opts.rooms.includes(room));
  return included && socketRooms.every((room) => !opts.except.includes(room));
}
