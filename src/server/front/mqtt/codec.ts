/**
 * @module server/front/mqtt/codec
 * MQTT packets in and out of bytes, with `mqtt-packet` (the codec of mqtt.js and Aedes) doing
 * the field work. What this module adds is the bound: `mqtt-packet`'s parser buffers a packet
 * until its declared length has arrived, so a hostile "remaining length" of 256 MB would be
 * buffered in full. {@link MqttDecoder} reads the fixed header itself (any chunk split) and
 * refuses a packet larger than the limit before a byte of its body is kept; only whole packets
 * reach the parser.
 *
 * @example
 * const decoder = new MqttDecoder(1024 * 1024);
 * for (const packet of decoder.push(chunk)) handle(packet);  // throws MqttPacketError
 * socket.write(encodePacket({ cmd: 'pingresp' }, 5));
 */
import mqttPacket, { type Packet } from 'mqtt-packet';
import { ReasonCode } from './reason-codes.js';

/** MQTT protocol levels served: 3.1.1 and 5.0. */
export type MqttVersion = 4 | 5;

/** A packet that cannot be read: the connection ends with `reasonCode` (MQTT 5 DISCONNECT). */
export class MqttPacketError extends Error {
  readonly reasonCode: number;
  constructor(reasonCode: number, message: string) {
    super(message);
    this.name = 'MqttPacketError';
    this.reasonCode = reasonCode;
  }
}

/** The fixed header's length prefix is 1 to 4 bytes (MQTT 2.2.3). */
const LENGTH_BYTES_MAX = 4;
const CONNECT_TYPE = 1;

/** Cuts a byte stream into whole MQTT packets of at most `packetBytesMax`, then decodes them. */
export class MqttDecoder {
  readonly #packetBytesMax: number;
  readonly #parser = mqttPacket.parser({ protocolVersion: 4 });
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Size of the packet being gathered once its fixed header is read; -1 before. */
  #packetBytes = -1;
  #decoded: Packet[] = [];
  #failure: Error | null = null;

  constructor(packetBytesMax: number) {
    this.#packetBytesMax = packetBytesMax;
    this.#parser.on('packet', (packet: Packet) => this.#decoded.push(packet));
    this.#parser.on('error', (error: Error) => {
      this.#failure ??= error;
    });
  }

  /** Packets after CONNECT are read with the connection's version (MQTT 5 has properties). */
  setVersion(version: MqttVersion): void {
    (this.#parser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = version;
  }

  /** Bytes held for a packet not yet whole. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The whole packets `chunk` completes, in order; throws {@link MqttPacketError}. */
  push(chunk: Buffer): Packet[] {
    this.append(chunk);
    const packets: Packet[] = [];
    for (let packet = this.next(); packet !== null; packet = this.next()) packets.push(packet);
    return packets;
  }

  /** Keeps `chunk` without decoding (bytes after CONNECT wait for the connection's version). */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next whole packet, decoded, or null until one is there; throws {@link MqttPacketError}. */
  next(): Packet | null {
    if (this.#packetBytes < 0 && !this.#readFixedHeader()) return null;
    if (this.#buffered < this.#packetBytes) return null;
    const bytes = this.#take(this.#packetBytes);
    this.#packetBytes = -1;
    return this.#decode(bytes);
  }

  /**
   * The next whole packet's bytes without decoding them, or null: for the first packet, whose
   * protocol level must be looked at before the codec (which knows only 3, 4 and 5) reads it.
   */
  peekPacket(): Buffer | null {
    if (this.#packetBytes < 0 && !this.#readFixedHeader()) return null;
    if (this.#buffered < this.#packetBytes) return null;
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return (this.#chunks[0] as Buffer).subarray(0, this.#packetBytes);
  }

  /** Reads the packet length from the buffered fixed header; false until it is all there. */
  #readFixedHeader(): boolean {
    if (this.#buffered < 2) return false;
    const head = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : this.#joinHead();
    let remaining = 0;
    let multiplier = 1;
    for (let i = 1; i <= LENGTH_BYTES_MAX; i++) {
      if (i >= head.length) return false;
      const byte = head[i] as number;
      remaining += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) {
        const total = 1 + i + remaining;
        if (total > this.#packetBytesMax) {
          throw new MqttPacketError(
            ReasonCode.PacketTooLarge,
            `packet of ${total} bytes is larger than the limit of ${this.#packetBytesMax} (mqttPacketBytesMax)`,
          );
        }
        this.#packetBytes = total;
        return true;
      }
    }
    throw new MqttPacketError(ReasonCode.MalformedPacket, 'remaining length longer than 4 bytes');
  }

  /** The first few buffered bytes as one buffer (a fixed header split over chunks). */
  #joinHead(): Buffer {
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined];
    return joined;
  }

  #take(bytes: number): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const packet = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#buffered = rest.length;
    return packet;
  }

  #decode(bytes: Buffer): Packet {
    this.#decoded = [];
    this.#failure = null;
    try {
      this.#parser.parse(bytes);
    } catch (error) {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
    }
    const packet = this.#decoded[0];
    if (this.#failure !== null || packet === undefined || this.#decoded.length !== 1) {
      const reason = this.#failure?.message ?? 'the packet does not decode';
      // A new parser state for the next packet (mqtt-packet resets on its next parse call).
      throw new MqttPacketError(ReasonCode.MalformedPacket, reason);
    }
    checkDecoded(packet, bytes);
    return packet;
  }
}

