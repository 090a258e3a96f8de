/**
 * @module server/front/mqtt/connection
 * One MQTT client connection over any byte stream (a TCP or TLS socket, or a WebSocket stream):
 * reads packets (`codec.ts`), enforces the connect timeout and keep-alive, and hands each packet
 * to the module that handles it: CONNECT to `connect.ts`, PUBLISH and PUBREL to `publish.ts`,
 * SUBSCRIBE / UNSUBSCRIBE to `subscribe.ts`, acknowledgements to `delivery.ts`. The state
 * worth keeping lives in the {@link MqttSession}, not here.
 *
 * Order and bounds: packets are handled one at a time in arrival order, except that a PUBLISH
 * only starts its produce before the next packet is looked at; its answer is sent when the
 * produce resolves, in the order the PUBLISH packets came (MQTT §4.6). At most
 * `mqttInboundInFlightMax` publishes are in progress, and the stream is not read past that, so
 * a client cannot make the server hold more than that many messages and one packet.
 *
 * A packet that cannot be read, or breaks the protocol, ends the connection: an MQTT 5 client
 * gets DISCONNECT with the reason code first (§4.13), a 3.1.1 client just the close.
 */

import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Broker } from '../../../broker/types.js';
import { guardBroker } from '../../auth/guard.js';
import type { QuotaLease } from '../../auth/quotas.js';
import type { ConnectionInfo, Session } from '../../auth/types.js';
import {
  FOREIGN_PROTOCOL_PREFIX_BYTES,
  foreignProtocol,
  foreignProtocolMessage,
} from '../foreign-protocol.js';
import { encodePacket, MqttDecoder, MqttPacketError, type MqttVersion } from './codec.js';
import {
  acceptConnect,
  type ConnectAccepted,
  connectRefusal,
  peekConnect,
  takenOverAtOnce,
} from './connect.js';
import type { MqttClient, MqttContext, RegisteredClient } from './context.js';
import { Delivery } from './delivery.js';
import { InboundPublisher, type PublishOutcome, publishMessage } from './publish.js';
import { ReasonCode } from './reason-codes.js';
import type { MqttSession } from './session.js';
import { handleSubscribe, handleUnsubscribe, mayRead } from './subscribe.js';
import { publishesWill } from './will.js';

type State = 'awaiting-connect' | 'connecting' | 'open' | 'closed';

/** Records published on this connection remembered for No Local (most recent first out). */
const PUBLISHED_REMEMBERED_MAX = 4096;

export interface ConnectionOptions {
  /** The CN of the verified TLS client certificate, if any. */
  readonly certificate: string | null;
  readonly remoteAddress: string | undefined;
  /** `mqtt` (TCP/TLS) or `mqtt-ws` (WebSocket), for logs and audit. */
  readonly protocol: 'mqtt' | 'mqtt-ws';
}

export class MqttConnection implements RegisteredClient {
  readonly closed: Promise<void>;
  claimRevision: number | undefined;
  readonly #stream: Duplex;
  readonly #ctx: MqttContext;
  readonly #info: ConnectionInfo;
  readonly #certificate: string | null;
  readonly #decoder: MqttDecoder;
  #logger: Logger;
  #state: State = 'awaiting-connect';
  #version: MqttVersion = 4;
  #inbox: Packet[] = [];
  #handling = false;
  /** Publishes whose produce has started and whose answer is not yet sent. */
  #publishing = 0;
  /** Answers to publishes, chained so they go out in the order the packets came. */
  #answers: Promise<void> = Promise.resolve();
  #keepAliveMs = 0;
  #lastPacketAt = Date.now();
  /** The connection's first bytes, to name another protocol sent here (foreign-protocol.ts). */
  #firstBytes: Uint8Array | undefined;
  #timer: NodeJS.Timeout | undefined;
  #resolveClosed: (() => void) | null = null;
  // Set once the connection is open.
  #client: MqttClient | null = null;
  #auth: Session | null = null;
  #delivery: Delivery | null = null;
  #publisher: InboundPublisher | null = null;
  #quota: QuotaLease | undefined;
  #unlistenAuth: () => void = () => undefined;
  #gracefulDisconnect = false;
  #takenOver = false;
  #clientPacketBytesMax = Number.POSITIVE_INFINITY;
  #problemInformation = true;
  /** MQTT 5: packet ids of QoS 1/2 PUBLISH packets not yet answered PUBACK / PUBCOMP. */
  readonly #openExchanges = new Set<number>();
  readonly #published = new Set<string>();
  /** Appends of this connection in progress, per topic (their offsets are not known yet). */
  readonly #appending = new Map<string, number>();

