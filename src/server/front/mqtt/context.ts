/**
 * @module server/front/mqtt/context
 * What every MQTT connection of a front end shares: the broker, security, limits (the `mqtt*`
 * settings of `server/settings.ts`), the session store, the client-id registry (one connection
 * per client id) and the extension points other modules plug into (retained messages, last
 * will, shared subscriptions).
 */

import type { IPublishPacket, Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Broker, LogRecord } from '../../../broker/types.js';
import type { Quotas } from '../../auth/quotas.js';
import type { Security, Session } from '../../auth/types.js';
import type { ServerMetrics } from '../../metrics.js';
import { frontEndSettings, type ServerConfig, type SettingNameOf } from '../../settings.js';
import type { ClientIdChain } from './client-id-chain.js';
import type { MqttVersion } from './codec.js';
import type { RetainedMessages, TopicCreator } from './publish.js';
import type { RetainedMessage } from './retained.js';
import type { MqttSession, SessionStore, SessionSubscription } from './session.js';

type MqttLimitName = Exclude<SettingNameOf<'mqtt'>, 'mqttPort'>;

/** The limits of the MQTT front end: the `mqtt*` settings other than the port. */
export type MqttFrontEndLimits = Pick<ServerConfig, MqttLimitName>;

/** The `mqtt*` limits: names, defaults and the resolving of a front end's `limits` option. */
export const MQTT_LIMITS = frontEndSettings('mqtt', ['mqttPort']);

export const MQTT_LIMIT_NAMES: readonly MqttLimitName[] = MQTT_LIMITS.names;

export const MQTT_FRONT_END_DEFAULTS: MqttFrontEndLimits = MQTT_LIMITS.defaults;

/** Topic aliases a client may set on one connection (announced as Topic Alias Maximum). */
export const TOPIC_ALIAS_MAX = 64;

/** A connected client as extensions see it. */
export interface MqttClient {
  readonly clientId: string;
  readonly version: MqttVersion;
  /** Who the client is; the broker below is guarded by it with security on. */
  readonly auth: Session;
  readonly broker: Broker;
  readonly session: MqttSession;
  /** Sends a packet (encoded in the client's version); nothing once the connection closed. */
  send(packet: Packet): void;
  /**
   * Sends retained messages for `subscription` (retain flag set) through the connection's
   * delivery, ahead of any live message and within its in-flight window.
   */
  deliverRetained(messages: readonly RetainedMessage[], subscription: SessionSubscription): void;
  /**
   * Publishes a message as this client through the PUBLISH path (`publish.ts`: mapping, access,
   * auto-create, durable append, retained store), also after the connection closed: for wills.
   */
  publish(packet: IPublishPacket): Promise<void>;
}

/** Retained messages: kept on PUBLISH with RETAIN, sent to new subscriptions (MQTT §3.3.1.3). */
export interface RetainedExtension extends RetainedMessages {
  /** After SUBACK: sends the retained messages `subscription` matches (`isNew`: for Retain Handling 1). */
  subscribed(client: MqttClient, subscription: SessionSubscription, isNew: boolean): Promise<void>;
  /** The retained record at `offset` of `__mqtt.retained`, if still there (resending one not acknowledged). */
  recordAt?(offset: number): Promise<LogRecord | undefined>;
  /** The front end closed: stop following the store. */
  close?(): void;
}

/** The CONNECT packet's will (MQTT §3.1.2.5), as mqtt-packet decodes it. */
export type MqttWill = NonNullable<import('mqtt-packet').IConnectPacket['will']>;

