/**
 * Real clients keep their group membership across a restart of the Tributary server process
 * (SIGTERM, then SIGKILL): a manual-commit kafka-python consumer and a static member
 * (confluent_kafka with `group.instance.id`) go on committing with their generation, get no
 * CommitFailedError, are not rebalanced, and read nothing twice (every record they read before
 * the restart was committed).
 *
 * Needs /usr/bin/python3 with kafka-python and confluent_kafka; skipped without them unless
 * TRIBUTARY_REQUIRE_SERVICES=1.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { createTopic } from './http-helpers.js';
import {
  type Child,
  describeWithClient,
  hasKafkaPython,
  killChildren,
  PYTHON,
  run,
  startChild,
  tempDir,
  waitFor,
} from './kafka-harness.js';

const PRODUCE = `
import sys
from kafka import KafkaProducer
b, topic, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = KafkaProducer(bootstrap_servers=b, acks='all')
for i in range(count):
    p.send(topic, ('%s-%d' % (prefix, i)).encode(), partition=i % 2)
p.flush()
p.close()
`;

/** kafka-python, manual commit after every poll; prints what it reads and every commit outcome. */
const KAFKA_PYTHON_MEMBER = `
import signal, sys
from kafka import KafkaConsumer, ConsumerRebalanceListener
from kafka.errors import CommitFailedError
b, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
def stop(*_):
    raise KeyboardInterrupt()
signal.signal(signal.SIGINT, stop)
class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        # kafka-python also calls this (with nothing) before its first join.
        if revoked:
            print('REVOKED', flush=True)
    def on_partitions_assigned(self, assigned):
        print('ASSIGNED', flush=True)
c = KafkaConsumer(bootstrap_servers=b, group_id=group, auto_offset_reset='earliest',
                  enable_auto_commit=False, session_timeout_ms=30000, heartbeat_interval_ms=500,
                  max_poll_interval_ms=60000, fetch_max_wait_ms=200, reconnect_backoff_max_ms=500)
c.subscribe([topic], listener=Listener())
read = 0
pending = False
try:
    while True:
        for tp, records in c.poll(timeout_ms=200).items():
            for m in records:
                read += 1
                pending = True
                print('MSG %d %d %s' % (m.partition, m.offset, m.value.decode()), flush=True)
        if pending:
            try:
                c.commit()
                pending = False
                print('COMMITTED %d' % read, flush=True)
            except CommitFailedError as e:
                print('COMMITFAILED %s' % e, flush=True)
            except Exception as e:
                print('COMMITERROR %s' % type(e).__name__, flush=True)
except KeyboardInterrupt:
    pass
`;

/** confluent_kafka static member, manual synchronous commits. */
const STATIC_MEMBER = `
import signal, sys
from confluent_kafka import Consumer, KafkaException
b, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
def stop(*_):
    raise KeyboardInterrupt()
signal.signal(signal.SIGINT, stop)
def assigned(consumer, partitions):
    print('ASSIGNED', flush=True)
def revoked(consumer, partitions):
    print('REVOKED', flush=True)
c = Consumer({'bootstrap.servers': b, 'group.id': group, 'group.instance.id': 'static-1',
              'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
              'session.timeout.ms': 30000, 'heartbeat.interval.ms': 500,
              'reconnect.backoff.max.ms': 500, 'fetch.wait.max.ms': 200})
c.subscribe([topic], on_assign=assigned, on_revoke=revoked)
read = 0
pending = False
try:
    while True:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            read += 1
            pending = True
            print('MSG %d %d %s' % (m.partition(), m.offset(), m.value().decode()), flush=True)
            continue
        if pending:
            try:
                c.commit(asynchronous=False)
                pending = False
                print('COMMITTED %d' % read, flush=True)
            except KafkaException as e:
                print('COMMITFAILED %s' % e.args[0].name(), flush=True)
except KeyboardInterrupt:
    pass
`;

function hasConfluentKafka(): boolean {
  return spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { timeout: 10_000 }).status === 0;
}

function lines(stdout: string, prefix: string): string[] {
  return stdout.split('\n').filter((line) => line.startsWith(prefix));
}

/** Records read, as "partition offset" pairs. */
function reads(stdout: string): string[] {
  return lines(stdout, 'MSG ').map((line) => line.split(' ').slice(1, 3).join(' '));
}

function committedCount(stdout: string): number {
  const last = lines(stdout, 'COMMITTED ').at(-1);
  return last === undefined ? 0 : Number(last.split(' ')[1]);
}

afterEach(() => killChildren());

describeWithClient(
  'Kafka group membership across a server process restart',
  hasKafkaPython() && hasConfluentKafka(),
  'apt-get install -y python3-kafka python3-confluent-kafka',
  () => {
    async function scenario(script: string, group: string): Promise<void> {
      const dir = await tempDir('tributary-kgroup-restart-');
      const kafkaPort = await freePort();
      const httpPort = await freePort();
      const bootstrap = `127.0.0.1:${kafkaPort}`;
      const start = (): Promise<ServerProcess> =>
        startServerProcess(dir.path, httpPort, { args: ['--kafka-port', String(kafkaPort)] });
      const produce = async (prefix: string, count: number): Promise<void> => {
        const result = await run(PYTHON, ['-c', PRODUCE, bootstrap, 'jobs', prefix, String(count)], {
          timeoutMs: 60_000,
        });
        expect(result.code, result.stderr).toBe(0);
      };
      let server = await start();
      let member: Child | undefined;
      try {
        await createTopic(server.url, 'jobs', { partitions: 2 });
        await produce('before', 50);
        member = startChild(PYTHON, ['-c', script, bootstrap, group, 'jobs'], { timeoutMs: 170_000 });
        const consumer = member;
        await waitFor(() => committedCount(consumer.stdout()) >= 50, 60_000, 'the first 50 committed');
        let expected = 50;
        for (const [signal, prefix] of [
          ['SIGTERM', 'after-term'],
          ['SIGKILL', 'after-kill'],
        ] as const) {
          await killServer(server, signal);
          server = await start();
          await produce(prefix, 20);
          expected += 20;
          const target = expected;
          await waitFor(
            () => committedCount(consumer.stdout()) >= target,
            60_000,
            `${target} records committed after a ${signal} restart`,
          );
        }
        const out = consumer.stdout();
        expect(lines(out, 'COMMITFAILED'), out.slice(-3000)).toEqual([]);
        // One assignment at the start; the restarts did not rebalance the group.
        expect(lines(out, 'ASSIGNED'), out.slice(-3000)).toHaveLength(1);
        expect(lines(out, 'REVOKED'), out.slice(-3000)).toEqual([]);
        const read = reads(out);
        expect(new Set(read).size).toBe(read.length);
        expect(read).toHaveLength(90);
      } finally {
        await member?.stop();
        await killServer(server, 'SIGKILL');
        await dir.remove();
      }
    }

    it('a manual-commit kafka-python consumer commits on after SIGTERM and SIGKILL restarts', {
      timeout: 180_000,
    }, async () => {
      await scenario(KAFKA_PYTHON_MEMBER, 'py-manual');
    });

    it('a static member (confluent_kafka group.instance.id) commits on after restarts', {
      timeout: 180_000,
    }, async () => {
      await scenario(STATIC_MEMBER, 'static-group');
    });
  },
);
