/**
 * @module protocol/kafka/requests/leave-group/types
 * LeaveGroup (key 13): members leave a group. v1–v2 name one member; v3 (KIP-345) carries a
 * batch of member identities and answers per member. Fields of v1–v3; the comment on each says
 * which versions carry it and what it is where they do not.
 */

export interface LeaveGroupRequestMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** v5+: why the member leaves, for the broker's log; null before and by default. */
  readonly reason?: string | null;
}

export interface LeaveGroupRequest {
  readonly groupId: string;
  /** v1–v2 only; '' in v3. */
  readonly memberId: string;
  /** v3+; [] before. */
  readonly members: readonly LeaveGroupRequestMember[];
}

export interface LeaveGroupResponseMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly errorCode: number;
}

export interface LeaveGroupResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  /** v3+; [] before. */
  readonly members: readonly LeaveGroupResponseMember[];
}
