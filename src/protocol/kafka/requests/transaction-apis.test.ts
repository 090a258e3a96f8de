/**
 * Golden bytes of the transaction APIs: request frames captured from kafkajs 2.2.4
 * (`producer.transaction()`, `send`, `sendOffsets`, `commit`) and librdkafka 2.0.2 (Debian's
 * python3-confluent-kafka: `init_transactions`, `send_offsets_to_transaction`,
 * `commit_transaction`) against Tributary; librdkafka's TxnOffsetCommit both as v2 (when the
 * broker offered v0–v2) and v3 (flexible). Each must decode to what the client meant and encode
 * back byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { KafkaFrameDecoder } from '../frame.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from './index.js';

interface Golden {
  readonly client: 'kafkajs' | 'librdkafka';
  readonly hex: string;
  readonly api: string;
  readonly version: number;
  readonly body: unknown;
}

const KAFKAJS_PRODUCER = { producerId: 1000, producerEpoch: 0 };
const RDKAFKA_PRODUCER = { producerId: 1, producerEpoch: 0 };

const GOLDEN: readonly Golden[] = [
  {
    client: 'kafkajs',
    api: 'FindCoordinator',
    version: 2,
    hex: '00000027000a00020000000300117472696275746172792d636170747572650009676f6c64656e2d747801',
    body: { key: 'golden-tx', keyType: 1 },
  },
  {
    client: 'kafkajs',
    api: 'InitProducerId',
    version: 1,
    hex: '0000002a001600010000000400117472696275746172792d636170747572650009676f6c64656e2d74780000ea60',
    body: { transactionalId: 'golden-tx', transactionTimeoutMs: 60_000 },
  },
  {
    client: 'kafkajs',
    api: 'AddPartitionsToTxn',
    version: 1,
    hex: '00000044001800010000000700117472696275746172792d636170747572650009676f6c64656e2d747800000000000003e80000000000010006676f6c64656e0000000100000000',
    body: {
      transactionalId: 'golden-tx',
      ...KAFKAJS_PRODUCER,
      topics: [{ name: 'golden', partitions: [0] }],
    },
  },
  {
    client: 'kafkajs',
    api: 'AddOffsetsToTxn',
    version: 1,
    hex: '0000003e001900010000000a00117472696275746172792d636170747572650009676f6c64656e2d747800000000000003e80000000c676f6c64656e2d67726f7570',
    body: { transactionalId: 'golden-tx', ...KAFKAJS_PRODUCER, groupId: 'golden-group' },
  },
  {
    client: 'kafkajs',
    api: 'TxnOffsetCommit',
    version: 1,
    hex: '0000005f001c00010000000c00117472696275746172792d636170747572650009676f6c64656e2d7478000c676f6c64656e2d67726f757000000000000003e80000000000010009676f6c64656e2d696e00000001000000000000000000000005ffff',
    body: {
      transactionalId: 'golden-tx',
      groupId: 'golden-group',
      ...KAFKAJS_PRODUCER,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'golden-in',
          partitions: [
            { partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    },
  },
  {
    client: 'kafkajs',
    api: 'EndTxn',
    version: 1,
    hex: '00000031001a00010000000e00117472696275746172792d636170747572650009676f6c64656e2d747800000000000003e8000001',
    body: { transactionalId: 'golden-tx', ...KAFKAJS_PRODUCER, committed: true },
  },
  {
    client: 'librdkafka',
    api: 'FindCoordinator',
    version: 2,
    hex: '0000001d000a000200000003000772646b61666b610009676f6c64656e2d747801',
    body: { key: 'golden-tx', keyType: 1 },
  },
  {
    client: 'librdkafka',
    api: 'InitProducerId',
    version: 1,
    hex: '000000200016000100000003000772646b61666b610009676f6c64656e2d74780000ea60',
    body: { transactionalId: 'golden-tx', transactionTimeoutMs: 60_000 },
  },
  {
    client: 'librdkafka',
    api: 'AddPartitionsToTxn',
    version: 0,
    hex: '0000003a0018000000000005000772646b61666b610009676f6c64656e2d747800000000000000010000000000010006676f6c64656e0000000100000000',
    body: {
      transactionalId: 'golden-tx',
      ...RDKAFKA_PRODUCER,
      topics: [{ name: 'golden', partitions: [0] }],
    },
  },
  {
    client: 'librdkafka',
    api: 'AddOffsetsToTxn',
    version: 0,
    hex: '000000340019000000000004000772646b61666b610009676f6c64656e2d747800000000000000010000000c676f6c64656e2d67726f7570',
    body: { transactionalId: 'golden-tx', ...RDKAFKA_PRODUCER, groupId: 'golden-group' },
  },
  {
    client: 'librdkafka',
    api: 'TxnOffsetCommit',
    version: 2,
    hex: '00000059001c000200000005000772646b61666b610009676f6c64656e2d7478000c676f6c64656e2d67726f757000000000000000010000000000010009676f6c64656e2d696e00000001000000000000000000000005ffffffff0000',
    body: {
      transactionalId: 'golden-tx',
      groupId: 'golden-group',
      ...RDKAFKA_PRODUCER,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'golden-in',
          partitions: [
            { partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: '' },
          ],
        },
      ],
    },
  },
  {
    // The same commit when v3 is advertised: flexible, with the (absent) group membership.
    client: 'librdkafka',
    api: 'TxnOffsetCommit',
    version: 3,
    hex: '00000059001c000300000005000772646b61666b61000a676f6c64656e2d74780d676f6c64656e2d67726f757000000000000000010000ffffffff0100020a676f6c64656e2d696e02000000000000000000000005ffffffff01000000',
    body: {
      transactionalId: 'golden-tx',
      groupId: 'golden-group',
      ...RDKAFKA_PRODUCER,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'golden-in',
          partitions: [
            { partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: '' },
          ],
        },
      ],
    },
  },
  {
    client: 'librdkafka',
    api: 'EndTxn',
    version: 1,
    hex: '00000027001a000100000006000772646b61666b610009676f6c64656e2d74780000000000000001000001',
    body: { transactionalId: 'golden-tx', ...RDKAFKA_PRODUCER, committed: true },
  },
];

function payloadOf(frame: Uint8Array): Uint8Array {
  const payloads = new KafkaFrameDecoder().push(frame);
  expect(payloads).toHaveLength(1);
  return payloads[0]!;
}

describe('transaction APIs: captured client frames', () => {
  for (const golden of GOLDEN) {
    it(`${golden.client} ${golden.api} v${golden.version} decodes and encodes back byte for byte`, () => {
      const frame = Uint8Array.from(Buffer.from(golden.hex, 'hex'));
      const request = decodeRequest(payloadOf(frame));
      expect(request.api).toBe(golden.api);
      expect(request.header.apiVersion).toBe(golden.version);
      expect(request.body).toEqual(golden.body);
      const again = encodeRequest(request.api, request.header, request.body as never);
      expect(Buffer.from(again).toString('hex')).toBe(golden.hex);
    });
  }
});

describe('transaction API responses', () => {
  it('AddPartitionsToTxn v0–v2 answer per topic and partition', () => {
    const body = {
      throttleTimeMs: 0,
      resultsByTopic: [
        {
          name: 'golden',
          resultsByPartition: [
            { partitionIndex: 0, partitionErrorCode: 0 },
            { partitionIndex: 7, partitionErrorCode: 3 },
          ],
        },
      ],
    };
    for (const version of [0, 1, 2]) {
      const frame = encodeResponse('AddPartitionsToTxn', { apiVersion: version, correlationId: 9 }, body);
      // size, correlation id, throttle, 1 topic "golden", 2 partitions.
      expect(Buffer.from(frame).toString('hex')).toBe(
        '00000024000000090000000000000001' + '0006676f6c64656e00000002' + '000000000000' + '000000070003',
      );
      expect(decodeResponse('AddPartitionsToTxn', version, payloadOf(frame)).body).toEqual(body);
    }
  });

  it('EndTxn and AddOffsetsToTxn answer an error code; TxnOffsetCommit one per partition', () => {
    const end = encodeResponse(
      'EndTxn',
      { apiVersion: 1, correlationId: 1 },
      { throttleTimeMs: 5, errorCode: 47 },
    );
    expect(Buffer.from(end).toString('hex')).toBe('0000000a0000000100000005002f');
    const add = encodeResponse(
      'AddOffsetsToTxn',
      { apiVersion: 2, correlationId: 2 },
      { throttleTimeMs: 0, errorCode: 90 },
    );
    expect(Buffer.from(add).toString('hex')).toBe('0000000a0000000200000000005a');
    const commit = {
      throttleTimeMs: 0,
      topics: [{ name: 'in', partitions: [{ partitionIndex: 1, errorCode: 48 }] }],
    };
    const frame = encodeResponse('TxnOffsetCommit', { apiVersion: 2, correlationId: 3 }, commit);
    expect(Buffer.from(frame).toString('hex')).toBe(
      '0000001a000000030000000000000001000269' + '6e0000000100000001' + '0030',
    );
    expect(decodeResponse('TxnOffsetCommit', 2, payloadOf(frame)).body).toEqual(commit);
  });
});
