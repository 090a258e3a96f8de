import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../../errors.js';
import { KafkaErrorCode } from '../error-codes.js';
import { KafkaFrameDecoder } from '../frame.js';
import { arbitraryOf, type SampleKind, sampleOf } from '../testing/arbitrary.js';
import {
  API_KEYS,
  type ApiVersionCodec,
  advertisedApiVersions,
  apiName,
  apiVersionsFallbackResponse,
  apiVersionsResponse,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isAdvertised,
  KAFKA_APIS,
  type KafkaApiName,
} from './index.js';

/** The codecs of one version, with the body types erased (tests walk every API alike). */
function codecOf(api: KafkaApiName, version: number): ApiVersionCodec<unknown, unknown> {
  const codec = KAFKA_APIS[api].versions[version];
  if (codec === undefined) throw new Error(`${api} v${version} is not implemented`);
  return codec as ApiVersionCodec<unknown, unknown>;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The payload of a single encoded frame, through the frame decoder as a server would get it. */
function payloadOf(frame: Uint8Array): Uint8Array {
  const payloads = new KafkaFrameDecoder().push(frame);
  expect(payloads).toHaveLength(1);
  return payloads[0]!;
}

const NAMES = Object.keys(KAFKA_APIS) as KafkaApiName[];

/** Every implemented (api, version) pair. */
const VERSIONS = NAMES.flatMap((api) =>
  KAFKA_APIS[api].versions.flatMap((codec) => (codec === undefined ? [] : [{ api, version: codec.version }])),
);

function requestRoundTrip(api: KafkaApiName, version: number, body: unknown, clientId: string | null): void {
  const frame = encodeRequest(api, { apiVersion: version, correlationId: 42, clientId }, body as never);
  expect(new DataView(frame.buffer, frame.byteOffset).getInt32(0)).toBe(frame.length - 4);
  const decoded = decodeRequest(payloadOf(frame));
  expect(decoded.api).toBe(api);
  expect(decoded.header).toEqual({
    apiKey: KAFKA_APIS[api].apiKey,
    apiVersion: version,
    correlationId: 42,
    clientId,
  });
  expect(decoded.body).toEqual(body);
}

function responseRoundTrip(api: KafkaApiName, version: number, body: unknown): void {
  const frame = encodeResponse(api, { apiVersion: version, correlationId: -7 }, body as never);
  expect(new DataView(frame.buffer, frame.byteOffset).getInt32(0)).toBe(frame.length - 4);
  const decoded = decodeResponse(api, version, payloadOf(frame));
  expect(decoded.correlationId).toBe(-7);
  expect(decoded.body).toEqual(body);
}

describe('registry', () => {
  it('advertises exactly the table of docs/kafka.md', () => {
    expect(advertisedApiVersions().map((v) => [v.apiKey, v.minVersion, v.maxVersion])).toEqual([
      [0, 3, 11], // Produce
      [1, 4, 17], // Fetch
      [2, 1, 9], // ListOffsets
      [3, 0, 12], // Metadata
      [8, 2, 9], // OffsetCommit
      [9, 1, 9], // OffsetFetch
      [10, 0, 6], // FindCoordinator
      [11, 2, 9], // JoinGroup
      [12, 1, 4], // Heartbeat
      [13, 1, 5], // LeaveGroup
      [14, 1, 5], // SyncGroup
      [15, 0, 5], // DescribeGroups
      [16, 0, 5], // ListGroups
      [17, 0, 1], // SaslHandshake
      [18, 0, 4], // ApiVersions
      [19, 0, 7], // CreateTopics
      [20, 0, 6], // DeleteTopics
      [21, 0, 2], // DeleteRecords
      [22, 0, 5], // InitProducerId
      [24, 0, 3], // AddPartitionsToTxn
      [25, 0, 3], // AddOffsetsToTxn
      [26, 0, 3], // EndTxn
      [28, 0, 3], // TxnOffsetCommit
      [32, 0, 4], // DescribeConfigs
      [33, 0, 2], // AlterConfigs
      [36, 0, 2], // SaslAuthenticate
      [37, 0, 3], // CreatePartitions
      [42, 0, 2], // DeleteGroups
      [44, 0, 1], // IncrementalAlterConfigs
      [47, 0, 0], // OffsetDelete
      [60, 0, 1], // DescribeCluster
    ]);
  });

  it('implements every advertised version', () => {
    for (const api of NAMES) {
      const { minVersion, maxVersion, versions } = KAFKA_APIS[api];
      for (let v = minVersion; v <= maxVersion; v++) expect(versions[v]?.version).toBe(v);
    }
    expect(VERSIONS).toHaveLength(173);
  });

  it('maps keys and names both ways', () => {
    for (const api of NAMES) expect(apiName(API_KEYS[api])).toBe(api);
    expect(apiName(17)).toBe('SaslHandshake');
    expect(apiName(23)).toBeUndefined();
    expect(API_KEYS.OffsetCommit).toBe(8);
  });

  it('knows what is advertised', () => {
    expect(isAdvertised(18, 4)).toBe(true);
    expect(isAdvertised(18, 5)).toBe(false);
    expect(isAdvertised(0, 2)).toBe(false);
    expect(isAdvertised(0, 3)).toBe(true);
    expect(isAdvertised(43, 0)).toBe(false);
  });

  it('builds the ApiVersions answer from the table', () => {
    const body = apiVersionsResponse();
    expect(body.errorCode).toBe(0);
    expect(body.apiKeys).toEqual(advertisedApiVersions());
  });
});

describe('ApiVersions fallback (a version beyond v4)', () => {
  it('is a v0 frame with UNSUPPORTED_VERSION and the ApiVersions range', () => {
    const frame = apiVersionsFallbackResponse(0x0a0b0c0d);
    // size 16 | correlation id | error 35 | 1 entry: key 18, min 0, max 4
    expect(toHex(frame)).toBe('00000010' + '0a0b0c0d' + '0023' + '00000001' + '0012' + '0000' + '0004');
    const decoded = decodeResponse('ApiVersions', 0, payloadOf(frame));
    expect(decoded.body.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);
  });

  it('a v3 request decodes (header v2, compact strings)', () => {
    const body = { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' };
    requestRoundTrip('ApiVersions', 3, body, 'rdkafka');
    expect(isAdvertised(API_KEYS.ApiVersions, 3)).toBe(true);
  });

  it('a v3 response keeps response header v0', () => {
    const frame = encodeResponse('ApiVersions', { apiVersion: 3, correlationId: 1 }, apiVersionsResponse());
    // size, correlation id, then the body starts at once with error_code 0 (no tagged fields).
    expect(toHex(frame.subarray(4, 10))).toBe('000000010000');
  });
});

describe('round trips', () => {
  const cases = VERSIONS.map(({ api, version }) => [`${api} v${version}`, api, version] as const);
  const kinds: SampleKind[] = ['empty', 'full'];

  it.each(cases)('%s request: samples', (_, api, version) => {
    const codec = codecOf(api, version);
    for (const kind of kinds) {
      requestRoundTrip(api, version, sampleOf(codec.request, kind), kind === 'empty' ? null : 'client-ü');
    }
  });

  it.each(cases)('%s response: samples', (_, api, version) => {
    const codec = codecOf(api, version);
    for (const kind of kinds) responseRoundTrip(api, version, sampleOf(codec.response, kind));
  });

  it.each(cases)('%s request and response: random values', (_, api, version) => {
    const codec = codecOf(api, version);
    fc.assert(
      fc.property(arbitraryOf(codec.request), fc.option(fc.string(), { nil: null }), (body, clientId) =>
        requestRoundTrip(api, version, body, clientId),
      ),
      { numRuns: 60 },
    );
    fc.assert(
      fc.property(arbitraryOf(codec.response), (body) => responseRoundTrip(api, version, body)),
      { numRuns: 60 },
    );
  });
});

describe('version differences', () => {
  it('Metadata v0: an empty topic array means all topics (null)', () => {
    const frame = encodeRequest(
      'Metadata',
      { apiVersion: 0, correlationId: 1, clientId: null },
      {
        topics: null,
        allowAutoTopicCreation: true,
      },
    );
    expect(toHex(frame.subarray(-4))).toBe('00000000');
    expect(decodeRequest(payloadOf(frame)).body).toEqual({ topics: null, allowAutoTopicCreation: true });
    expect(() =>
      encodeRequest(
        'Metadata',
        { apiVersion: 0, correlationId: 1, clientId: null },
        {
          topics: [],
          allowAutoTopicCreation: true,
        },
      ),
    ).toThrow(/cannot ask for no topics/);
  });

  it('Metadata v1+: null (-1) means all topics, empty means none', () => {
    for (const topics of [null, []]) {
      const frame = encodeRequest(
        'Metadata',
        { apiVersion: 1, correlationId: 1, clientId: null },
        {
          topics,
          allowAutoTopicCreation: true,
        },
      );
      expect(decodeRequest(payloadOf(frame)).body).toEqual({ topics, allowAutoTopicCreation: true });
    }
  });

  it('drops fields a version lacks and decodes their defaults', () => {
    const frame = encodeRequest(
      'Metadata',
      { apiVersion: 3, correlationId: 1, clientId: null },
      {
        topics: [{ name: 't' }],
        allowAutoTopicCreation: false,
      },
    );
    expect(decodeRequest(payloadOf(frame)).body).toEqual({
      topics: [{ name: 't' }],
      allowAutoTopicCreation: true,
    });
  });

  it('Fetch: empty records are written with length 0, never -1', () => {
    const frame = encodeResponse(
      'Fetch',
      { apiVersion: 11, correlationId: 1 },
      {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topic: 't',
            partitions: [
              {
                partitionIndex: 0,
                errorCode: 0,
                highWatermark: 5,
                lastStableOffset: 5,
                logStartOffset: 0,
                abortedTransactions: null,
                preferredReadReplica: -1,
                records: new Uint8Array(0),
              },
            ],
          },
        ],
      },
    );
    // ... aborted_transactions -1 | preferred_read_replica -1 | records length 0
    expect(toHex(frame.subarray(-12))).toBe('ffffffff' + 'ffffffff' + '00000000');
  });

  it('LeaveGroup: v1 names one member, v3 a batch', () => {
    const v1 = decodeRequest(
      payloadOf(
        encodeRequest(
          'LeaveGroup',
          { apiVersion: 1, correlationId: 1, clientId: null },
          {
            groupId: 'g',
            memberId: 'm',
            members: [],
          },
        ),
      ),
    );
    expect(v1.body).toEqual({ groupId: 'g', memberId: 'm', members: [] });
    const v3 = decodeRequest(
      payloadOf(
        encodeRequest(
          'LeaveGroup',
          { apiVersion: 3, correlationId: 1, clientId: null },
          {
            groupId: 'g',
            memberId: 'ignored',
            members: [{ memberId: 'm', groupInstanceId: null }],
          },
        ),
      ),
    );
    expect(v3.body).toEqual({
      groupId: 'g',
      memberId: '',
      members: [{ memberId: 'm', groupInstanceId: null }],
    });
  });
});

