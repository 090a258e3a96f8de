/**
 * Crash test for transactions in the file log: a writer child process runs transactional
 * producers under `fsync: 'always'` and is SIGKILLed at random moments — mid-transaction and
 * mid-marker. After each kill the log is reopened and must hold every acknowledged record and
 * marker, keep transactions whose marker never made it open (holding the last stable offset),
 * and serve committed reads that agree with the aborted-transaction index. The seed is printed
 * so a failure replays: TRIBUTARY_CRASH_SEED=<seed> npx vitest run test/txn-crash.test.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileLog } from '../src/log/file/file-log.js';
import { Prng } from '../src/log/file/testing/prng.js';
import {
  checkTransactions,
  type TransactionAcks,
  type TransactionOfRecord,
} from '../src/log/testing/transaction-check.js';

const ROUNDS = Number(process.env.TRIBUTARY_CRASH_ROUNDS ?? 5);
const SEED = Number(process.env.TRIBUTARY_CRASH_SEED ?? Date.now() % 1_000_000);
const PRODUCERS = 6;
const TOPIC = 'txn-crash';

/** As in the writer: unique per round and producer. */
const producerIdFor = (round: number, producer: number): number => 1000 + round * 100 + producer;

function startWriter(
  dir: string,
  round: number,
  acks: TransactionAcks,
): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/txn-crash-writer.ts', dir, String(round), String(PRODUCERS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buffered = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const fields = line.split(' ');
      if (fields[0] === 'ready') markReady();
      if (fields[0] === 'data') acks.data.set(Number(fields[1]), fields[2]!);
      if (fields[0] === 'marker' && fields[4] !== 'null') {
        acks.markers.set(`${fields[1]}:${fields[2]}`, {
          commit: fields[3] === '1',
          offset: Number(fields[4]),
        });
      }
    }
  });
  return { child, ready };
}

/** `r<round>-p<producer>-t<txn>-…` → the transaction's key `${producerId}:${txn}`. */
function transactionOf(value: string): TransactionOfRecord {
  const match = /^r(\d+)-p(\d+)-t(\d+)-b\d+-i\d+-x*$/.exec(value);
  if (match === null) throw new Error(`a record the writer never wrote: ${value}`);
  const producerId = producerIdFor(Number(match[1]), Number(match[2]));
  return { producerId, key: `${producerId}:${match[3]}` };
}

describe('crash safety of transactions in the file log', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it(`keeps transactions, markers and the last stable offset across ${ROUNDS} SIGKILLs (seed ${SEED})`, async () => {
    const random = new Prng(SEED);
    const dir = await mkdtemp(join(tmpdir(), 'tributary-txn-crash-'));
    dirs.push(dir);
    const acks: TransactionAcks = { data: new Map(), markers: new Map() };
    for (let round = 0; round < ROUNDS; round++) {
      const writer = startWriter(dir, round, acks);
      await writer.ready;
      await new Promise((resolve) => setTimeout(resolve, 50 + random.next() * 400));
      const exited = new Promise((resolve) => writer.child.once('exit', resolve));
      writer.child.kill('SIGKILL');
      await exited;
      const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
      try {
        await checkTransactions(log, TOPIC, acks, transactionOf);
      } finally {
        await log.close();
      }
    }
    // Aborting whatever is left open releases the last stable offset to the end.
    const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (let p = 0; p < PRODUCERS; p++) {
          await log.writeMarker(TOPIC, 0, {
            producerId: producerIdFor(round, p),
            producerEpoch: 0,
            commit: false,
          });
        }
      }
      const { next, lastStable } = await log.offsets(TOPIC, 0);
      expect(lastStable).toBe(next);
      await checkTransactions(log, TOPIC, acks, transactionOf);
      expect(acks.markers.size, 'the writer acknowledged markers').toBeGreaterThan(0);
    } finally {
      await log.close();
    }
  }, 120_000);
});
