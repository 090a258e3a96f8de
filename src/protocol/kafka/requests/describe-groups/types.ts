/**
 * @module protocol/kafka/requests/describe-groups/types
 * DescribeGroups (key 15): state and members of groups. Fields of v0–v4; the comment on each
 * says which versions carry it and what it is where they do not.
 */

export interface DescribeGroupsRequest {
  readonly groups: readonly string[];
  /** v3+; false before. */
  readonly includeAuthorizedOperations: boolean;
}

export interface DescribeGroupsResponseMember {
  readonly memberId: string;
  /** v4+; null before. */
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Only filled in when the group is Stable. */
  readonly memberMetadata: Uint8Array;
  /** Only filled in when the group is Stable. */
  readonly memberAssignment: Uint8Array;
}

export interface DescribeGroupsResponseGroup {
  readonly errorCode: number;
  readonly groupId: string;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable, Dead; '' if unknown. */
  readonly groupState: string;
  readonly protocolType: string;
  /** The selected assignor, when Stable; '' otherwise. */
  readonly protocolData: string;
  readonly members: readonly DescribeGroupsResponseMember[];
  /** v3+; -2147483648 (not requested) before. */
  readonly authorizedOperations: number;
}

export interface DescribeGroupsResponse {
  /** v1+; 0 before. */
  readonly throttleTimeMs: number;
  readonly groups: readonly DescribeGroupsResponseGroup[];
}

/** `authorizedOperations` when they were not asked for (INT32 min, Kafka's default). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
