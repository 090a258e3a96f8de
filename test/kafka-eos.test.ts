/**
 * Exactly-once processing under crashes, with librdkafka (Debian's python3-confluent-kafka,
 * librdkafka 2.0.2) and the job of `fixtures/eos-job.py`: a consume-transform-produce loop that
 * commits its output and its input offsets in one Kafka transaction per batch.
 *
 * 1. The job is SIGKILLed at random moments (seeded; the seed is printed) and started again;
 *    afterwards a read_committed reader must find exactly one output per input.
 * 2. The server itself is SIGKILLed while the job commits, and started again on the same data
 *    directory: transactions decided before the kill are rolled forward, open ones aborted
 *    (by the job's next InitProducerId), and again every input has exactly one output.
 *
 * Each run prints: inputs, crashes, outputs, duplicates, losses.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, expect, it } from 'vitest';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';
import { createTopic } from './http-helpers.js';
import {
  type Child,
  describeWithClient,
  killChildren,
  PYTHON,
  sleep,
  startChild,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

const JOB = join(import.meta.dirname, 'fixtures/eos-job.py');
const INPUTS = 300;
const PARTITIONS = 3;
const JOB_CRASHES = 5;
const SERVER_CRASHES = 2;

function hasConfluentKafka(): boolean {
  return (
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { timeout: 10_000 }).status === 0
  );
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its printed seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function kafka(bootstrap: string): Kafka {
  return new Kafka({
    clientId: 'tributary-eos-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

async function produceInputs(bootstrap: string): Promise<void> {
  const producer = kafka(bootstrap).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const messages = Array.from({ length: INPUTS }, (_, i) => ({
      key: `k${i}`,
      value: String(i),
      partition: i % PARTITIONS,
    }));
    for (let i = 0; i < messages.length; i += 50) {
      await producer.send({ topic: 'eos-in', acks: -1, messages: messages.slice(i, i + 50) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Sum of the group's committed input offsets (= inputs processed, partitions start at 0). */
async function processed(bootstrap: string): Promise<number> {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: 'eos-group', topics: ['eos-in'] });
    return (topic?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

interface Counts {
  readonly outputs: number;
  readonly duplicates: number;
  readonly losses: number;
}

/** Reads the whole output topic read_committed (kafkajs's default) and counts it against the inputs. */
async function countOutputs(bootstrap: string): Promise<Counts> {
  const seen = new Map<string, number>();
  let outputs = 0;
  const consumer = kafka(bootstrap).consumer({
    groupId: `eos-verify-${Date.now()}`,
    maxWaitTimeInMs: 200,
    readUncommitted: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'eos-out', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        outputs++;
        const value = message.value?.toString() ?? '';
        seen.set(value, (seen.get(value) ?? 0) + 1);
      },
    });
    await waitFor(() => seen.size >= INPUTS, 60_000, 'an output for every input').catch(() => undefined);
    // Anything (wrongly) following the last expected output gets a moment to arrive.
    await sleep(1000);
  } finally {
    await consumer.disconnect();
  }
  let duplicates = 0;
  for (const count of seen.values()) duplicates += count - 1;
  let losses = 0;
  for (let i = 0; i < INPUTS; i++) if (!seen.has(`out-${i}`)) losses++;
  return { outputs, duplicates, losses };
}

function startJob(bootstrap: string): Child {
  return startChild(
    PYTHON,
    [JOB, bootstrap, 'eos-in', 'eos-out', 'eos-group', 'eos-job', String(PARTITIONS), '7'],
    { timeoutMs: 120_000 },
  );
}

afterEach(() => {
  killChildren();
});

describeWithClient(
  'exactly once under crashes (confluent_kafka)',
  hasConfluentKafka(),
  'apt-get install -y python3-confluent-kafka',
  () => {
    it('a job SIGKILLed at random points yields exactly one output per input', async () => {
      const dir = await tempDir('tributary-eos-');
      const server = await startKafkaServer(dir.path);
      try {
        await createTopic(server.url, 'eos-in', { partitions: PARTITIONS });
        await createTopic(server.url, 'eos-out', { partitions: PARTITIONS });
        await produceInputs(server.bootstrap);
        const seed = Date.now() % 1_000_000;
        const next = random(seed);
        let crashes = 0;
        while (crashes < JOB_CRASHES) {
          const job = startJob(server.bootstrap);
          await job.until((out) => out.includes('ready'), 30_000, 'the job to start');
          await sleep(200 + Math.floor(next() * 1500));
          job.process.kill('SIGKILL');
          await job.done;
          crashes++;
        }
        const job = startJob(server.bootstrap);
        await waitFor(
          async () => (await processed(server.bootstrap)) >= INPUTS,
          90_000,
          'every input processed',
        );
        await job.stop();
        const counts = await countOutputs(server.bootstrap);
        console.log(
          `exactly-once, job crashes: inputs=${INPUTS} crashes=${crashes} outputs=${counts.outputs} duplicates=${counts.duplicates} losses=${counts.losses} (seed ${seed})`,
        );
        expect(counts).toEqual({ outputs: INPUTS, duplicates: 0, losses: 0 });
      } finally {
        await server.close();
        await dir.remove();
      }
    }, 240_000);

    it('a server SIGKILLed while the job commits rolls decided transactions forward', async () => {
      const dir = await tempDir('tributary-eos-server-');
      const kafkaPort = await freePort();
      const bootstrap = `127.0.0.1:${kafkaPort}`;
      const start = async (): Promise<ServerProcess> =>
        startServerProcess(dir.path, await freePort(), { args: ['--kafka-port', String(kafkaPort)] });
      let server = await start();
      let job: Child | undefined;
      try {
        await createTopic(server.url, 'eos-in', { partitions: PARTITIONS });
        await createTopic(server.url, 'eos-out', { partitions: PARTITIONS });
        await produceInputs(bootstrap);
        let crashes = 0;
        const jobs: Child[] = [];
        const runJob = (): Child => {
          const started = startJob(bootstrap);
          jobs.push(started);
          return started;
        };
        job = runJob();
        while (crashes < SERVER_CRASHES) {
          // Kill the server right after a commit went out: the next one is then in flight.
          const before = (job.stdout().match(/committed/g) ?? []).length;
          await waitFor(
            () => (job!.stdout().match(/committed/g) ?? []).length > before || job!.process.exitCode !== null,
            60_000,
            'a commit',
          );
          await killServer(server);
          crashes++;
          server = await start();
          // librdkafka may give up on its transaction while the server is down: start it again.
          if (job.process.exitCode !== null || job.process.signalCode !== null) job = runJob();
        }
        const deadline = Date.now() + 120_000;
        while ((await processed(bootstrap).catch(() => 0)) < INPUTS) {
          if (Date.now() > deadline) throw new Error('timed out waiting for every input to be processed');
          if (job.process.exitCode !== null) job = runJob();
          await sleep(300);
        }
        await job.stop();
        const counts = await countOutputs(bootstrap);
        console.log(
          `exactly-once, server crashes: inputs=${INPUTS} crashes=${crashes} job restarts=${jobs.length - 1} outputs=${counts.outputs} duplicates=${counts.duplicates} losses=${counts.losses}`,
        );
        expect(counts).toEqual({ outputs: INPUTS, duplicates: 0, losses: 0 });
      } finally {
        await job?.stop();
        await killServer(server);
        await dir.remove();
      }
    }, 300_000);
  },
);
