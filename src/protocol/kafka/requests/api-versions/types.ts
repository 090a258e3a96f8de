/**
 * @module protocol/kafka/requests/api-versions/types
 * ApiVersions (key 18): which API versions the broker supports. Fields of every implemented
 * version; the comment on each says which versions carry it and what it is where they do not.
 */

export interface ApiVersionsRequest {
  /** v3+; '' before. */
  readonly clientSoftwareName: string;
  /** v3+; '' before. */
  readonly clientSoftwareVersion: string;
}

export interface ApiVersionsResponseKey {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface ApiVersionsResponse {
  readonly errorCode: number;
  readonly apiKeys: readonly ApiVersionsResponseKey[];
  /** v1+; 0 before. */
  readonly throttleTimeMs: number;
}
