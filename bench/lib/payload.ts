/**
 * @module bench/lib/payload
 * The benchmark message: fixed-size printable ASCII, so every system carries it unchanged as bytes
 * or as text (Socket.IO, WebSocket text frames) with no escaping or base64 growth:
 *
 * ```
 * <run>:<seq>:<sentNs>:xxxxxxxx…   (padded with 'x' to the requested size)
 * ```
 *
 * `sentNs` is `process.hrtime.bigint()` at send time: CLOCK_MONOTONIC on Linux, one clock for
 * every process on the machine, so a subscriber in another process subtracts it from its own
 * `hrtime` to get the end-to-end latency with no clock skew.
 *
 * @example
 * const bytes = encodePayload(100, 7, 42, nowNs());
 * decodePayload(bytes); // { run: 7, seq: 42, sentNs: … }
 */

/** Nanoseconds on the machine-wide monotonic clock, as a number (exact below 2^53 ns ≈ 104 days of uptime). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

const FILL = 0x78; // 'x'
const COLON = 0x3a;

/** Payload of exactly `size` bytes (at least the header's length). */
export function encodePayload(size: number, run: number, seq: number, sentNs: number): Uint8Array {
  const header = `${run}:${seq}:${sentNs}:`;
  const bytes = new Uint8Array(Math.max(size, header.length));
  for (let i = 0; i < header.length; i++) bytes[i] = header.charCodeAt(i);
  bytes.fill(FILL, header.length);
  return bytes;
}

/** The same payload as a string (for text transports). */
export function encodePayloadText(size: number, run: number, seq: number, sentNs: number): string {
  const header = `${run}:${seq}:${sentNs}:`;
  return header.padEnd(size, 'x');
}

export interface PayloadHeader {
  readonly run: number;
  readonly seq: number;
  readonly sentNs: number;
}

/** Parses the header of a payload (bytes or text); undefined when it is not a benchmark payload. */
export function decodePayload(payload: Uint8Array | string): PayloadHeader | undefined {
  const fields = [0, 0, 0];
  let field = 0;
  const length = Math.min(payload.length, 64);
  for (let i = 0; i < length; i++) {
    const code = typeof payload === 'string' ? payload.charCodeAt(i) : payload[i]!;
    if (code === COLON) {
      if (++field === 3) return { run: fields[0]!, seq: fields[1]!, sentNs: fields[2]! };
    } else if (code >= 0x30 && code <= 0x39) {
      fields[field] = fields[field]! * 10 + (code - 0x30);
    } else {
      return undefined;
    }
  }
  return undefined;
}