describe('decodeRequest errors', () => {
  function expectCode(fn: () => unknown, code: 'UNSUPPORTED_VERSION' | 'MALFORMED_DATA'): void {
    try {
      fn();
    } catch (err) {
      expect(isTributaryError(err, code)).toBe(true);
      return;
    }
    expect.unreachable(`expected ${code}`);
  }

  it('refuses an unknown API or an unimplemented version as UNSUPPORTED_VERSION', () => {
    // AllocateProducerIds (67, broker to controller) v0, header only.
    expectCode(
      () => decodeRequest(Uint8Array.of(0, 67, 0, 0, 0, 0, 0, 1, 0xff, 0xff)),
      'UNSUPPORTED_VERSION',
    );
    // Produce v2.
    expectCode(() => decodeRequest(Uint8Array.of(0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff)), 'UNSUPPORTED_VERSION');
    // Fetch v18.
    expectCode(
      () => decodeRequest(Uint8Array.of(0, 1, 0, 18, 0, 0, 0, 1, 0xff, 0xff)),
      'UNSUPPORTED_VERSION',
    );
    expectCode(
      () =>
        encodeResponse('Produce', { apiVersion: 12, correlationId: 1 }, { responses: [], throttleTimeMs: 0 }),
      'UNSUPPORTED_VERSION',
    );
  });

  it('refuses trailing bytes and cut bodies as MALFORMED_DATA', () => {
    const frame = encodeRequest(
      'Heartbeat',
      { apiVersion: 1, correlationId: 1, clientId: 'c' },
      {
        groupId: 'g',
        generationId: 1,
        memberId: 'm',
        groupInstanceId: null,
      },
    );
    const payload = payloadOf(frame);
    const longer = new Uint8Array(payload.length + 1);
    longer.set(payload);
    expectCode(() => decodeRequest(longer), 'MALFORMED_DATA');
    expectCode(() => decodeRequest(payload.subarray(0, payload.length - 1)), 'MALFORMED_DATA');
    expectCode(() => decodeRequest(payload.subarray(0, 5)), 'MALFORMED_DATA');
  });

  it('names the API and version in the error', () => {
    const payload = Uint8Array.of(0, 12, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0, 1);
    expect(() => decodeRequest(payload)).toThrow(/Heartbeat v3 request/);
  });
});

