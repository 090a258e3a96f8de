/**
 * kafka-python 2.0.2 (Debian's python3-kafka), unmodified, as child processes against
 * `startServer` with the Kafka listener on a free port. It negotiates nothing per API: it infers
 * a broker version from ApiVersions and then sends fixed versions (Produce v7, Fetch v4,
 * JoinGroup v2, OffsetCommit v2, …), so this checks exactly those. Admin, produce with
 * acks=all, consume from earliest, a group of two processes that rebalances when one leaves,
 * and committed offsets across a server restart.
 *
 * Needs /usr/bin/python3 with kafka-python (`apt-get install -y python3-kafka`); skipped without
 * it unless TRIBUTARY_REQUIRE_SERVICES=1.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { call, createTopic } from './http-helpers.js';
import {
  describeWithClient,
  hasKafkaPython,
  type KafkaTestServer,
  killChildren,
  PYTHON,
  run,
  startChild,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;

const BASIC = `
import json, sys
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
b = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=b, client_id='py-admin')
admin.create_topics([NewTopic('py-orders', 3, 1)])
p = KafkaProducer(bootstrap_servers=b, acks='all', client_id='py-producer')
for i in range(30):
    p.send('py-orders', ('order %d' % i).encode(), key=('k%d' % (i % 5)).encode(), headers=[('n', str(i).encode())])
p.flush()
p.close()
c = KafkaConsumer('py-orders', bootstrap_servers=b, group_id='py-readers', auto_offset_reset='earliest',
                  consumer_timeout_ms=3000, enable_auto_commit=False, client_id='py-consumer')
for m in c:
    print(json.dumps({'p': m.partition, 'o': m.offset, 'k': m.key.decode(), 'v': m.value.decode(),
                      'h': [[k, v.decode()] for k, v in m.headers]}), flush=True)
c.commit()
c.close()
groups = admin.list_consumer_groups()
offsets = admin.list_consumer_group_offsets('py-readers')
print(json.dumps({'groups': [g[0] for g in groups],
                  'committed': sorted([[tp.partition, om.offset] for tp, om in offsets.items()])}), flush=True)
admin.close()
`;

const MEMBER = `
import signal, sys
from kafka import KafkaConsumer, ConsumerRebalanceListener
b, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
def stop(*_):
    raise KeyboardInterrupt()
signal.signal(signal.SIGTERM, stop)
class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        print('REVOKED', flush=True)
    def on_partitions_assigned(self, assigned):
        print('ASSIGNED ' + ','.join(sorted(str(tp.partition) for tp in assigned)), flush=True)
c = KafkaConsumer(bootstrap_servers=b, group_id=group, auto_offset_reset='earliest',
                  session_timeout_ms=6000, heartbeat_interval_ms=300, max_poll_interval_ms=20000,
                  auto_commit_interval_ms=200, fetch_max_wait_ms=200)
c.subscribe([topic], listener=Listener())
try:
    while True:
        for tp, records in c.poll(timeout_ms=100).items():
            for m in records:
                print('MSG %d %d %s' % (m.partition, m.offset, m.value.decode()), flush=True)
except KeyboardInterrupt:
    pass
finally:
    c.close()
    print('CLOSED', flush=True)
`;

const PRODUCE = `
import sys
from kafka import KafkaProducer
b, topic, prefix, partitions, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
p = KafkaProducer(bootstrap_servers=b, acks='all')
for part in range(partitions):
    for i in range(count):
        p.send(topic, ('%s-p%d-%d' % (prefix, part, i)).encode(), partition=part)
p.flush()
p.close()
`;

async function producePython(
  topic: string,
  prefix: string,
  partitions: number,
  count: number,
): Promise<void> {
  const result = await run(
    PYTHON,
    ['-c', PRODUCE, server.bootstrap, topic, prefix, String(partitions), String(count)],
    {
      timeoutMs: 60_000,
    },
  );
  expect(result.code, result.stderr).toBe(0);
}

interface Message {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

function messages(stdout: string): Message[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('MSG '))
    .map((line) => {
      const [, partition, offset, value] = line.split(' ');
      return { partition: Number(partition), offset: Number(offset), value: value ?? '' };
    });
}

/** Partitions of the latest ASSIGNED line ([] after a later REVOKED). */
function assigned(stdout: string): number[] {
  const events = stdout
    .split('\n')
    .filter((line) => line.startsWith('ASSIGNED') || line.startsWith('REVOKED'));
  const last = events.at(-1);
  if (last === undefined || last.startsWith('REVOKED')) return [];
  const list = last.slice('ASSIGNED'.length).trim();
  return list === '' ? [] : list.split(',').map(Number).sort();
}

