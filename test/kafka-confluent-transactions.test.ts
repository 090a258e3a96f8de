/**
 * Kafka transactions with librdkafka 2.0.2 (Debian's python3-confluent-kafka) against the
 * server on its file engine (`fixtures/confluent-transactions.py`): a transactional producer
 * commits and aborts; a read_committed consumer sees exactly the committed records, a
 * read_uncommitted one every record (never a marker); a zombie producer fenced by a newer
 * instance of its transactional id cannot commit.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopic } from './http-helpers.js';
import {
  describeWithClient,
  type KafkaTestServer,
  PYTHON,
  run,
  startKafkaServer,
  tempDir,
} from './kafka-harness.js';

const SCRIPT = join(import.meta.dirname, 'fixtures/confluent-transactions.py');

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
  },
);
