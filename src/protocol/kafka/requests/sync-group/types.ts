/**
 * @module protocol/kafka/requests/sync-group/types
 * SyncGroup (key 14): the leader hands in the assignment, every member gets its own. Fields of
 * v1–v3; the comment on each says which versions carry it and what it is where they do not.
 */

export interface SyncGroupRequestAssignment {
  readonly memberId: string;
  /** Opaque to the broker (ConsumerProtocolAssignment for protocol type `consumer`). */
  readonly assignment: Uint8Array;
}

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  /** v3+; null before. */
  readonly groupInstanceId: string | null;
  /** v5+; null before and by default. */
  readonly protocolType?: string | null;
  /** v5+; null before and by default. */
  readonly protocolName?: string | null;
  /** The leader's assignment of every member; [] from the followers. */
  readonly assignments: readonly SyncGroupRequestAssignment[];
}

export interface SyncGroupResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  /** v5+; null before and by default. */
  readonly protocolType?: string | null;
  /** v5+; null before and by default. */
  readonly protocolName?: string | null;
  readonly assignment: Uint8Array;
}
