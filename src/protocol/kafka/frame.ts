/**
 * @module protocol/kafka/frame
 * Kafka's TCP framing: every request and response is an int32 size followed by that many bytes.
 * `KafkaFrameDecoder` turns a byte stream cut anywhere into whole frames; it is a two-state
 * machine (reading the 4 size bytes, reading the payload), so a frame may span any number of
 * chunks and a chunk may hold any number of frames.
 *
 * @example
 * const frames = new KafkaFrameDecoder({ maxFrameBytes: 1 << 20 });
 * socket.on('data', (chunk) => {
 *   try {
 *     for (const payload of frames.push(chunk)) handle(payload);
 *   } catch (err) {
 *     socket.destroy(); // FRAME_TOO_LARGE or MALFORMED_DATA: the stream cannot be resynchronised
 *   }
 * });
 */

import { TributaryError } from '../../errors.js';
import { invalidArgument, malformed } from './primitives/errors.js';

/** Bytes of the size prefix. */
export const FRAME_SIZE_BYTES = 4;

/**
 * Default largest payload a peer may send: 100 MiB, Kafka's `socket.request.max.bytes`
 * (104857600). Larger frames are refused before any of their bytes are buffered.
 */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

export interface KafkaFrameDecoderOptions {
  /** Largest payload accepted, in bytes (default `DEFAULT_MAX_FRAME_BYTES`, 100 MiB). */
  readonly maxFrameBytes?: number;
}

enum State {
  Size = 0,
  Payload = 1,
  Failed = 2,
}

export class KafkaFrameDecoder {
  #maxFrameBytes: number;
  private state = State.Size;
  /** Size bytes gathered so far (a size prefix may itself be split across chunks). */
  private readonly sizeBytes = new Uint8Array(FRAME_SIZE_BYTES);
  private sizeFilled = 0;
  /** Payload size of the frame being read. */
  private payloadBytes = 0;
  /**
   * Pieces of a payload split across chunks, joined once it is whole: memory grows with the
   * bytes that actually arrived, not with what a size prefix claims.
   */
  private pieces: Uint8Array[] = [];
  private piecesBytes = 0;
  private failure: TributaryError | null = null;

  constructor(options: KafkaFrameDecoderOptions = {}) {
    this.#maxFrameBytes = checkedMax(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  /** The largest payload accepted; a frame announcing more fails with FRAME_TOO_LARGE. */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /**
   * Changes the limit for the frames whose size is read from now on (a Kafka connection keeps
   * it small until the client has authenticated, as Kafka's `sasl.server.max.receive.size`).
   */
  set maxFrameBytes(max: number) {
    this.#maxFrameBytes = checkedMax(max);
  }

  /** Bytes held for an incomplete frame (size prefix included). */
  get bufferedBytes(): number {
    return this.state === State.Payload ? FRAME_SIZE_BYTES + this.piecesBytes : this.sizeFilled;
  }

  /**
   * Feeds `chunk` and returns the payloads (without size prefix) it completed, in order. A
   * payload that lies wholly inside `chunk` is a view into it (no copy), so do not reuse
   * `chunk`'s memory while payloads are in use. Throws `FRAME_TOO_LARGE` or `MALFORMED_DATA`
   * (negative size); after that every call throws the same error, as the stream has lost sync.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure !== null) throw this.failure;
    const frames: Uint8Array[] = [];
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (this.state === State.Size) {
        if (this.sizeFilled === 0 && n - p >= FRAME_SIZE_BYTES) {
          // Fast path: the whole size prefix is in this chunk.
          this.beginPayload(int32At(chunk, p));
          p += FRAME_SIZE_BYTES;
        } else {
          while (this.sizeFilled < FRAME_SIZE_BYTES && p < n) this.sizeBytes[this.sizeFilled++] = chunk[p++]!;
          if (this.sizeFilled < FRAME_SIZE_BYTES) break;
          this.sizeFilled = 0;
          this.beginPayload(int32At(this.sizeBytes, 0));
        }
        if (this.payloadBytes === 0) {
          frames.push(new Uint8Array(0));
          this.state = State.Size;
        }
        continue;
      }
      const missing = this.payloadBytes - this.piecesBytes;
      const take = Math.min(missing, n - p);
      if (this.piecesBytes === 0 && take === missing) {
        // Fast path: the whole payload is in this chunk.
        frames.push(chunk.subarray(p, p + take));
      } else {
        this.pieces.push(chunk.subarray(p, p + take));
        this.piecesBytes += take;
        if (this.piecesBytes === this.payloadBytes) frames.push(this.joinPieces());
      }
      p += take;
      if (take === missing) this.state = State.Size;
    }
    return frames;
  }

  private beginPayload(size: number): void {
    if (size < 0) {
      this.fail(malformed('Kafka frame', `negative frame size ${size}`));
    } else if (size > this.#maxFrameBytes) {
      this.fail(
        new TributaryError('FRAME_TOO_LARGE', {
          bytes: size,
          limit: this.#maxFrameBytes,
          limitName: 'maxFrameBytes',
        }),
      );
    }
    this.payloadBytes = size;
    this.state = State.Payload;
  }

  private joinPieces(): Uint8Array {
    const out = new Uint8Array(this.payloadBytes);
    let q = 0;
    for (const piece of this.pieces) {
      out.set(piece, q);
      q += piece.length;
    }
    this.pieces = [];
    this.piecesBytes = 0;
    return out;
  }

  private fail(error: TributaryError): never {
    this.failure = error;
    this.state = State.Failed;
    this.pieces = [];
    this.piecesBytes = 0;
    throw error;
  }
}

function int32At(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/** Writes the int32 size prefix of a frame whose payload follows at `buf[4..]`. */
export function writeFrameSize(buf: Uint8Array): void {
  const size = buf.length - FRAME_SIZE_BYTES;
  if (size < 0) throw invalidArgument('a frame needs at least the 4 size bytes');
  buf[0] = size >>> 24;
  buf[1] = size >>> 16;
  buf[2] = size >>> 8;
  buf[3] = size;
}

function checkedMax(max: number): number {
  if (!(Number.isInteger(max) && max >= 0 && max <= 0x7fffffff)) {
    throw invalidArgument(`maxFrameBytes must be an integer in [0, 2^31), got ${max}`);
  }
  return max;
}
