/**
 * Exactly-once processing under crashes, with librdkafka (Debian's python3-confluent-kafka,
 * librdkafka 2.0.2) and the job of `fixtures/eos-job.py`: a consume-transform-produce loop that
 * commits its output and its input offsets in one Kafka transaction per batch.
 *
 * 1. The job is SIGKILLed at random moments (seeded; the seed is printed) and started again;
 *    afterwards a read_committed reader must find exactly one output per input.
 * 2. The server itself is SIGKILLed while the job commits, and started again on the same data
 *    directory: a transaction decided before the kill is rolled forward (the count is printed;
 *    `transactions-crash.test.ts` kills at each exact point), one still open is committed by
 *    the job's retried EndTxn or aborted by its next InitProducerId, and again every input has
 *    exactly one output.
 *
 * Each run prints: inputs, crashes, outputs, duplicates, losses, and how jobs that ended by
 * themselves ended (librdkafka's error code). Outputs are counted from the data directory once
 * the server stopped, with committed isolation (what a read_committed consumer is served).
 * `EOS_SEED=n` replays a run's kill times; `EOS_JOB_DEBUG=eos,protocol,broker` turns on
 * librdkafka's debug log in the job (shown when a job hangs).
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, expect, it } from 'vitest';
import { openFileLog } from '../src/log/file/file-log.js';
import { Prng } from '../src/log/file/testing/prng.js';
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
const SERVER_CRASHES = 4;

function hasConfluentKafka(): boolean {
  return (
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { timeout: 10_000 }).status === 0
  );
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
  /** Records of aborted transactions in the output (read uncommitted minus read committed). */
  readonly aborted: number;
}

/**
 * Counts the output topic as a committed reader sees it, against the inputs: opened from the
 * data directory after the server stopped (what is durable), read with committed isolation.
 */
async function countOutputs(dataDir: string): Promise<Counts> {
  const log = await openFileLog({ dir: dataDir, maintenanceIntervalMs: 0 });
  const seen = new Map<string, number>();
  let outputs = 0;
  let everything = 0;
  try {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const { next } = await log.offsets('eos-out', partition);
      let offset = 0;
      while (offset < next) {
        const records = await log.read('eos-out', partition, offset, {
          isolation: 'committed',
          maxRecords: 1000,
        });
        const last = records.at(-1);
        if (last === undefined) break;
        for (const record of records) {
          outputs++;
          const value = new TextDecoder().decode(record.value ?? new Uint8Array());
          seen.set(value, (seen.get(value) ?? 0) + 1);
        }
        offset = last.offset + 1;
      }
      const raw = await log.read('eos-out', partition, 0, { maxRecords: 100_000 });
      everything += raw.length;
    }
  } finally {
    await log.close();
  }
  let duplicates = 0;
  for (const count of seen.values()) duplicates += count - 1;
  let losses = 0;
  for (let i = 0; i < INPUTS; i++) if (!seen.has(`out-${i}`)) losses++;
  return { outputs, duplicates, losses, aborted: everything - outputs };
}

/** Records a read_committed kafkajs consumer reads from the whole output topic. */
async function readCommittedOverKafka(bootstrap: string): Promise<number> {
  let count = 0;
  const consumer = kafka(bootstrap).consumer({
    groupId: 'eos-verify',
    maxWaitTimeInMs: 200,
    readUncommitted: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'eos-out', fromBeginning: true });
    await consumer.run({
      eachMessage: async () => {
        count++;
      },
    });
    await waitFor(() => count >= INPUTS, 60_000, 'the committed outputs over Kafka').catch(() => undefined);
    // Anything (wrongly) past the committed outputs gets a moment to arrive.
    await sleep(1000);
  } finally {
    await consumer.disconnect();
  }
  return count;
}

function commitsIn(stdout: string): number {
  return (stdout.match(/^committed /gm) ?? []).length;
}

function openIn(stdout: string): number {
  return (stdout.match(/^open /gm) ?? []).length;
}

/**
 * Waits until `job` opens its next transaction (`open N` on stdout) or ends; `timeout` when it
 * does neither within `ms`.
 */
