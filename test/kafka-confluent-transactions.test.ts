/**
 * Kafka transactions with librdkafka 2.0.2 (Debian's python3-confluent-kafka) against the
 * server on its file engine (`fixtures/confluent-transactions.py`): a transactional producer
 * commits and aborts; a read_committed consumer sees exactly the committed records, a
 * read_uncommitted one every record (never a marker); a zombie producer fenced by a newer
 * instance of its transactional id cannot commit; a producer SIGKILLed in the middle of a
 * transaction (`fixtures/confluent-abandoned-txn.py`) holds read_committed readers back only
 * until its transaction timeout, when the server aborts it.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopic } from './http-helpers.js';
import {
  describeWithClient,
  type KafkaTestServer,
  killChildren,
  PYTHON,
  run,
  sleep,
  startChild,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

const SCRIPT = join(import.meta.dirname, 'fixtures/confluent-transactions.py');
const ABANDON = join(import.meta.dirname, 'fixtures/confluent-abandoned-txn.py');

function hasConfluentKafka(): boolean {
  return (
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { timeout: 10_000 }).status === 0
  );
}

describeWithClient(
  'confluent_kafka transactions',
  hasConfluentKafka(),
  'apt-get install -y python3-confluent-kafka',
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let server: KafkaTestServer;

    beforeAll(async () => {
      dir = await tempDir('tributary-confluent-txn-');
      server = await startKafkaServer(dir.path);
    });
    afterAll(async () => {
      killChildren();
      await server.close();
      await dir.remove();
    });

    it('commits, aborts, fences a zombie; read_committed sees only committed records', async () => {
      await createTopic(server.url, 'confluent-txn', { partitions: 2 });
      const result = await run(PYTHON, [SCRIPT, server.bootstrap, 'confluent-txn'], { timeoutMs: 120_000 });
      expect(result.code, result.stderr.slice(-2000)).toBe(0);
      const outcome = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
        zombie_commit: string;
        read_committed: string[];
        read_uncommitted: string[];
      };
      expect(outcome.zombie_commit).not.toBe('committed');
      expect(outcome.read_committed).toEqual(['after', 'fresh', 'kept-0', 'kept-1', 'kept-2', 'kept-3']);
      expect(outcome.read_uncommitted).toEqual([
        'aborted-0',
        'aborted-1',
        'aborted-2',
        'aborted-3',
        'after',
        'fresh',
        'kept-0',
        'kept-1',
        'kept-2',
        'kept-3',
        'zombie',
      ]);
    }, 150_000);

    it('a producer SIGKILLed mid-transaction holds read_committed readers only until its timeout', async () => {
      const timeoutMs = 5000;
      await createTopic(server.url, 'abandoned', { partitions: 1 });
      const job = startChild(
        PYTHON,
        [ABANDON, server.bootstrap, 'abandoned', 'abandoned-job', String(timeoutMs)],
        {
          timeoutMs: 60_000,
        },
      );
      await job.until((out) => out.includes('open'), 30_000, 'the open transaction');
      const openedAt = Date.now();
      // librdkafka's ListOffsets: read_committed ends at the LSO (before the open records).
      await job.until((out) => out.includes('watermarks'), 30_000, 'the watermarks');
      expect(/watermarks (\d+) (\d+)/.exec(job.stdout())?.slice(1)).toEqual(['0', '3']);
      job.process.kill('SIGKILL');
      await job.done;

      // A committed record after the abandoned transaction's records.
      const kafka = new Kafka({
        clientId: 'abandoned-test',
        brokers: [server.bootstrap],
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'abandoned', acks: -1, messages: [{ value: 'after' }] });
      await producer.disconnect();

      const seen: string[] = [];
      let fetches = 0;
      const consumer = kafka.consumer({
        groupId: 'abandoned-reader',
        maxWaitTimeInMs: 200,
        readUncommitted: false,
      });
      await consumer.connect();
      try {
        consumer.on(consumer.events.FETCH, () => {
          fetches++;
        });
        await consumer.subscribe({ topic: 'abandoned', fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString() ?? '');
          },
        });
        await waitFor(() => fetches >= 2, 20_000, 'the consumer fetching');
        // Well before the timeout the open transaction holds the reader at the LSO.
        if (Date.now() - openedAt < timeoutMs - 1500) expect(seen).toEqual([]);
        await waitFor(() => seen.length >= 1, 30_000, 'the record after the aborted transaction');
        // The server aborted it at its timeout, not before (it began before `open` was printed).
        expect(Date.now() - openedAt).toBeGreaterThan(timeoutMs - 2500);
        await sleep(500);
        expect(seen).toEqual(['after']);
      } finally {
        await consumer.disconnect();
      }
      // The abandoned records are there, aborted: a read_uncommitted reader sees them.
      const everything: string[] = [];
      const uncommitted = kafka.consumer({
        groupId: 'abandoned-all',
        maxWaitTimeInMs: 200,
        readUncommitted: true,
      });
      await uncommitted.connect();
      try {
        await uncommitted.subscribe({ topic: 'abandoned', fromBeginning: true });
        await uncommitted.run({
          eachMessage: async ({ message }) => {
            everything.push(message.value?.toString() ?? '');
          },
        });
        await waitFor(() => everything.length >= 4, 20_000, 'every record');
      } finally {
        await uncommitted.disconnect();
      }
      expect(everything).toEqual(['abandoned-0', 'abandoned-1', 'abandoned-2', 'after']);
    }, 90_000);
  },
);
