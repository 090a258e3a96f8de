/**
 * Captures real Kafka client request frames as golden bytes for the codec tests.
 *
 *   npx tsx test/kafka-capture.ts [kafkajs] [platformatic] [kcat] [kafka-python]
 *
 * Starts the loopback responder of `kafka-capture-broker.ts`, runs each client through start-up,
 * produce, consume in a group and (where the client has one) admin calls, and writes the first
 * frame of every (client, API, version) to `test/fixtures/kafka/<client>-<api>-v<N>.hex`
 * (lowercase hex of the whole frame, size prefix included, one line).
 *
 * Needs: kafkajs 2.2.4 and @platformatic/kafka 1.35 (devDependencies), `apt-get install -y kcat python3-kafka` (Debian 12:
 * kcat 1.7.1 on librdkafka 2.0.2, kafka-python 2.0.2 for /usr/bin/python3). A client that is
 * missing is skipped with a note. Traffic stays on 127.0.0.1; every child has a time limit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { type CaptureBroker, type CapturedFrame, startCaptureBroker } from './kafka-capture-broker.js';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'test/fixtures/kafka');
const CHILD_TIMEOUT_MS = 30_000;
const PYTHON = '/usr/bin/python3';

/** The capture broker refuses admin changes (and keeps no configs): only the request matters. */
const attempt = (call: Promise<unknown>): Promise<unknown> => call.catch(() => undefined);
/** Kafka's TOPIC config resource type. */
const TOPIC_RESOURCE = 2;

/** `OffsetCommit` → `offset-commit` (the request folder names). */
export function kebab(apiName: string): string {
  return apiName.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

export function fixtureName(client: string, api: string, version: number): string {
  return `${client}-${kebab(api)}-v${version}.hex`;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface RunResult {
  readonly code: number | string | null;
  readonly output: string;
}

/** Runs a child to completion (or SIGINT at `timeoutMs`, then SIGKILL), feeding it `input`. */
function run(
  command: string,
  args: readonly string[],
  input = '',
  timeoutMs = CHILD_TIMEOUT_MS,
): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const soft = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    const hard = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5_000);
    child.on('error', (err) => {
      clearTimeout(soft);
      clearTimeout(hard);
      resolvePromise({ code: String(err), output });
    });
    child.on('close', (code, signal) => {
      clearTimeout(soft);
      clearTimeout(hard);
      resolvePromise({ code: code ?? signal, output });
    });
    child.stdin.end(input);
  });
}

async function kafkajsScenario(broker: string): Promise<void> {
  const topic = 'capture-kafkajs';
  const groupId = 'capture-kafkajs-group';
  const kafka = new Kafka({
    clientId: 'tributary-capture',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: 'hello from kafkajs' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error('kafkajs consumed nothing in 10 s')), 10_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          if (message.value?.toString() !== 'hello from kafkajs') return;
          clearTimeout(timer);
          // Let a heartbeat and the offset commit go out before leaving.
          setTimeout(done, 500);
        },
      })
      .catch(fail);
  });
  await consumer.disconnect();
  await admin.listGroups();
  await admin.describeGroups([groupId]);
  await admin.fetchOffsets({ groupId, topics: [topic] });
  await attempt(
    admin.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC_RESOURCE, name: topic }] }),
  );
  await attempt(
    admin.alterConfigs({
      validateOnly: true,
      resources: [
        { type: TOPIC_RESOURCE, name: topic, configEntries: [{ name: 'retention.ms', value: '1000' }] },
      ],
    }),
  );
  await attempt(admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] }));
  await attempt(admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1' }] }));
  await attempt(admin.deleteGroups([groupId]));
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
}

async function platformaticScenario(broker: string): Promise<void> {
  const topic = 'capture-platformatic';
  const groupId = 'capture-platformatic-group';
  const common = { clientId: 'tributary-capture-platformatic', bootstrapBrokers: [broker], retries: 2 };
  const admin = new Admin(common);
  const producer = new Producer({ ...common, idempotent: true, serializers: stringSerializers });
  const consumer = new Consumer({
    ...common,
    groupId,
    deserializers: stringDeserializers,
    maxWaitTime: 200,
    heartbeatInterval: 100,
  });
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await producer.send({ messages: [{ topic, key: 'k', value: 'hello from platformatic' }] });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const deadline = setTimeout(
      () => stream.destroy(new Error('platformatic consumed nothing in 10 s')),
      10_000,
    );
    for await (const message of stream) {
      if (message.value !== 'hello from platformatic') continue;
      await message.commit();
      break;
    }
    clearTimeout(deadline);
    // Let a heartbeat go out before leaving.
    await new Promise((done) => setTimeout(done, 300));
    await stream.close();
    await consumer.leaveGroup(false);
    await admin.listGroups();
    await admin.describeGroups({ groups: [groupId] });
    await admin.listConsumerGroupOffsets({ groups: [groupId] });
    await attempt(
      admin.describeConfigs({ resources: [{ resourceType: TOPIC_RESOURCE, resourceName: topic }] }),
    );
    await attempt(
      admin.alterConfigs({
        validateOnly: true,
        resources: [
          {
            resourceType: TOPIC_RESOURCE,
            resourceName: topic,
            configs: [{ name: 'retention.ms', value: '1000' }],
          },
        ],
      }),
    );
    await attempt(
      admin.incrementalAlterConfigs({
        validateOnly: true,
        resources: [
          {
            resourceType: TOPIC_RESOURCE,
            resourceName: topic,
            configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }],
          },
        ],
      }),
    );
    await attempt(admin.createPartitions({ topics: [{ name: topic, count: 2, assignments: [] }] }));
    await attempt(
      admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 1n }] }] }),
    );
    await attempt(
      admin.deleteConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [0] }] }),
    );
    await attempt(admin.deleteGroups({ groups: [groupId] }));
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await new Promise<void>((done) => consumer.close(true, () => done()));
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

