/**
 * @module protocol/kafka/requests
 * The registry of the Kafka APIs Tributary speaks: api key → name, advertised version range and
 * body codecs per version; the ApiVersions answer is built from it, so what is advertised is
 * exactly what can be decoded. Also whole-frame encode/decode in both directions (broker:
 * decode requests, encode responses; test client: the reverse).
 *
 * @example
 * // Broker side, for each payload from KafkaFrameDecoder:
 * const { apiKey, apiVersion, correlationId } = peekRequestHeader(payload);
 * if (apiKey === API_KEYS.ApiVersions && !isAdvertised(apiKey, apiVersion)) {
 *   socket.write(apiVersionsFallbackResponse(correlationId)); // librdkafka's v3 probe
 *   return;
 * }
 * const request = decodeRequest(payload); // UNSUPPORTED_VERSION / MALFORMED_DATA: close
 * switch (request.api) {
 *   case 'Metadata': // request.body is a MetadataRequest
 *     socket.write(encodeResponse('Metadata', request.header, metadataFor(request.body)));
 * }
 */

import { TributaryError } from '../../../errors.js';
import { KafkaErrorCode } from '../error-codes.js';
import { ByteReader } from '../primitives/byte-reader.js';
import { ByteWriter } from '../primitives/byte-writer.js';
import {
  peekRequestHeader,
  type RequestHeader,
  readRequestHeader,
  readResponseHeader,
  requestHeaderSize,
  requestHeaderVersion,
  responseHeaderSize,
  responseHeaderVersion,
  writeRequestHeader,
  writeResponseHeader,
} from '../request-header.js';
import { decodeBody } from '../schema.js';
import {
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse,
  addOffsetsToTxnApi,
} from './add-offsets-to-txn/index.js';
import {
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  addPartitionsToTxnApi,
} from './add-partitions-to-txn/index.js';
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  alterConfigsApi,
} from './alter-configs/index.js';
import type { ApiVersionCodec, KafkaApi } from './api.js';
import { type ApiVersionsRequest, type ApiVersionsResponse, apiVersionsApi } from './api-versions/index.js';
import {
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  createPartitionsApi,
} from './create-partitions/index.js';
import {
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  createTopicsApi,
} from './create-topics/index.js';
import {
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
  deleteGroupsApi,
} from './delete-groups/index.js';
import {
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  deleteRecordsApi,
} from './delete-records/index.js';
import {
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  deleteTopicsApi,
} from './delete-topics/index.js';
import {
  type DescribeClusterRequest,
  type DescribeClusterResponse,
  describeClusterApi,
} from './describe-cluster/index.js';
import {
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  describeConfigsApi,
} from './describe-configs/index.js';
import {
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  describeGroupsApi,
} from './describe-groups/index.js';
import { type EndTxnRequest, type EndTxnResponse, endTxnApi } from './end-txn/index.js';
import { type FetchRequest, type FetchResponse, fetchApi } from './fetch/index.js';
import {
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  findCoordinatorApi,
} from './find-coordinator/index.js';
import { type HeartbeatRequest, type HeartbeatResponse, heartbeatApi } from './heartbeat/index.js';
import {
  type IncrementalAlterConfigsRequest,
  incrementalAlterConfigsApi,
} from './incremental-alter-configs/index.js';
import {
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  initProducerIdApi,
} from './init-producer-id/index.js';
import { type JoinGroupRequest, type JoinGroupResponse, joinGroupApi } from './join-group/index.js';
import { type LeaveGroupRequest, type LeaveGroupResponse, leaveGroupApi } from './leave-group/index.js';
import { type ListGroupsRequest, type ListGroupsResponse, listGroupsApi } from './list-groups/index.js';
import { type ListOffsetsRequest, type ListOffsetsResponse, listOffsetsApi } from './list-offsets/index.js';
import { type MetadataRequest, type MetadataResponse, metadataApi } from './metadata/index.js';
import {
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  offsetCommitApi,
} from './offset-commit/index.js';
import {
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
  offsetDeleteApi,
} from './offset-delete/index.js';
import { type OffsetFetchRequest, type OffsetFetchResponse, offsetFetchApi } from './offset-fetch/index.js';
import { type ProduceRequest, type ProduceResponse, produceApi } from './produce/index.js';
import {
  type SaslAuthenticateRequest,
  type SaslAuthenticateResponse,
  saslAuthenticateApi,
} from './sasl-authenticate/index.js';
import {
  type SaslHandshakeRequest,
  type SaslHandshakeResponse,
  saslHandshakeApi,
} from './sasl-handshake/index.js';
import { type SyncGroupRequest, type SyncGroupResponse, syncGroupApi } from './sync-group/index.js';
import {
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
  txnOffsetCommitApi,
} from './txn-offset-commit/index.js';

