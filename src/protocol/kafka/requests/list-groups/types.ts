/**
 * @module protocol/kafka/requests/list-groups/types
 * ListGroups (key 16): the groups a broker coordinates. Fields of v0–v2; the comment on each
 * says which versions carry it and what it is where they do not.
 */

/** No fields before v4 (states filter). */
export interface ListGroupsRequest {
  /** v4+: only groups in these states (e.g. "Stable", "Empty"); [] (all) before and by default. */
  readonly statesFilter?: readonly string[];
  /** v5+: only groups of these types ("classic", "consumer", …); [] (all) before and by default. */
  readonly typesFilter?: readonly string[];
}

export interface ListGroupsResponseGroup {
  readonly groupId: string;
  readonly protocolType: string;
  /** v4+; '' before and by default. */
  readonly groupState?: string;
  /** v5+ ("classic" for Kafka's rebalance protocol); '' before and by default. */
  readonly groupType?: string;
}

export interface ListGroupsResponse {
  /** v1+; 0 before. */
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly groups: readonly ListGroupsResponseGroup[];
}
