/**
 * @module protocol/kafka/request-header
 * Request and response headers.
 *
 * ```
 * Request Header v1 => request_api_key request_api_version correlation_id client_id
 *   request_api_key => INT16
 *   request_api_version => INT16
 *   correlation_id => INT32
 *   client_id => NULLABLE_STRING
 *
 * Request Header v2 => request_api_key request_api_version correlation_id client_id TAG_BUFFER
 *   (client_id stays a NULLABLE_STRING with an int16 length, not a compact string)
 *
 * Response Header v0 => correlation_id
 *   correlation_id => INT32
 *
 * Response Header v1 => correlation_id TAG_BUFFER
 * ```
 *
 * A request uses header v2 from its API's first flexible version on, v1 before; a response v1 /
 * v0 likewise, except ApiVersions, whose response header is always v0 so that a client can read
 * the error of a version the broker does not know (KIP-511).
 *
 * @example
 * const { apiKey, apiVersion, correlationId } = peekRequestHeader(payload);
 * const r = new ByteReader(payload);
 * const header = readRequestHeader(r, requestHeaderVersion(apiKey, apiVersion));
 */

import { ByteReader } from './primitives/byte-reader.js';
import type { ByteWriter } from './primitives/byte-writer.js';
import { nullableString, skipTaggedFields } from './schema.js';

export type RequestHeaderVersion = 1 | 2;
export type ResponseHeaderVersion = 0 | 1;

export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** The fixed first 8 bytes of every request header, readable for any API and version. */
export interface RequestHeaderPrefix {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
}

/** Bytes of api_key + api_version + correlation_id. */
export const REQUEST_HEADER_PREFIX_BYTES = 8;

export const API_VERSIONS_API_KEY = 18;

/**
 * First flexible version of each API Tributary knows (`flexibleVersions` in Kafka's message
 * specs); an API absent here is treated as never flexible.
 */
export const FIRST_FLEXIBLE_VERSION: Readonly<Record<number, number>> = {
  0: 9, // Produce
  1: 12, // Fetch
  2: 6, // ListOffsets
  3: 9, // Metadata
  8: 8, // OffsetCommit
  9: 6, // OffsetFetch
  10: 3, // FindCoordinator
  11: 6, // JoinGroup
  12: 4, // Heartbeat
  13: 4, // LeaveGroup
  14: 4, // SyncGroup
  15: 5, // DescribeGroups
  16: 3, // ListGroups
  18: 3, // ApiVersions
  19: 5, // CreateTopics
  20: 4, // DeleteTopics
  21: 2, // DeleteRecords
  22: 2, // InitProducerId
  24: 3, // AddPartitionsToTxn
  25: 3, // AddOffsetsToTxn
  26: 3, // EndTxn
  28: 3, // TxnOffsetCommit
  32: 4, // DescribeConfigs
  33: 2, // AlterConfigs
  42: 2, // DeleteGroups
  44: 1, // IncrementalAlterConfigs
  60: 0, // DescribeCluster
  36: 2, // SaslAuthenticate
  37: 2, // CreatePartitions
};

export function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  const first = FIRST_FLEXIBLE_VERSION[apiKey];
  return first !== undefined && apiVersion >= first;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): RequestHeaderVersion {
  return isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): ResponseHeaderVersion {
  if (apiKey === API_VERSIONS_API_KEY) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

/**
 * api_key, api_version and correlation_id of any request payload (size prefix removed), without
 * reading further: enough to answer an unknown API or version. `MALFORMED_DATA` if shorter
 * than 8 bytes.
 */
export function peekRequestHeader(payload: Uint8Array): RequestHeaderPrefix {
  const r = new ByteReader(payload, 0, payload.length, 'Kafka request header');
  return { apiKey: r.readInt16(), apiVersion: r.readInt16(), correlationId: r.readInt32() };
}

export function readRequestHeader(r: ByteReader, version: RequestHeaderVersion): RequestHeader {
  const apiKey = r.readInt16();
  const apiVersion = r.readInt16();
  const correlationId = r.readInt32();
  const clientId = nullableString.read(r);
  if (version === 2) skipTaggedFields(r);
  return { apiKey, apiVersion, correlationId, clientId };
}

export function requestHeaderSize(header: RequestHeader, version: RequestHeaderVersion): number {
  return REQUEST_HEADER_PREFIX_BYTES + nullableString.size(header.clientId) + (version === 2 ? 1 : 0);
}

export function writeRequestHeader(
  w: ByteWriter,
  header: RequestHeader,
  version: RequestHeaderVersion,
): void {
  w.writeInt16(header.apiKey);
  w.writeInt16(header.apiVersion);
  w.writeInt32(header.correlationId);
  nullableString.write(w, header.clientId);
  if (version === 2) w.writeUnsignedVarint(0);
}

export function readResponseHeader(r: ByteReader, version: ResponseHeaderVersion): number {
  const correlationId = r.readInt32();
  if (version === 1) skipTaggedFields(r);
  return correlationId;
}

export function responseHeaderSize(version: ResponseHeaderVersion): number {
  return version === 1 ? 5 : 4;
}

export function writeResponseHeader(
  w: ByteWriter,
  correlationId: number,
  version: ResponseHeaderVersion,
): void {
  w.writeInt32(correlationId);
  if (version === 1) w.writeUnsignedVarint(0);
}
