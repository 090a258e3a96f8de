/**
 * @module server/front/mqtt/will
 * The last will of a CONNECT (MQTT 3.1.1 §3.1.2.5, 5.0 §3.1.2.5 and §3.1.3.2), read once at
 * CONNECT: checked there (its topic name must map to a Tributary topic) and turned into the
 * PUBLISH it will be, so that when it goes out it takes the same path as any PUBLISH of that
 * client (auto-create, access check, record shape, retained store, durable append).
 *
 * {@link checkWill} refuses a CONNECT whose will could never go out (bad topic name, no `write`
 * on its topic); {@link MqttWills} is the front end's will extension: it keeps each open
 * connection's will and, when the connection ends other than by a normal DISCONNECT
 * ({@link publishesWill}), hands it to `will-scheduler.ts`, which decides when it goes out.
 *
 * @example
 * const wills = new MqttWills({ scheduler: new WillScheduler({ logger, delayedMax }), metrics });
 * new MqttFrontEnd({ ..., extensions: { wills } });
 */
import type { IConnectPacket, IPublishPacket, QoS } from 'mqtt-packet';
import { isTributaryError } from '../../../errors.js';
import type { Session } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import type { MqttClient, MqttWill, WillExtension } from './context.js';
import { ReasonCode } from './reason-codes.js';
import type { DurableWills } from './shared-wills.js';
import { type LogAddress, MqttTopicError, mqttTopicToLog } from './topics.js';
import type { WillScheduler } from './will-scheduler.js';

/** A will as the server keeps it from CONNECT to the end of the connection. */
export interface ConnectWill {
  /** Where the will is appended. */
  readonly address: LogAddress;
  readonly qos: QoS;
  readonly retain: boolean;
  /** MQTT 5 Will Delay Interval, in ms; 0 for 3.1.1. */
  readonly delayMs: number;
  /** The will as the PUBLISH it becomes (its message expiry counts from when it is sent). */
  readonly packet: IPublishPacket;
}

/** MQTT 5 DISCONNECT reason 0x04: close, and publish the will. */
export const DISCONNECT_WITH_WILL = 0x04;

/** The will of `connect`, or null when it has none; throws MqttTopicError for a bad topic name. */
export function willOfConnect(connect: IConnectPacket): ConnectWill | null {
  const will = connect.will;
  if (will === undefined || will === null) return null;
  const address = mqttTopicToLog(will.topic);
  const qos = will.qos ?? 0;
  const retain = will.retain === true;
  const { willDelayInterval, ...messageProperties } = will.properties ?? {};
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic: will.topic,
    payload: will.payload,
    qos,
    retain,
    dup: false,
  };
  if (Object.keys(messageProperties).length > 0) packet.properties = messageProperties;
  return { address, qos, retain, delayMs: (willDelayInterval ?? 0) * 1000, packet };
}

/**
 * Whether a connection that ended this way publishes its will: every end but a normal
 * DISCONNECT (5.0 §3.1.2.5: only reason 0x00 deletes the will; a 3.1.1 DISCONNECT counts as
 * 0x00). `disconnectReason` is the reason of the client's DISCONNECT, null when it sent none
 * (socket closed, keep-alive timeout, protocol error, takeover, server shutdown).
 */
export function publishesWill(disconnectReason: number | null): boolean {
  return disconnectReason !== NORMAL_DISCONNECTION;
}

const NORMAL_DISCONNECTION = 0x00;

// ---- the will extension of the front end -------------------------------------------------

export interface MqttWillsOptions {
  readonly scheduler: WillScheduler;
  readonly metrics: ServerMetrics;
  /**
   * Scale-out: delayed wills are stored across gateways too (`shared-wills.ts`), so one outlives
   * its gateway; the will of a client id is then published by whoever takes the stored one.
   */
  readonly durable?: DurableWills;
}

/** MQTT 3.1.1 sessions that do not start clean never expire (mirrors `connect.ts`). */
const SESSION_EXPIRY_NEVER_S = 0xffffffff;

/**
 * The last-will extension: remembers the will of each open connection, and when the connection
 * ends hands it to the scheduler (or discards it after a normal DISCONNECT).
 */