async function kcatScenario(broker: string): Promise<void> {
  const topic = 'capture-kcat';
  const b = ['-b', broker];
  const steps: [string, string[], string][] = [
    ['metadata', [...b, '-L'], ''],
    ['produce', [...b, '-P', '-t', topic, '-K', ':'], 'k1:hello from kcat\nk2:again\n'],
    ['idempotent produce', [...b, '-P', '-t', topic, '-X', 'enable.idempotence=true'], 'idempotent\n'],
    ['consume', [...b, '-C', '-t', topic, '-o', 'beginning', '-e'], ''],
    ['group consume', [...b, '-G', 'capture-kcat-group', '-o', 'beginning', '-e', topic], ''],
    // Without -o the group's committed offsets are looked up (OffsetFetch).
    ['group resume', [...b, '-G', 'capture-kcat-group', '-e', topic], ''],
  ];
  for (const [what, args, input] of steps) {
    const result = await run('kcat', args, input, what.startsWith('group') ? 12_000 : CHILD_TIMEOUT_MS);
    const consumed = what !== 'consume' || result.output.includes('hello from kcat');
    if (result.code !== 0 || !consumed) {
      throw new Error(
        `kcat ${what}: exit ${String(result.code)}\n${result.output.split('\n').slice(-8).join('\n')}`,
      );
    }
  }
}

const PYTHON_SCENARIO = `
import sys
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
b = sys.argv[1]
topic, group = 'capture-python', 'capture-python-group'
admin = KafkaAdminClient(bootstrap_servers=b, client_id='kafka-python-admin')
admin.create_topics([NewTopic(topic, 1, 1)])
p = KafkaProducer(bootstrap_servers=b)
p.send(topic, b'hello from kafka-python', key=b'k').get(timeout=10)
p.close()
c = KafkaConsumer(topic, bootstrap_servers=b, group_id=group, auto_offset_reset='earliest',
                  consumer_timeout_ms=3000, enable_auto_commit=False, heartbeat_interval_ms=300)
for m in c:
    print('consumed', m.offset, m.value)
    break
c.commit()
c.poll(timeout_ms=1000)
c.close()
print(admin.list_consumer_groups())
print(admin.describe_consumer_groups([group]))
print(admin.list_consumer_group_offsets(group))
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions
def attempt(call):
    try:
        call()
    except Exception as e:
        print('refused', type(e).__name__)
attempt(lambda: admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]))
attempt(lambda: admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={'retention.ms': '1000'})]))
attempt(lambda: admin.create_partitions({topic: NewPartitions(2)}))
attempt(lambda: admin.delete_consumer_groups([group]))
admin.delete_topics([topic])
admin.close()
`;

function pythonKafkaInstalled(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import kafka']).status === 0;
}

async function kafkaPythonScenario(broker: string): Promise<void> {
  const result = await run(PYTHON, ['-c', PYTHON_SCENARIO, broker]);
  if (result.code !== 0 || !result.output.includes('consumed 0')) {
    throw new Error(
      `kafka-python: exit ${String(result.code)}\n${result.output.split('\n').slice(-12).join('\n')}`,
    );
  }
}

export interface ClientScenario {
  /** Whether the client is installed here. */
  readonly available: () => boolean;
  /** Drives the client against `broker` (host:port) through its start-up, produce, consume and admin calls. */
  readonly run: (broker: string) => Promise<void>;
}

export const SCENARIOS: Readonly<Record<string, ClientScenario>> = {
  kafkajs: { available: () => true, run: kafkajsScenario },
  platformatic: { available: () => true, run: platformaticScenario },
  kcat: { available: () => existsSync('/usr/bin/kcat'), run: kcatScenario },
  'kafka-python': { available: () => pythonKafkaInstalled(), run: kafkaPythonScenario },
};

export interface Capture {
  /** Request frames in arrival order, also those sent before a failure. */
  readonly frames: CapturedFrame[];
  /** What made the scenario fail, or null. */
  readonly error: unknown;
}

/** Runs one client's scenario against a fresh capture broker. */
export async function captureClient(scenario: ClientScenario): Promise<Capture> {
  const broker: CaptureBroker = await startCaptureBroker();
  let error: unknown = null;
  try {
    await scenario.run(`127.0.0.1:${broker.port}`);
  } catch (err) {
    error = err;
  }
  await broker.close();
  return { frames: broker.take(), error };
}

async function writeFixtures(client: string, frames: readonly CapturedFrame[]): Promise<string[]> {
  const written: string[] = [];
  const seen = new Set<string>();
  for (const f of frames) {
    const name = fixtureName(client, f.api, f.apiVersion);
    if (seen.has(name)) continue;
    seen.add(name);
    await writeFile(join(OUT, name), `${toHex(f.frame)}\n`);
    written.push(`${name} (client id ${JSON.stringify(f.clientId)})`);
  }
  return written;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const clients = wanted.length > 0 ? wanted : Object.keys(SCENARIOS);
  await mkdir(OUT, { recursive: true });
  for (const client of clients) {
    const scenario = SCENARIOS[client];
    if (scenario === undefined) throw new Error(`unknown client ${client}`);
    if (!scenario.available()) {
      console.log(`${client}: not installed, skipped`);
      continue;
    }
    const { frames, error } = await captureClient(scenario);
    if (error !== null) console.log(`${client}: scenario failed:`, error);
    console.log(`${client}: ${frames.length} frames; sequence:`);
    console.log(`  ${frames.map((f) => `${f.api} v${f.apiVersion}`).join(', ')}`);
    for (const line of await writeFixtures(client, frames)) console.log(`  wrote ${line}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
