/**
 * @module server/front/socketio/records
 * A Socket.IO event as a record of its namespace's topic, and back (docs/socket.io.md, "Record
 * shape"). Written so that other front ends produce events naturally:
 *
 * - **value**: UTF-8 JSON of the Socket.IO packet's data, `["<event>", arg1, arg2, …]` (what a
 *   client's `emit('<event>', arg1, arg2)` carries). Binary arguments are replaced by
 *   `{"_placeholder":true,"num":i}` as socket.io-parser does, their bytes in headers;
 * - **key**: the room the event was sent to (`tributary:to`), absent for the whole namespace;
 * - **headers**: `socket.io.attachment` once per binary argument, in order (`num`), and
 *   `socket.io.sid`, the id of the socket that emitted it (it is not sent the event back).
 *
 * A record whose value is not such an array (a Kafka producer's `{"price":3}`, plain text,
 * bytes) reaches Socket.IO clients as a `message` event with one argument: the value's JSON,
 * else its text when it is UTF-8, else its bytes. Tombstones (no value) are not delivered.
 *
 * @example
 * const record = eventRecord('data-update', [{ x: 1 }], { sid: socket.id });
 * recordEvent(record); // { event: 'data-update', args: [{ x: 1 }] }
 */
import type { ProduceRecord, RecordHeader } from '../../../broker/types.js';

/** Header carrying one binary argument's bytes (repeated, in placeholder order). */
export const ATTACHMENT_HEADER = 'socket.io.attachment';
/** Header naming the socket that emitted the event. */
export const SENDER_HEADER = 'socket.io.sid';
/** The event a record that is not a Socket.IO event arrives as. */
export const MESSAGE_EVENT = 'message';

export interface SocketEvent {
  readonly event: string;
  readonly args: readonly unknown[];
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** The record of `event` emitted with `args` by socket `sid`, to `room` (absent: the namespace). */
export function eventRecord(
  event: string,
  args: readonly unknown[],
  from: { readonly sid: string; readonly room?: string },
): ProduceRecord {
  const attachments: Uint8Array[] = [];
  const data = [event, ...args.map((arg) => withPlaceholders(arg, attachments))];
  const headers: RecordHeader[] = attachments.map((bytes) => ({ key: ATTACHMENT_HEADER, value: bytes }));
  headers.push({ key: SENDER_HEADER, value: encoder.encode(from.sid) });
  return {
    key: from.room === undefined ? null : encoder.encode(from.room),
    value: encoder.encode(JSON.stringify(data)),
    headers,
  };
}

/** The socket id in a record's `socket.io.sid` header, if any. */
export function recordSender(headers: readonly RecordHeader[]): string | undefined {
  for (const header of headers) {
    if (header.key === SENDER_HEADER) return utf8(header.value);
  }
  return undefined;
}

/** The event a record is delivered as; undefined for a tombstone. */
export function recordEvent(record: {
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}): SocketEvent | undefined {
  if (record.value === null) return undefined;
  const text = utf8(record.value);
  if (text === undefined) return { event: MESSAGE_EVENT, args: [Buffer.from(record.value)] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { event: MESSAGE_EVENT, args: [text] };
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string')
    return { event: MESSAGE_EVENT, args: [parsed] };
  const attachments = record.headers.filter((h) => h.key === ATTACHMENT_HEADER).map((h) => h.value);
  const args = parsed.slice(1);
  return {
    event: parsed[0],
    args: attachments.length === 0 ? args : args.map((arg) => withAttachments(arg, attachments)),
  };
}

/** A record's key as a room name (UTF-8), or undefined when it has none or it is not text. */
export function recordRoom(key: Uint8Array | null): string | undefined {
  return key === null ? undefined : utf8(key);
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function isBinary(value: unknown): value is Uint8Array | ArrayBuffer {
  return value instanceof Uint8Array || value instanceof ArrayBuffer;
}

/** `value` with binary parts replaced by placeholders, their bytes pushed to `attachments`. */
function withPlaceholders(value: unknown, attachments: Uint8Array[]): unknown {
  if (isBinary(value)) {
    attachments.push(value instanceof ArrayBuffer ? new Uint8Array(value) : value);
    return { _placeholder: true, num: attachments.length - 1 };
  }
  if (Array.isArray(value)) return value.map((item) => withPlaceholders(item, attachments));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = withPlaceholders(item, attachments);
    return out;
  }
  return value;
}

/** `value` with placeholders replaced by their attachments (unknown `num`: left as is). */
function withAttachments(value: unknown, attachments: readonly Uint8Array[]): unknown {
  if (Array.isArray(value)) return value.map((item) => withAttachments(item, attachments));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  if (object._placeholder === true && typeof object.num === 'number') {
    const bytes = attachments[object.num];
    return bytes === undefined ? value : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) out[key] = withAttachments(item, attachments);
  return out;
}
