/**
 * A loopback Kafka responder for capturing real client frames: it logs every request frame and
 * answers with Tributary's own codecs, well enough that kafkajs, kcat and kafka-python get
 * through start-up, produce, fetch, consumer groups and admin calls. One broker (node 1), every
 * topic auto-created with one partition, records kept in memory, one member per group.
 * Test tooling only: not a broker.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { KafkaFrameDecoder } from '../src/protocol/kafka/frame.js';
import { readRecordBatchHeader, writeBaseOffset } from '../src/protocol/kafka/record-batch/index.js';
import { peekRequestHeader } from '../src/protocol/kafka/request-header.js';
import {
  API_KEYS,
  apiName,
  apiVersionsFallbackResponse,
  apiVersionsResponse,
  type DecodedRequest,
  decodeRequest,
  encodeResponse,
  type FetchRequest,
  type FetchResponse,
  isAdvertised,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type MetadataRequest,
  type MetadataResponse,
  type OffsetFetchRequestTopic,
  type OffsetFetchResponseTopic,
  type ProduceRequest,
  type ProduceResponse,
} from '../src/protocol/kafka/requests/index.js';

export interface CapturedFrame {
  /** Kafka API name, or `api<key>` for one Tributary does not know. */
  readonly api: string;
  readonly apiVersion: number;
  readonly clientId: string | null;
  /** The whole frame as sent: size prefix, header, body. */
  readonly frame: Uint8Array;
}

export interface CaptureBroker {
  readonly port: number;
  /** Frames received since the last call, in arrival order. */
  take(): CapturedFrame[];
  close(): Promise<void>;
}

const NODE_ID = 1;
const HOST = '127.0.0.1';
const CLUSTER_ID = 'tributary-capture';
/** Longest a Fetch is held when no data is there (clients ask for up to 500 ms). */
const FETCH_WAIT_MAX_MS = 200;

interface Partition {
  batches: Uint8Array[];
  next: number;
}

interface Group {
  generation: number;
  memberId: string;
  assignment: Uint8Array;
  offsets: Map<string, number>;
}

