/**
 * @module server/front/mqtt/connect
 * CONNECT → CONNACK (MQTT §3.1, §3.2): the protocol level (4 = 3.1.1, 5 = 5.0; others get
 * "unacceptable protocol version"), the client id (an empty one is assigned, MQTT 5 clients are
 * told it), authentication (`authenticate.ts`), the principal's connection quota, takeover of a
 * client id held by another connection (same principal only), and the session: a clean start
 * discards any stored session, otherwise the stored one (or the one taken over) is resumed.
 *
 * @example
 * const result = await acceptConnect(ctx, packet, { certificate, info, logger, self });
 * if (!result.ok) socket.write(connectRefusal(result.reasonCode, 5));
 */
import { randomUUID } from 'node:crypto';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type { Logger } from 'pino';
import { isTributaryError } from '../../../errors.js';
import type { QuotaLease } from '../../auth/quotas.js';
import type { ConnectionInfo, Session } from '../../auth/types.js';
import { authenticateConnect } from './authenticate.js';
import { connectProtocol, encodePacket, type MqttVersion, UNSUPPORTED_VERSION_CONNACK_V3 } from './codec.js';
import { type MqttClaim, type MqttContext, type RegisteredClient, TOPIC_ALIAS_MAX } from './context.js';
import { connackCodeV3, ReasonCode } from './reason-codes.js';
import { MqttSession } from './session.js';
import { checkWill } from './will.js';

/** Longest client id accepted (MQTT asks servers to allow at least 23 characters). */
export const CLIENT_ID_LENGTH_MAX = 256;
/** MQTT 3.1.1 clean session false: the session never expires. */
const NEVER_EXPIRES_S = 0xffffffff;

export interface ConnectAccepted {
  readonly ok: true;
  readonly version: MqttVersion;
  readonly packet: IConnectPacket;
  readonly session: MqttSession;
  readonly auth: Session;
  readonly quota: QuotaLease | undefined;
  readonly connack: IConnackPacket;
  /** Keep-alive in force, seconds; 0: none. */
  readonly keepAliveS: number;
  readonly topicAliasMax: number;
}

export interface ConnectRefused {
  readonly ok: false;
  /**
   * Accepted, but a newer CONNECT of the client id claimed it meanwhile (on another gateway): the
   * connection gets CONNACK and at once DISCONNECT 0x8E, with no session read or stored.
   */
  readonly takenOver?: true;
  /** MQTT 5 CONNACK reason code (3.1.1 gets the closest return code). */
  readonly reasonCode: number;
  /** For the log. */
  readonly reason: string;
  /** Error code for `tributary_errors_total`. */
  readonly code: string;
}

/**
 * The refusal of a CONNECT whose protocol is not served, as bytes to send before closing; null
 * when the packet is MQTT 3.1.1 or 5 (or not a CONNECT at all, which the decoder refuses).
 */
export function peekConnect(bytes: Buffer): { readonly bytes: Buffer; readonly reason: string } | null {
  const protocol = connectProtocol(bytes);
  if (protocol === null) return null;
  if (protocol.name === 'MQTT' && (protocol.level === 4 || protocol.level === 5)) return null;
  return {
    bytes: UNSUPPORTED_VERSION_CONNACK_V3,
    reason: `protocol ${JSON.stringify(protocol.name)} level ${protocol.level} is not served`,
  };
}

/** The CONNACK refusing a connection. */
export function connectRefusal(reasonCode: number, version: MqttVersion): Buffer {
  return version === 5
    ? encodePacket({ cmd: 'connack', sessionPresent: false, reasonCode }, 5)
    : encodePacket({ cmd: 'connack', sessionPresent: false, returnCode: connackCodeV3(reasonCode) }, 4);
}

/**
 * What a CONNECT overtaken by a newer one of its client id hears (`ConnectRefused.takenOver`):
 * CONNACK, then for MQTT 5 DISCONNECT 0x8E (Session taken over), as any connection taken over.
 */