describe('flexible versions (KIP-482)', () => {
  it('a flexible response has response header v1 (an empty tag section after the correlation id)', () => {
    const frame = encodeResponse(
      'Heartbeat',
      { apiVersion: 4, correlationId: 9 },
      { throttleTimeMs: 0, errorCode: 0 },
    );
    // size 12 | correlation id | no tags | throttle 0 | error 0 | no tags
    expect(toHex(frame)).toBe('0000000c' + '00000009' + '00' + '00000000' + '0000' + '00');
    const classic = encodeResponse(
      'Heartbeat',
      { apiVersion: 3, correlationId: 9 },
      { throttleTimeMs: 0, errorCode: 0 },
    );
    expect(toHex(classic)).toBe('0000000a' + '00000009' + '00000000' + '0000');
  });

  it('skips tagged fields a client sends in the request header and in the body', () => {
    const body = {
      groupId: 'g',
      generationId: 3,
      memberId: 'm',
      groupInstanceId: null,
    };
    const plain = encodeRequest('Heartbeat', { apiVersion: 4, correlationId: 5, clientId: 'c' }, body);
    const payload = payloadOf(plain);
    // Header: key(2) version(2) correlation(4) client id "c" (2+1), then its tag section (00).
    const headerTags = 11;
    expect(payload[headerTags]).toBe(0);
    const tagged = new Uint8Array([
      ...payload.subarray(0, headerTags),
      ...[2, 0, 1, 0x61, 7, 2, 0xbe, 0xef], // two header tags: 0 = "a", 7 = 0xbeef
      ...payload.subarray(headerTags + 1, payload.length - 1),
      ...[1, 0, 3, 1, 2, 3], // one body tag: 0 = 3 bytes
    ]);
    const decoded = decodeRequest(tagged);
    expect(decoded.header).toEqual({ apiKey: 12, apiVersion: 4, correlationId: 5, clientId: 'c' });
    expect(decoded.body).toEqual(body);
  });

  it('Fetch v15+ has no replica_id on the wire; v13+ names topics by id only', () => {
    const request = {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1024,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: '',
          topicId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 7,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: 512,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    };
    const v14 = payloadOf(
      encodeRequest('Fetch', { apiVersion: 14, correlationId: 1, clientId: null }, request),
    );
    const v15 = payloadOf(
      encodeRequest('Fetch', { apiVersion: 15, correlationId: 1, clientId: null }, request),
    );
    expect(v14.length - v15.length).toBe(4);
    expect(decodeRequest(v15).body).toEqual(request);
    // The topic name is not sent from v13: it decodes as ''.
    const named = { ...request, topics: [{ ...request.topics[0]!, topic: 'orders' }] };
    expect(
      decodeRequest(
        payloadOf(encodeRequest('Fetch', { apiVersion: 13, correlationId: 1, clientId: null }, named)),
      ).body,
    ).toEqual(request);
  });

  it('fields newer versions added may be left out: they are written as their default', () => {
    const frame = encodeResponse(
      'Metadata',
      { apiVersion: 12, correlationId: 1 },
      {
        throttleTimeMs: 0,
        brokers: [],
        clusterId: null,
        controllerId: 0,
        topics: [{ errorCode: 3, name: 't', isInternal: false, partitions: [] }],
      },
    );
    const topic = decodeResponse('Metadata', 12, payloadOf(frame)).body.topics[0];
    expect(topic).toEqual({
      errorCode: 3,
      name: 't',
      topicId: '00000000-0000-0000-0000-000000000000',
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: -2147483648,
    });
  });
});
