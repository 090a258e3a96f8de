/**
 * Golden bytes: request frames captured from kafkajs 2.2.4, @platformatic/kafka 1.35, kcat 1.7.1
 * (librdkafka 2.0.2) and kafka-python 2.0.2 by `test/kafka-capture.ts`. kcat's frames of
 * ApiVersions v0, InitProducerId v1 and OffsetFetch v5 were captured while the broker
 * advertised no flexible versions (librdkafka then fell back to them); since it does, kcat sends
 * ApiVersions v3, InitProducerId v4 and OffsetFetch v7. Each must decode to what the client meant, and
 * re-encode byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaFrameDecoder } from '../src/protocol/kafka/frame.js';
import {
  COMPRESSION_CODEC_MASK,
  readRecordBatchHeader,
  recordBatchCrcMatches,
} from '../src/protocol/kafka/record-batch/index.js';
import {
  type DecodedRequest,
  decodeRequest,
  encodeRequest,
  isAdvertised,
  KAFKA_APIS,
  type KafkaApiName,
} from '../src/protocol/kafka/requests/index.js';
import { ZERO_UUID } from '../src/protocol/kafka/schema.js';

const DIR = resolve(import.meta.dirname, 'fixtures/kafka');

const CLIENT_IDS: Record<string, RegExp> = {
  kafkajs: /^tributary-capture$/,
  platformatic: /^tributary-capture-platformatic$/,
  kcat: /^rdkafka$/,
  'kafka-python': /^kafka-python-(2\.0\.2|admin|producer-1)$/,
};

/** What was captured: every (client, API, version) seen live (see the report in kafka-capture.ts). */
const EXPECTED = {
  kafkajs: [
    'api-versions-v2',
    'metadata-v6',
    'create-topics-v3',
    'init-producer-id-v1',
    'produce-v7',
    'find-coordinator-v2',
    'join-group-v5',
    'sync-group-v3',
    'offset-fetch-v4',
    'list-offsets-v3',
    'fetch-v11',
    'heartbeat-v3',
    'offset-commit-v5',
    'leave-group-v3',
    'list-groups-v2',
    'describe-groups-v2',
    'describe-configs-v2',
    'alter-configs-v1',
    'create-partitions-v1',
    'delete-records-v1',
    'delete-groups-v1',
    'delete-topics-v1',
  ],
  platformatic: [
    'api-versions-v3',
    'create-topics-v7',
    'init-producer-id-v5',
    'metadata-v12',
    'produce-v11',
    'find-coordinator-v6',
    'join-group-v9',
    'sync-group-v5',
    'list-offsets-v6',
    'fetch-v17',
    'heartbeat-v4',
    'offset-commit-v9',
    'leave-group-v5',
    'list-groups-v5',
    'describe-groups-v5',
    'offset-fetch-v9',
    'list-offsets-v9',
    'describe-configs-v4',
    'alter-configs-v2',
    'incremental-alter-configs-v1',
    'create-partitions-v3',
    'delete-records-v2',
    'offset-delete-v0',
    'delete-groups-v2',
    'delete-topics-v6',
  ],
  kcat: [
    'api-versions-v3',
    'api-versions-v0',
    'metadata-v4',
    'produce-v7',
    'init-producer-id-v1',
    'init-producer-id-v4',
    'list-offsets-v2',
    'fetch-v11',
    'find-coordinator-v2',
    'join-group-v5',
    'sync-group-v3',
    'heartbeat-v3',
    'offset-commit-v7',
    'offset-fetch-v5',
    'offset-fetch-v7',
    'leave-group-v1',
  ],
  'kafka-python': [
    'api-versions-v0',
    'metadata-v0',
    'metadata-v1',
    'metadata-v5',
    'create-topics-v3',
    'produce-v7',
    'find-coordinator-v0',
    'join-group-v2',
    'sync-group-v1',
    'heartbeat-v1',
    'offset-fetch-v1',
    'list-offsets-v1',
    'fetch-v4',
    'offset-commit-v2',
    'leave-group-v1',
    'list-groups-v1',
    'describe-groups-v3',
    'offset-fetch-v3',
    'describe-configs-v2',
    'alter-configs-v1',
    'create-partitions-v1',
    'delete-groups-v1',
    'delete-topics-v3',
  ],
} as const;