/**
 * Rules of MQTT 3.1.1 and 5 that mqtt-packet does not check; breaking one ends the connection.
 * mqtt-packet turns ill-formed UTF-8 into U+FFFD, so a name holding U+FFFD must be found as
 * those bytes in the packet (MQTT-1.5.3-1: ill-formed UTF-8 closes the connection).
 */
function checkDecoded(packet: Packet, bytes: Buffer): void {
  const protocolError = (rule: string): never => {
    throw new MqttPacketError(ReasonCode.ProtocolError, `${packet.cmd}: ${rule}`);
  };
  const checkUtf8 = (name: string): void => {
    if (name.includes('\uFFFD') && !bytes.includes(Buffer.from(name))) {
      throw new MqttPacketError(
        ReasonCode.MalformedPacket,
        `${packet.cmd}: a topic is not well-formed UTF-8`,
      );
    }
  };
  switch (packet.cmd) {
    case 'publish':
      if (packet.qos > 0 && !packet.messageId) protocolError('packet identifier 0 (MQTT-2.3.1-1)');
      checkUtf8(packet.topic);
      return;
    case 'subscribe':
      if (!packet.messageId) protocolError('packet identifier 0 (MQTT-2.3.1-1)');
      if (packet.subscriptions.length === 0) protocolError('no topic filter (MQTT-3.8.3-3)');
      for (const subscription of packet.subscriptions) checkUtf8(subscription.topic);
      return;
    case 'unsubscribe':
      if (!packet.messageId) protocolError('packet identifier 0 (MQTT-2.3.1-1)');
      if (packet.unsubscriptions.length === 0) protocolError('no topic filter (MQTT-3.10.3-2)');
      for (const filter of packet.unsubscriptions) checkUtf8(filter);
      return;
    default:
      return;
  }
}

/**
 * The protocol name and level of a CONNECT packet's bytes, or null when `bytes` is not a
 * CONNECT long enough to say. Read before decoding so a level the codec does not know still
 * gets its CONNACK ("unacceptable protocol version").
 */
export function connectProtocol(bytes: Buffer): { readonly name: string; readonly level: number } | null {
  if (bytes.length < 2 || (bytes[0] as number) >> 4 !== CONNECT_TYPE) return null;
  let at = 1;
  while (at < bytes.length && ((bytes[at] as number) & 0x80) !== 0) at++;
  at++;
  if (at + 2 > bytes.length) return null;
  const nameBytes = bytes.readUInt16BE(at);
  at += 2;
  if (at + nameBytes + 1 > bytes.length) return null;
  return { name: bytes.toString('latin1', at, at + nameBytes), level: bytes[at + nameBytes] as number };
}

/** Acknowledgements whose MQTT 5 form may end after the packet id (MQTT 5 §3.4.2.1). */
const ACKNOWLEDGEMENTS: ReadonlySet<Packet['cmd']> = new Set(['puback', 'pubrec', 'pubrel', 'pubcomp']);

/** The bytes of `packet` in the connection's protocol version. */
export function encodePacket(packet: Packet, version: MqttVersion): Buffer {
  // A successful acknowledgement goes out in its short form (packet id only), as Mosquitto sends
  // it: mqtt-packet writes that form only when the reason code is given as 0, and paho-mqtt 1.6.1
  // (Debian's) cannot read a PUBREL that has a reason code.
  if (
    version === 5 &&
    ACKNOWLEDGEMENTS.has(packet.cmd) &&
    !('reasonCode' in packet && packet.reasonCode !== undefined)
  ) {
    return mqttPacket.generate({ ...packet, reasonCode: 0 } as Packet, { protocolVersion: version });
  }
  return mqttPacket.generate(packet, { protocolVersion: version });
}

/** CONNACK for a protocol level not served, in the 3.1.1 form every client reads (return code 1). */
export const UNSUPPORTED_VERSION_CONNACK_V3 = Buffer.from([0x20, 0x02, 0x00, 0x01]);
