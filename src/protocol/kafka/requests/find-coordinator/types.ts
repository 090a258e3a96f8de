/**
 * @module protocol/kafka/requests/find-coordinator/types
 * FindCoordinator (key 10): which broker coordinates a group or transactional id. Fields of
 * v0–v2; the comment on each says which versions carry it and what it is where they do not.
 */

export interface FindCoordinatorRequest {
  /** The group id (key type 0) or transactional id (key type 1). v0–v3; '' from v4 (see `coordinatorKeys`). */
  readonly key: string;
  /** v1+; 0 (group) before. */
  readonly keyType: number;
  /** v4+: several keys of `keyType` at once (KIP-699); [] before. */
  readonly coordinatorKeys?: readonly string[];
}

/** v4+: the answer for one of `coordinatorKeys`. */
export interface FindCoordinatorResponseCoordinator {
  readonly key: string;
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
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
  /**
   * v4+, one per requested key; [] before. From v4 the single-key fields above are not on the
   * wire (they decode as error 0, node -1, host '', port -1).
   */
  readonly coordinators?: readonly FindCoordinatorResponseCoordinator[];
}
