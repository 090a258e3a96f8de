/**
 * kcat 1.7.1 (librdkafka 2.0.2), unmodified, as child processes against `startServer` with the
 * Kafka listener on a free port: metadata, produce with acks=all (plain, idempotent and every
 * codec: gzip, snappy, lz4, zstd), consume from earliest, a balanced consumer group of two kcat
 * processes that rebalances when one leaves, and committed offsets across a server restart.
 *
 * Needs /usr/bin/kcat (`apt-get install -y kcat`); skipped without it unless
 * TRIBUTARY_REQUIRE_SERVICES=1.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { call, createTopic } from './http-helpers.js';
import {
  type Child,
  describeWithClient,
  hasKcat,
  type KafkaTestServer,
  KCAT,
  killChildren,
  run,
  startChild,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;

/** librdkafka settings that keep group tests fast. */
const FAST_GROUP = [
  ...['-X', 'heartbeat.interval.ms=300', '-X', 'session.timeout.ms=6000'],
  ...['-X', 'fetch.wait.max.ms=200', '-X', 'auto.commit.interval.ms=200'],
];

function kcat(args: readonly string[], input = '', timeoutMs = 30_000) {
  return run(KCAT, ['-b', server.bootstrap, ...args], { input, timeoutMs });
}

interface Line {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

function lines(stdout: string): Line[] {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition, offset, ...value] = line.split(' ');
      return { partition: Number(partition), offset: Number(offset), value: value.join(' ') };
    });
}