  constructor(stream: Duplex, ctx: MqttContext, options: ConnectionOptions) {
    this.#stream = stream;
    this.#ctx = ctx;
    this.#certificate = options.certificate;
    this.#info = { protocol: options.protocol, remoteAddress: options.remoteAddress ?? '' };
    this.#logger = ctx.logger.child({ remote: options.remoteAddress });
    this.#decoder = new MqttDecoder(ctx.limits.mqttPacketBytesMax);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    ctx.metrics.connections.inc({ frontend: 'mqtt' });
    stream.on('data', (chunk: Buffer) => this.#streamOnData(chunk));
    stream.on('drain', () => {
      this.#delivery?.writable();
      this.#updateReading();
      this.#handleInbox();
    });
    stream.on('error', (error) => this.#logger.debug({ err: error }, 'MQTT stream error'));
    stream.on('close', () => this.#cleanup());
    stream.on('end', () => this.#close(null, 'peer ended'));
    this.#timer = setTimeout(() => this.#connectTimedOut(), ctx.limits.mqttConnectTimeoutMs);
  }

  /** Records waiting to be sent and bytes in the send buffer (tests: a stalled reader stays bounded). */
  get pending(): { readonly queuedRecords: number; readonly bufferedBytes: number; readonly inbox: number } {
    return {
      queuedRecords: this.#delivery?.queuedRecords ?? 0,
      bufferedBytes: this.#stream.writableLength,
      inbox: this.#inbox.length + this.#decoder.bufferedBytes,
    };
  }

  /** The principal the connection authenticated as ('' before CONNECT was accepted). */
  get principal(): string {
    return this.#auth?.principal.name ?? '';
  }

  /** The server is closing: MQTT 5 clients hear 0x8B. */
  shutdown(): Promise<void> {
    this.#close(ReasonCode.ServerShuttingDown, 'server shutting down');
    return this.closed;
  }

  /**
   * Another connection took the client id (MQTT §3.1.4-3): this one gets DISCONNECT 0x8E and
   * closes; its session is handed over, detached from it (null when it had not opened).
   */
  takeOver(): MqttSession | null {
    const session = this.#client?.session ?? null;
    this.#takenOver = true;
    this.#close(ReasonCode.SessionTakenOver, 'session taken over');
    return session;
  }

  #streamOnData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    if (this.#firstBytes === undefined) {
      this.#firstBytes = Uint8Array.from(chunk.subarray(0, FOREIGN_PROTOCOL_PREFIX_BYTES));
      // `GET ` reads as a packet 69 bytes long: a short HTTP request would wait here for more.
      const foreign = foreignProtocol(this.#firstBytes);
      if (foreign !== undefined) {
        this.#ctx.metrics.errors.inc({ frontend: 'mqtt', code: 'PROTOCOL_ERROR' });
        this.#logger.info(
          { protocol: foreign },
          `closing an MQTT connection: ${foreignProtocolMessage(foreign, 'MQTT')}`,
        );
        this.#close(null, `${foreign} on the MQTT port`);
        return;
      }
    }
    this.#lastPacketAt = Date.now();
    try {
      this.#decoder.append(chunk);
      if (this.#state === 'awaiting-connect') this.#readConnect();
      else if (this.#state === 'open') this.#readPackets();
    } catch (error) {
      this.#protocolError(error);
      return;
    }
    this.#handleInbox();
  }

  /** The first packet must be CONNECT; its protocol level is checked before it is decoded. */
  #readConnect(): void {
    const bytes = this.#decoder.peekPacket();
    if (bytes === null) return;
    const refusal = peekConnect(bytes);
    if (refusal !== null) {
      this.#stream.write(refusal.bytes);
      this.#close(null, refusal.reason);
      return;
    }
    const connect = this.#decoder.next();
    if (connect === null) return;
    this.#state = 'connecting';
    this.#inbox.push(connect);
  }

  /**
   * Decodes buffered packets (in the connection's version, once it is open) while few wait: the
   * rest stay as bytes, so a chunk of thousands of tiny packets is not decoded all at once.
   */
  #readPackets(): void {
    const waitingMax = this.#ctx.limits.mqttInboundInFlightMax;
    while (this.#inbox.length < waitingMax) {
      const packet = this.#decoder.next();
      if (packet === null) return;
      this.#inbox.push(packet);
    }
  }

  #handleInbox(): void {
    if (this.#handling) return;
    this.#handling = true;
    void this.#drainInbox().finally(() => {
      this.#handling = false;
      this.#updateReading();
      // Packets that arrived while the last one was handled.
      const limits = this.#ctx.limits;
      const more = this.#inbox.length > 0 && this.#state !== 'closed';
      const stalled = this.#stream.writableLength >= limits.mqttSendBufferedBytesMax;
      if (more && !stalled && this.#publishing < limits.mqttInboundInFlightMax) {
        this.#handleInbox();
      }
    });
  }

