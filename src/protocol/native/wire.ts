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
import { Packr, Unpackr } from 'msgpackr';
import { TributaryError } from '../../errors.js';
import { encodeBase64 } from './base64.js';
import type { WireFormat } from './types.js';

const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'number',
  // Decoded byte strings are copies, so a stored record never pins a whole network buffer.
  copyBuffers: true,
});

const UINT32_MAX = 0xffff_ffff;
const INT32_MIN = -0x8000_0000;

/** Encodes one frame (a map) in `format`. `undefined` fields are left out. */
export function encodeWire(frame: object, format: WireFormat): Uint8Array | string {
  if (format === 'json') return JSON.stringify(frame, jsonReplacer);
  return packr.pack(toMsgpackValue(frame));
}

/**
 * Decodes one frame's data: a binary message as MessagePack, a text message as JSON. Any failure
 * is `PROTOCOL_ERROR`; the result is not checked beyond being a value.
 */
export function decodeWire(data: Uint8Array | string): { value: unknown; format: WireFormat } {
  if (typeof data === 'string') {
    try {
      return { value: JSON.parse(data) as unknown, format: 'json' };
    } catch (error) {
      throw new TributaryError('PROTOCOL_ERROR', { reason: `text frame is not JSON: ${messageOf(error)}` });
    }
  }
  if (data.length === 0) throw new TributaryError('PROTOCOL_ERROR', { reason: 'empty frame' });
  try {
    return { value: unpackr.unpack(data) as unknown, format: 'msgpack' };
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

/**
 * Integers beyond 32 bits become BigInts so msgpackr writes them as MessagePack int64 rather
 * than float64 (it writes every non-int32 number as a float); other languages then read
 * offsets and timestamps as integers.
 */
function toMsgpackValue(value: unknown): unknown {
  if (typeof value === 'number') {
    return Number.isInteger(value) && (value > UINT32_MAX || value < INT32_MIN) ? BigInt(value) : value;
  }
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(toMsgpackValue);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) out[key] = toMsgpackValue(field);
  }
  return out;
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
