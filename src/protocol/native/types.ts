/**
 * @module protocol/native/types
 * The frames of the native WebSocket protocol, version 1, as TypeScript types. `docs/protocol.md`
 * is the normative description; these types mirror it field for field. Byte strings are
 * `Uint8Array` (MessagePack `bin`, or base64 text in the JSON form); integers are plain numbers
 * within ±2^53.
 *
 * The protocol layer is independent of the server's types (it sits below them and runs in
 * browsers), so the shapes are spelled out here rather than imported.
 */

import type { AtomicRequestMap, WireIsolation } from './atomic-types.js';
import type {
  CollectionChangesFrame,
  CollectionRequestMap,
  CollectionSnapshotFrame,
} from './collection-types.js';
import type { StreamRequestMap } from './streams-types.js';
import type { SyncGroupRequestMap } from './sync-group-types.js';

export type * from './atomic-types.js';
export type * from './collection-types.js';
export type * from './streams-types.js';
export type * from './sync-group-types.js';

/** How a frame is encoded: a binary WebSocket message holding MessagePack, or a text message holding JSON. */
export type WireFormat = 'msgpack' | 'json';

export interface WireHeader {
  readonly key: string;
  readonly value: Uint8Array;
}

/** A record a client produces. `value: null` is a tombstone. */
export interface WireRecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly WireHeader[];
  /** Milliseconds since the epoch; default: the time of the append. */
  readonly timestamp?: number;
}

/** A record in `produce`: an explicit partition, else chosen by the server from the key. */
export interface WireProduceRecord extends WireRecordInput {
  readonly partition?: number;
}

/** A stored record as delivered or fetched. */
export interface WireRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly WireHeader[];
}

export type WireFsyncPolicy = 'always' | 'interval' | 'never';

export interface WireTopicConfig {
  readonly partitions: number;
  readonly fsync: WireFsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly retentionMs: number | null;
  readonly retentionBytes: number | null;
  readonly compact: boolean;
  readonly tombstoneRetentionMs: number;
  readonly segmentBytes: number;
  readonly segmentMs: number;
}

export interface WirePartitionDescription {
  readonly partition: number;
  readonly earliest: number;
  readonly next: number;
  readonly sizeBytes: number;
}

export interface WireTopicDescription {
  readonly name: string;
  readonly config: WireTopicConfig;
  readonly partitions: readonly WirePartitionDescription[];
}

export type WireStartPosition =
  | 'earliest'
  | 'latest'
  | { readonly offset: number }
  | { readonly timestamp: number };

export interface WireTopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface WireCommittedOffset extends WireTopicPartition {
  readonly offset: number;
}

/** An error as it travels: the catalogue code, the formatted message, the details and whether a retry can help. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
  readonly retriable: boolean;
}

/**
 * Credentials in `hello.auth` and `authenticate.auth`: a user name and password, an API key, or
 * a token (a JWT). Exactly one form; docs/security.md says which the server accepts.
 */
export type WireAuth =
  | { readonly username: string; readonly password: string }
  | { readonly apiKey: string }
  | { readonly token: string };

// biome-ignore lint/complexity/noBannedTypes: an empty result is the empty map `{}` on the wire.
type Empty = {};

/**
 * Every request type with its parameters and its result (collection requests:
 * `collection-types.ts`, sync-group requests: `sync-group-types.ts`, the atomic commit:
 * `atomic-types.ts`).
 */
export interface RequestMap
  extends CollectionRequestMap,
    SyncGroupRequestMap,
    AtomicRequestMap,
    StreamRequestMap {
  createTopic: {
    params: { readonly name: string; readonly config?: Partial<WireTopicConfig> };
    result: { readonly topic: WireTopicDescription };
  };
  deleteTopic: { params: { readonly name: string }; result: Empty };
  listTopics: { params: Empty; result: { readonly topics: readonly WireTopicDescription[] } };
  describeTopic: { params: { readonly name: string }; result: { readonly topic: WireTopicDescription } };
  produce: {
    params: { readonly topic: string; readonly records: readonly WireProduceRecord[] };
    result: { readonly offsets: readonly { readonly partition: number; readonly offset: number }[] };
  };
  appendBatch: {
    params: {
      readonly topic: string;
      readonly partition: number;
      readonly records: readonly WireRecordInput[];
      /** The three producer fields come together or not at all. */
      readonly producerId?: number;
      readonly producerEpoch?: number;
      readonly baseSequence?: number;
      readonly expectedLastOffset?: number;
    };
    result: {
      readonly baseOffset: number;
      readonly lastOffset: number;
      readonly timestamp: number;
      readonly duplicate: boolean;
    };
  };
  initProducer: { params: Empty; result: { readonly producerId: number; readonly producerEpoch: number } };
  fetch: {
    params: {
      readonly topic: string;
      readonly partition: number;
      readonly offset: number;
      readonly maxRecords?: number;
      readonly maxBytes?: number;
      /** Default `'uncommitted'`; `'committed'`: only records below the last stable offset, none of aborted commits. */
      readonly isolation?: WireIsolation;
    };
    result: { readonly records: readonly WireRecord[] };
  };
  offsets: {
    params: { readonly topic: string; readonly partition: number };
    /** `lastStable`: where committed readers stop (absent from older servers). */
    result: { readonly earliest: number; readonly next: number; readonly lastStable?: number };
  };
  subscribe: {
    params: {
      readonly topic: string;
      readonly partition: number;
      readonly from: WireStartPosition;
      readonly credit: number;
      /** Default `'uncommitted'`; `'committed'`: `latest` is the last stable offset, deliveries stop there. */
      readonly isolation?: WireIsolation;
    };
    result: { readonly sub: number; readonly position: number };
  };
  credit: { params: { readonly sub: number; readonly n: number }; result: Empty };
  unsubscribe: { params: { readonly sub: number }; result: Empty };
  joinGroup: {
    params: {
      readonly groupId: string;
      readonly topics: readonly string[];
      readonly sessionTimeoutMs?: number;
    };
    result: { readonly memberId: string };
  };
  heartbeat: { params: { readonly groupId: string; readonly memberId: string }; result: Empty };
  commit: {
    params: {
      readonly groupId: string;
      readonly memberId: string;
      readonly generation: number;
      readonly offsets: readonly WireCommittedOffset[];
    };
    result: Empty;
  };
  fetchOffsets: {
    params: { readonly groupId: string; readonly partitions: readonly WireTopicPartition[] };
    result: { readonly offsets: readonly WireCommittedOffset[] };
  };
  leaveGroup: { params: { readonly groupId: string; readonly memberId: string }; result: Empty };
  /**
   * Replaces the connection's credential without reconnecting (a token refresh). It must name
   * the principal the connection has; an ended (expired) session comes back, its ended
   * subscriptions do not.
   */
  authenticate: {
    params: { readonly auth: WireAuth };
    result: { readonly principal: string; readonly expiresAt: number | null };
  };
}