export function takenOverAtOnce(version: MqttVersion): Buffer {
  if (version === 4) return encodePacket({ cmd: 'connack', sessionPresent: false, returnCode: 0 }, 4);
  return Buffer.concat([
    encodePacket({ cmd: 'connack', sessionPresent: false, reasonCode: ReasonCode.Success }, 5),
    encodePacket({ cmd: 'disconnect', reasonCode: ReasonCode.SessionTakenOver }, 5),
  ]);
}

function refused(reasonCode: number, reason: string, code: string): ConnectRefused {
  return { ok: false, reasonCode, reason, code };
}

export async function acceptConnect(
  ctx: MqttContext,
  packet: IConnectPacket,
  connection: {
    readonly certificate: string | null;
    readonly info: ConnectionInfo;
    readonly logger: Logger;
    readonly self: RegisteredClient;
    /**
     * Opens the connection with what was accepted, or gives it back when the connection closed
     * meanwhile; runs before the next CONNECT of the client id may take over.
     */
    readonly settle: (accepted: ConnectAccepted) => Promise<void>;
  },
): Promise<ConnectAccepted | ConnectRefused> {
  const version: MqttVersion = packet.protocolVersion === 5 ? 5 : 4;
  if (ctx.closing()) return refused(ReasonCode.ServerUnavailable, 'server shutting down', 'SHUTTING_DOWN');
  if (packet.properties?.authenticationMethod !== undefined) {
    return refused(ReasonCode.BadAuthenticationMethod, 'enhanced authentication', 'UNAUTHENTICATED');
  }
  let clientId = packet.clientId;
  const assigned = clientId === '';
  if (assigned) {
    // 3.1.1 §3.1.3-8: an empty client id needs a clean session.
    if (version === 4 && packet.clean === false) {
      return refused(
        ReasonCode.ClientIdentifierNotValid,
        'empty client id without clean session',
        'INVALID_ARGUMENT',
      );
    }
    clientId = `tributary-${randomUUID()}`;
  } else if (clientId.length > CLIENT_ID_LENGTH_MAX) {
    return refused(ReasonCode.ClientIdentifierNotValid, 'client id too long', 'INVALID_ARGUMENT');
  }

  let auth: Session;
  try {
    auth = await authenticateConnect(
      ctx.security,
      packet.username,
      packet.password,
      connection.certificate,
      connection.info,
    );
  } catch (error) {
    if (isTributaryError(error, 'UNAUTHENTICATED')) {
      return refused(ReasonCode.BadUserNameOrPassword, 'authentication failed', 'UNAUTHENTICATED');
    }
    connection.logger.error({ err: error }, 'MQTT authentication failed');
    return refused(ReasonCode.UnspecifiedError, 'authentication error', 'INTERNAL');
  }
  const principal = auth.principal.name;
  let quota: QuotaLease | undefined;
  try {
    quota = ctx.quotas?.connect(principal);
  } catch (error) {
    auth.close();
    if (!isTributaryError(error, 'QUOTA_EXCEEDED')) throw error;
    return refused(ReasonCode.QuotaExceeded, 'connection quota', 'QUOTA_EXCEEDED');
  }
  const giveBack = (): void => {
    quota?.release();
    auth.close();
  };
  if (ctx.closing()) {
    giveBack();
    return refused(ReasonCode.ServerUnavailable, 'server shutting down', 'SHUTTING_DOWN');
  }

  // A will that could never be published is refused now, not when the connection ends.
  const willRefusal = packet.will == null ? null : checkWill(packet, auth);
  if (willRefusal !== null) {
    giveBack();
    return refused(willRefusal.reasonCode, willRefusal.reason, willRefusal.code);
  }

  // Across gateways first, outside this gateway's turn for the client id (the other gateway
  // answers within its own turn): its connection ends and its session is stored before this one
  // reads the store. An assigned client id is new everywhere.
  let claim: MqttClaim | undefined;
  if (ctx.peers !== undefined && !assigned) {
    let allowed: MqttClaim | false;
    try {
      allowed = await ctx.peers.takeOver(clientId, principal, packet.clean !== false);
    } catch (error) {
      giveBack();
      connection.logger.error({ err: error }, 'MQTT takeover across gateways failed');
      const code = isTributaryError(error) ? error.code : 'INTERNAL';
      return refused(ReasonCode.ServerUnavailable, 'takeover across gateways failed', code);
    }
    if (allowed === false) {
      giveBack();
      return refused(ReasonCode.NotAuthorized, 'client id held by another principal', 'UNAUTHENTICATED');
    }
    claim = allowed;
  }

  // From takeover to open, CONNECTs of one client id go one at a time: one taken over while its
  // session was being read could otherwise give back a stale copy after its successor read the store.
  return ctx.connects.run(clientId, () =>
    takeOverAndAccept(ctx, packet, connection, { version, clientId, assigned, auth, quota, giveBack, claim }),
  );
}