/** Partitions of the latest "assigned:" (or [] after "revoked:") in a kcat -G stderr. */
function assigned(stderr: string): number[] {
  const events = stderr.split('\n').filter((line) => line.includes('rebalanced'));
  const last = events.at(-1);
  if (last === undefined || !last.includes('assigned:')) return [];
  return [...last.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort();
}

function groupMember(group: string, topic: string): Child {
  return startChild(
    KCAT,
    // No -o (kcat would reset every assignment to it): committed offsets, else the earliest.
    [
      '-b',
      server.bootstrap,
      '-u',
      '-G',
      group,
      '-X',
      'auto.offset.reset=earliest',
      '-f',
      '%p %o %s\\n',
      ...FAST_GROUP,
      topic,
    ],
    { timeoutMs: 90_000 },
  );
}

async function producePartitions(topic: string, partitions: number, prefix: string, perPartition: number) {
  for (let p = 0; p < partitions; p++) {
    const input = Array.from({ length: perPartition }, (_, i) => `${prefix}-p${p}-${i}\n`).join('');
    const result = await kcat(['-P', '-t', topic, '-p', String(p), '-X', 'acks=all'], input);
    expect(result.code, result.stderr).toBe(0);
  }
}

beforeEach(async () => {
  dir = await tempDir('tributary-kcat-');
  server = await startKafkaServer(dir.path);
});

afterEach(async () => {
  killChildren();
  await server.close();
  await dir.remove();
});

describeWithClient(
  'kcat (librdkafka 2.0.2) against the Kafka front end',
  hasKcat(),
  'apt-get install -y kcat',
  () => {
    it('lists metadata with this broker at the advertised address', async () => {
      await createTopic(server.url, 'listed', { partitions: 3 });
      const result = await kcat(['-L']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`broker 0 at ${server.bootstrap} (controller)`);
      expect(result.stdout).toContain('topic "listed" with 3 partitions');
    });

    it('auto-creates a topic, produces with acks=all and consumes from earliest with keys', async () => {
      const input = Array.from({ length: 20 }, (_, i) => `key${i}:value ${i}\n`).join('');
      const produced = await kcat(['-P', '-t', 'auto', '-K', ':', '-X', 'acks=all'], input);
      expect(produced.code, produced.stderr).toBe(0);
      const consumed = await kcat(['-C', '-t', 'auto', '-o', 'beginning', '-e', '-f', '%p %o %k=%s\\n']);
      expect(consumed.code, consumed.stderr).toBe(0);
      expect(lines(consumed.stdout)).toEqual(
        Array.from({ length: 20 }, (_, i) => ({ partition: 0, offset: i, value: `key${i}=value ${i}` })),
      );
      // The same records over HTTP, same offsets.
      const http = await call<{ records: { offset: number; key: string }[] }>(
        server.url,
        'GET',
        '/v1/topics/auto/partitions/0/records?offset=5&max=2',
      );
      expect(http.body.records.map((r) => [r.offset, r.key])).toEqual([
        [5, 'key5'],
        [6, 'key6'],
      ]);
    });

    it('accepts every codec (gzip, snappy, lz4, zstd) and idempotent producers', async () => {
      await createTopic(server.url, 'codecs', { partitions: 1 });
      for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
        const input = Array.from({ length: 500 }, (_, i) => `${codec} ${i} ${'abc'.repeat(20)}\n`).join('');
        const result = await kcat(
          ['-P', '-t', 'codecs', '-z', codec, '-X', 'enable.idempotence=true'],
          input,
        );
        expect(result.code, `${codec}: ${result.stderr}`).toBe(0);
      }
      const consumed = await kcat(['-C', '-t', 'codecs', '-o', 'beginning', '-e', '-f', '%p %o %s\\n']);
      const got = lines(consumed.stdout);
      expect(got).toHaveLength(2500);
      expect(got.map((l) => l.offset)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
      for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
        const values = got.filter((l) => l.value.startsWith(`${codec} `)).map((l) => l.value);
        expect(values, codec).toEqual(
          Array.from({ length: 500 }, (_, i) => `${codec} ${i} ${'abc'.repeat(20)}`),
        );
      }
    });

    it('runs a balanced group of two kcat processes that rebalances when one leaves', {
      timeout: 120_000,
    }, async () => {
      await createTopic(server.url, 'jobs', { partitions: 4 });
      const a = groupMember('kcat-workers', 'jobs');
      const b = groupMember('kcat-workers', 'jobs');
      // librdkafka's range assignor, run by the leader, handed out via SyncGroup: 2 + 2.
      await waitFor(
        () => assigned(a.stderr()).length === 2 && assigned(b.stderr()).length === 2,
        45_000,
        'a 2 + 2 assignment',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\na: ${a.stderr()}\nb: ${b.stderr()}`);
      });
      expect([...assigned(a.stderr()), ...assigned(b.stderr())].sort()).toEqual([0, 1, 2, 3]);

      await producePartitions('jobs', 4, 'r1', 5);
      await waitFor(() => lines(a.stdout()).length + lines(b.stdout()).length >= 20, 30_000, 'round 1');
      expect(new Set(lines(a.stdout()).map((l) => l.partition))).toEqual(new Set(assigned(a.stderr())));

      const bResult = await b.stop(); // leaves the group (and commits)
      expect(bResult.code).toBe(0);
      await waitFor(() => assigned(a.stderr()).length === 4, 30_000, 'a to take over all partitions');
      await producePartitions('jobs', 4, 'r2', 5);
      await waitFor(
        () => lines(a.stdout()).filter((l) => l.value.startsWith('r2-')).length >= 20,
        30_000,
        'round 2 on the remaining member',
      );
      const round2 = lines(a.stdout()).filter((l) => l.value.startsWith('r2-'));
      expect(new Set(round2.map((l) => l.partition))).toEqual(new Set([0, 1, 2, 3]));
      const all = [...lines(a.stdout()), ...lines(bResult.stdout)].map((l) => l.value);
      expect(new Set(all).size).toBe(40);
      expect(all.length).toBe(40); // no record read twice
      await a.stop();
    });

    it('resumes a group from its committed offsets after a server restart', {
      timeout: 120_000,
    }, async () => {
      await createTopic(server.url, 'resume', { partitions: 2 });
      await producePartitions('resume', 2, 'before', 5);
      const first = groupMember('kcat-resume', 'resume');
      await waitFor(() => lines(first.stdout()).length >= 10, 30_000, 'the first 10');
      await first.stop(); // commits on close

      await server.close();
      server = await startKafkaServer(dir.path);
      await producePartitions('resume', 2, 'after', 2);

      // No -o: the group's committed offsets decide where it starts.
      const second = startChild(
        KCAT,
        ['-b', server.bootstrap, '-u', '-G', 'kcat-resume', '-f', '%p %o %s\\n', ...FAST_GROUP, 'resume'],
        { timeoutMs: 60_000 },
      );
      await waitFor(
        () => lines(second.stdout()).length >= 4,
        30_000,
        'the 4 records produced after the restart',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const got = lines(second.stdout());
      expect(got.map((l) => l.value).sort()).toEqual([
        'after-p0-0',
        'after-p0-1',
        'after-p1-0',
        'after-p1-1',
      ]);
      expect(got.map((l) => l.offset).sort()).toEqual([5, 5, 6, 6]);
      await second.stop();
    });
  },
);