export type RequestType = keyof RequestMap;
export type RequestParams<T extends RequestType> = RequestMap[T]['params'];
export type RequestResult<T extends RequestType> = RequestMap[T]['result'];

/** A request frame: `type` names the request, `id` is chosen by the client and echoed in the response. */
export type RequestFrame<T extends RequestType = RequestType> = {
  [K in T]: { readonly type: K; readonly id: number } & RequestParams<K>;
}[T];

export interface HelloFrame {
  readonly type: 'hello';
  readonly protocol: number;
  /** `name/version` of the client library or application. */
  readonly client: string;
  /** The session this client had before a reconnect (advisory in version 1). */
  readonly resume?: { readonly sessionId: string };
  /** Credentials; without them the connection is anonymous (or `local` when security is off). */
  readonly auth?: WireAuth;
  /**
   * Optional protocol features the client can take (`batchDelivery`); names the server does not
   * know are ignored. The server answers with those it will use in `welcome.features`.
   */
  readonly features?: readonly string[];
}

export interface PingFrame {
  readonly type: 'ping';
  readonly nonce?: number;
}

export interface PongFrame {
  readonly type: 'pong';
  readonly nonce?: number;
}

/** Frames a client sends. */
export type ClientFrame = HelloFrame | PingFrame | PongFrame | RequestFrame;

export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly protocol: number;
  /** `name/version` of the server. */
  readonly server: string;
  readonly sessionId: string;
  /** The largest frame the server accepts; larger ones are answered with FRAME_TOO_LARGE and close 1009. */
  readonly maxFrameBytes: number;
  /** The server pings this often; a peer silent for two periods is considered gone. */
  readonly heartbeatMs: number;
  /** The principal the connection acts as (`local` when security is off); absent from older servers. */
  readonly principal?: string;
  /** When the connection's credential expires (ms since the epoch); absent: never. */
  readonly expiresAt?: number;
  /** The features of `hello.features` this connection uses; absent: none (or an older server). */
  readonly features?: readonly string[];
}

export type ResponseFrame =
  | { readonly type: 'response'; readonly id: number; readonly ok: unknown }
  | { readonly type: 'response'; readonly id: number; readonly error: WireError };

export interface DeliveryFrame {
  readonly type: 'delivery';
  readonly sub: number;
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly WireRecord[];
  readonly highWatermark: number;
}

export interface AssignmentFrame {
  readonly type: 'assignment';
  readonly groupId: string;
  readonly memberId: string;
  readonly generation: number;
  readonly partitions: readonly WireTopicPartition[];
}

/** A subscription ended by itself (topic deleted, server closing, storage failure). */
export interface SubscriptionClosedFrame {
  readonly type: 'subscriptionClosed';
  readonly sub: number;
  readonly error: WireError;
}

/** An error not tied to a request: an undecodable frame, a frame too large, a handshake violation. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly error: WireError;
}

/** Frames a server sends. */
export type ServerFrame =
  | WelcomeFrame
  | ResponseFrame
  | DeliveryFrame
  | AssignmentFrame
  | SubscriptionClosedFrame
  | CollectionSnapshotFrame
  | CollectionChangesFrame
  | ErrorFrame
  | PingFrame
  | PongFrame;

/** The WebSocket close codes the protocol uses. */
export const CLOSE_CODES = {
  /** The client or server closed on purpose. */
  normal: 1000,
  /** The server is shutting down; reconnect later. */
  goingAway: 1001,
  /** A handshake violation: a frame before `hello`, `hello` twice, an unsupported version, no `hello` in time. */
  protocolError: 1002,
  /** Too many protocol errors on one connection. */
  policyViolation: 1008,
  /** A frame larger than `maxFrameBytes`. */
  frameTooLarge: 1009,
  /** The server failed unexpectedly. */
  internalError: 1011,
  /** Nothing was received for two heartbeat periods. */
  heartbeatTimeout: 4000,
  /** Authentication at `hello` failed (after an `error` frame `UNAUTHENTICATED`); 401 in the private range. */
  unauthenticated: 4401,
} as const;
