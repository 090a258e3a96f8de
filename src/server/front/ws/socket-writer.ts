/**
 * @module server/front/ws/socket-writer
 * Puts a connection's outgoing WebSocket messages on its socket with as few system calls as
 * possible. Measured in the fan-out benchmark, writing to sockets was about half of the
 * server's CPU time: a delivery sent as two fragments cost two `writev` calls per subscriber.
 *
 * - **One write per connection per turn.** The first write of a turn of the event loop corks
 *   the socket; every later one (deliveries of other subscriptions, responses, pings written
 *   through `ws`) is queued behind it, and all connections corked in the turn are uncorked
 *   together once the turn's synchronous work and promise reactions are done (`process.nextTick`
 *   from there runs after them). So a connection's messages of one turn leave in one `writev`.
 * - **A delivery is one unfragmented message.** Its own head (`type`, `sub`) goes out with the
 *   WebSocket header in one small buffer, and the records' bytes, shared by every subscription
 *   that gets them, are written as they are: nothing is copied per connection and the client's
 *   WebSocket reassembles nothing.
 *
 * Deliveries are framed here rather than by `ws` (RFC 6455 §5.2: a server's frames are not
 * masked), on the socket `ws` writes to. That is sound because the front end turns
 * permessage-deflate off and sends no Blobs, so `ws` never holds frames in a queue of its own
 * that a direct write could overtake, and it sends nothing fragmented: each write here is a
 * whole message between two of its own. Bytes written here count in `ws`'s `bufferedAmount`.
 */
import type { Duplex } from 'node:stream';

/** The part of a socket the writer uses (a `net.Socket`, or a `tls.TLSSocket`). */
export type CorkableSocket = Pick<Duplex, 'cork' | 'uncork' | 'write' | 'writable'>;

/** Writers corked in the current turn, uncorked together at its end. */
let corked: SocketWriter[] = [];
let spare: SocketWriter[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  const writers = corked;
  corked = spare;
  for (let i = 0; i < writers.length; i++) writers[i]!.flush();
  writers.length = 0;
  spare = writers;
}

export class SocketWriter {
  readonly #socket: CorkableSocket;
  #corked = false;

  constructor(socket: CorkableSocket) {
    this.#socket = socket;
  }

  /**
   * Holds this turn's writes to the socket (own ones and those `ws` makes) until the end of the
   * turn. Call before writing.
   */
  hold(): void {
    if (this.#corked || !this.#socket.writable) return;
    this.#corked = true;
    this.#socket.cork();
    corked.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushAll);
    }
  }

  /**
   * Writes one binary message whose payload is `head` followed by `shared`; `onSent` is called
   * once the bytes left for the kernel (as a `ws` send callback would be).
   */
  writeBinary(head: Uint8Array, shared: Uint8Array, onSent?: (error?: Error | null) => void): void {
    this.hold();
    this.#socket.write(frameStart(head, shared.byteLength));
    this.#socket.write(shared, onSent);
  }

  /** Lets the held writes go (called at the end of the turn). */
  flush(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  }
}

/**
 * The WebSocket header of an unmasked final binary frame of `head.length + restBytes` payload
 * bytes, followed by `head`, in one buffer (from Node's small-buffer pool).
 */
export function frameStart(head: Uint8Array, restBytes: number): Buffer {
  const length = head.byteLength + restBytes;
  const extra = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + extra + head.byteLength);
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
  return out;
}
