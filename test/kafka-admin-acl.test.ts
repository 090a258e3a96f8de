/**
 * The Kafka admin APIs under ACLs, with a real auth file: DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs, DeleteGroups, OffsetDelete, DescribeCluster, CreatePartitions and
 * DeleteRecords, each tried by principals lacking exactly the right it needs. A denial must be
 * Kafka's code for the resource (TOPIC_AUTHORIZATION_FAILED 29, GROUP_AUTHORIZATION_FAILED 30,
 * CLUSTER_AUTHORIZATION_FAILED 31), come before any other check, and change nothing; the
 * principal with the right gets through. Raw frames at the oldest and newest versions, then
 * kafkajs 2.2.4 admin and kafka-python 2.0.2's KafkaAdminClient as the denied principal.
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { type AclKafkaServer, allow, startAclKafkaServer } from './fixtures/kafka-acl-server.js';
import { commitBody } from './fixtures/kafka-requests.js';
import { describeWithClient, hasKafkaPython, PYTHON, type RawKafka, run } from './kafka-harness.js';

const { ConfigResourceTypes } = kafkajs;
const {
  NONE,
  TOPIC_AUTHORIZATION_FAILED: TOPIC_DENIED,
  GROUP_AUTHORIZATION_FAILED: GROUP_DENIED,
  CLUSTER_AUTHORIZATION_FAILED: CLUSTER_DENIED,
  UNKNOWN_TOPIC_OR_PARTITION,
} = KafkaErrorCode;
const POLICY_VIOLATION = 44;
const TOPIC = 2;
const BROKER = 4;

let acl: AclKafkaServer;
let admin: RawKafka;

beforeAll(async () => {
  acl = await startAclKafkaServer('tributary-kafka-admin-acl-', {
    users: ['admin', 'nobody', 'viewer', 'writer', 'alterer', 'deleter', 'cleaner', 'operator', 'configurer'],
    superUsers: ['admin'],
    acls: [
      allow('viewer', 'topic', 'guarded.*', ['describe']),
      allow('viewer', 'group', 'team.*', ['describe']),
      allow('writer', 'topic', 'guarded.*', ['write', 'read']),
      allow('writer', 'group', 'team.*', ['read']),
      allow('alterer', 'topic', 'guarded.*', ['alter']),
      // `delete` on topics and groups, but no `read` of a topic (OffsetDelete needs it).
      allow('deleter', 'topic', 'guarded.*', ['delete']),
      allow('deleter', 'group', 'team.*', ['delete']),
      allow('cleaner', 'topic', 'guarded.*', ['read']),
      allow('cleaner', 'group', 'team.*', ['delete']),
      allow('operator', 'cluster', 'cluster', ['describe']),
      allow('configurer', 'cluster', 'cluster', ['alter']),
    ],
  });
  admin = await acl.as('admin');
  for (const name of [
    'guarded.a',
    'guarded.configs',
    'guarded.grow',
    'guarded.trim',
    'guarded.js',
    'guarded.py',
  ]) {
    const configs = name === 'guarded.configs' ? [{ name: 'retention.ms', value: '3600000' }] : [];
    const created = await admin.call('CreateTopics', 3, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }],
    });
    expect(created.topics[0]?.errorCode, name).toBe(NONE);
  }
  for (const topic of ['guarded.trim', 'guarded.js', 'guarded.py']) {
    const records = [0, 1, 2].map((i) => ({ partition: 0, value: i }));
    const produced = await fetch(`${acl.server.url}/v1/topics/${topic}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: acl.basic('admin') },
      body: JSON.stringify({ records }),
    });
    expect(produced.status).toBe(200);
  }
  // Groups with a committed offset of guarded.a partition 0 (offset 1), nobody a member.
  for (const group of ['team.keep', 'team.gone', 'team.offsets', 'team.js', 'team.py']) {
    const committed = await admin.call('OffsetCommit', 2, commitBody(group, 'guarded.a'));
    expect(committed.topics[0]?.partitions[0]?.errorCode).toBe(NONE);
  }
}, 60_000);

afterAll(async () => {
  await acl?.close();
});

/** The offset `group` has committed for guarded.a partition 0, as the super user sees it (-1: none). */
async function committed(group: string): Promise<number> {
  const answer = await admin.call('OffsetFetch', 5, {
    groupId: group,
    topics: [{ name: 'guarded.a', partitionIndexes: [0] }],
  });
  return Number(answer.topics[0]?.partitions[0]?.committedOffset);
}

