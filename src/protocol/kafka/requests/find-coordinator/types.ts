/**
 * @module protocol/kafka/requests/find-coordinator/types
 * FindCoordinator (key 10): which broker coordinates a group or transactional id. Fields of
 * v0–v2; the comment on each says which versions carry it and what it is where they do not.
 */

export interface FindCoordinatorRequest {
  /** The group id (key type 0) or transactional id (key type 1). */
  readonly key: string;
  /** v1+; 0 (group) before. */
  readonly keyType: number;
}

export interface FindCoordinatorResponse {
  /** v1+; 0 before. */
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  /** v1+; null before. */
  readonly errorMessage: string | null;
  readonly nodeId: number;
  /** A host:port clients can reach: they connect to it. */
  readonly host: string;
  readonly port: number;
}
