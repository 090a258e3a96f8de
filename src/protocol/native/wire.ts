/**
 * @module protocol/native/wire
 * The two encodings of a frame: MessagePack (binary WebSocket messages, the default) and JSON
 * (text messages, for debugging and curl-level tools). Both carry the same maps; they differ in
 * how bytes travel (MessagePack `bin` vs base64 strings) and in integer width (MessagePack
 * integers up to 64 bits vs JSON numbers).
 *
 * MessagePack is plain: `useRecords: false`, no extension types, maps with string keys, so any
 * language's MessagePack library can speak it.
 */
import { TributaryError } from '../../errors.js';
import { encodeBase64 } from './base64.js';
import { decodeMsgpack } from './msgpack-decode.js';
import {
  encodeMsgpack,
  encodeMsgpackJoined,
  encodeMsgpackJoinedHead,
  encodeMsgpackPairParts,
  encodeMsgpackPairs,
  type MsgpackPairParts,
} from './msgpack-encode.js';
import type { WireFormat } from './types.js';

/**
 * How a binary frame's byte strings are decoded: `copy` (each its own buffer, so a stored record
 * never pins a whole network buffer) or `view` (views of the frame's bytes, which must then
 * belong to the frame alone, such as a WebSocket message's: one buffer per frame, not per field).
 */
export type WireBytes = 'copy' | 'view';

/** Encodes one frame (a map) in `format`. `undefined` fields are left out. */
export function encodeWire(frame: object, format: WireFormat): Uint8Array | string {
  if (format === 'json') return JSON.stringify(frame, jsonReplacer);
  return encodeMsgpack(frame);
}

/**
 * Fields shared by many frames that differ only in a few others, e.g. one delivery sent to many
 * subscriptions (only `sub` differs): the shared part is encoded once per format and joined to
 * each frame's own fields with {@link encodeWireJoined}, instead of encoding it for every frame.
 */
export class SharedFields {
  readonly #fields: object;
  #msgpack: { readonly count: number; readonly pairs: Uint8Array } | undefined;
  #msgpackParts: MsgpackPairParts | undefined;
  #json: string | undefined;

  constructor(fields: object) {
    this.#fields = fields;
  }

  /** The fields as MessagePack key/value pairs (without the map header) and their count. */
  msgpackPairs(): { readonly count: number; readonly pairs: Uint8Array } {
    this.#msgpack ??= encodeMsgpackPairs(this.#fields);
    return this.#msgpack;
  }

  /**
   * The fields as MessagePack pairs in parts, byte strings of at least `referenceMin` bytes as
   * they are (see `encodeMsgpackPairParts`); the first call's `referenceMin` is kept.
   */
  msgpackPairParts(referenceMin: number): MsgpackPairParts {
    this.#msgpackParts ??= encodeMsgpackPairParts(this.#fields, referenceMin);
    return this.#msgpackParts;
  }

  /** The fields as JSON members, without the braces (empty for no fields). */
  jsonMembers(): string {
    this.#json ??= JSON.stringify(this.#fields, jsonReplacer).slice(1, -1);
    return this.#json;
  }
}

/**
 * Encodes the map of `head`'s fields followed by `shared`'s: the same bytes as
 * `encodeWire({ ...head, ...shared }, format)` (keys must not overlap), with the shared part
 * encoded only once whatever the number of frames.
 */
export function encodeWireJoined(
  head: object,
  shared: SharedFields,
  format: WireFormat,
): Uint8Array | string {
  if (format === 'json') {
    const own = JSON.stringify(head, jsonReplacer).slice(1, -1);
    const members = shared.jsonMembers();
    return `{${own}${own.length > 0 && members.length > 0 ? ',' : ''}${members}}`;
  }
  return encodeMsgpackJoined(head, shared.msgpackPairs());
}

/**
 * `encodeWireJoined(head, shared, 'msgpack')` in two parts whose concatenation is the frame: a
 * small head of its own, then the shared fields' bytes, the same array for every frame that
 * shares them. Sent as two fragments of one WebSocket message, a delivery to N subscriptions is
 * held once, not copied N times.
 */
export function encodeMsgpackJoinedParts(
  head: object,
  shared: SharedFields,
): readonly [Uint8Array, Uint8Array] {
  const rest = shared.msgpackPairs();
  return [encodeMsgpackJoinedHead(head, rest.count), rest.pairs];
}

/**
 * Decodes one frame's data: a binary message as MessagePack, a text message as JSON. Any failure
 * is `PROTOCOL_ERROR`; the result is not checked beyond being a value.
 */
export function decodeWire(
  data: Uint8Array | string,
  bytes: WireBytes = 'copy',
): { value: unknown; format: WireFormat } {
  if (typeof data === 'string') {
    try {
      return { value: JSON.parse(data) as unknown, format: 'json' };
    } catch (error) {
      throw new TributaryError('PROTOCOL_ERROR', { reason: `text frame is not JSON: ${messageOf(error)}` });
    }
  }
  if (data.length === 0) throw new TributaryError('PROTOCOL_ERROR', { reason: 'empty frame' });
  try {
    return { value: decodeMsgpack(data, bytes === 'copy'), format: 'msgpack' };
  } catch (error) {
    throw new TributaryError('PROTOCOL_ERROR', {
      reason: `binary frame is not one MessagePack value: ${messageOf(error)}`,
    });
  }
}

/** Byte length of an encoded frame (UTF-8 length for text). */
export function wireByteLength(data: Uint8Array | string): number {
  return typeof data === 'string' ? utf8Length(data) : data.byteLength;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  // `this[key]` is the value before `toJSON` (a Node Buffer would otherwise arrive here as
  // `{ type: 'Buffer', data: [...] }`).
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return encodeBase64(raw);
  if (typeof value === 'bigint') return Number(value);
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
