/**
 * @module protocol/native/frames
 * Encoding and decoding of whole frames in both directions. Decoders check every field of the
 * frame they return and throw nothing but `TributaryError` (`PROTOCOL_ERROR`, naming the field),
 * whatever bytes they are given. A request whose `id` could be read carries it in the error's
 * `details.requestId`, so a server can answer the request instead of the connection.
 *
 * @example
 * const data = encodeFrame({ type: 'ping' }, 'msgpack');
 * const frame = decodeClientFrame(data); // { frame: { type: 'ping' }, format: 'msgpack' }
 */
import { ERROR_CATALOGUE, type ErrorCode, TributaryError } from '../../errors.js';
import { readBatchDelivery, readFeatures } from './batch-delivery.js';
import { readPartitionOffsets, readWireChange, readWireItem } from './collections.js';
import { asPlainObject, Fields, fieldError } from './fields.js';
import { NATIVE_PROTOCOL_LIMITS as LIMITS } from './limits.js';
import { encodeMsgpackScratch } from './msgpack-encode.js';
import { isRequestType, REQUEST_TYPES, REQUESTS } from './requests.js';
import {
  fastRecord,
  PARTITION_MAX,
  RANGES,
  readName,
  readRecords,
  readTopicName,
  readTopicPartition,
  readWireAuth,
  readWireError,
} from './shapes.js';
import type {
  ClientFrame,
  DeliveryFrame,
  HelloFrame,
  RequestFrame,
  RequestType,
  ServerFrame,
  WelcomeFrame,
  WireError,
  WireFormat,
  WireRecord,
} from './types.js';
import { decodeWire, encodeWire, type WireBytes } from './wire.js';

export interface Decoded<T> {
  readonly frame: T;
  readonly format: WireFormat;
}

/** Encodes a frame: MessagePack bytes, or JSON text with bytes as base64. */
export function encodeFrame(frame: ClientFrame | ServerFrame, format: WireFormat): Uint8Array | string {
  return encodeWire(frame, format);
}

/**
 * A frame encoded in MessagePack, handed to `use` as the encoder's scratch bytes (valid during
 * the call only; `use` must not encode): for a caller that copies them into a message anyway.
 */
export function withMsgpackFrame<T>(frame: ServerFrame, use: (bytes: Uint8Array) => T): T {
  return encodeMsgpackScratch(frame, use);
}

/**
 * Decodes a frame a client sent (server side). With `bytes: 'view'` byte strings (record keys,
 * values and headers, the only bytes a client frame carries) are views of `data`.
 */
export function decodeClientFrame(
  data: Uint8Array | string,
  bytes: WireBytes = 'copy',
): Decoded<ClientFrame> {
  const { value, format } = decodeWire(data, bytes);
  const fields = Fields.of(value, '', format);
  const type = readType(fields);
  switch (type) {
    case 'hello':
      return { frame: readHello(fields), format };
    case 'ping':
    case 'pong':
      return { frame: readPing(fields, type), format };
    default:
      return { frame: readRequest(fields, type), format };
  }
}

/**
 * Decodes a frame a server sent (client side). Response results are read by `decodeResult`.
 * With `bytes: 'view'` byte strings (record keys and values) are views of `data`.
 */
export function decodeServerFrame(
  data: Uint8Array | string,
  bytes: WireBytes = 'copy',
): Decoded<ServerFrame> {
  const { value, format } = decodeWire(data, bytes);
  // Deliveries are most of what a client receives: checked in one pass when well formed.
  const delivery = format === 'msgpack' ? fastDelivery(value) : undefined;
  if (delivery !== undefined) return { frame: delivery, format };
  const f = Fields.of(value, '', format);
  const type = readType(f);
  switch (type) {
    case 'welcome':
      return { frame: readWelcome(f), format };
    case 'response':
      return { frame: readResponse(f), format };
    case 'delivery':
      return {
        frame: {
          type,
          sub: f.int('sub', RANGES.U32),
          topic: readTopicName(f),
          partition: f.int('partition', { min: 0, max: PARTITION_MAX }),
          records: readRecords(f, 'records'),
          highWatermark: f.int('highWatermark', RANGES.OFFSET),
        },
        format,
      };
    case 'batchDelivery':
      return { frame: readBatchDelivery(f), format };
    case 'assignment':
      return {
        frame: {
          type,
          groupId: readName(f, 'groupId'),
          memberId: readName(f, 'memberId'),
          generation: f.int('generation', { min: 0 }),
          partitions: f.list('partitions', Number.MAX_SAFE_INTEGER, readTopicPartition),
        },
        format,
      };
    case 'subscriptionClosed':
      return { frame: { type, sub: f.int('sub', RANGES.U32), error: readWireError(f.map('error')) }, format };
    case 'collectionSnapshot':
      return {
        frame: {
          type,
          sub: f.int('sub', RANGES.U32),
          items: f.list('items', Number.MAX_SAFE_INTEGER, readWireItem),
          offsets: readPartitionOffsets(f),
          reset: f.boolean('reset'),
          done: f.boolean('done'),
        },
        format,
      };
    case 'collectionChanges':
      return {
        frame: {
          type,
          sub: f.int('sub', RANGES.U32),
          changes: f.list('changes', Number.MAX_SAFE_INTEGER, readWireChange),
          offsets: readPartitionOffsets(f),
        },
        format,
      };
    case 'error':
      return { frame: { type, error: readWireError(f.map('error')) }, format };
    case 'ping':
    case 'pong':
      return { frame: readPing(f, type), format };
    default:
      throw new TributaryError('PROTOCOL_ERROR', { reason: `unknown frame type ${JSON.stringify(type)}` });
  }
}