  async #drainInbox(): Promise<void> {
    const limits = this.#ctx.limits;
    while (this.#state !== 'closed') {
      if (this.#inbox.length === 0 && this.#state === 'open') {
        try {
          this.#readPackets();
        } catch (error) {
          this.#protocolError(error);
          return;
        }
      }
      if (this.#inbox.length === 0) return;
      if (this.#publishing >= limits.mqttInboundInFlightMax) return;
      // Answers wait for a client that does not read them (handled again on 'drain').
      if (this.#stream.writableLength >= limits.mqttSendBufferedBytesMax) return;
      const packet = this.#inbox.shift() as Packet;
      this.#updateReading();
      try {
        await this.#handle(packet);
        this.#updateReading();
      } catch (error) {
        this.#logger.error({ err: error, cmd: packet.cmd }, 'MQTT packet handling failed');
        this.#close(ReasonCode.UnspecifiedError, 'internal error');
      }
    }
  }

  /**
   * Reads while fewer than the limit of publishes are in progress, few packets wait, and the
   * client reads what it is sent: a client that publishes (or pings) without reading the
   * answers would otherwise grow the send buffer without bound.
   */
  #updateReading(): void {
    if (this.#state === 'closed') return;
    const limits = this.#ctx.limits;
    const busy =
      this.#publishing >= limits.mqttInboundInFlightMax ||
      this.#inbox.length >= limits.mqttInboundInFlightMax ||
      this.#stream.writableLength >= limits.mqttSendBufferedBytesMax ||
      this.#state === 'connecting';
    if (busy) this.#stream.pause();
    else this.#stream.resume();
  }

  async #handle(packet: Packet): Promise<void> {
    if (this.#state === 'connecting') {
      if (packet.cmd !== 'connect') return this.#protocolError(new Error('first packet is not CONNECT'));
      return this.#connect(packet);
    }
    if (this.#state !== 'open') return;
    const client = this.#client as MqttClient;
    const delivery = this.#delivery as Delivery;
    switch (packet.cmd) {
      case 'publish':
        return this.#publish(packet);
      case 'pubrel': {
        // Released durably for a session kept on the log, before the PUBCOMP.
        const released = (this.#publisher as InboundPublisher).release(packet.messageId as number);
        // Behind the PUBREC of that message, if it is still being made durable.
        void this.#answerInOrder(async () => {
          const known = await released.catch((error: unknown) => {
            this.#logger.warn({ err: error }, 'MQTT PUBREL not stored');
            return null;
          });
          if (known === null) return; // not stored: no PUBCOMP; the client sends PUBREL again
          this.#openExchanges.delete(packet.messageId as number);
          this.#send({
            cmd: 'pubcomp',
            messageId: packet.messageId as number,
            ...(this.#version === 5 && !known ? { reasonCode: ReasonCode.PacketIdentifierNotFound } : {}),
          });
        });
        return;
      }
      case 'puback':
        if (this.#ctx.extensions.shared?.acknowledged(client, packet.messageId as number) !== true)
          delivery.acknowledged(packet.messageId as number);
        return;
      case 'pubrec':
        return delivery.received(packet.messageId as number, packet.reasonCode ?? 0);
      case 'pubcomp':
        if (this.#ctx.extensions.shared?.acknowledged(client, packet.messageId as number) !== true)
          delivery.completed(packet.messageId as number);
        return;
      case 'subscribe': {
        const { suback, afterSuback } = await handleSubscribe(this.#ctx, client, delivery, packet);
        this.#send(suback);
        afterSuback();
        return;
      }
      case 'unsubscribe':
        this.#send(await handleUnsubscribe(this.#ctx, client, delivery, packet));
        return;
      case 'pingreq':
        this.#send({ cmd: 'pingresp' });
        return;
      case 'disconnect': {
        const expiry = packet.properties?.sessionExpiryInterval;
        const session = client.session;
        if (expiry !== undefined) {
          if (session.expiryIntervalS === 0 && expiry > 0) {
            return this.#close(ReasonCode.ProtocolError, 'session expiry set on DISCONNECT after 0');
          }
          session.expiryIntervalS = expiry;
        }
        // Only reason 0x00 (and a 3.1.1 DISCONNECT) discards the will.
        this.#gracefulDisconnect = !publishesWill(packet.reasonCode ?? 0);
        return this.#close(null, 'client disconnected');
      }
      case 'auth':
        return this.#close(ReasonCode.ProtocolError, 'AUTH without an authentication method');
      default:
        return this.#close(ReasonCode.ProtocolError, `unexpected ${packet.cmd}`);
    }
  }

  async #connect(packet: Extract<Packet, { cmd: 'connect' }>): Promise<void> {
    const accepted = await acceptConnect(this.#ctx, packet, {
      certificate: this.#certificate,
      info: this.#info,
      logger: this.#logger,
      self: this,
      // Runs before the next CONNECT of this client id may take over (`client-id-chain.ts`).
      settle: (accepted) => {
        if (this.#state !== 'connecting') return this.#release(accepted);
        this.#open(accepted);
        return Promise.resolve();
      },
    });
    if (accepted.ok || this.#state !== 'connecting') return;
    if (accepted.takenOver === true) {
      this.#stream.write(takenOverAtOnce(packet.protocolVersion === 5 ? 5 : 4));
      this.#close(null, accepted.reason);
      return;
    }
    this.#stream.write(connectRefusal(accepted.reasonCode, packet.protocolVersion === 5 ? 5 : 4));
    this.#ctx.metrics.errors.inc({ frontend: 'mqtt', code: accepted.code });
    this.#close(null, accepted.reason);
  }

  /**
   * A connection that closed while its CONNECT was being accepted gives back what it got; the
   * session is in the store again when this resolves.
   */
  #release(accepted: ConnectAccepted): Promise<void> {
    accepted.quota?.release();
    accepted.auth.close();
    const { session } = accepted;
    if (this.#ctx.clients.get(session.clientId) === this) this.#ctx.clients.delete(session.clientId);
    const kept = session.expiryIntervalS > 0 ? this.#ctx.sessions.keep(session) : Promise.resolve();
    return kept.catch((error: unknown) => this.#logger.warn({ err: error }, 'MQTT session not kept'));
  }

  #open(accepted: ConnectAccepted): void {
    const ctx = this.#ctx;
    const { packet, session, auth } = accepted;
    this.#version = accepted.version;
    this.#decoder.setVersion(accepted.version);
    this.#auth = auth;
    this.#quota = accepted.quota;
    this.#logger = this.#logger.child({ clientId: session.clientId });
    const broker: Broker = ctx.security?.enabled === true ? guardBroker(ctx.broker, auth) : ctx.broker;
    const client: MqttClient = {
      clientId: session.clientId,
      version: accepted.version,
      auth,
      broker,
      session,
      send: (p) => this.#send(p),
      deliverRetained: (messages, subscription) => this.#delivery?.queueRetained(messages, subscription),
      publish: (message) =>
        publishMessage(
          {
            broker,
            autoCreateTopics: ctx.limits.mqttAutoCreateTopics,
            topicCreator: ctx.topicCreator,
            retained: ctx.extensions.retained,
            metrics: ctx.metrics,
          },
          message,
          Date.now(),
        ),
    };
    this.#client = client;
    const properties = packet.properties;
    this.#clientPacketBytesMax = properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY;
    this.#problemInformation = properties?.requestProblemInformation !== false;
    const inFlightMax = Math.min(ctx.limits.mqttOutboundInFlightMax, properties?.receiveMaximum ?? 65535);
    this.#publisher = new InboundPublisher({
      broker,
      version: accepted.version,
      session,
      autoCreateTopics: ctx.limits.mqttAutoCreateTopics,
      topicAliasMax: accepted.topicAliasMax,
      retained: ctx.extensions.retained,
      topicCreator: ctx.topicCreator,
      producing: (topic) => this.#appending.set(topic, (this.#appending.get(topic) ?? 0) + 1),
      produced: (topic, offsets) => this.#rememberPublished(topic, offsets),
      logger: this.#logger,
      metrics: ctx.metrics,
    });
    const connection = this;
    this.#delivery = new Delivery({
      broker,
      session,
      sink: {
        version: accepted.version,
        get packetBytesMax() {
          return connection.#clientPacketBytesMax;
        },
        topicAliasMax: accepted.version === 5 ? (properties?.topicAliasMaximum ?? 0) : 0,
        get bufferedBytes() {
          return connection.#stream.writableLength;
        },
        write: (bytes) => this.#write(bytes),
      },
      inFlightMax,
      creditRecords: inFlightMax,
      sendBufferedBytesMax: ctx.limits.mqttSendBufferedBytesMax,
      retainedQueuedMax: ctx.limits.mqttRetainedMessagesMax,
      ...(ctx.extensions.retained?.recordAt === undefined
        ? {}
        : { retainedRecordAt: (offset: number) => ctx.extensions.retained!.recordAt!(offset) }),
      canRead: (topic) => mayRead(client, topic),
      publishedHere: (topic, partition, offset) =>
        this.#published.has(`${topic}\u0000${partition}\u0000${offset}`) ||
        (this.#appending.has(topic) ? undefined : false),
      logger: this.#logger,
      metrics: ctx.metrics,
    });
    this.#keepAliveMs = accepted.keepAliveS * 1500;
    ctx.topicWatchers.add(this.#topicCreated);
    clearTimeout(this.#timer);
    this.#state = 'open';
    this.#unlistenAuth = auth.onEnd((error) => {
      this.#logger.debug({ code: error.code }, 'MQTT session ended');
      this.#close(ReasonCode.NotAuthorized, error.message);
    });
    this.#send(accepted.connack);
    ctx.extensions.wills?.connected(client, packet.will ?? null, packet.clean !== false);
    ctx.extensions.shared?.resumed?.(client).catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'MQTT shared subscriptions not resumed');
    });
    // Packets sent right behind CONNECT, read now in the connection's version.
    try {
      this.#readPackets();
    } catch (error) {
      this.#protocolError(error);
      return;
    }
    this.#armKeepAlive();
    this.#logger.debug(
      { version: accepted.version, principal: auth.principal.name },
      'MQTT client connected',
    );
    this.#delivery.start().catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'MQTT delivery failed to start');
      this.#close(ReasonCode.UnspecifiedError, 'delivery failed');
    });
  }

  /** A topic was created by an MQTT publish: a filter may be waiting for it. */
  readonly #topicCreated = (): void => {
    if (this.#delivery?.watchesNewTopics === true) void this.#delivery.subscriptionsChanged();
  };

  #publish(packet: Extract<Packet, { cmd: 'publish' }>): void {
    const publisher = this.#publisher as InboundPublisher;
    if (packet.qos > 0 && this.#version === 5) {
      // MQTT 5 §3.3.4: more unfinished QoS 1/2 exchanges than our Receive Maximum is an error.
      this.#openExchanges.add(packet.messageId as number);
      if (this.#openExchanges.size > this.#ctx.limits.mqttInboundInFlightMax) {
        this.#close(
          ReasonCode.ReceiveMaximumExceeded,
          'more unacknowledged PUBLISH packets than Receive Maximum',
        );
        return;
      }
    }
    this.#publishing++;
    // Started now (produces begin in arrival order); a throw becomes a rejection the answer chain handles.
    const outcome = (async () => publisher.publish(packet))();
    void this.#answerInOrder(async () => this.#answerPublish(packet, await outcome)).finally(() => {
      this.#publishing--;
      this.#updateReading();
      if (this.#inbox.length > 0) this.#handleInbox();
    });
  }

  /**
   * Runs `answer` after the answers before it. A failure closes the connection and never breaks
   * the chain (nor becomes an unhandled rejection that would take the process down).
   */
  #answerInOrder(answer: () => Promise<void> | void): Promise<void> {
    const next = this.#answers.then(answer).catch((error: unknown) => {
      this.#logger.error({ err: error }, 'MQTT answer failed');
      this.#close(ReasonCode.UnspecifiedError, 'internal error');
    });
    this.#answers = next;
    return next;
  }

  #answerPublish(packet: Extract<Packet, { cmd: 'publish' }>, outcome: PublishOutcome): void {
    if (this.#state !== 'open') return;
    if (outcome.kind === 'disconnect') {
      this.#close(outcome.reasonCode, outcome.reason);
      return;
    }
    if (outcome.kind === 'none' || packet.qos === 0) return;
    // The exchange ends with the PUBACK, or with a refusing PUBREC (a QoS 2 one ends at PUBCOMP).
    if (packet.qos === 1 || outcome.reasonCode >= 0x80)
      this.#openExchanges.delete(packet.messageId as number);
    const v5 = this.#version === 5;
    // MQTT 5 Request Problem Information 0: no reason strings on acknowledgements (§3.1.2.11.7).
    const failed = outcome.reasonCode >= 0x80 && this.#problemInformation;
    this.#send({
      cmd: packet.qos === 1 ? 'puback' : 'pubrec',
      messageId: packet.messageId as number,
      ...(v5 && outcome.reasonCode !== 0 ? { reasonCode: outcome.reasonCode } : {}),
      ...(v5 && failed && outcome.reason !== undefined
        ? { properties: { reasonString: outcome.reason } }
        : {}),
    });
  }

  #rememberPublished(topic: string, offsets: readonly { partition: number; offset: number }[]): void {
    for (const { partition, offset } of offsets) {
      this.#published.add(`${topic}\u0000${partition}\u0000${offset}`);
      if (this.#published.size > PUBLISHED_REMEMBERED_MAX) {
        this.#published.delete(this.#published.values().next().value as string);
      }
    }
    const appending = (this.#appending.get(topic) ?? 1) - 1;
    if (appending > 0) this.#appending.set(topic, appending);
    else this.#appending.delete(topic);
    // A No Local subscription may be waiting to know whether a record was this client's own.
    this.#delivery?.pump();
  }

  #send(packet: Packet): void {
    if (this.#state === 'closed') return;
    let bytes: Buffer;
    try {
      bytes = encodePacket(packet, this.#version);
    } catch (error) {
      this.#logger.error({ err: error, cmd: packet.cmd }, 'MQTT packet not encodable');
      return;
    }
    // MQTT 5: never more than the client's maximum (reason strings are dropped by the codec first).
    if (bytes.length > this.#clientPacketBytesMax) return;
    this.#write(bytes);
  }

  #write(bytes: Buffer): void {
    if (this.#state === 'closed' || this.#stream.destroyed) return;
    this.#stream.write(bytes);
  }

  #armKeepAlive(): void {
    clearTimeout(this.#timer);
    if (this.#keepAliveMs === 0 || this.#state !== 'open') return;
    const wait = this.#lastPacketAt + this.#keepAliveMs - Date.now();
    if (wait <= 0) {
      this.#close(ReasonCode.KeepAliveTimeout, 'keep-alive timeout');
      return;
    }
    this.#timer = setTimeout(() => this.#armKeepAlive(), wait);
  }

  #connectTimedOut(): void {
    if (this.#state === 'awaiting-connect' || this.#state === 'connecting') {
      this.#close(null, 'no CONNECT in time');
    }
  }

  #protocolError(error: unknown): void {
    const reasonCode = error instanceof MqttPacketError ? error.reasonCode : ReasonCode.ProtocolError;
    const reason = error instanceof Error ? error.message : String(error);
    this.#ctx.metrics.errors.inc({ frontend: 'mqtt', code: 'PROTOCOL_ERROR' });
    this.#logger.debug({ reasonCode, reason }, 'MQTT protocol error');
    this.#close(reasonCode, reason);
  }

  /**
   * Ends the connection: an MQTT 5 client that is connected gets DISCONNECT `reasonCode`
   * first (null: none, e.g. the client disconnected), then the stream ends.
   */
  #close(reasonCode: number | null, reason: string): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    if (wasOpen && reasonCode !== null && this.#version === 5) {
      const shortReason = reason.slice(0, 200);
      this.#send({ cmd: 'disconnect', reasonCode, properties: { reasonString: shortReason } });
    }
    this.#logger.debug({ reasonCode, reason }, 'MQTT connection closing');
    this.#detach(wasOpen);
    this.#state = 'closed';
    this.#stream.end();
    // A peer that does not read may never let `end` finish.
    setTimeout(() => this.#stream.destroy(), 2000).unref();
  }

  /** Stops delivery and hands the session back to the store (or to the connection taking over). */
  #detach(wasOpen: boolean): void {
    clearTimeout(this.#timer);
    this.#delivery?.stop();
    this.#ctx.topicWatchers.delete(this.#topicCreated);
    const client = this.#client;
    if (!wasOpen || client === null) return;
    this.#unlistenAuth();
    this.#ctx.extensions.shared?.ended(client);
    // A takeover publishes the will too (MQTT 5 §3.1.4), unless the new connection takes the
    // session back within the will delay.
    this.#ctx.extensions.wills?.ended(client, this.#gracefulDisconnect);
    if (this.#ctx.clients.get(client.clientId) === this) this.#ctx.clients.delete(client.clientId);
    if (!this.#takenOver) {
      const session = client.session;
      const store = this.#ctx.sessions;
      const kept = session.expiryIntervalS > 0 ? store.keep(session) : store.discard(session.clientId);
      kept.catch((error: unknown) => this.#logger.warn({ err: error }, 'MQTT session not kept'));
    }
  }

  #cleanup(): void {
    if (this.#state !== 'closed') this.#close(null, 'stream closed');
    clearTimeout(this.#timer);
    this.#quota?.release();
    this.#quota = undefined;
    this.#auth?.close();
    if (this.#resolveClosed !== null) {
      this.#ctx.metrics.connections.dec({ frontend: 'mqtt' });
      this.#resolveClosed();
      this.#resolveClosed = null;
    }
  }
}
