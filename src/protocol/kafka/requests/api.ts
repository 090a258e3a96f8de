/**
 * @module protocol/kafka/requests/api
 * What each API folder exports: the body codecs of every version it implements, and the range
 * of versions the broker advertises in ApiVersions.
 *
 * @example
 * export const heartbeatApi = defineApi({
 *   apiKey: 12,
 *   name: 'Heartbeat',
 *   versions: [heartbeatV1, heartbeatV2, heartbeatV3],
 * });
 */

import { invalidArgument } from '../primitives/errors.js';
import type { Codec } from '../schema.js';

/** The request and response body codecs of one version of an API. */
export interface ApiVersionCodec<Req, Res> {
  readonly version: number;
  readonly request: Codec<Req>;
  readonly response: Codec<Res>;
}

export interface KafkaApi<Req, Res> {
  readonly apiKey: number;
  /** Kafka's name of the API (`ApiKeys` enum in PascalCase), e.g. `OffsetCommit`. */
  readonly name: string;
  /** Lowest version advertised in ApiVersions. */
  readonly minVersion: number;
  /** Highest version advertised in ApiVersions. */
  readonly maxVersion: number;
  /**
   * Codecs by version, `minVersion` to at least `maxVersion`: one may be implemented without
   * being advertised (ApiVersions v3 is read only to answer it in the v0 format).
   */
  readonly versions: readonly (ApiVersionCodec<Req, Res> | undefined)[];
}

export function apiVersion<Req, Res>(
  version: number,
  request: Codec<Req>,
  response: Codec<Res>,
): ApiVersionCodec<Req, Res> {
  return { version, request, response };
}

export interface DefineApiInput<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  /** Consecutive versions, lowest first. */
  readonly versions: readonly ApiVersionCodec<Req, Res>[];
  /** Highest version to advertise, when lower than the highest implemented. */
  readonly maxAdvertisedVersion?: number;
}

export function defineApi<Req, Res>(input: DefineApiInput<Req, Res>): KafkaApi<Req, Res> {
  const first = input.versions[0];
  if (first === undefined) throw invalidArgument(`${input.name} has no versions`);
  const byVersion: (ApiVersionCodec<Req, Res> | undefined)[] = [];
  input.versions.forEach((codec, i) => {
    if (codec.version !== first.version + i) {
      throw invalidArgument(`${input.name} versions must be consecutive, found v${codec.version} at ${i}`);
    }
    byVersion[codec.version] = codec;
  });
  const implementedMax = first.version + input.versions.length - 1;
  const maxVersion = input.maxAdvertisedVersion ?? implementedMax;
  if (maxVersion < first.version || maxVersion > implementedMax) {
    throw invalidArgument(`${input.name} cannot advertise v${maxVersion}`);
  }
  return {
    apiKey: input.apiKey,
    name: input.name,
    minVersion: first.version,
    maxVersion,
    versions: byVersion,
  };
}