async function nextTransaction(job: Child, ms: number): Promise<'opened' | 'exited' | 'timeout'> {
  const before = openIn(job.stdout());
  let timer: NodeJS.Timeout | undefined;
  let check: (() => void) | undefined;
  try {
    return await Promise.race([
      job.done.then(() => 'exited' as const),
      new Promise<'opened'>((resolve) => {
        // Listens after the harness's own listener, so stdout() already holds the chunk.
        check = () => {
          if (openIn(job.stdout()) > before) resolve('opened');
        };
        job.process.stdout?.on('data', check);
      }),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (check !== undefined) job.process.stdout?.off('data', check);
  }
}

/** Why a job ended by itself: the librdkafka error code of its traceback (`_FENCED`, `_TIMED_OUT`, …). */
function endingOf(job: Child): string {
  return /KafkaError\{(?:FATAL,)?code=(\w+)/.exec(job.stderr())?.[1] ?? `exit ${job.process.exitCode}`;
}

function summarize(endings: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const ending of endings) counts.set(ending, (counts.get(ending) ?? 0) + 1);
  return counts.size === 0 ? 'none' : [...counts].map(([ending, n]) => `${ending} ${n}`).join(', ');
}

function startJob(bootstrap: string): Child {
  return startChild(
    PYTHON,
    [JOB, bootstrap, 'eos-in', 'eos-out', 'eos-group', 'eos-job', String(PARTITIONS), '5', '20'],
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
        const seed = Number(process.env.EOS_SEED ?? Date.now() % 1_000_000);
        const random = new Prng(seed);
        let crashes = 0;
        while (crashes < JOB_CRASHES) {
          const job = startJob(server.bootstrap);
          // After 1 to 3 commits of this run: every other crash the moment the next transaction
          // holds records (between its produce and its commit), else at a random moment.
          const commits = 1 + Math.floor(random.next() * 3);
          if (crashes % 2 === 0) {
            job.process.stdout?.on('data', () => {
              if (openIn(job.stdout()) > commits) job.process.kill('SIGKILL');
            });
          }
          await job.until((out) => commitsIn(out) >= commits, 60_000, `${commits} commits`);
          if (crashes % 2 === 1) await sleep(Math.floor(random.next() * 60));
          await job.until((out) => crashes % 2 === 1 || openIn(out) > commits, 60_000, 'an open transaction');
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
        const served = await readCommittedOverKafka(server.bootstrap);
        await server.close();
        const counts = await countOutputs(dir.path);
        // What a read_committed Kafka consumer is served matches what is durable.
        expect(served).toBe(counts.outputs);
        console.log(
          `exactly-once, job crashes: inputs=${INPUTS} crashes=${crashes} outputs=${counts.outputs} duplicates=${counts.duplicates} losses=${counts.losses} aborted-records=${counts.aborted} (seed ${seed})`,
        );
        expect({ ...counts, aborted: 0 }).toEqual({ outputs: INPUTS, duplicates: 0, losses: 0, aborted: 0 });
      } finally {
        await server.close();
        await dir.remove();
      }
    }, 240_000);

    it('a server SIGKILLed while the job commits loses and doubles nothing', async () => {
      const dir = await tempDir('tributary-eos-server-');
      const kafkaPort = await freePort();
      const bootstrap = `127.0.0.1:${kafkaPort}`;
      let rolledForward = 0;
      const endings: string[] = [];
      const start = async (): Promise<ServerProcess> => {
        const started = await startServerProcess(dir.path, await freePort(), {
          args: ['--kafka-port', String(kafkaPort)],
          // Recovery on a loaded machine can be slow; a start that never comes still fails.
          readyTimeoutMs: 60_000,
        });
        started.child.stdout?.on('data', (chunk: Buffer) => {
          rolledForward += (
            chunk.toString().match(/finishing a transaction decided before the restart/g) ?? []
          ).length;
        });
        return started;
      };
      const seed = Number(process.env.EOS_SEED ?? Date.now() % 1_000_000);
      const random = new Prng(seed);
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
          // Kill the server while the job commits: once a transaction holds records, after the
          // job's 20 ms of work and a random part of the commit that follows. A job may end by
          // itself meanwhile: librdkafka gives up on a transaction the server aborted past its
          // timeout while it was down (_FENCED), or on its own timeout or a lost connection
          // (_TIMED_OUT, _TRANSPORT), and the job exits; it is started again, as a crashed job
          // would be. A job that neither opens a transaction nor ends fails the test.
          for (;;) {
            const outcome = await nextTransaction(job, 60_000);
            if (outcome === 'opened') break;
            if (outcome === 'timeout') {
              throw new Error(
                `the job neither opened a transaction nor ended in 60 s (seed ${seed}):\n${job.stdout().slice(-1000)}\n${job.stderr().slice(-3000)}`,
              );
            }
            endings.push(endingOf(job));
            job = runJob();
          }
          await sleep(15 + Math.floor(random.next() * 30));
          await killServer(server);
          crashes++;
          server = await start();
          // librdkafka may give up on its transaction while the server is down: start it again.
          if (job.process.exitCode !== null || job.process.signalCode !== null) {
            endings.push(endingOf(job));
            job = runJob();
          }
        }
        const deadline = Date.now() + 120_000;
        while ((await processed(bootstrap).catch(() => 0)) < INPUTS) {
          if (Date.now() > deadline) throw new Error('timed out waiting for every input to be processed');
          if (job.process.exitCode !== null) {
            endings.push(endingOf(job));
            job = runJob();
          }
          await sleep(300);
        }
        await job.stop();
        await killServer(server, 'SIGTERM');
        const counts = await countOutputs(dir.path);
        console.log(
          `exactly-once, server crashes: inputs=${INPUTS} crashes=${crashes} rolled-forward=${rolledForward} job restarts=${jobs.length - 1} (job endings: ${summarize(endings)}) outputs=${counts.outputs} duplicates=${counts.duplicates} losses=${counts.losses} aborted-records=${counts.aborted} (seed ${seed})`,
        );
        expect({ ...counts, aborted: 0 }).toEqual({ outputs: INPUTS, duplicates: 0, losses: 0, aborted: 0 });
      } finally {
        await job?.stop();
        await killServer(server);
        await dir.remove();
      }
    }, 300_000);
  },
);