export async function startCaptureBroker(): Promise<CaptureBroker> {
  const captured: CapturedFrame[] = [];
  const topics = new Map<string, Partition>();
  const groups = new Map<string, Group>();
  let port = 0;
  let memberSeq = 0;
  const sockets = new Set<Socket>();

  const partitionOf = (topic: string): Partition => {
    let p = topics.get(topic);
    if (p === undefined) {
      p = { batches: [], next: 0 };
      topics.set(topic, p);
    }
    return p;
  };
  const groupOf = (groupId: string): Group => {
    let g = groups.get(groupId);
    if (g === undefined) {
      g = { generation: 0, memberId: '', assignment: new Uint8Array(0), offsets: new Map() };
      groups.set(groupId, g);
    }
    return g;
  };

  /** A topic id per name (KIP-516), the same for the life of the capture broker. */
  const idOf = (name: string): string => {
    const h = createHash('sha256').update(name).digest('hex');
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    namesById.set(id, name);
    return id;
  };
  const namesById = new Map<string, string>();
  const nameOf = (name: string, id: string | undefined): string => name || namesById.get(id ?? '') || '';

  function offsetsOf(
    groupId: string,
    requested: readonly OffsetFetchRequestTopic[] | null,
  ): OffsetFetchResponseTopic[] {
    const group = groupOf(groupId);
    return (requested ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: group.offsets.get(`${t.name}/${partitionIndex}`) ?? -1,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: 0,
      })),
    }));
  }

  function metadata(body: MetadataRequest): MetadataResponse {
    const names =
      body.topics === null ? [...topics.keys()] : body.topics.map((t) => nameOf(t.name ?? '', t.topicId));
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: NODE_ID, host: HOST, port, rack: null }],
      clusterId: CLUSTER_ID,
      controllerId: NODE_ID,
      topics: names.map((name) => {
        partitionOf(name);
        return {
          errorCode: 0,
          name,
          topicId: idOf(name),
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: NODE_ID,
              replicaNodes: [NODE_ID],
              isrNodes: [NODE_ID],
              offlineReplicas: [],
            },
          ],
        };
      }),
    };
  }

  function produce(body: ProduceRequest): ProduceResponse {
    return {
      throttleTimeMs: 0,
      responses: body.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const log = partitionOf(t.name);
          const baseOffset = log.next;
          let pos = 0;
          const records = p.records ?? new Uint8Array(0);
          while (pos < records.length) {
            const header = readRecordBatchHeader(records, pos);
            if (header === null) break;
            const batch = records.slice(pos, pos + 12 + header.batchLength);
            writeBaseOffset(batch, 0, log.next);
            log.batches.push(batch);
            log.next += header.lastOffsetDelta + 1;
            pos += batch.length;
          }
          return { index: p.index, errorCode: 0, baseOffset, logAppendTimeMs: -1, logStartOffset: 0 };
        }),
      })),
    };
  }

  function fetch(body: FetchRequest): FetchResponse {
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: body.topics.map((t) => ({
        topic: t.topic,
        topicId: idOf(nameOf(t.topic, t.topicId)),
        partitions: t.partitions.map((p) => {
          const log = partitionOf(nameOf(t.topic, t.topicId));
          const chunks: Uint8Array[] = [];
          for (const batch of log.batches) {
            const header = readRecordBatchHeader(batch, 0)!;
            if (header.baseOffset + header.lastOffsetDelta >= p.fetchOffset) chunks.push(batch);
          }
          const records = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let q = 0;
          for (const c of chunks) {
            records.set(c, q);
            q += c.length;
          }
          return {
            partitionIndex: p.partition,
            errorCode: p.fetchOffset > log.next ? KafkaErrorCode.OFFSET_OUT_OF_RANGE : 0,
            highWatermark: log.next,
            lastStableOffset: log.next,
            logStartOffset: 0,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records,
          };
        }),
      })),
    };
  }

  function joinGroup(body: JoinGroupRequest, apiVersion: number): JoinGroupResponse {
    const group = groupOf(body.groupId);
    const protocol = body.protocols[0];
    if (body.memberId === '' && apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        errorCode: KafkaErrorCode.MEMBER_ID_REQUIRED,
        generationId: -1,
        protocolName: '',
        leader: '',
        memberId: `member-${++memberSeq}`,
        members: [],
      };
    }
    const memberId = body.memberId === '' ? `member-${++memberSeq}` : body.memberId;
    group.generation++;
    group.memberId = memberId;
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: group.generation,
      protocolName: protocol?.name ?? '',
      leader: memberId,
      memberId,
      members: [
        {
          memberId,
          groupInstanceId: body.groupInstanceId,
          metadata: protocol?.metadata ?? new Uint8Array(0),
        },
      ],
    };
  }

  /** The response frame, or null for none (acks = 0). */
  function answer(request: DecodedRequest): Uint8Array | null {
    const to = request.header;
    switch (request.api) {
      case 'ApiVersions':
        return encodeResponse('ApiVersions', to, apiVersionsResponse());
      case 'Metadata':
        return encodeResponse('Metadata', to, metadata(request.body));
      case 'Produce':
        return request.body.acks === 0 ? null : encodeResponse('Produce', to, produce(request.body));
      case 'Fetch':
        return encodeResponse('Fetch', to, fetch(request.body));
      case 'ListOffsets':
        return encodeResponse('ListOffsets', to, {
          throttleTimeMs: 0,
          topics: request.body.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: 0,
              timestamp: -1,
              offset: p.timestamp === -2 ? 0 : partitionOf(t.name).next,
            })),
          })),
        });
      case 'FindCoordinator':
        return encodeResponse('FindCoordinator', to, {
          throttleTimeMs: 0,
          errorCode: 0,
          errorMessage: null,
          nodeId: NODE_ID,
          host: HOST,
          port,
          // v4+: one per key.
          coordinators: (request.body.coordinatorKeys ?? []).map((key) => ({
            key,
            nodeId: NODE_ID,
            host: HOST,
            port,
            errorCode: 0,
            errorMessage: null,
          })),
        });
      case 'JoinGroup':
        return encodeResponse('JoinGroup', to, joinGroup(request.body, to.apiVersion));
      case 'SyncGroup': {
        const group = groupOf(request.body.groupId);
        const mine = request.body.assignments.find((a) => a.memberId === request.body.memberId);
        if (mine !== undefined) group.assignment = mine.assignment.slice();
        return encodeResponse('SyncGroup', to, {
          throttleTimeMs: 0,
          errorCode: 0,
          assignment: group.assignment,
        });
      }
      case 'Heartbeat':
        return encodeResponse('Heartbeat', to, { throttleTimeMs: 0, errorCode: 0 });
      case 'LeaveGroup':
        return encodeResponse('LeaveGroup', to, {
          throttleTimeMs: 0,
          errorCode: 0,
          members: request.body.members.map((m) => ({ ...m, errorCode: 0 })),
        });
      case 'OffsetCommit': {
        const group = groupOf(request.body.groupId);
        return encodeResponse('OffsetCommit', to, {
          throttleTimeMs: 0,
          topics: request.body.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => {
              group.offsets.set(`${t.name}/${p.partitionIndex}`, p.committedOffset);
              return { partitionIndex: p.partitionIndex, errorCode: 0 };
            }),
          })),
        });
      }
      case 'OffsetFetch':
        return encodeResponse('OffsetFetch', to, {
          throttleTimeMs: 0,
          errorCode: 0,
          topics: to.apiVersion >= 8 ? [] : offsetsOf(request.body.groupId, request.body.topics),
          // v8+: one answer per group.
          groups: (request.body.groups ?? []).map((g) => ({
            groupId: g.groupId,
            topics: offsetsOf(g.groupId, g.topics),
            errorCode: 0,
          })),
        });
      case 'CreateTopics':
        return encodeResponse('CreateTopics', to, {
          throttleTimeMs: 0,
          topics: request.body.topics.map((t) => {
            partitionOf(t.name);
            return { name: t.name, topicId: idOf(t.name), errorCode: 0, errorMessage: null };
          }),
        });
      case 'DeleteTopics':
        return encodeResponse('DeleteTopics', to, {
          throttleTimeMs: 0,
          responses: [
            ...request.body.topicNames,
            ...(request.body.topics ?? []).map((t) => nameOf(t.name ?? '', t.topicId)),
          ].map((name) => {
            topics.delete(name);
            return { name, topicId: idOf(name), errorCode: 0 };
          }),
        });
      case 'DescribeGroups':
        return encodeResponse('DescribeGroups', to, {
          throttleTimeMs: 0,
          groups: request.body.groups.map((groupId) => ({
            errorCode: 0,
            groupId,
            groupState: groups.has(groupId) ? 'Empty' : 'Dead',
            protocolType: 'consumer',
            protocolData: '',
            members: [],
            authorizedOperations: -2147483648,
          })),
        });
      case 'ListGroups':
        return encodeResponse('ListGroups', to, {
          throttleTimeMs: 0,
          errorCode: 0,
          groups: [...groups.keys()].map((groupId) => ({ groupId, protocolType: 'consumer' })),
        });
      case 'InitProducerId':
        return encodeResponse('InitProducerId', to, {
          throttleTimeMs: 0,
          errorCode: 0,
          producerId: 1000,
          producerEpoch: 0,
        });
      case 'SaslHandshake':
        // The capture broker offers no SASL.
        return encodeResponse('SaslHandshake', to, { errorCode: 33, mechanisms: [] });
      case 'SaslAuthenticate':
        return encodeResponse('SaslAuthenticate', to, {
          errorCode: 34,
          errorMessage: 'no SASL here',
          authBytes: new Uint8Array(0),
          sessionLifetimeMs: 0,
        });
      // Admin: the capture broker keeps no configs.
      case 'DescribeConfigs':
        return encodeResponse('DescribeConfigs', to, {
          throttleTimeMs: 0,
          results: request.body.resources.map(({ resourceType, resourceName }) => ({
            errorCode: 42,
            errorMessage: 'no configs here',
            resourceType,
            resourceName,
            configs: [],
          })),
        });
      case 'AlterConfigs':
      case 'IncrementalAlterConfigs':
        return encodeResponse(request.api, to, {
          throttleTimeMs: 0,
          responses: request.body.resources.map(({ resourceType, resourceName }) => ({
            errorCode: 42,
            errorMessage: 'no configs here',
            resourceType,
            resourceName,
          })),
        });
      case 'DescribeCluster':
        return encodeResponse('DescribeCluster', to, {
          throttleTimeMs: 0,
          errorCode: 0,
          errorMessage: null,
          endpointType: 1,
          clusterId: 'capture',
          controllerId: NODE_ID,
          brokers: [{ brokerId: NODE_ID, host: HOST, port, rack: null }],
          clusterAuthorizedOperations: -2147483648,
        });
      case 'DeleteGroups':
        return encodeResponse('DeleteGroups', to, {
          throttleTimeMs: 0,
          results: request.body.groupsNames.map((groupId) => ({ groupId, errorCode: 69 })),
        });
      case 'OffsetDelete':
        return encodeResponse('OffsetDelete', to, { errorCode: 69, throttleTimeMs: 0, topics: [] });
      // Topic shape changes are refused (the capture broker only records what clients send).
      case 'CreatePartitions':
        return encodeResponse('CreatePartitions', to, {
          throttleTimeMs: 0,
          results: request.body.topics.map((t) => ({
            name: t.name,
            errorCode: KafkaErrorCode.POLICY_VIOLATION,
            errorMessage: null,
          })),
        });
      case 'DeleteRecords':
        return encodeResponse('DeleteRecords', to, {
          throttleTimeMs: 0,
          topics: request.body.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              lowWatermark: -1,
              errorCode: KafkaErrorCode.POLICY_VIOLATION,
            })),
          })),
        });
      // Transactions: every step succeeds (the capture broker keeps no transaction state).
      case 'AddPartitionsToTxn':
        return encodeResponse('AddPartitionsToTxn', to, {
          throttleTimeMs: 0,
          resultsByTopic: request.body.topics.map((t) => ({
            name: t.name,
            resultsByPartition: t.partitions.map((partitionIndex) => ({
              partitionIndex,
              partitionErrorCode: 0,
            })),
          })),
        });
      case 'AddOffsetsToTxn':
        return encodeResponse('AddOffsetsToTxn', to, { throttleTimeMs: 0, errorCode: 0 });
      case 'EndTxn':
        return encodeResponse('EndTxn', to, { throttleTimeMs: 0, errorCode: 0 });
      case 'TxnOffsetCommit':
        return encodeResponse('TxnOffsetCommit', to, {
          throttleTimeMs: 0,
          topics: request.body.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map(({ partitionIndex }) => ({ partitionIndex, errorCode: 0 })),
          })),
        });
    }
  }

  function socketOnPayload(socket: Socket, payload: Uint8Array): void {
    const prefix = peekRequestHeader(payload);
    const name = apiName(prefix.apiKey);
    const frame = new Uint8Array(4 + payload.length);
    new DataView(frame.buffer).setInt32(0, payload.length);
    frame.set(payload, 4);
    let clientId: string | null = null;
    try {
      clientId = decodeRequest(payload).header.clientId;
    } catch {
      // Logged below all the same.
    }
    captured.push({ api: name ?? `api${prefix.apiKey}`, apiVersion: prefix.apiVersion, clientId, frame });
    if (prefix.apiKey === API_KEYS.ApiVersions && !isAdvertised(prefix.apiKey, prefix.apiVersion)) {
      socket.write(apiVersionsFallbackResponse(prefix.correlationId));
      return;
    }
    const request = decodeRequest(payload);
    const response = answer(request);
    if (response === null) return;
    if (request.api === 'Fetch') {
      const wait = Math.min(request.body.maxWaitMs, FETCH_WAIT_MAX_MS);
      setTimeout(() => socket.writable && socket.write(response), wait);
    } else {
      socket.write(response);
    }
  }

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const frames = new KafkaFrameDecoder();
    socket.on('data', (chunk) => {
      try {
        for (const payload of frames.push(chunk)) socketOnPayload(socket, payload);
      } catch (err) {
        console.error('capture broker: closing connection:', err);
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  port = address.port;

  return {
    port,
    take: () => captured.splice(0, captured.length),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
