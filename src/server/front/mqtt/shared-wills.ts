/**
 * @module server/front/mqtt/shared-wills
 * Wills waiting for their delay, across gateways (docs/scale-out.md, "MQTT across gateways"):
 * each is also stored in the shared table `mqtt_wills` (one entry per client id: the gateway
 * holding it, when it is due, the PUBLISH it becomes), so that it outlives its gateway.
 *
 * - **Published once.** Whoever publishes a stored will first deletes its entry at the revision
 *   it read (the holding gateway when the delay is over, the gateway a client starts clean on, or
 *   one that sweeps up the wills of a gateway that is gone): of several, exactly one deletes it
 *   and publishes. A gateway that dies between the deletion and the append loses that will.
 * - **Cancelled by the client's return.** A CONNECT of the client id that resumes the session,
 *   through any gateway, deletes the entry (`connected`).
 * - **Swept up when its gateway is gone.** Every gateway follows the table; a will whose gateway
 *   is no longer in the registry (`GatewayCluster.gateways`: gone for `logGatewayTtlMs`, or closed)
 *   is published by one of the others once due.
 *
 * A will published by another gateway goes out through that gateway's PUBLISH path without the
 * client's principal (it is not connected there): it was authorized at CONNECT, and access taken
 * away since is not checked again.
 *
 * @example
 * const wills = new SharedWills(cluster, logger);
 * await wills.open();
 * wills.serve((packet) => mqtt.publishWill(packet));
 * const revision = await wills.hold('sensor-1', packet, Date.now() + 5000);
 */
