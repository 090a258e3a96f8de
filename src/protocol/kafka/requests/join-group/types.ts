/**
 * @module protocol/kafka/requests/join-group/types
 * JoinGroup (key 11): join (or rejoin) a consumer group. Fields of v2–v5; the comment on each
 * says which versions carry it and what it is where they do not.
 */

export interface JoinGroupRequestProtocol {
  /** An assignor name, e.g. `range`, `roundrobin`, `RoundRobinAssigner`. */
  readonly name: string;
  /** Opaque to the broker (ConsumerProtocolSubscription for protocol type `consumer`). */
  readonly metadata: Uint8Array;
}

export interface JoinGroupRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** '' on the first join. */
  readonly memberId: string;
  /** v5+ (static membership, KIP-345); null before. */
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: readonly JoinGroupRequestProtocol[];
}

export interface JoinGroupResponseMember {
  readonly memberId: string;
  /** v5+; null before. */
  readonly groupInstanceId: string | null;
  readonly metadata: Uint8Array;
}

export interface JoinGroupResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolName: string;
  readonly leader: string;
  readonly memberId: string;
  /** Every member for the leader; [] for the followers. */
  readonly members: readonly JoinGroupResponseMember[];
}
