/**
 * @module protocol/kafka/requests/heartbeat/types
 * Heartbeat (key 12): a member is alive; the answer says whether a rebalance is under way.
 * Fields of v1–v3; the comment on each says which versions carry it and what it is where they
 * do not.
 */

export interface HeartbeatRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  /** v3+; null before. */
  readonly groupInstanceId: string | null;
}

export interface HeartbeatResponse {
  readonly throttleTimeMs: number;
  /** 27 REBALANCE_IN_PROGRESS tells the member to rejoin. */
  readonly errorCode: number;
}
