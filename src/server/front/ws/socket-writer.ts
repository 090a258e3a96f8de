/**
 * @module server/front/ws/socket-writer
 * Puts a connection's outgoing WebSocket messages on its socket with as few system calls as
 * possible. Measured in the fan-out benchmark, writing to sockets was about half of the
 * server's CPU time: a delivery sent as two fragments cost two `writev` calls per subscriber.
 *
 * - **At most two writes per connection per turn.** A connection's first message in a turn of
 *   the event loop goes out at once, in one `writev`: in fan-out each subscriber's connection
 *   gets one message per turn, and holding it back would delay every subscriber until the last
 *   one's message is ready. From its second message in the turn on (a consumer catching up,
 *   several subscriptions, responses and deliveries together), the socket is corked, and
 *   everything else it is sent in the turn (also what `ws` writes) leaves in one more `writev`
 *   once the turn's synchronous work and promise reactions are done (`process.nextTick` from
 *   there runs after them).
 * - **A response waits for the end of its turn** (`beforeWrite({ hold: true })`), even as the
 *   turn's first message: the records an append makes readable are delivered in the same turn
 *   as its acknowledgement, and a client that subscribes to what it appends (the Socket.IO
 *   adapter: every server reads the broadcast topic it writes) then gets the acknowledgement and
 *   the delivery in one `writev` and one wake-up instead of two. Measured on the Socket.IO
 *   adapter benchmark, each write to a loopback socket was the largest cost of Tributary's
 *   server per event. A response alone in its turn leaves after the turn's promise reactions,
 *   microseconds later.
 * - **So does a delivery to a connection with a request in flight** (`writeShared(…, hold)`):
 *   the log wakes its readers before it settles the append, so the delivery of a record to the
 *   connection that appended it is usually written before the acknowledgement; written at once,
 *   it left in a write of its own and the acknowledgement in a second one.
 * - **A MessagePack frame is one buffer** (`writeMessage`, `frameMessage`): header and payload
 *   framed here, copied once out of the encoder, so a response alone in its turn leaves in one
 *   plain `write`; through `ws` it was a header and the payload, a `writev` of two buffers.
 * - **A delivery is one unfragmented message.** Its own head (`type`, `sub`) goes out with the
 *   WebSocket header in one small buffer, and the records' bytes, shared by every subscription
 *   that gets them, are written as they are (or, up to 2 KiB, copied behind the head, so the
 *   message is one plain write): the client's WebSocket reassembles nothing.
 * - **One message for all equal heads** (`SharedFrames`): subscriptions whose heads are equal
 *   (the same `sub` number on different connections, as in fan-out) send the same buffer.
 *
 * Deliveries are framed here rather than by `ws` (RFC 6455 §5.2: a server's frames are not
 * masked), on the socket `ws` writes to. That is sound because the front end turns
 * permessage-deflate off and sends no Blobs, so `ws` never holds frames in a queue of its own
 * that a direct write could overtake, and it sends nothing fragmented: each write here is a
 * whole message between two of its own. Bytes written here count in `ws`'s `bufferedAmount`.
 */
import type { Duplex } from 'node:stream';
import { sameBytes } from '../../../protocol/bytes.js';

/** The part of a socket the writer uses (a `net.Socket`, or a `tls.TLSSocket`). */
export type CorkableSocket = Pick<Duplex, 'cork' | 'uncork' | 'write' | 'writable'>;

/** Writers that wrote in the current turn, reset together at its end. */
let written: SocketWriter[] = [];
let spare: SocketWriter[] = [];
let endScheduled = false;

function endTurn(): void {
  endScheduled = false;
  const writers = written;
  written = spare;
  for (let i = 0; i < writers.length; i++) writers[i]!.endTurn();
  writers.length = 0;
  spare = writers;
}

/** Nothing written in this turn yet; one message written (it went out); later ones held. */
const IDLE = 0;
const WROTE = 1;
const HOLDING = 2;

export class SocketWriter {
  readonly #socket: CorkableSocket;
  #state: typeof IDLE | typeof WROTE | typeof HOLDING = IDLE;

  constructor(socket: CorkableSocket) {
    this.#socket = socket;
  }

  /**
   * Call before each message written to the socket (here or through `ws`): the turn's first goes
   * out at once, later ones are held until the end of the turn; with `hold`, this one is held too.
   */
  beforeWrite({ hold = false }: { readonly hold?: boolean } = {}): void {
    this.#begin(hold);
  }

