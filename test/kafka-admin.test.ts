/**
 * Kafka admin APIs with real clients: kafkajs 2.2.4 in-process and kafka-python 2.0.2 as a child
 * process, against `startServer` with the Kafka listener on a free port. DescribeConfigs of
 * topics (Tributary's settings under Kafka's names) and of the broker; kafka-python's
 * alter_configs, consumer-group calls and describe_cluster.
 */
import { ConfigResourceTypes, type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeWithClient,
  hasKafkaPython,
  type KafkaTestServer,
  PYTHON,
  RawKafka,
  run,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
const closers: (() => Promise<unknown>)[] = [];

function kafka(): Kafka {
  return new Kafka({
    clientId: 'tributary-admin-test',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });
}

async function admin(): Promise<ReturnType<Kafka['admin']>> {
  const a = kafka().admin();
  await a.connect();
  closers.push(() => a.disconnect());
  return a;
}

beforeEach(async () => {
  dir = await tempDir('tributary-kafka-admin-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await server.close();
  await dir.remove();
});

describe('kafkajs admin', () => {
  it('describeConfigs: a topic reports its settings under Kafka names, defaults marked', async () => {
    const a = await admin();
    expect(
      await a.createTopics({
        topics: [
          {
            topic: 'settings',
            numPartitions: 2,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'retention.ms', value: '3600000' },
            ],
          },
        ],
      }),
    ).toBe(true);
    const { resources } = await a.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'settings' }],
    });
    expect(resources).toHaveLength(1);
    expect(resources[0]?.errorCode).toBe(0);
    const byName = new Map(resources[0]?.configEntries.map((e) => [e.configName, e]));
    expect(byName.get('cleanup.policy')).toMatchObject({
      configValue: 'compact',
      isDefault: false,
      readOnly: true,
    });
    expect(byName.get('retention.ms')).toMatchObject({ configValue: '3600000', isDefault: false });
    expect(byName.get('retention.bytes')).toMatchObject({ configValue: '-1', isDefault: true });
    expect(byName.get('delete.retention.ms')?.configValue).toBe(String(24 * 60 * 60 * 1000));
    expect(byName.get('min.insync.replicas')?.configValue).toBe('1');

    // Named keys only; an unknown topic gets its own error.
    const some = await a
      .describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'settings', configNames: ['segment.bytes'] }],
      })
      .then((r) => r.resources[0]?.configEntries.map((e) => [e.configName, e.configValue]));
    expect(some).toEqual([['segment.bytes', String(64 * 1024 * 1024)]]);
    await expect(
      a.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'nope' }],
      }),
    ).rejects.toThrow(/does not host this topic/);
  });

  it('describeConfigs: the broker reports its one-node settings', async () => {
    const a = await admin();
    const { resources } = await a.describeConfigs({
      includeSynonyms: true,
      resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }],
    });
    const byName = new Map(resources[0]?.configEntries.map((e) => [e.configName, e.configValue]));
    expect(byName.get('broker.id')).toBe('0');
    expect(byName.get('default.replication.factor')).toBe('1');
    expect(byName.get('advertised.listeners')).toMatch(/^PLAINTEXT:\/\/.+:\d+$/);
  });
});

describe('cluster', () => {
  it('DescribeCluster: this node is the one broker and the controller', async () => {
    const raw = await RawKafka.open(server.kafka.port);
    closers.push(async () => raw.close());
    const v1 = await raw.call('DescribeCluster', 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
    });
    expect(v1).toMatchObject({ errorCode: 0, controllerId: 0, endpointType: 1 });
    expect(v1.brokers).toEqual([
      { brokerId: 0, host: server.kafka.advertisedHost, port: server.kafka.port, rack: null },
    ]);
    const metadata = await raw.call('Metadata', 9, {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(v1.clusterId).toBe(metadata.clusterId);
    const controllers = await raw.call('DescribeCluster', 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: 2,
    });
    expect(controllers).toMatchObject({ errorCode: 42, brokers: [] });
    expect(
      (await raw.call('DescribeCluster', 0, { includeClusterAuthorizedOperations: true, endpointType: 1 }))
        .brokers,
    ).toHaveLength(1);
  });
});