export type * from './add-offsets-to-txn/index.js';
export type * from './add-partitions-to-txn/index.js';
export type * from './alter-configs/index.js';
export type { ApiVersionCodec, KafkaApi } from './api.js';
export type * from './api-versions/index.js';
export type * from './create-partitions/index.js';
export type * from './create-topics/index.js';
export type * from './delete-groups/index.js';
export type * from './delete-records/index.js';
export { DELETE_RECORDS_HIGH_WATERMARK } from './delete-records/index.js';
export type * from './delete-topics/index.js';
export type * from './describe-cluster/index.js';
export type * from './describe-configs/index.js';
export { CONFIG_RESOURCE_TYPE, CONFIG_SOURCE, CONFIG_TYPE } from './describe-configs/index.js';
export type * from './describe-groups/index.js';
export { AUTHORIZED_OPERATIONS_OMITTED } from './describe-groups/index.js';
export type * from './end-txn/index.js';
export type * from './fetch/index.js';
export type * from './find-coordinator/index.js';
export type * from './heartbeat/index.js';
export type * from './incremental-alter-configs/index.js';
export { CONFIG_OPERATION } from './incremental-alter-configs/index.js';
export type * from './init-producer-id/index.js';
export type * from './join-group/index.js';
export type * from './leave-group/index.js';
export type * from './list-groups/index.js';
export type * from './list-offsets/index.js';
export type * from './metadata/index.js';
export type * from './offset-commit/index.js';
export type * from './offset-delete/index.js';
export type * from './offset-fetch/index.js';
export type * from './produce/index.js';
export type * from './sasl-authenticate/index.js';
export type * from './sasl-handshake/index.js';
export type * from './sync-group/index.js';
export type * from './txn-offset-commit/index.js';

/** Request body type of each API, by Kafka's API name. */
export interface KafkaRequestTypes {
  Produce: ProduceRequest;
  Fetch: FetchRequest;
  ListOffsets: ListOffsetsRequest;
  Metadata: MetadataRequest;
  OffsetCommit: OffsetCommitRequest;
  OffsetFetch: OffsetFetchRequest;
  FindCoordinator: FindCoordinatorRequest;
  JoinGroup: JoinGroupRequest;
  Heartbeat: HeartbeatRequest;
  LeaveGroup: LeaveGroupRequest;
  SyncGroup: SyncGroupRequest;
  DescribeGroups: DescribeGroupsRequest;
  ListGroups: ListGroupsRequest;
  ApiVersions: ApiVersionsRequest;
  CreateTopics: CreateTopicsRequest;
  DeleteTopics: DeleteTopicsRequest;
  InitProducerId: InitProducerIdRequest;
  SaslHandshake: SaslHandshakeRequest;
  SaslAuthenticate: SaslAuthenticateRequest;
  AddPartitionsToTxn: AddPartitionsToTxnRequest;
  AddOffsetsToTxn: AddOffsetsToTxnRequest;
  EndTxn: EndTxnRequest;
  TxnOffsetCommit: TxnOffsetCommitRequest;
  DescribeConfigs: DescribeConfigsRequest;
  DeleteGroups: DeleteGroupsRequest;
  OffsetDelete: OffsetDeleteRequest;
  AlterConfigs: AlterConfigsRequest;
  IncrementalAlterConfigs: IncrementalAlterConfigsRequest;
  DescribeCluster: DescribeClusterRequest;
  CreatePartitions: CreatePartitionsRequest;
  DeleteRecords: DeleteRecordsRequest;
}

/** Response body type of each API, by Kafka's API name. */
export interface KafkaResponseTypes {
  Produce: ProduceResponse;
  Fetch: FetchResponse;
  ListOffsets: ListOffsetsResponse;
  Metadata: MetadataResponse;
  OffsetCommit: OffsetCommitResponse;
  OffsetFetch: OffsetFetchResponse;
  FindCoordinator: FindCoordinatorResponse;
  JoinGroup: JoinGroupResponse;
  Heartbeat: HeartbeatResponse;
  LeaveGroup: LeaveGroupResponse;
  SyncGroup: SyncGroupResponse;
  DescribeGroups: DescribeGroupsResponse;
  ListGroups: ListGroupsResponse;
  ApiVersions: ApiVersionsResponse;
  CreateTopics: CreateTopicsResponse;
  DeleteTopics: DeleteTopicsResponse;
  InitProducerId: InitProducerIdResponse;
  SaslHandshake: SaslHandshakeResponse;
  SaslAuthenticate: SaslAuthenticateResponse;
  AddPartitionsToTxn: AddPartitionsToTxnResponse;
  AddOffsetsToTxn: AddOffsetsToTxnResponse;
  EndTxn: EndTxnResponse;
  TxnOffsetCommit: TxnOffsetCommitResponse;
  DescribeConfigs: DescribeConfigsResponse;
  DeleteGroups: DeleteGroupsResponse;
  OffsetDelete: OffsetDeleteResponse;
  AlterConfigs: AlterConfigsResponse;
  IncrementalAlterConfigs: AlterConfigsResponse;
  DescribeCluster: DescribeClusterResponse;
  CreatePartitions: CreatePartitionsResponse;
  DeleteRecords: DeleteRecordsResponse;
}

