/**
 * @module protocol/kafka/requests/delete-topics/types
 * DeleteTopics (key 20). Fields of v0–v3; the comment on each says which versions carry it and
 * what it is where they do not.
 */

export interface DeleteTopicsRequestTopic {
  /** Null when the topic is named by id. */
  readonly name: string | null;
  /** The zero UUID when the topic is named by name. */
  readonly topicId: string;
}

export interface DeleteTopicsRequest {
  /** v0–v5; [] from v6 (see `topics`). */
  readonly topicNames: readonly string[];
  /** v6+, by name or by id; [] before (see `topicNames`). */
  readonly topics?: readonly DeleteTopicsRequestTopic[];
  readonly timeoutMs: number;
}

export interface DeleteTopicsResponseTopic {
  /** Null only from v6 on, for a topic named by an id that is unknown. */
  readonly name: string | null;
  /** v6+; the zero UUID before and by default. */
  readonly topicId?: string;
  readonly errorCode: number;
  /** v5+; null before and by default. */
  readonly errorMessage?: string | null;
}

export interface DeleteTopicsResponse {
  /** v1+; 0 before. */
  readonly throttleTimeMs: number;
  readonly responses: readonly DeleteTopicsResponseTopic[];
}