function member(group: string, topic: string) {
  return startChild(PYTHON, ['-u', '-c', MEMBER, server.bootstrap, group, topic], { timeoutMs: 100_000 });
}

beforeEach(async () => {
  dir = await tempDir('tributary-kafka-python-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  killChildren();
  await server.close();
  await dir.remove();
});

describeWithClient(
  'kafka-python 2.0.2 against the Kafka front end',
  hasKafkaPython(),
  'apt-get install -y python3-kafka',
  () => {
    it('creates a topic, produces with acks=all, consumes from earliest and commits', {
      timeout: 90_000,
    }, async () => {
      const result = await run(PYTHON, ['-c', BASIC, server.bootstrap], { timeoutMs: 80_000 });
      expect(result.code, result.stderr).toBe(0);
      const out = result.stdout.split('\n').filter((line) => line.startsWith('{'));
      const records = out
        .slice(0, -1)
        .map((line) => JSON.parse(line) as { p: number; o: number; k: string; v: string; h: string[][] });
      const summary = JSON.parse(out.at(-1)!) as { groups: string[]; committed: number[][] };
      expect(records).toHaveLength(30);
      for (const r of records) {
        const n = Number(r.v.split(' ')[1]);
        expect(r.k).toBe(`k${n % 5}`);
        expect(r.h).toEqual([['n', String(n)]]);
      }
      // Offsets agree with the HTTP API.
      const counts = [0, 1, 2].map((p) => records.filter((r) => r.p === p).length);
      for (const p of [0, 1, 2]) {
        const http = await call<{ records: { offset: number; key: string }[] }>(
          server.url,
          'GET',
          `/v1/topics/py-orders/partitions/${p}/records?offset=0`,
        );
        expect(http.body.records.map((r) => r.offset)).toEqual(
          records.filter((r) => r.p === p).map((r) => r.o),
        );
      }
      expect(summary.groups).toContain('py-readers');
      expect(summary.committed).toEqual([0, 1, 2].map((p) => [p, counts[p]]));
    });

    it('runs a group of two processes that rebalances when one leaves', { timeout: 120_000 }, async () => {
      await createTopic(server.url, 'py-jobs', { partitions: 4 });
      const a = member('py-workers', 'py-jobs');
      const b = member('py-workers', 'py-jobs');
      await waitFor(
        () => assigned(a.stdout()).length === 2 && assigned(b.stdout()).length === 2,
        60_000,
        'a 2 + 2 assignment',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\na: ${a.stdout()}${a.stderr()}\nb: ${b.stdout()}${b.stderr()}`);
      });
      expect([...assigned(a.stdout()), ...assigned(b.stdout())].sort()).toEqual([0, 1, 2, 3]);

      await producePython('py-jobs', 'r1', 4, 5);
      await waitFor(() => messages(a.stdout()).length + messages(b.stdout()).length >= 20, 30_000, 'round 1');

      const bResult = await b.stop(); // close(): commits and leaves the group
      expect(bResult.stdout).toContain('CLOSED');
      await waitFor(() => assigned(a.stdout()).length === 4, 30_000, 'a to take over all partitions');
      await producePython('py-jobs', 'r2', 4, 5);
      await waitFor(
        () => messages(a.stdout()).filter((m) => m.value.startsWith('r2-')).length >= 20,
        30_000,
        'round 2 on the remaining member',
      );
      const round2 = messages(a.stdout()).filter((m) => m.value.startsWith('r2-'));
      expect(new Set(round2.map((m) => m.partition))).toEqual(new Set([0, 1, 2, 3]));
      const all = [...messages(a.stdout()), ...messages(bResult.stdout)].map((m) => m.value);
      expect(new Set(all).size).toBe(40);
      expect(all).toHaveLength(40);
      await a.stop();
    });

    it('resumes a group from its committed offsets after a server restart', {
      timeout: 120_000,
    }, async () => {
      await createTopic(server.url, 'py-resume', { partitions: 2 });
      await producePython('py-resume', 'before', 2, 5);
      const first = member('py-resume-group', 'py-resume');
      await waitFor(() => messages(first.stdout()).length >= 10, 40_000, 'the first 10');
      await first.stop();

      await server.close();
      server = await startKafkaServer(dir.path);
      await producePython('py-resume', 'after', 2, 2);
      const second = member('py-resume-group', 'py-resume');
      await waitFor(
        () => messages(second.stdout()).length >= 4,
        40_000,
        'the 4 records produced after the restart',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const got = messages(second.stdout());
      expect(got.map((m) => m.value).sort()).toEqual([
        'after-p0-0',
        'after-p0-1',
        'after-p1-0',
        'after-p1-1',
      ]);
      expect(got.map((m) => m.offset).sort()).toEqual([5, 5, 6, 6]);
      await second.stop();
    });
  },
);