describe('config changes', () => {
  it('kafkajs alterConfigs: a request that changes nothing succeeds; a change names the setting', async () => {
    const a = await admin();
    await a.createTopics({
      topics: [{ topic: 'fixed', configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    });
    const alter = (configEntries: { name: string; value: string }[], validateOnly = false) =>
      a.alterConfigs({
        validateOnly,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'fixed', configEntries }],
      });
    const same = await alter([{ name: 'retention.ms', value: '3600000' }]);
    expect(same.resources[0]).toMatchObject({ errorCode: 0, resourceName: 'fixed' });
    const refusal = (entries: { name: string; value: string }[], validateOnly = false) =>
      alter(entries, validateOnly).then(
        () => 'accepted',
        (error: { type?: string }) => error.type,
      );
    // AlterConfigs replaces the whole set: leaving retention.ms out would reset it.
    expect(await refusal([{ name: 'cleanup.policy', value: 'delete' }])).toBe('POLICY_VIOLATION');
    expect(await refusal([{ name: 'retention.ms', value: '1000' }], true)).toBe('POLICY_VIOLATION');
    expect(await refusal([{ name: 'retention.fancy', value: '1' }])).toBe('INVALID_CONFIG');
    expect(await refusal([{ name: 'segment.bytes', value: 'big' }])).toBe('INVALID_CONFIG');
    // The messages name the setting (kafkajs shows only the code's description).
    const raw = await RawKafka.open(server.kafka.port);
    closers.push(async () => raw.close());
    const { responses } = await raw.call('AlterConfigs', 0, {
      validateOnly: true,
      resources: [
        { resourceType: 2, resourceName: 'fixed', configs: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
    });
    expect(responses[0]?.errorMessage).toMatch(
      /cleanup\.policy \(delete → compact\), retention\.ms \(3600000 → -1\).*fixed when it is created/,
    );
    const { resources } = await a.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'fixed', configNames: ['retention.ms'] }],
    });
    expect(resources[0]?.configEntries[0]?.configValue).toBe('3600000');
  });

  it('IncrementalAlterConfigs: SET, DELETE and APPEND checked against the current values', async () => {
    const a = await admin();
    await a.createTopics({
      topics: [{ topic: 'inc', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    });
    const raw = await RawKafka.open(server.kafka.port);
    closers.push(async () => raw.close());
    const alter = async (configs: { name: string; configOperation: number; value: string | null }[]) => {
      const { responses } = await raw.call('IncrementalAlterConfigs', 1, {
        validateOnly: false,
        resources: [{ resourceType: 2, resourceName: 'inc', configs }],
      });
      return responses[0];
    };
    // Unnamed settings stay: only what is named is compared.
    expect(await alter([{ name: 'cleanup.policy', configOperation: 0, value: 'compact' }])).toMatchObject({
      errorCode: 0,
    });
    expect(await alter([{ name: 'retention.ms', configOperation: 1, value: null }])).toMatchObject({
      errorCode: 0,
    });
    // compact,delete is compact here (as CreateTopics reads it): no change.
    expect(await alter([{ name: 'cleanup.policy', configOperation: 2, value: 'delete' }])).toMatchObject({
      errorCode: 0,
    });
    expect(await alter([{ name: 'cleanup.policy', configOperation: 0, value: 'delete' }])).toMatchObject({
      errorCode: 44, // POLICY_VIOLATION
      errorMessage: expect.stringContaining('cleanup.policy'),
    });
    expect(await alter([{ name: 'cleanup.policy', configOperation: 1, value: null }])).toMatchObject({
      errorCode: 44,
    });
    expect(await alter([{ name: 'retention.ms', configOperation: 2, value: '1' }])).toMatchObject({
      errorCode: 40, // INVALID_CONFIG
      errorMessage: expect.stringContaining('not a list'),
    });
    const broker = await raw.call('IncrementalAlterConfigs', 0, {
      validateOnly: true,
      resources: [
        {
          resourceType: 4,
          resourceName: '0',
          configs: [{ name: 'num.partitions', configOperation: 0, value: '3' }],
        },
      ],
    });
    expect(broker.responses[0]).toMatchObject({
      errorCode: 44,
      errorMessage: expect.stringContaining('num.partitions'),
    });
  });
});