export type KafkaApiName = keyof KafkaRequestTypes;

/** Every API Tributary speaks, by name. */
export const KAFKA_APIS: {
  readonly [K in KafkaApiName]: KafkaApi<KafkaRequestTypes[K], KafkaResponseTypes[K]>;
} = {
  Produce: produceApi,
  Fetch: fetchApi,
  ListOffsets: listOffsetsApi,
  Metadata: metadataApi,
  OffsetCommit: offsetCommitApi,
  OffsetFetch: offsetFetchApi,
  FindCoordinator: findCoordinatorApi,
  JoinGroup: joinGroupApi,
  Heartbeat: heartbeatApi,
  LeaveGroup: leaveGroupApi,
  SyncGroup: syncGroupApi,
  DescribeGroups: describeGroupsApi,
  ListGroups: listGroupsApi,
  ApiVersions: apiVersionsApi,
  CreateTopics: createTopicsApi,
  DeleteTopics: deleteTopicsApi,
  InitProducerId: initProducerIdApi,
  SaslHandshake: saslHandshakeApi,
  SaslAuthenticate: saslAuthenticateApi,
  AddPartitionsToTxn: addPartitionsToTxnApi,
  AddOffsetsToTxn: addOffsetsToTxnApi,
  EndTxn: endTxnApi,
  TxnOffsetCommit: txnOffsetCommitApi,
  DescribeConfigs: describeConfigsApi,
  DeleteGroups: deleteGroupsApi,
  OffsetDelete: offsetDeleteApi,
  AlterConfigs: alterConfigsApi,
  IncrementalAlterConfigs: incrementalAlterConfigsApi,
  DescribeCluster: describeClusterApi,
  CreatePartitions: createPartitionsApi,
  DeleteRecords: deleteRecordsApi,
};

const NAMES = Object.keys(KAFKA_APIS) as KafkaApiName[];

/** The api key of each API, by name. */
export const API_KEYS: { readonly [K in KafkaApiName]: number } = Object.fromEntries(
  NAMES.map((name) => [name, KAFKA_APIS[name].apiKey]),
) as { [K in KafkaApiName]: number };

const NAME_BY_KEY: ReadonlyMap<number, KafkaApiName> = new Map(
  NAMES.map((name) => [KAFKA_APIS[name].apiKey, name]),
);

/** The name of the API with `apiKey`, or undefined for an API Tributary does not speak. */
export function apiName(apiKey: number): KafkaApiName | undefined {
  return NAME_BY_KEY.get(apiKey);
}

/** Whether `version` of `apiKey` is in the range advertised by ApiVersions. */
export function isAdvertised(apiKey: number, version: number): boolean {
  const name = NAME_BY_KEY.get(apiKey);
  if (name === undefined) return false;
  const api = KAFKA_APIS[name];
  return version >= api.minVersion && version <= api.maxVersion;
}

/** The advertised table, by api key: what an ApiVersions response lists. */
export function advertisedApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return NAMES.map((name) => {
    const { apiKey, minVersion, maxVersion } = KAFKA_APIS[name];
    return { apiKey, minVersion, maxVersion };
  }).sort((a, b) => a.apiKey - b.apiKey);
}

/** The ApiVersions response body for a supported request version. */
export function apiVersionsResponse(throttleTimeMs = 0): ApiVersionsResponse {
  return { errorCode: KafkaErrorCode.NONE, apiKeys: advertisedApiVersions(), throttleTimeMs };
}

/**
 * The answer to an ApiVersions request of a version beyond the advertised range (librdkafka
 * opens with v3), as Kafka gives it (KIP-511): response header v0 and a v0 body with
 * UNSUPPORTED_VERSION and the ApiVersions range, so the client retries within it. Returns the
 * whole frame, size prefix included.
 */
export function apiVersionsFallbackResponse(correlationId: number): Uint8Array {
  const { apiKey, minVersion, maxVersion } = apiVersionsApi;
  return encodeResponse(
    'ApiVersions',
    { apiVersion: 0, correlationId },
    {
      errorCode: KafkaErrorCode.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey, minVersion, maxVersion }],
      throttleTimeMs: 0,
    },
  );
}