/** Partition count and log start offset of partition 0, as the super user sees them over HTTP. */
async function shape(topic: string): Promise<{ partitions: number; earliest: number }> {
  const response = await fetch(`${acl.server.url}/v1/topics/${topic}`, {
    headers: { authorization: acl.basic('admin') },
  });
  const body = (await response.json()) as { partitions: { earliest: number }[] };
  return { partitions: body.partitions.length, earliest: body.partitions[0]!.earliest };
}

const describeConfigs = (client: RawKafka, version: number, resources: [number, string][]) =>
  client
    .call('DescribeConfigs', version, {
      resources: resources.map(([resourceType, resourceName]) => ({
        resourceType,
        resourceName,
        configurationKeys: null,
      })),
      includeSynonyms: false,
      includeDocumentation: false,
    })
    .then((answer) => answer.results);

describe('Kafka admin APIs under ACLs (raw frames)', () => {
  it('DescribeConfigs: describe on the topic (29), describe on the cluster for the broker (31)', async () => {
    const cases: [string, number, number][] = [
      ['nobody', TOPIC_DENIED, CLUSTER_DENIED],
      ['viewer', NONE, CLUSTER_DENIED],
      ['writer', NONE, CLUSTER_DENIED], // write implies describe
      ['configurer', TOPIC_DENIED, NONE], // alter implies describe
      ['operator', TOPIC_DENIED, NONE],
    ];
    for (const version of [0, 4]) {
      for (const [user, topicCode, brokerCode] of cases) {
        const client = await acl.as(user);
        const results = await describeConfigs(client, version, [
          [TOPIC, 'guarded.configs'],
          [BROKER, '0'],
        ]);
        expect(
          results.map((r) => r.errorCode),
          `${user} v${version}`,
        ).toEqual([topicCode, brokerCode]);
        for (const result of results) {
          // A denial tells nothing about the resource.
          if (result.errorCode !== NONE) expect(result.configs, `${user} v${version}`).toEqual([]);
        }
      }
    }
    // A missing topic is not revealed to a principal that may not describe it.
    const [missing] = await describeConfigs(await acl.as('nobody'), 4, [[TOPIC, 'guarded.missing']]);
    expect(missing?.errorCode).toBe(TOPIC_DENIED);
    const [seen] = await describeConfigs(await acl.as('viewer'), 4, [[TOPIC, 'guarded.missing']]);
    expect(seen?.errorCode).toBe(UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('AlterConfigs and IncrementalAlterConfigs: alter on the topic (29) or on the cluster (31) before any policy check', async () => {
    const before = await describeConfigs(admin, 4, [[TOPIC, 'guarded.configs']]);
    const alter = (client: RawKafka, version: number, resourceType: number, name: string, value: string) =>
      client
        .call('AlterConfigs', version, {
          validateOnly: false,
          resources: [
            {
              resourceType,
              resourceName: resourceType === TOPIC ? 'guarded.configs' : '0',
              configs: [{ name, value }],
            },
          ],
        })
        .then((answer) => answer.responses[0]?.errorCode);
    const incremental = (
      client: RawKafka,
      version: number,
      resourceType: number,
      name: string,
      value: string,
    ) =>
      client
        .call('IncrementalAlterConfigs', version, {
          validateOnly: false,
          resources: [
            {
              resourceType,
              resourceName: resourceType === TOPIC ? 'guarded.configs' : '0',
              configs: [{ name, configOperation: 0, value }],
            },
          ],
        })
        .then((answer) => answer.responses[0]?.errorCode);
    for (const [api, send, versions] of [
      ['AlterConfigs', alter, [0, 2]],
      ['IncrementalAlterConfigs', incremental, [0, 1]],
    ] as const) {
      for (const version of versions) {
        const what = `${api} v${version}`;
        // Topic: a change (which the policy would refuse) and a no-op (which it would accept).
        for (const user of ['nobody', 'viewer', 'writer', 'deleter', 'configurer']) {
          const client = await acl.as(user);
          expect(await send(client, version, TOPIC, 'retention.ms', '1000'), `${what} ${user}`).toBe(
            TOPIC_DENIED,
          );
          if (api === 'IncrementalAlterConfigs') {
            expect(await send(client, version, TOPIC, 'retention.ms', '3600000'), `${what} ${user}`).toBe(
              TOPIC_DENIED,
            );
          }
        }
        const alterer = await acl.as('alterer');
        expect(await send(alterer, version, TOPIC, 'retention.ms', '1000'), what).toBe(POLICY_VIOLATION);
        if (api === 'IncrementalAlterConfigs') {
          expect(await send(alterer, version, TOPIC, 'retention.ms', '3600000'), what).toBe(NONE);
        }
        // Broker: alter on the cluster; describe on it (operator) is not enough.
        for (const user of ['nobody', 'alterer', 'operator']) {
          expect(
            await send(await acl.as(user), version, BROKER, 'num.partitions', '1'),
            `${what} ${user}`,
          ).toBe(CLUSTER_DENIED);
        }
        const configurer = await acl.as('configurer');
        expect(await send(configurer, version, BROKER, 'num.partitions', '3'), what).toBe(POLICY_VIOLATION);
      }
    }
    expect(await describeConfigs(admin, 4, [[TOPIC, 'guarded.configs']])).toEqual(before);
  });

  it('DeleteGroups: delete on the group (30); the commits stay', async () => {
    for (const version of [0, 2]) {
      for (const user of ['nobody', 'viewer', 'writer', 'alterer']) {
        const answer = await (await acl.as(user)).call('DeleteGroups', version, {
          groupsNames: ['team.keep', 'team.ghost', 'elsewhere'],
        });
        expect(
          answer.results.map((r) => [r.groupId, r.errorCode]),
          `${user} v${version}`,
        ).toEqual([
          ['team.keep', GROUP_DENIED],
          ['team.ghost', GROUP_DENIED], // a group that does not exist is not revealed
          ['elsewhere', GROUP_DENIED],
        ]);
      }
    }
    expect(await committed('team.keep')).toBe(1);
    const deleter = await acl.as('deleter');
    const answer = await deleter.call('DeleteGroups', 2, { groupsNames: ['team.gone', 'elsewhere'] });
    expect(answer.results.map((r) => r.errorCode)).toEqual([NONE, GROUP_DENIED]);
    expect(await committed('team.gone')).toBe(-1);
    expect(await committed('team.keep')).toBe(1);
  });

  it('OffsetDelete: delete on the group (30), read on each topic (29); the commits stay', async () => {
    const offsetDelete = (client: RawKafka, groupId: string) =>
      client.call('OffsetDelete', 0, {
        groupId,
        topics: [{ name: 'guarded.a', partitions: [{ partitionIndex: 0 }] }],
      });
    for (const user of ['nobody', 'viewer', 'writer', 'alterer']) {
      const answer = await offsetDelete(await acl.as(user), 'team.offsets');
      expect(answer, user).toEqual({ errorCode: GROUP_DENIED, throttleTimeMs: 0, topics: [] });
    }
    // delete on the group but no read of the topic: the group answers, the partition is refused.
    const partial = await offsetDelete(await acl.as('deleter'), 'team.offsets');
    expect(partial.errorCode).toBe(NONE);
    expect(partial.topics[0]?.partitions[0]?.errorCode).toBe(TOPIC_DENIED);
    expect(await committed('team.offsets')).toBe(1);
    const allowed = await offsetDelete(await acl.as('cleaner'), 'team.offsets');
    expect(allowed.topics[0]?.partitions[0]?.errorCode).toBe(NONE);
    expect(await committed('team.offsets')).toBe(-1);
  });

  it('DescribeCluster: describe on the cluster (31), no brokers told', async () => {
    for (const version of [0, 1]) {
      for (const user of ['nobody', 'viewer', 'writer', 'deleter']) {
        const answer = await (await acl.as(user)).call('DescribeCluster', version, {
          includeClusterAuthorizedOperations: false,
          endpointType: 1,
        });
        expect(answer, `${user} v${version}`).toMatchObject({
          errorCode: CLUSTER_DENIED,
          controllerId: -1,
          brokers: [],
        });
      }
      // describe on the cluster, or alter (which implies it)
      for (const user of ['operator', 'configurer']) {
        const allowed = await (await acl.as(user)).call('DescribeCluster', version, {
          includeClusterAuthorizedOperations: false,
          endpointType: 1,
        });
        expect(allowed, user).toMatchObject({ errorCode: NONE, controllerId: 0 });
        expect(allowed.brokers).toHaveLength(1);
      }
    }
  });

  it('CreatePartitions: alter on the topic (29, validate_only too); the count stays', async () => {
    const grow = (client: RawKafka, version: number, validateOnly = false) =>
      client
        .call('CreatePartitions', version, {
          topics: [{ name: 'guarded.grow', count: 2, assignments: null }],
          timeoutMs: 1000,
          validateOnly,
        })
        .then((answer) => answer.results[0]?.errorCode);
    for (const version of [0, 3]) {
      for (const user of ['nobody', 'viewer', 'writer', 'deleter']) {
        const client = await acl.as(user);
        expect(await grow(client, version), `${user} v${version}`).toBe(TOPIC_DENIED);
        expect(await grow(client, version, true), `${user} v${version} validate_only`).toBe(TOPIC_DENIED);
      }
    }
    expect((await shape('guarded.grow')).partitions).toBe(1);
    expect(await grow(await acl.as('alterer'), 3)).toBe(NONE);
    expect((await shape('guarded.grow')).partitions).toBe(2);
  });

  it('DeleteRecords: delete on the topic (29, low watermark -1); the log start stays', async () => {
    const trim = (client: RawKafka, version: number, offset: number) =>
      client
        .call('DeleteRecords', version, {
          topics: [{ name: 'guarded.trim', partitions: [{ partitionIndex: 0, offset }] }],
          timeoutMs: 1000,
        })
        .then((answer) => answer.topics[0]?.partitions[0]);
    for (const version of [0, 2]) {
      for (const user of ['nobody', 'viewer', 'writer', 'alterer']) {
        const client = await acl.as(user);
        for (const offset of [2, -1]) {
          expect(await trim(client, version, offset), `${user} v${version} ${offset}`).toMatchObject({
            errorCode: TOPIC_DENIED,
            lowWatermark: -1,
          });
        }
      }
    }
    expect((await shape('guarded.trim')).earliest).toBe(0);
    expect(await trim(await acl.as('deleter'), 2, -1)).toMatchObject({ errorCode: NONE, lowWatermark: 3 });
    expect((await shape('guarded.trim')).earliest).toBe(3);
  });
});

describe('kafkajs 2.2.4 admin as a principal without the right', () => {
  interface Refusal {
    readonly name?: string;
    readonly type?: string;
    readonly cause?: { readonly partitions?: readonly { readonly error?: { readonly type?: string } }[] };
    readonly groups?: readonly { readonly groupId: string; readonly error?: { readonly type?: string } }[];
  }
  const refusal = (promise: Promise<unknown>): Promise<Refusal> =>
    promise.then(
      () => ({}),
      (error: unknown) => error as Refusal,
    );

  it('gets the authorization error of each resource, and nothing changes', async () => {
    const viewer = acl.kafkajs('viewer').admin();
    await viewer.connect();
    try {
      const broker = await refusal(
        viewer.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }],
        }),
      );
      expect(broker.type).toBe('CLUSTER_AUTHORIZATION_FAILED');
      const altered = await refusal(
        viewer.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: 'guarded.js',
              configEntries: [{ name: 'retention.ms', value: '1000' }],
            },
          ],
        }),
      );
      expect(altered.type).toBe('TOPIC_AUTHORIZATION_FAILED');
      const grown = await refusal(
        viewer.createPartitions({ topicPartitions: [{ topic: 'guarded.js', count: 3 }] }),
      );
      expect(grown.type).toBe('TOPIC_AUTHORIZATION_FAILED');
      await viewer.fetchTopicMetadata({ topics: ['guarded.js'] }); // kafkajs finds leaders there
      const trimmed = await refusal(
        viewer.deleteTopicRecords({ topic: 'guarded.js', partitions: [{ partition: 0, offset: '-1' }] }),
      );
      expect(trimmed.name).toBe('KafkaJSNonRetriableError');
      expect(trimmed.cause?.partitions?.[0]?.error?.type).toBe('TOPIC_AUTHORIZATION_FAILED');
      const deleted = await refusal(viewer.deleteGroups(['team.js']));
      expect(deleted.groups?.map((g) => [g.groupId, g.error?.type])).toEqual([
        ['team.js', 'GROUP_AUTHORIZATION_FAILED'],
      ]);
      // What the viewer may do still works: describe the topic's configs, read the group's offsets.
      const configs = await viewer.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'guarded.js' }],
      });
      expect(configs.resources[0]?.errorCode).toBe(NONE);
      const offsets = await viewer.fetchOffsets({ groupId: 'team.js', topics: ['guarded.js', 'guarded.a'] });
      expect(offsets.find((t) => t.topic === 'guarded.a')?.partitions[0]?.offset).toBe('1');
    } finally {
      await viewer.disconnect();
    }
    expect(await shape('guarded.js')).toEqual({ partitions: 1, earliest: 0 });
    expect(await committed('team.js')).toBe(1);
  });
});

