/**
 * @module server/front/socketio/packet-cache
 * What a record of the `socket.io` topic delivers, worked out once per record and shared by every
 * socket of its namespace: its meaning (`records.ts`) and, for an event, the Socket.IO packet
 * encoded once (its last argument, the record's offset id, is the same for every socket) with
 * its WebSocket frame, ready to be written to each client as socket.io's own broadcast does
 * (`encoder.encode` once, then `client._packet(encoded, { preEncoded, wsPreEncodedFrame })` per
 * socket). Without it, 1,000 sockets meant 1,000 decodes, JSON encodings and frames per record.
 *
 * Plans are kept for the last {@link RECENT_PLANS_MAX} offsets of each partition, in a ring (an
 * array, not a Map: see "Hash tables" in `broker/partition-feed.ts`). Sockets at the tail are
 * handed the broker's one shared record object, found by identity; a socket that fell behind
 * reads its own copy of a record from the log, found by offset and taken only when its content is
 * the same (an offset of a deleted and recreated topic names another record). So a slow client's
 * catching up does not cost an encoding per socket either.
 *
 * @example
 * const cache = new PacketCache(io.encoder);
 * const planned = cache.plan(record, partition);
 * if (planned?.kind === 'event' && planned.encoded !== undefined) socket.client._packet(planned.encoded, planned.writeOptions);
 */
import type { LogRecord } from '../../../broker/types.js';
import type { BroadcastOpts } from '../../../socketio/packet-record.js';
import { offsetText } from './positions.js';
import { type RoomCommand, recordAction } from './records.js';

/** Socket.IO's packet type of an event (socket.io-parser's `PacketType.EVENT`). */
const EVENT = 2;

/** Events Socket.IO itself reserves: a record named so is not delivered. */
const SOCKET_IO_RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/** What `client._packet` takes for an encoded packet (engine.io reads `wsPreEncodedFrame`). */
export interface PreEncodedWrite {
  readonly preEncoded: true;
  readonly wsPreEncodedFrame?: readonly Buffer[];
}

/** An event for the sockets of `nsp` that `opts` reaches. */
export interface PlannedEvent {
  readonly kind: 'event';
  readonly nsp: string;
  readonly opts: BroadcastOpts;
  /** socket.io-parser's parts (a string, then binary attachments); undefined: no packet can carry it. */
  readonly encoded: unknown[] | undefined;
  readonly writeOptions: PreEncodedWrite;
}

/** What a record is to the sockets: an event, a room command, or nothing (undefined). */
export type Planned = PlannedEvent | RoomCommand | undefined;

/** The parts of socket.io-parser's `Encoder` the cache uses (`io.encoder`). */
export interface PacketEncoder {
  encode(packet: { type: number; nsp: string; data: unknown[] }): unknown[];
}

type FrameBuilder = (data: Buffer) => Buffer[];

/** Offsets of a partition whose plans are kept. */
export const RECENT_PLANS_MAX = 4096;

interface Kept {
  readonly record: LogRecord;
  readonly planned: Planned;
}

export class PacketCache {
  readonly #encoder: PacketEncoder;
  readonly #frame: FrameBuilder | undefined;
  /** Per partition, a ring of plans indexed by offset modulo {@link RECENT_PLANS_MAX}. */
  readonly #rings: (Kept | undefined)[][] = [];

  /** `frame`: ws's `Sender.frame` (see {@link wsFrameBuilder}); absent, engine.io frames each write. */
  constructor(encoder: PacketEncoder, frame?: FrameBuilder) {
    this.#encoder = encoder;
    this.#frame = frame;
  }

  /** The record's plan, computed on first use. `partition`: the record's (its offset id says it). */
  plan(record: LogRecord, partition: number): Planned {
    let ring = this.#rings[partition];
    if (ring === undefined) {
      ring = new Array<Kept | undefined>(RECENT_PLANS_MAX);
      this.#rings[partition] = ring;
    }
    const slot = record.offset % RECENT_PLANS_MAX;
    const kept = ring[slot];
    if (kept !== undefined && kept.record.offset === record.offset) {
      if (kept.record === record || sameRecord(kept.record, record)) return kept.planned;
    }
    const planned = this.#compute(record, partition);
    // A socket far behind does not push out what the sockets at the tail share.
    if (kept === undefined || kept.record.offset <= record.offset) ring[slot] = { record, planned };
    return planned;
  }

  #compute(record: LogRecord, partition: number): Planned {
    const action = recordAction(record);
    if (action === undefined) return undefined;
    if (action.kind !== 'event') return action;
    if (SOCKET_IO_RESERVED.has(action.event)) return undefined;
    const data = [action.event, ...action.args, offsetText(partition, record.offset + 1)];
    let encoded: unknown[] | undefined;
    try {
      encoded = this.#encoder.encode({ type: EVENT, nsp: action.nsp, data });
    } catch {
      // A record no Socket.IO packet can carry (nesting too deep to encode).
      encoded = undefined;
    }
    const writeOptions: PreEncodedWrite =
      encoded !== undefined &&
      this.#frame !== undefined &&
      encoded.length === 1 &&
      typeof encoded[0] === 'string'
        ? // "4": engine.io's `message` packet type; the frame is unmasked text, as a server sends.
          { preEncoded: true, wsPreEncodedFrame: this.#frame(Buffer.from(`4${encoded[0]}`)) }
        : { preEncoded: true };
    return { kind: 'event', nsp: action.nsp, opts: action.opts, encoded, writeOptions };
  }
}

/** Whether two reads of an offset are the same record (same timestamp, key, value and headers). */
function sameRecord(a: LogRecord, b: LogRecord): boolean {
  if (a.timestamp !== b.timestamp || !sameBytes(a.key, b.key) || !sameBytes(a.value, b.value)) return false;
  if (a.headers.length !== b.headers.length) return false;
  return a.headers.every((header, i) => {
    const other = b.headers[i]!;
    return header.key === other.key && sameBytes(header.value, other.value);
  });
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * ws's `Sender.frame` as socket.io-adapter calls it for its broadcasts (a server's text frame,
 * unmasked), or undefined when the installed ws does not have it. `ws`: the module's namespace
 * (`import * as ws from 'ws'`: its ESM default export, the WebSocket class, has no `Sender`).
 */
export function wsFrameBuilder(ws: unknown): FrameBuilder | undefined {
  const sender = (ws as { Sender?: { frame?: unknown } } | undefined)?.Sender;
  const frame = sender?.frame;
  if (typeof frame !== 'function') return undefined;
  const options = { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true };
  return (data) => (frame as (data: Buffer, options: object) => Buffer[]).call(sender, data, options);
}