export class MqttWills implements WillExtension {
  readonly #o: MqttWillsOptions;
  /** The will of each open connection that has one. */
  readonly #held = new WeakMap<MqttClient, ConnectWill>();
  /** Wills waiting here for their delay, stored across gateways: the revision stored (null: not stored). */
  readonly #stored = new Map<string, Promise<number | null>>();

  constructor(options: MqttWillsOptions) {
    this.#o = options;
  }

  connected(client: MqttClient, will: MqttWill | null, cleanStart: boolean): void {
    this.connectedElsewhere(client.clientId, cleanStart);
    // A will another gateway stored (it may be gone): cancelled, or published for a clean start.
    // (One published there is counted by the front end's `publishWill`.)
    void this.#o.durable?.connected(client.clientId, cleanStart).then((outcome) => {
      if (outcome === 'cancelled') this.#count(outcome);
    });
    if (will === null) return;
    // Checked by `checkWill` before CONNACK, so this does not throw.
    const parsed = willOfConnect({ cmd: 'connect', clientId: client.clientId, will });
    if (parsed !== null) this.#held.set(client, parsed);
  }

  connectedElsewhere(clientId: string, cleanStart: boolean): void {
    if (this.#o.scheduler.connected(clientId, cleanStart) !== 'cancelled') return;
    this.#count('cancelled');
    const stored = this.#stored.get(clientId);
    this.#stored.delete(clientId);
    void stored?.then((revision) => (revision === null ? false : this.#o.durable?.take(clientId, revision)));
  }

  /** Wills stored across gateways stay stored: another gateway publishes them when due. */
  close(): Promise<void> {
    this.#o.durable?.close();
    this.#stored.clear();
    return this.#o.scheduler.close();
  }

  ended(client: MqttClient, graceful: boolean): void {
    const will = this.#held.get(client);
    if (will === undefined) return;
    this.#held.delete(client);
    if (graceful) {
      this.#count('discarded');
      return;
    }
    const expiryS = client.session.expiryIntervalS;
    const sessionExpiryMs = expiryS >= SESSION_EXPIRY_NEVER_S ? Number.POSITIVE_INFINITY : expiryS * 1000;
    const durable = this.#o.durable;
    let stored: Promise<number | null> | undefined;
    const publish = async (): Promise<void> => {
      if (stored !== undefined && durable !== undefined) {
        if (this.#stored.get(client.clientId) === stored) this.#stored.delete(client.clientId);
        const revision = await stored;
        // Taken by another gateway (published or cancelled there): not here.
        if (revision !== null && !(await durable.take(client.clientId, revision))) return;
      }
      try {
        await client.publish(will.packet);
      } catch (error) {
        this.#count('failed');
        throw error;
      }
      this.#count('published');
    };
    const when = this.#o.scheduler.connectionLost(
      client.clientId,
      { delayMs: will.delayMs, sessionExpiryMs },
      publish,
    );
    if (when !== 'delayed') return;
    this.#count('delayed');
    if (durable !== undefined) {
      const waitMs = Math.min(will.delayMs, sessionExpiryMs);
      stored = durable.hold(client.clientId, will.packet, Date.now() + waitMs);
      this.#stored.set(client.clientId, stored);
    }
  }

  #count(outcome: 'published' | 'delayed' | 'cancelled' | 'discarded' | 'failed'): void {
    this.#o.metrics.mqttWills.inc({ outcome });
  }
}

/**
 * The refusal of a CONNECT whose will cannot be published, or null: a topic name that maps to
 * no Tributary topic (0x90), or one the session may not write (0x87; 3.1.1 return code 5).
 */
export function checkWill(
  packet: IConnectPacket,
  auth: Session,
): { readonly reasonCode: number; readonly reason: string; readonly code: string } | null {
  let will: ConnectWill | null;
  try {
    will = willOfConnect(packet);
  } catch (error) {
    if (!(error instanceof MqttTopicError)) throw error;
    return {
      reasonCode: ReasonCode.TopicNameInvalid,
      reason: `will: ${error.message}`,
      code: 'INVALID_TOPIC_NAME',
    };
  }
  if (will === null) return null;
  try {
    auth.authorize('topic', will.address.topic, 'write');
  } catch (error) {
    if (!isTributaryError(error)) throw error;
    return { reasonCode: ReasonCode.NotAuthorized, reason: `will: ${error.message}`, code: error.code };
  }
  return null;
}
