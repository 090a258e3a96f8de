/**
 * @module protocol/kafka/requests/list-groups/types
 * ListGroups (key 16): the groups a broker coordinates. Fields of v0–v2; the comment on each
 * says which versions carry it and what it is where they do not.
 */

/** No fields before v4 (states filter). */
export type ListGroupsRequest = Record<string, never>;

export interface ListGroupsResponseGroup {
  readonly groupId: string;
  readonly protocolType: string;
}

export interface ListGroupsResponse {
  /** v1+; 0 before. */
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly groups: readonly ListGroupsResponseGroup[];
}