const PYTHON_DENIED = (auth: string) => `
import json, sys
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id='py-acl', ${auth})
out = {}
for response in admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'guarded.py'),
                                        ConfigResource(ConfigResourceType.BROKER, '0')]):
    for error_code, _msg, rtype, rname, _entries in response.resources:
        out['describe:%d:%s' % (rtype, rname)] = error_code
altered = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'guarded.py', configs={'retention.ms': '1000'})])
out['alter'] = [r[0] for r in altered.resources]
try:
    admin.create_partitions({'guarded.py': NewPartitions(3)})
    out['create_partitions'] = 'ok'
except Exception as e:
    out['create_partitions'] = type(e).__name__
out['delete_groups'] = [[g, e.__name__] for g, e in admin.delete_consumer_groups(['team.py'])]
out['offsets'] = {'%s:%d' % (tp.topic, tp.partition): m.offset for tp, m in admin.list_consumer_group_offsets('team.py').items()}
print(json.dumps(out), flush=True)
admin.close()
`;

describeWithClient(
  'kafka-python 2.0.2 admin as a principal without the right',
  hasKafkaPython(),
  'apt-get install -y python3-kafka',
  () => {
    it('describe_configs, alter_configs, create_partitions and delete_consumer_groups are refused by resource', async () => {
      const result = await run(
        PYTHON,
        ['-c', PYTHON_DENIED(acl.pythonAuth('viewer')), acl.server.bootstrap],
        {
          timeoutMs: 60_000,
        },
      );
      expect(result.code, result.stderr).toBe(0);
      const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      expect(out).toEqual({
        'describe:2:guarded.py': NONE,
        'describe:4:0': CLUSTER_DENIED,
        alter: [TOPIC_DENIED],
        create_partitions: 'TopicAuthorizationFailedError',
        delete_groups: [['team.py', 'GroupAuthorizationFailedError']],
        offsets: { 'guarded.a:0': 1 },
      });
      expect(await shape('guarded.py')).toEqual({ partitions: 1, earliest: 0 });
      expect(await committed('team.py')).toBe(1);
    });
  },
);
