/**
 * @module server/front/mqtt/reason-codes
 * MQTT 5 reason codes (MQTT 5.0 §2.4) used by the front end, the 3.1.1 CONNACK return codes,
 * and the mapping from Tributary's typed errors onto both.
 */
import { isTributaryError } from '../../../errors.js';

export const ReasonCode = {
  Success: 0x00,
  GrantedQos1: 0x01,
  GrantedQos2: 0x02,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QosNotSupported: 0x9b,
  ServerShuttingDown: 0x8b,
  SharedSubscriptionsNotSupported: 0x9e,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
export const ConnackV3 = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** The 3.1.1 CONNACK return code closest to an MQTT 5 CONNACK reason code. */
export function connackCodeV3(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.Success:
      return ConnackV3.Accepted;
    case ReasonCode.UnsupportedProtocolVersion:
      return ConnackV3.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid:
      return ConnackV3.IdentifierRejected;
    case ReasonCode.BadUserNameOrPassword:
    case ReasonCode.BadAuthenticationMethod:
      return ConnackV3.BadUserNameOrPassword;
    case ReasonCode.NotAuthorized:
    // A will topic no message can be published to: not a reason to come back later.
    case ReasonCode.TopicNameInvalid:
      return ConnackV3.NotAuthorized;
    default:
      return ConnackV3.ServerUnavailable;
  }
}

/** The MQTT 5 reason code for an error a broker call threw (PUBACK, SUBACK, DISCONNECT). */
export function reasonCodeOf(error: unknown): number {
  if (!isTributaryError(error)) return ReasonCode.UnspecifiedError;
  switch (error.code) {
    case 'TOPIC_ACCESS_DENIED':
    case 'GROUP_ACCESS_DENIED':
    case 'CLUSTER_ACCESS_DENIED':
    case 'TOKEN_EXPIRED':
    case 'ACCESS_REVOKED':
      return ReasonCode.NotAuthorized;
    case 'INVALID_TOPIC_NAME':
      return ReasonCode.TopicNameInvalid;
    case 'RECORD_TOO_LARGE':
      return ReasonCode.PacketTooLarge;
    case 'QUOTA_EXCEEDED':
    case 'RESOURCE_EXHAUSTED':
      return ReasonCode.QuotaExceeded;
    case 'SHUTTING_DOWN':
    case 'LOG_CLOSED':
      return ReasonCode.ServerShuttingDown;
    case 'STORAGE_ERROR':
    case 'PARTITION_DAMAGED':
    case 'TOPIC_DAMAGED':
      return ReasonCode.ServerUnavailable;
    default:
      return ReasonCode.UnspecifiedError;
  }
}

/** Reason codes MQTT 5 allows in PUBACK and PUBREC (§3.4.2.1, §3.5.2.1) and in SUBACK (§3.9.3). */
const ALLOWED: Record<'puback' | 'suback', ReadonlySet<number>> = {
  puback: new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]),
  suback: new Set([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]),
};

/**
 * `reasonCode` if `packet` may carry it, else Unspecified error (0x80). A code a packet may not
 * carry (Server unavailable in a PUBACK, say) makes clients drop the connection instead of
 * seeing the refusal, and the message stays unacknowledged.
 */
export function reasonCodeFor(packet: 'puback' | 'suback', reasonCode: number): number {
  return ALLOWED[packet].has(reasonCode) ? reasonCode : ReasonCode.UnspecifiedError;
}