async function takeOverAndAccept(
  ctx: MqttContext,
  packet: IConnectPacket,
  connection: Parameters<typeof acceptConnect>[2],
  accepting: {
    readonly version: MqttVersion;
    readonly clientId: string;
    readonly assigned: boolean;
    readonly auth: Session;
    readonly quota: QuotaLease | undefined;
    readonly giveBack: () => void;
    /** This CONNECT's claim across gateways (none on a single server). */
    readonly claim: MqttClaim | undefined;
  },
): Promise<ConnectAccepted | ConnectRefused> {
  const { version, clientId, assigned, auth, quota, giveBack, claim } = accepting;
  const principal = auth.principal.name;
  if (ctx.closing()) {
    giveBack();
    return refused(ReasonCode.ServerUnavailable, 'server shutting down', 'SHUTTING_DOWN');
  }
  if (claim !== undefined && ctx.peers !== undefined) {
    // A newer CONNECT claimed the client id since: it owns the client id and the session, and
    // its gateway may have read the session already, so this one neither reads nor stores it.
    let held: boolean;
    try {
      held = await ctx.peers.holds(clientId, claim);
    } catch (error) {
      giveBack();
      connection.logger.error({ err: error }, 'MQTT client id claim not read');
      return refused(ReasonCode.ServerUnavailable, 'client id claim not read', 'STORAGE_ERROR');
    }
    if (!held) {
      giveBack();
      return {
        ...refused(ReasonCode.SessionTakenOver, 'session taken over', 'SESSION_TAKEN_OVER'),
        takenOver: true,
      };
    }
  }
  // Takeover (§3.1.4-3), synchronously with the registration so two CONNECTs cannot both win.
  const previous = ctx.clients.get(clientId);
  if (previous !== undefined && previous.principal !== principal) {
    giveBack();
    return refused(ReasonCode.NotAuthorized, 'client id held by another principal', 'UNAUTHENTICATED');
  }
  const takenOver = previous?.takeOver() ?? null;
  connection.self.claimRevision = claim?.revision;
  ctx.clients.set(clientId, connection.self);

  const clean = packet.clean !== false;
  let session: MqttSession | null = null;
  try {
    if (clean) {
      await ctx.sessions.discard(clientId);
    } else {
      session = takenOver ?? (await ctx.sessions.take(clientId));
      if (session !== null && session.principal !== principal) {
        // A stored session of another principal is neither given nor disclosed: start anew.
        session = null;
      }
    }
  } catch (error) {
    if (ctx.clients.get(clientId) === connection.self) ctx.clients.delete(clientId);
    giveBack();
    connection.logger.error({ err: error }, 'MQTT session store failed');
    return refused(ReasonCode.ServerUnavailable, 'session store failed', 'STORAGE_ERROR');
  }
  const sessionPresent = session !== null;
  session ??= new MqttSession(clientId, principal);
  const requestedExpiryS =
    version === 5 ? (packet.properties?.sessionExpiryInterval ?? 0) : clean ? 0 : NEVER_EXPIRES_S;
  // mqttSessionExpiryMsMax caps it (MQTT 5 clients are told in CONNACK).
  const expiryMaxS = Math.ceil(ctx.limits.mqttSessionExpiryMsMax / 1000);
  session.expiryIntervalS = expiryMaxS > 0 ? Math.min(requestedExpiryS, expiryMaxS) : requestedExpiryS;
  if (session.expiryIntervalS > 0 && ctx.sessions.attach !== undefined) {
    try {
      // Stored before CONNACK: a session the client is told about survives a crash from now on.
      await ctx.sessions.attach(session, version);
    } catch (error) {
      if (ctx.clients.get(clientId) === connection.self) ctx.clients.delete(clientId);
      giveBack();
      connection.logger.error({ err: error }, 'MQTT session store failed');
      return refused(ReasonCode.ServerUnavailable, 'session store failed', 'STORAGE_ERROR');
    }
  }

  const keepAliveMaxS = Math.floor(ctx.limits.mqttKeepAliveMsMax / 1000);
  const requested = packet.keepalive ?? 0;
  const keepAliveS =
    keepAliveMaxS > 0 && (requested === 0 || requested > keepAliveMaxS) ? keepAliveMaxS : requested;
  const connack: IConnackPacket =
    version === 5
      ? {
          cmd: 'connack',
          sessionPresent,
          reasonCode: ReasonCode.Success,
          properties: {
            receiveMaximum: ctx.limits.mqttInboundInFlightMax,
            maximumPacketSize: ctx.limits.mqttPacketBytesMax,
            topicAliasMaximum: TOPIC_ALIAS_MAX,
            retainAvailable: ctx.extensions.retained !== undefined,
            wildcardSubscriptionAvailable: true,
            subscriptionIdentifiersAvailable: true,
            sharedSubscriptionAvailable: ctx.extensions.shared !== undefined,
            ...(assigned ? { assignedClientIdentifier: clientId } : {}),
            ...(keepAliveS !== requested ? { serverKeepAlive: keepAliveS } : {}),
            ...(session.expiryIntervalS !== requestedExpiryS
              ? { sessionExpiryInterval: session.expiryIntervalS }
              : {}),
          },
        }
      : { cmd: 'connack', sessionPresent, returnCode: 0 };
  const accepted: ConnectAccepted = {
    ok: true,
    version,
    packet,
    session,
    auth,
    quota,
    connack,
    keepAliveS,
    topicAliasMax: version === 5 ? TOPIC_ALIAS_MAX : 0,
  };
  await connection.settle(accepted);
  return accepted;
}

/**
 * Another gateway accepts a CONNECT of `clientId` (`MqttPeers.takeOver` there): the connection
 * of the client id here, if any, ends with DISCONNECT 0x8E; its session (or one kept here) is
 * stored and forgotten here; a will waiting for its delay is cancelled, or published with
 * `cleanStart`. False, changing nothing, when the client id is held here by another principal;
 * nothing either when the connection here claimed the client id after the request's `revision`.
 */
export function yieldClientId(
  ctx: MqttContext,
  clientId: string,
  principal: string,
  cleanStart: boolean,
  revision: number,
): Promise<boolean> {
  return ctx.connects.run(clientId, async () => {
    const previous = ctx.clients.get(clientId);
    if (previous !== undefined && previous.principal !== principal) return false;
    // Held here by a newer claim: the request's CONNECT is the one overtaken (it finds out itself).
    if ((previous?.claimRevision ?? 0) > revision) return true;
    const session = previous?.takeOver() ?? null;
    if (previous !== undefined) ctx.clients.delete(clientId);
    await ctx.sessions.handOff?.(clientId, session);
    ctx.extensions.wills?.connectedElsewhere?.(clientId, cleanStart);
    return true;
  });
}