import type { IPublishPacket, Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { type GatewayCluster, type SharedTable, writeOverNewest } from '../../../broker/cluster.js';

/** The shared table of delayed wills. */
const WILLS_TABLE = 'mqtt_wills';
/** How often each gateway looks for due wills of gateways that are gone. */
const SWEEP_EVERY_MS = 500;
/** Writes of one will overtaken by other writes before giving up (each is another connection's). */
const HOLD_ATTEMPTS = 8;

/** Stored wills as other gateways see them (`hold`, `take`, `connected`). */
export interface DurableWills {
  /**
   * Stores the will of `clientId` (a PUBLISH) as held here until `dueAt` (ms since the epoch),
   * replacing one stored before; the revision written, or null when it could not be stored.
   */
  hold(clientId: string, packet: IPublishPacket, dueAt: number): Promise<number | null>;
  /** Deletes the stored will at `revision`: true for exactly one caller, which publishes it. */
  take(clientId: string, revision: number): Promise<boolean>;
  /**
   * A CONNECT of `clientId` was accepted here: a will another gateway stored is cancelled, or
   * with `cleanStart` (the old session ends) published now. What it did (failures are logged).
   */
  connected(clientId: string, cleanStart: boolean): Promise<'none' | 'cancelled' | 'published'>;
  close(): void;
}

interface StoredWill {
  /** The gateway that holds it (publishes it when due while it is alive). */
  readonly gateway: string;
  readonly dueAt: number;
  /** The PUBLISH, MQTT 5-encoded, base64. */
  readonly packet: string;
}

interface Known {
  readonly gateway: string;
  readonly dueAt: number;
  readonly revision: number;
}

export class SharedWills implements DurableWills {
  readonly #known = new Map<string, Known>();
  #table: SharedTable | undefined;
  #publish: ((packet: IPublishPacket) => Promise<void>) | undefined;
  #stopWatching: (() => void) | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(
    private readonly cluster: GatewayCluster,
    private readonly logger: Logger,
  ) {}

  /** Opens the table and follows it. */
  async open(): Promise<void> {
    const table = await this.cluster.table(WILLS_TABLE);
    this.#table = table;
    this.#stopWatching = await table.watch((clientId, entry) => {
      const will = entry === null ? null : parseWill(entry.value);
      if (entry === null || will === null) this.#known.delete(clientId);
      else this.#known.set(clientId, { gateway: will.gateway, dueAt: will.dueAt, revision: entry.revision });
    });
  }

  /** Publishes wills with `publish`: from now on also the due ones of gateways that are gone. */
  serve(publish: (packet: IPublishPacket) => Promise<void>): void {
    this.#publish = publish;
    this.#sweeper = setInterval(() => void this.#sweep(), SWEEP_EVERY_MS);
    this.#sweeper.unref();
  }

  async hold(clientId: string, packet: IPublishPacket, dueAt: number): Promise<number | null> {
    const table = this.#table;
    if (table === undefined) return null;
    const stored: StoredWill = {
      gateway: this.cluster.self.id,
      dueAt,
      packet: (await encodeWill(packet)).toString('base64'),
    };
    const value = new TextEncoder().encode(JSON.stringify(stored));
    try {
      const written = await writeOverNewest(table, clientId, value, HOLD_ATTEMPTS);
      if (written !== null) return written.revision;
    } catch (error) {
      this.logger.warn({ err: error, clientId }, 'MQTT will not stored across gateways');
    }
    return null;
  }

  async take(clientId: string, revision: number): Promise<boolean> {
    const table = this.#table;
    if (table === undefined) return true;
    return table.remove(clientId, revision);
  }

  async connected(clientId: string, cleanStart: boolean): Promise<'none' | 'cancelled' | 'published'> {
    const table = this.#table;
    if (table === undefined) return 'none';
    try {
      const entry = await table.get(clientId);
      const will = entry.value === null ? null : parseWill(entry.value);
      // Held here: the scheduler here cancels or publishes it (through `take`).
      if (will === null || will.gateway === this.cluster.self.id) return 'none';
      if (!(await table.remove(clientId, entry.revision))) return 'none';
      if (!cleanStart) return 'cancelled';
      await this.#publishStored(clientId, will);
      return 'published';
    } catch (error) {
      this.logger.warn({ err: error, clientId }, 'MQTT will of another gateway not cancelled');
      return 'none';
    }
  }

  close(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#stopWatching?.();
    this.#known.clear();
  }

  /** Publishes the due wills whose gateway is gone, each once across gateways. */
  async #sweep(): Promise<void> {
    const table = this.#table;
    if (this.#sweeping || table === undefined || this.#known.size === 0) return;
    this.#sweeping = true;
    try {
      const now = Date.now();
      const live = new Set(this.cluster.gateways().map((gateway) => gateway.id));
      for (const [clientId, known] of [...this.#known]) {
        if (known.dueAt > now || live.has(known.gateway)) continue;
        const entry = await table.get(clientId);
        const will = entry.value === null ? null : parseWill(entry.value);
        if (will === null || live.has(will.gateway) || will.dueAt > now) continue;
        if (!(await table.remove(clientId, entry.revision))) continue; // another gateway took it
        await this.#publishStored(clientId, will);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'MQTT wills of gateways that are gone not swept');
    } finally {
      this.#sweeping = false;
    }
  }

  async #publishStored(clientId: string, will: StoredWill): Promise<void> {
    const publish = this.#publish;
    if (publish === undefined) return;
    try {
      await publish(await decodeWill(Buffer.from(will.packet, 'base64')));
      this.logger.info({ clientId, gateway: will.gateway }, 'MQTT will published for another gateway');
    } catch (error) {
      this.logger.warn({ err: error, clientId }, 'MQTT will not published');
    }
  }
}

/**
 * The will as an MQTT 5 PUBLISH (a packet id, required by the encoding for QoS 1/2, is dropped on
 * decoding). The packet codec (`mqtt-packet`) is imported here, not with the module: the server
 * loads this module at start, and an idle server does not hold the MQTT protocol's code.
 */
async function encodeWill(packet: IPublishPacket): Promise<Buffer> {
  const { encodePacket } = await import('./codec.js');
  return encodePacket({ ...packet, ...(packet.qos > 0 ? { messageId: 1 } : {}) }, 5);
}

async function decodeWill(bytes: Buffer): Promise<IPublishPacket> {
  const { MqttDecoder } = await import('./codec.js');
  const decoder = new MqttDecoder(Number.MAX_SAFE_INTEGER);
  decoder.setVersion(5);
  const [packet] = decoder.push(bytes) as Packet[];
  if (packet?.cmd !== 'publish') throw new Error('a stored will is not a PUBLISH');
  const { messageId: _, ...will } = packet;
  return { ...will, dup: false };
}

function parseWill(value: Uint8Array): StoredWill | null {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(value)) as Partial<StoredWill> | null;
    if (
      typeof parsed?.gateway !== 'string' ||
      typeof parsed.dueAt !== 'number' ||
      typeof parsed.packet !== 'string'
    ) {
      return null;
    }
    return { gateway: parsed.gateway, dueAt: parsed.dueAt, packet: parsed.packet };
  } catch {
    return null;
  }
}
