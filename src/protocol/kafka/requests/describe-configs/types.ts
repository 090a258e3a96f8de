/**
 * @module protocol/kafka/requests/describe-configs/types
 * DescribeConfigs (key 32). Fields of v0–v4; the comment on each says which versions carry it
 * and what it is where they do not.
 */

/** Kafka's `ConfigResource.Type` codes. */
export const CONFIG_RESOURCE_TYPE = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** Kafka's `ConfigEntry.ConfigSource` codes (v1+). */
export const CONFIG_SOURCE = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Kafka's `ConfigEntry.ConfigType` codes (v3+). */
export const CONFIG_TYPE = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
} as const;

export interface DescribeConfigsResource {
  readonly resourceType: number;
  readonly resourceName: string;
  /** Null: every config of the resource. */
  readonly configurationKeys: readonly string[] | null;
}

export interface DescribeConfigsRequest {
  readonly resources: readonly DescribeConfigsResource[];
  /** v1+; false before. */
  readonly includeSynonyms: boolean;
  /** v3+; false before. */
  readonly includeDocumentation: boolean;
}

export interface DescribeConfigsSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface DescribeConfigsEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** v0 only (`isDefault`); from v1 derived from and replaced by `configSource`. */
  readonly isDefault: boolean;
  /** v1+ (CONFIG_SOURCE). */
  readonly configSource: number;
  readonly isSensitive: boolean;
  /** v1+; [] before. */
  readonly synonyms: readonly DescribeConfigsSynonym[];
  /** v3+ (CONFIG_TYPE); UNKNOWN before. */
  readonly configType: number;
  /** v3+; null before. */
  readonly documentation: string | null;
}

export interface DescribeConfigsResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly DescribeConfigsEntry[];
}

export interface DescribeConfigsResponse {
  readonly throttleTimeMs: number;
  readonly results: readonly DescribeConfigsResult[];
}
