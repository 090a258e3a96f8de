/**
 * Real clients against Tributary's codecs over loopback TCP: kafkajs 2.2.4 and
 * @platformatic/kafka 1.35 always (devDependencies), kcat and kafka-python 2.0.2 when installed (`apt-get install -y kcat
 * python3-kafka`). Each goes through start-up, produce, consume in a group and its admin calls
 * against the responder of `kafka-capture-broker.ts`, whose every answer is encoded by
 * `src/protocol/kafka`; the versions each client sends are checked against kafka-compat.md.
 */
import { describe, expect, it } from 'vitest';
import { captureClient, SCENARIOS } from './kafka-capture.js';

/** (API, version) pairs each client must send; kafka-compat.md's table, as observed. */
const SENDS: Record<string, readonly string[]> = {
  kafkajs: [
    'ApiVersions v2',
    'Metadata v6',
    'CreateTopics v3',
    'InitProducerId v1',
    'Produce v7',
    'FindCoordinator v2',
    'JoinGroup v5',
    'SyncGroup v3',
    'OffsetFetch v4',
    'ListOffsets v3',
    'Fetch v11',
    'OffsetCommit v5',
    'LeaveGroup v3',
    'ListGroups v2',
    'DescribeGroups v2',
    'DescribeConfigs v2',
    'AlterConfigs v1',
    'CreatePartitions v1',
    'DeleteRecords v1',
    'DeleteGroups v1',
    'DeleteTopics v1',
  ],
  platformatic: [
    'ApiVersions v3',
    'CreateTopics v7',
    'InitProducerId v5',
    'Metadata v12',
    'Produce v11',
    'FindCoordinator v6',
    'JoinGroup v9',
    'SyncGroup v5',
    'ListOffsets v9',
    'Fetch v17',
    'Heartbeat v4',
    'OffsetCommit v9',
    'LeaveGroup v5',
    'ListGroups v5',
    'DescribeGroups v5',
    'OffsetFetch v9',
    'DescribeConfigs v4',
    'AlterConfigs v2',
    'IncrementalAlterConfigs v1',
    'CreatePartitions v3',
    'DeleteRecords v2',
    'OffsetDelete v0',
    'DeleteGroups v2',
    'DeleteTopics v6',
  ],
  // librdkafka 2.0.2 picks its newest versions: flexible ApiVersions, InitProducerId and OffsetFetch.
  kcat: [
    'ApiVersions v3',
    'Metadata v4',
    'Produce v7',
    'InitProducerId v4',
    'ListOffsets v2',
    'Fetch v11',
    'FindCoordinator v2',
    'JoinGroup v5',
    'SyncGroup v3',
    'OffsetCommit v7',
    'OffsetFetch v7',
    'LeaveGroup v1',
  ],
  'kafka-python': [
    'ApiVersions v0',
    'Metadata v0',
    'Metadata v1',
    'Metadata v5',
    'CreateTopics v3',
    'Produce v7',
    'FindCoordinator v0',
    'JoinGroup v2',
    'SyncGroup v1',
    'OffsetFetch v1',
    'ListOffsets v1',
    'Fetch v4',
    'OffsetCommit v2',
    'LeaveGroup v1',
    'ListGroups v1',
    'DescribeGroups v3',
    'OffsetFetch v3',
    'DescribeConfigs v2',
    'AlterConfigs v1',
    'CreatePartitions v1',
    'DeleteGroups v1',
    'DeleteTopics v3',
  ],
};

describe.each(Object.entries(SCENARIOS))('%s against the Kafka codecs', (client, scenario) => {
  it.skipIf(!scenario.available())('completes its scenario and sends the expected versions', async () => {
    const { frames, error } = await captureClient(scenario);
    expect(error).toBeNull();
    const sent = new Set(frames.map((f) => `${f.api} v${f.apiVersion}`));
    for (const pair of SENDS[client] ?? [])
      expect([client, pair, sent.has(pair)]).toEqual([client, pair, true]);
    // kafka-python pipelines Metadata v0 behind ApiVersions v0 on every new connection.
    if (client === 'kafka-python') {
      expect(frames.slice(0, 2).map((f) => `${f.api} v${f.apiVersion}`)).toEqual([
        'ApiVersions v0',
        'Metadata v0',
      ]);
    }
    // librdkafka and @platformatic/kafka open with ApiVersions v3, answered in full: no v0 retry.
    if (client === 'kcat' || client === 'platformatic') {
      expect(frames[0] && `${frames[0].api} v${frames[0].apiVersion}`).toBe('ApiVersions v3');
      expect(sent.has('ApiVersions v0')).toBe(false);
    }
  });
});