function kebab(apiName: string): string {
  return apiName.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

const API_BY_KEBAB = new Map((Object.keys(KAFKA_APIS) as KafkaApiName[]).map((name) => [kebab(name), name]));

interface Fixture {
  readonly file: string;
  readonly client: string;
  readonly api: KafkaApiName;
  readonly version: number;
  readonly frame: Uint8Array;
}

function loadFixtures(): Fixture[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((file) => {
      const m = /^(kafkajs|platformatic|kcat|kafka-python)-([a-z-]+)-v(\d+)\.hex$/.exec(file);
      if (m === null) throw new Error(`unexpected fixture name ${file}`);
      const api = API_BY_KEBAB.get(m[2]!);
      if (api === undefined) throw new Error(`unknown API in ${file}`);
      const hex = readFileSync(join(DIR, file), 'utf8').trim();
      const frame = Uint8Array.from(Buffer.from(hex, 'hex'));
      return { file, client: m[1]!, api, version: Number(m[3]), frame };
    });
}

const FIXTURES = loadFixtures();

function decodeFrame(frame: Uint8Array): DecodedRequest {
  const payloads = new KafkaFrameDecoder().push(frame);
  expect(payloads).toHaveLength(1);
  return decodeRequest(payloads[0]!);
}

/** Checks of what each client sent, beyond decoding at all. */
function checkFields(client: string, request: DecodedRequest): void {
  const topic = `capture-${client === 'kafka-python' ? 'python' : client}`;
  /** Newer clients name topics by id where the version allows: the capture broker's id of `topic`. */
  const isTopic = (name: string | null, id: string | undefined): boolean =>
    name === topic || (name !== null && name === '' && id !== undefined && id !== ZERO_UUID);
  const group = `${topic}-group`;
  switch (request.api) {
    case 'ApiVersions':
      if (request.header.apiVersion === 3 && client === 'kcat') {
        expect(request.body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
      }
      if (request.header.apiVersion === 3 && client === 'platformatic') {
        expect(request.body.clientSoftwareName).toBe('platformatic-kafka');
      }
      break;
    case 'Metadata':
      if (request.body.topics !== null) {
        for (const t of request.body.topics) expect(t.name).toBe(topic);
      }
      break;
    case 'Produce': {
      expect(request.body.topics.map((t) => t.name)).toEqual([topic]);
      const records = request.body.topics[0]!.partitions[0]!.records!;
      const header = readRecordBatchHeader(records, 0)!;
      expect(header.magic).toBe(2);
      expect(header.attributes & COMPRESSION_CODEC_MASK).toBe(0); // no compression by default
      expect(header.recordCount).toBeGreaterThan(0);
      expect(recordBatchCrcMatches(records, 0, header)).toBe(true);
      break;
    }
    case 'Fetch':
      expect(request.body.replicaId).toBe(-1);
      expect(request.body.topics.map((t) => isTopic(t.topic, t.topicId))).toEqual([true]);
      break;
    case 'ListOffsets':
      expect(request.body.topics[0]!.partitions[0]!.timestamp).toBe(-2); // earliest
      break;
    case 'FindCoordinator':
      if (request.header.apiVersion >= 4) {
        expect(request.body.keyType).toBe(0);
        expect(request.body.coordinatorKeys).toEqual([group]);
      } else {
        expect(request.body).toEqual({ key: group, keyType: 0 });
      }
      break;
    case 'JoinGroup': {
      expect(request.body.groupId).toBe(group);
      expect(request.body.protocolType).toBe('consumer');
      const names = request.body.protocols.map((p) => p.name);
      const offered: Record<string, string[]> = {
        kafkajs: ['RoundRobinAssigner'],
        platformatic: ['roundrobin'],
      };
      expect(names).toEqual(offered[client] ?? ['range', 'roundrobin']);
      break;
    }
    case 'OffsetFetch':
      if (request.header.apiVersion >= 8) {
        expect(request.body.groups?.map((g) => g.groupId)).toEqual([group]);
      } else {
        expect(request.body.groupId).toBe(group);
      }
      break;
    case 'SyncGroup':
    case 'Heartbeat':
    case 'OffsetCommit':
    case 'LeaveGroup':
      expect(request.body.groupId).toBe(group);
      break;
    case 'CreateTopics':
      expect(request.body.topics.map((t) => t.name)).toEqual([topic]);
      break;
    case 'DeleteTopics':
      if (request.header.apiVersion >= 6) {
        expect(request.body.topics?.map((t) => t.name)).toEqual([topic]);
      } else {
        expect(request.body.topicNames).toEqual([topic]);
      }
      break;
    case 'DescribeGroups':
      expect(request.body.groups).toEqual([group]);
      break;
    case 'ListGroups':
    case 'InitProducerId':
      break;
  }
}

describe('captured client frames', () => {
  it('has the captures listed in EXPECTED, and no others', () => {
    const expected = Object.entries(EXPECTED).flatMap(([client, names]) =>
      names.map((n) => `${client}-${n}.hex`),
    );
    expect(FIXTURES.map((f) => f.file).sort()).toEqual(expected.sort());
  });

  it.each(FIXTURES.map((f) => [f.file, f] as const))(
    '%s decodes and re-encodes byte for byte',
    (_, fixture) => {
      const request = decodeFrame(fixture.frame);
      expect(request.api).toBe(fixture.api);
      expect(request.header.apiVersion).toBe(fixture.version);
      expect(request.header.clientId).toMatch(CLIENT_IDS[fixture.client]!);
      checkFields(fixture.client, request);
      const again = encodeRequest(request.api, request.header, request.body as never);
      expect(Buffer.from(again).toString('hex')).toBe(Buffer.from(fixture.frame).toString('hex'));
    },
  );

  it('every captured version is advertised', () => {
    for (const f of FIXTURES) {
      const advertised = isAdvertised(KAFKA_APIS[f.api].apiKey, f.version);
      expect([f.file, advertised]).toEqual([f.file, true]);
    }
  });
});