/**
 * Reads a delivery as the full reader does, or returns undefined for anything it would not
 * accept as is (another frame, another form, or an error it must name).
 */
function fastDelivery(value: unknown): DeliveryFrame | undefined {
  const map = asPlainObject(value);
  if (map === undefined || map.type !== 'delivery') return undefined;
  const { sub, topic, partition, records, highWatermark } = map;
  if (
    !isIntIn(sub, RANGES.U32.max) ||
    typeof topic !== 'string' ||
    topic.length < 1 ||
    topic.length > LIMITS.topicNameLengthMax ||
    !isIntIn(partition, PARTITION_MAX) ||
    !isIntIn(highWatermark, RANGES.OFFSET.max) ||
    !Array.isArray(records)
  ) {
    return undefined;
  }
  const out: WireRecord[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = fastRecord(records[i]);
    if (record === undefined) return undefined;
    out[i] = record;
  }
  return {
    type: 'delivery',
    sub: sub as number,
    topic,
    partition: partition as number,
    records: out,
    highWatermark: highWatermark as number,
  };
}

/** `value` is an integer from 0 to `max`. */
function isIntIn(value: unknown, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function readType(fields: Fields): string {
  return fields.string('type', { min: 1, max: 64 });
}

function readHello(f: Fields): HelloFrame {
  const resume = f.optionalMap('resume');
  const auth = f.optionalMap('auth');
  const features = readFeatures(f);
  return {
    type: 'hello',
    protocol: f.int('protocol', { min: 0, max: 0xffff }),
    client: f.string('client', { max: LIMITS.clientNameLengthMax }),
    ...(resume === undefined ? {} : { resume: { sessionId: readName(resume, 'sessionId') } }),
    ...(auth === undefined ? {} : { auth: readWireAuth(auth) }),
    ...(features === undefined ? {} : { features }),
  };
}

function readWelcome(f: Fields): WelcomeFrame {
  const principal = f.optionalString('principal', { min: 1, max: LIMITS.nameLengthMax });
  const expiresAt = f.optionalInt('expiresAt', RANGES.TIMESTAMP);
  const features = readFeatures(f);
  return {
    type: 'welcome',
    protocol: f.int('protocol', { min: 0, max: 0xffff }),
    server: f.string('server', { max: LIMITS.clientNameLengthMax }),
    sessionId: readName(f, 'sessionId'),
    maxFrameBytes: f.int('maxFrameBytes', { min: 1024, max: 0xffff_ffff }),
    heartbeatMs: f.int('heartbeatMs', { min: 1, max: 0x7fff_ffff }),
    ...(principal === undefined ? {} : { principal }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(features === undefined ? {} : { features }),
  };
}

function readPing<T extends 'ping' | 'pong'>(f: Fields, type: T): { type: T; nonce?: number } {
  const nonce = f.optionalInt('nonce', RANGES.U32);
  return nonce === undefined ? { type } : { type, nonce };
}

function readRequest(f: Fields, type: string): RequestFrame {
  if (!isRequestType(type)) {
    let id: number | undefined;
    try {
      id = f.int('id', { min: 0, max: LIMITS.requestIdMax });
    } catch {
      id = undefined;
    }
    throw withRequest(unknownType(type), id, undefined);
  }
  const id = f.int('id', { min: 0, max: LIMITS.requestIdMax });
  try {
    const params = (REQUESTS[type].params as (fields: Fields) => object)(f);
    return { type, id, ...params } as RequestFrame;
  } catch (error) {
    throw withRequest(error, id, type);
  }
}

/** `error` with the request's id and type in its details, so the server can answer that request. */
function withRequest(error: unknown, id: number | undefined, type: string | undefined): unknown {
  if (!(error instanceof TributaryError) || id === undefined) return error;
  const details = { ...error.details, requestId: id, ...(type === undefined ? {} : { requestType: type }) };
  return new TributaryError(error.code, details, { cause: error.cause });
}

function unknownType(type: string): TributaryError {
  return new TributaryError('PROTOCOL_ERROR', {
    reason: `unknown request type ${JSON.stringify(type.slice(0, 64))} (known: hello, ping, pong, ${REQUEST_TYPES.join(', ')})`,
    field: 'type',
  });
}

function readResponse(f: Fields): ServerFrame {
  const id = f.int('id', { min: 0, max: LIMITS.requestIdMax });
  const hasOk = f.raw('ok') !== undefined;
  const hasError = f.raw('error') !== undefined;
  if (hasOk === hasError) throw fieldError('ok', 'or "error" must be present, exactly one of them');
  if (hasError) return { type: 'response', id, error: readWireError(f.map('error')) };
  return { type: 'response', id, ok: f.raw('ok') };
}

/**
 * The wire form of any error: a `TributaryError` as is; anything else (a bug) as `INTERNAL`, whose
 * cause stays in the server's log rather than going to the client.
 */
export function toWireError(error: unknown): WireError {
  const typed = error instanceof TributaryError ? error : new TributaryError('INTERNAL');
  const details: Record<string, string | number | boolean | null> = {};
  for (const [name, value] of Object.entries(typed.details)) {
    if (value !== undefined) details[name] = value;
  }
  return { code: typed.code, message: typed.message, details, retriable: typed.retriable };
}

/**
 * The `TributaryError` for an error received on the wire. A code this version does not know (a
 * newer server) becomes `PROTOCOL_ERROR` carrying the original code and message.
 */
export function fromWireError(error: WireError): TributaryError {
  if (Object.hasOwn(ERROR_CATALOGUE, error.code)) {
    return new TributaryError(error.code as ErrorCode, error.details);
  }
  return new TributaryError('PROTOCOL_ERROR', {
    reason: `server error ${error.code}: ${error.message}`,
    serverCode: error.code,
  });
}

export type { RequestType };