/** A decoded request: `api` narrows `body` to that API's request type. */
export type DecodedRequest = {
  [K in KafkaApiName]: {
    readonly api: K;
    readonly header: RequestHeader;
    readonly body: KafkaRequestTypes[K];
  };
}[KafkaApiName];

function unsupported(apiKey: number, version: number): TributaryError {
  const name = NAME_BY_KEY.get(apiKey);
  if (name === undefined) {
    return new TributaryError('UNSUPPORTED_VERSION', { version, supported: 'none', apiKey, api: 'unknown' });
  }
  const api = KAFKA_APIS[name];
  return new TributaryError('UNSUPPORTED_VERSION', {
    version,
    supported: `${name} v${api.minVersion}-v${api.maxVersion}`,
    apiKey,
    api: name,
  });
}

function codecOf<K extends KafkaApiName>(
  name: K,
  version: number,
): ApiVersionCodec<KafkaRequestTypes[K], KafkaResponseTypes[K]> {
  const api: KafkaApi<KafkaRequestTypes[K], KafkaResponseTypes[K]> = KAFKA_APIS[name];
  const codec = Number.isInteger(version) && version >= 0 ? api.versions[version] : undefined;
  if (codec === undefined) throw unsupported(api.apiKey, version);
  return codec;
}

/**
 * Decodes a request payload (size prefix removed) of any implemented version: `UNSUPPORTED_VERSION`
 * for an unknown API or version, `MALFORMED_DATA` for bytes that do not fit the schema. Bytes
 * fields are views into `payload`.
 */
export function decodeRequest(payload: Uint8Array): DecodedRequest {
  const { apiKey, apiVersion } = peekRequestHeader(payload);
  const name = NAME_BY_KEY.get(apiKey);
  if (name === undefined) throw unsupported(apiKey, apiVersion);
  const codec = codecOf(name, apiVersion);
  const what = `${name} v${apiVersion} request`;
  const r = new ByteReader(payload, 0, payload.length, what);
  const header = readRequestHeader(r, requestHeaderVersion(apiKey, apiVersion));
  const body = decodeBody(
    codec.request as ApiVersionCodec<unknown, unknown>['request'],
    payload,
    r.pos,
    what,
  );
  return { api: name, header, body } as DecodedRequest;
}

/** What a response frame needs from its request header. */
export interface ResponseTo {
  readonly apiVersion: number;
  readonly correlationId: number;
}

/** Encodes a whole response frame (size prefix, response header, body) for the request `to`. */
export function encodeResponse<K extends KafkaApiName>(
  api: K,
  to: ResponseTo,
  body: KafkaResponseTypes[K],
): Uint8Array {
  const codec = codecOf(api, to.apiVersion);
  const headerVersion = responseHeaderVersion(KAFKA_APIS[api].apiKey, to.apiVersion);
  const size = responseHeaderSize(headerVersion) + codec.response.size(body);
  const w = new ByteWriter(4 + size);
  w.writeInt32(size);
  writeResponseHeader(w, to.correlationId, headerVersion);
  codec.response.write(w, body);
  return w.finish();
}

/** The request header fields a client chooses (api key comes from the API). */
export interface RequestHeaderInput {
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** Encodes a whole request frame (size prefix, request header, body), as a client sends it. */
export function encodeRequest<K extends KafkaApiName>(
  api: K,
  header: RequestHeaderInput,
  body: KafkaRequestTypes[K],
): Uint8Array {
  const codec = codecOf(api, header.apiVersion);
  const apiKey = KAFKA_APIS[api].apiKey;
  const headerVersion = requestHeaderVersion(apiKey, header.apiVersion);
  const full: RequestHeader = { apiKey, ...header };
  const size = requestHeaderSize(full, headerVersion) + codec.request.size(body);
  const w = new ByteWriter(4 + size);
  w.writeInt32(size);
  writeRequestHeader(w, full, headerVersion);
  codec.request.write(w, body);
  return w.finish();
}

export interface DecodedResponse<K extends KafkaApiName> {
  readonly correlationId: number;
  readonly body: KafkaResponseTypes[K];
}

/** Decodes a response payload (size prefix removed) to a request of `api` at `apiVersion`. */
export function decodeResponse<K extends KafkaApiName>(
  api: K,
  apiVersion: number,
  payload: Uint8Array,
): DecodedResponse<K> {
  const codec = codecOf(api, apiVersion);
  const what = `${api} v${apiVersion} response`;
  const r = new ByteReader(payload, 0, payload.length, what);
  const correlationId = readResponseHeader(r, responseHeaderVersion(KAFKA_APIS[api].apiKey, apiVersion));
  return { correlationId, body: decodeBody(codec.response, payload, r.pos, what) };
}