  /** `beforeWrite` without an options object: once per delivery in fan-out. */
  #begin(hold: boolean): void {
    if (this.#state === IDLE) {
      this.#state = WROTE;
      written.push(this);
      if (!endScheduled) {
        endScheduled = true;
        process.nextTick(endTurn);
      }
      if (!hold) return;
    }
    if (this.#state === WROTE && this.#socket.writable) {
      this.#state = HOLDING;
      this.#socket.cork();
    }
  }

  /** True while this turn's writes are held (from the turn's second message on). */
  get holding(): boolean {
    return this.#state === HOLDING;
  }

  /**
   * Writes one whole message (WebSocket header included, see `frameMessage`) as one buffer: one
   * plain `write` of its own, or a part of the turn's `writev` when held. `hold` as in `beforeWrite`.
   */
  writeMessage(message: Uint8Array, onSent?: (error?: Error | null) => void, hold = false): void {
    this.beforeWrite({ hold });
    this.#socket.write(message, onSent);
  }

  /**
   * Writes one binary message whose payload is `head` followed by `shared`, in one `writev`
   * with whatever else is held; `onSent` is called once the bytes left for the kernel (as a
   * `ws` send callback would be).
   */
  writeBinary(head: Uint8Array, shared: Uint8Array, onSent?: (error?: Error | null) => void): void {
    this.writeShared(new SharedFrames(shared), head, onSent);
  }

  /**
   * As `writeBinary`, with the shared bytes' frames: the message is the buffer `frames` built for
   * an equal head before, if any (never changed once written: sockets may still hold it). `hold`:
   * held to the end of the turn even as the turn's first message (see `beforeWrite`).
   */
  writeShared(
    frames: SharedFrames,
    head: Uint8Array,
    onSent?: (error?: Error | null) => void,
    hold = false,
  ): void {
    this.#begin(hold);
    const start = frames.start(head);
    const rest = frames.rest;
    if (rest.length === 0) {
      this.#socket.write(start, onSent);
      return;
    }
    const held = this.#state === HOLDING;
    if (!held) this.#socket.cork();
    this.#socket.write(start);
    const last = rest.length - 1;
    for (let i = 0; i < last; i++) this.#socket.write(rest[i]!);
    this.#socket.write(rest[last]!, onSent);
    if (!held) this.#socket.uncork();
  }

  /** The turn is over: held writes go (called for every writer that wrote in the turn). */
  endTurn(): void {
    const held = this.#state === HOLDING;
    this.#state = IDLE;
    if (held) this.#socket.uncork();
  }
}

/**
 * Shared bytes up to this size are copied behind the header and written as one buffer: one plain
 * `write`, without the cork, `writev` and array handling of Node's stream for two chunks, which
 * cost more than copying a small record batch (measured in fan-out: Node's write machinery was
 * about 6 % of the server's time at 50k deliveries/s). Larger ones are written as they are.
 */
const COPIED_BYTES_MAX = 2048;

/** Heads whose frames one `SharedFrames` keeps (a connection's subscriptions have few distinct ones). */
const SHARED_FRAME_HEADS = 4;

/**
 * The framed messages of one shared payload, by the head put before it. Subscriptions whose heads
 * are equal byte for byte (in fan-out, every connection's first subscription is `sub` 1, so all
 * of them) are sent the very same buffer, built once, instead of each allocating and copying a
 * message of its own: one header, one copy of the payload (up to 2 KiB, else the payload follows
 * as it is) for a thousand sockets. A few heads are kept, newest last.
 */
export class SharedFrames {
  /** Bytes of the shared payload (all its parts). */
  readonly byteLength: number;
  /** The shared bytes are inside each start buffer (small enough to copy): one write per message. */
  readonly whole: boolean;
  /** What follows the start buffer, written as it is (empty when `whole`). */
  readonly rest: readonly Uint8Array[];
  /** The first part, copied into each start buffer (small), if it is. */
  readonly #copied: Uint8Array | undefined;
  readonly #heads: Uint8Array[] = [];
  readonly #starts: Buffer[] = [];

  /**
   * `shared`: the payload after the head, or its parts in order (e.g. a frame's own small
   * bytes between stored batches written as they are: no copy of the batches).
   */
  constructor(shared: Uint8Array | readonly Uint8Array[]) {
    const parts = shared instanceof Uint8Array ? [shared] : shared;
    let byteLength = 0;
    for (let i = 0; i < parts.length; i++) byteLength += parts[i]!.byteLength;
    this.byteLength = byteLength;
    const first = parts[0];
    this.#copied = first !== undefined && first.byteLength <= COPIED_BYTES_MAX ? first : undefined;
    this.rest = this.#copied === undefined ? parts : parts.slice(1);
    this.whole = this.rest.length === 0;
  }

  /** The message's first buffer for `head`: header and head (and the shared bytes when `whole`). */
  start(head: Uint8Array): Buffer {
    const heads = this.#heads;
    for (let i = heads.length - 1; i >= 0; i--) {
      if (sameBytes(heads[i]!, head)) return this.#starts[i]!;
    }
    const start = frameStart(head, this.byteLength, this.#copied);
    if (heads.length === SHARED_FRAME_HEADS) {
      heads.shift();
      this.#starts.shift();
    }
    heads.push(head);
    this.#starts.push(start);
    return start;
  }
}

/** An unmasked final binary frame of `payload`, header and payload in one buffer (a copy). */
export function frameMessage(payload: Uint8Array): Buffer {
  return frameStart(payload, 0);
}

/** The payload's length of a message `frameMessage` made (its header's length byte tells the header's size). */
export function messagePayloadBytes(message: Uint8Array): number {
  const length = message[1]! & 0x7f;
  return message.byteLength - (length < 126 ? 2 : length === 126 ? 4 : 10);
}

/**
 * The WebSocket header of an unmasked final binary frame of `head.length + restBytes` payload
 * bytes, followed by `head` (and by `rest` when given: the first `rest.byteLength` of the
 * `restBytes`), in one buffer (from Node's small-buffer pool).
 */
export function frameStart(head: Uint8Array, restBytes: number, rest?: Uint8Array): Buffer {
  const length = head.byteLength + restBytes;
  const extra = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + extra + head.byteLength + (rest === undefined ? 0 : rest.byteLength));
  out[0] = 0x82; // FIN, opcode 2 (binary)
  if (extra === 0) {
    out[1] = length;
  } else if (extra === 2) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    out.writeUInt32BE(length >>> 0, 6);
  }
  out.set(head, 2 + extra);
  if (rest !== undefined) out.set(rest, 2 + extra + head.byteLength);
  return out;
}