/** A running group member subscribed to `topic`, once its group is Stable. */
async function member(groupId: string, topic: string): Promise<Consumer> {
  const c = kafka().consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 300 });
  await c.connect();
  closers.push(() => c.disconnect());
  await c.subscribe({ topics: [topic], fromBeginning: true });
  let joined = false;
  c.on(c.events.GROUP_JOIN, () => {
    joined = true;
  });
  await c.run({ eachMessage: async () => undefined });
  await waitFor(() => joined, 30_000, `${groupId} to join`);
  return c;
}

async function committed(a: ReturnType<Kafka['admin']>, groupId: string, topic: string): Promise<string[]> {
  const offsets = await a.fetchOffsets({ groupId, topics: [topic] });
  return (offsets[0]?.partitions ?? []).map((p) => `${p.partition}:${p.offset}`).sort();
}

describe('group administration', () => {
  it('kafkajs deleteGroups: refuses a group with members, deletes an empty one and its offsets', async () => {
    const a = await admin();
    await a.createTopics({ topics: [{ topic: 'jobs', numPartitions: 2 }] });
    await a.setOffsets({ groupId: 'cleaners', topic: 'jobs', partitions: [{ partition: 0, offset: '5' }] });
    expect(await committed(a, 'cleaners', 'jobs')).toEqual(['0:5', '1:-1']);
    const busy = await member('cleaners', 'jobs');
    const refused = await a.deleteGroups(['cleaners']).catch((error: unknown) => error);
    expect(refused).toMatchObject({ groups: [{ groupId: 'cleaners', errorCode: 68 }] });
    await busy.disconnect();

    expect(await a.deleteGroups(['cleaners'])).toEqual([{ groupId: 'cleaners', errorCode: 0 }]);
    expect(await committed(a, 'cleaners', 'jobs')).toEqual(['0:-1', '1:-1']);
    expect((await a.listGroups()).groups.map((g) => g.groupId)).not.toContain('cleaners');
    const again = await a.deleteGroups(['cleaners']).catch((error: unknown) => error);
    expect(again).toMatchObject({ groups: [{ groupId: 'cleaners', errorCode: 69 }] });
  });

  it('OffsetDelete: deletes commits of topics nobody in the group reads, refuses subscribed ones', async () => {
    const a = await admin();
    await a.createTopics({ topics: [{ topic: 'old', numPartitions: 2 }, { topic: 'live' }] });
    await a.setOffsets({
      groupId: 'movers',
      topic: 'old',
      partitions: [
        { partition: 0, offset: '3' },
        { partition: 1, offset: '4' },
      ],
    });
    await a.setOffsets({ groupId: 'movers', topic: 'live', partitions: [{ partition: 0, offset: '7' }] });
    await member('movers', 'live');

    const raw = await RawKafka.open(server.kafka.port);
    closers.push(async () => raw.close());
    const answer = await raw.call('OffsetDelete', 0, {
      groupId: 'movers',
      topics: [
        { name: 'old', partitions: [{ partitionIndex: 0 }] },
        { name: 'live', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    expect(answer).toEqual({
      errorCode: 0,
      throttleTimeMs: 0,
      topics: [
        { name: 'old', partitions: [{ partitionIndex: 0, errorCode: 0 }] },
        { name: 'live', partitions: [{ partitionIndex: 0, errorCode: 86 }] }, // GROUP_SUBSCRIBED_TO_TOPIC
      ],
    });
    expect(await committed(a, 'movers', 'old')).toEqual(['0:-1', '1:4']);
    // Still committed (the running member may have moved it: the topic is empty).
    expect(await committed(a, 'movers', 'live')).not.toEqual(['0:-1']);
    const unknown = await raw.call('OffsetDelete', 0, { groupId: 'nobody', topics: [] });
    expect(unknown.errorCode).toBe(69); // GROUP_ID_NOT_FOUND
  });
});

const DESCRIBE_CONFIGS = `
import json, sys
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
b = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=b, client_id='py-admin')
admin.create_topics([NewTopic('py-settings', 1, 1, topic_configs={'retention.bytes': '1048576'})])
out = {}
for response in admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'py-settings'),
                                        ConfigResource(ConfigResourceType.BROKER, '0')]):
    for error_code, _msg, rtype, rname, entries in response.resources:
        out[str(rtype) + ':' + rname] = {'error': error_code, 'configs': {e[0]: e[1] for e in entries}}
print(json.dumps(out), flush=True)
admin.close()
`;

/** kafka-python 2.0.2's other admin calls (it has no delete_records and no DescribeCluster API). */
const GROUPS_AND_CONFIGS = `
import json, sys, time
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
b = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=b, client_id='py-admin')
admin.create_topics([NewTopic('py-admin', 1, 1, topic_configs={'retention.ms': '3600000'})])
out = {}
def alter(value):
    response = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'py-admin', configs={'retention.ms': value})])
    return [[r[0], r[1]] for r in response.resources]
out['alter_same'] = alter('3600000')
out['alter_change'] = alter('1000')
producer = KafkaProducer(bootstrap_servers=b)
for i in range(3):
    producer.send('py-admin', b'v%d' % i, partition=0)
producer.flush()
producer.close()
# A group that consumed and committed, then left.
done = KafkaConsumer('py-admin', bootstrap_servers=b, group_id='py-done', auto_offset_reset='earliest',
                     enable_auto_commit=False, consumer_timeout_ms=5000)
seen = 0
for _ in done:
    seen += 1
    if seen == 3:
        break
done.commit()
done.close()
# A group with a member still in it.
live = KafkaConsumer('py-admin', bootstrap_servers=b, group_id='py-live', auto_offset_reset='earliest')
deadline = time.time() + 30
while not live.assignment() and time.time() < deadline:
    live.poll(timeout_ms=200)
out['groups'] = sorted([list(g) for g in admin.list_consumer_groups()])
out['described'] = {g.group: [g.state, g.protocol_type, len(g.members)] for g in admin.describe_consumer_groups(['py-done', 'py-live'])}
out['offsets'] = {'%s:%d' % (tp.topic, tp.partition): m.offset for tp, m in admin.list_consumer_group_offsets('py-done').items()}
out['deleted'] = [[g, e.__name__] for g, e in admin.delete_consumer_groups(['py-done', 'py-live', 'py-missing'])]
out['offsets_after'] = {'%s:%d' % (tp.topic, tp.partition): m.offset for tp, m in admin.list_consumer_group_offsets('py-done').items()}
cluster = admin.describe_cluster()
out['cluster'] = [cluster['cluster_id'], cluster['controller_id'], [x['node_id'] for x in cluster['brokers']]]
live.close()
print(json.dumps(out), flush=True)
admin.close()
`;

describeWithClient('kafka-python admin', hasKafkaPython(), 'apt-get install -y python3-kafka', () => {
  it('alter_configs, consumer groups (list, describe, offsets, delete) and describe_cluster', {
    timeout: 90_000,
  }, async () => {
    const result = await run(PYTHON, ['-c', GROUPS_AND_CONFIGS, server.bootstrap], { timeoutMs: 80_000 });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(out.alter_same).toEqual([[0, null]]);
    expect(out.alter_change).toEqual([
      [44, expect.stringContaining('cannot change retention.ms (3600000 → 1000)')],
    ]);
    expect(out.groups).toEqual([
      ['py-done', 'consumer'],
      ['py-live', 'consumer'],
    ]);
    expect(out.described).toEqual({
      'py-done': ['Empty', 'consumer', 0],
      'py-live': ['Stable', 'consumer', 1],
    });
    expect(out.offsets).toEqual({ 'py-admin:0': 3 });
    expect(out.deleted).toEqual([
      ['py-done', 'NoError'],
      ['py-live', 'NonEmptyGroupError'],
      ['py-missing', 'GroupIdNotFoundError'],
    ]);
    expect(out.offsets_after).toEqual({});
    expect(out.cluster).toEqual(['tributary', 0, [0]]);
  });

  it('describe_configs of a topic and of the broker', async () => {
    const result = await run(PYTHON, ['-c', DESCRIBE_CONFIGS, server.bootstrap], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<
      string,
      { error: number; configs: Record<string, string> }
    >;
    expect(out['2:py-settings']?.error).toBe(0);
    expect(out['2:py-settings']?.configs['retention.bytes']).toBe('1048576');
    expect(out['2:py-settings']?.configs['cleanup.policy']).toBe('delete');
    expect(out['4:0']?.error).toBe(0);
    expect(out['4:0']?.configs['broker.id']).toBe('0');
  });
});