/** Last will and testament. */
export interface WillExtension {
  /**
   * A connection of the client id was accepted, with its will or none. A will of the client id
   * still waiting for its delay is cancelled (the session goes on) or, with `cleanStart`,
   * published at once (the old session ends).
   */
  connected(client: MqttClient, will: MqttWill | null, cleanStart: boolean): void;
  /**
   * The connection ended. `graceful`: a DISCONNECT with reason 0 (the will is discarded);
   * otherwise the will is published (after its delay, MQTT 5).
   */
  ended(client: MqttClient, graceful: boolean): void;
  /**
   * The client id connected to another gateway (scale-out), after its connection here, if any,
   * ended: a will waiting for its delay is cancelled, or published at once with `cleanStart`.
   */
  connectedElsewhere?(clientId: string, cleanStart: boolean): void;
  /** The front end closed (its connections are gone): waits for wills being published. */
  close?(): Promise<void>;
}

/** `$share/<name>/<filter>` subscriptions (consumer groups). */
export interface SharedExtension {
  /** Starts delivering `subscription` (its filter has a share name); rejects with a typed error to refuse. */
  subscribe(client: MqttClient, subscription: SessionSubscription): Promise<void>;
  unsubscribe(client: MqttClient, filter: string): Promise<void>;
  /** PUBACK / PUBCOMP of a packet id the extension sent (true when it was one of its own). */
  acknowledged(client: MqttClient, packetId: number): boolean;
  /** The connection ended: leave the groups. */
  ended(client: MqttClient): void;
  /** A client connected to a session that already had shared subscriptions: join their groups again. */
  resumed?(client: MqttClient): Promise<void>;
}

export interface MqttExtensions {
  readonly retained?: RetainedExtension;
  readonly wills?: WillExtension;
  readonly shared?: SharedExtension;
}

/** A connection holding a client id. */
export interface RegisteredClient {
  /** The principal it authenticated as: a client id is taken over only by the same principal. */
  readonly principal: string;
  /** The revision of its claim of the client id across gateways (`MqttPeers`); undefined: none. */
  claimRevision: number | undefined;
  /** Ends the connection (DISCONNECT 0x8E) and hands over its session, detached; null if none. */
  takeOver(): MqttSession | null;
}

/** A CONNECT's claim of a client id across gateways: the revision of the shared entry it wrote. */
export interface MqttClaim {
  readonly revision: number;
}

/**
 * The other gateways serving the same log (scale-out, docs/scale-out.md): a client id is one
 * connection across all of them, as within one.
 */
export interface MqttPeers {
  /**
   * Before a CONNECT of `clientId` is accepted here: claims the client id (the newest claim
   * owns it), then every other live gateway ends its connection of the client id (DISCONNECT
   * 0x8E) unless that one's claim is newer, and stores its session; each is waited for until it
   * answers or is gone. Resolves false when one holds the client id for another principal (the
   * CONNECT is refused).
   */
  takeOver(clientId: string, principal: string, cleanStart: boolean): Promise<MqttClaim | false>;
  /** Whether `claim` is still the newest claim of `clientId` (no CONNECT claimed it since). */
  holds(clientId: string, claim: MqttClaim): Promise<boolean>;
}

export interface MqttContext {
  readonly broker: Broker;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly limits: MqttFrontEndLimits;
  /** Undefined: security off, every connection is `local`. */
  readonly security: Security | undefined;
  readonly quotas: Quotas | undefined;
  readonly sessions: SessionStore;
  readonly extensions: MqttExtensions;
  /** Other gateways over the same log; undefined: a single server. */
  readonly peers: MqttPeers | undefined;
  /** The open connection of each client id (takeover, MQTT §3.1.4). */
  readonly clients: Map<string, RegisteredClient>;
  /** CONNECTs of one client id, from takeover to open, one at a time (`client-id-chain.ts`). */
  readonly connects: ClientIdChain;
  readonly topicCreator: TopicCreator;
  /** Deliveries to tell when a topic appears (wildcard filters and filters of missing topics). */
  readonly topicWatchers: Set<() => void>;
  /** The server is closing: CONNECTs are refused (0x8B server shutting down / 3 unavailable). */
  readonly closing: () => boolean;
}
