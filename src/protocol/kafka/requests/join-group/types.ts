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
  /** v8+: why the member (re)joins, for the broker's log; null before and by default. */
  readonly reason?: string | null;
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
  /** v7+: the group's protocol type; null before and by default. */
  readonly protocolType?: string | null;
  /** Null only from v7 on. */
  readonly protocolName: string | null;
  readonly leader: string;
  /** v9+ (KIP-814): the leader need not assign; false before and by default. */
  readonly skipAssignment?: boolean;
  readonly memberId: string;
  /** Every member for the leader; [] for the followers. */
  readonly members: readonly JoinGroupResponseMember[];
}
