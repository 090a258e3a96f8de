/**
 * @module protocol/kafka/requests/delete-topics/types
 * DeleteTopics (key 20). Fields of v0–v3; the comment on each says which versions carry it and
 * what it is where they do not.
 */

export interface DeleteTopicsRequest {
  readonly topicNames: readonly string[];
  readonly timeoutMs: number;
}

export interface DeleteTopicsResponseTopic {
  readonly name: string;
  readonly errorCode: number;
}

export interface DeleteTopicsResponse {
  /** v1+; 0 before. */
  readonly throttleTimeMs: number;
  readonly responses: readonly DeleteTopicsResponseTopic[];
}
