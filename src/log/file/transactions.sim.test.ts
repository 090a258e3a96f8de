/**
 * Transactions under simulated machine crashes (sim-fs: unsynced bytes lost or torn, directory
 * entries not yet synced dropped): transactional producers, plain appends and markers run
 * concurrently over the file engine with `fsync: 'always'`; at random moments the machine
 * crashes with operations in flight, the log is reopened and checked (`checkTransactions`).
 * Each session's producers are new (ids per session); what earlier sessions left open is
 * aborted after the reopen, as a transaction coordinator does. Seeds replay:
 * TRIBUTARY_TXN_SIM_SEED=<seed> npx vitest run src/log/file/transactions.sim.test.ts
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { checkTransactions, type TransactionAcks } from '../testing/transaction-check.js';
import { type FileLog, openFileLog } from './file-log.js';
import { Prng } from './testing/prng.js';
import { SimFileSystem } from './testing/sim-fs.js';

const TOPIC = 't';
const PRODUCERS = 3;
const STEPS = 250;
const FIRST_SEED = Number(process.env.TRIBUTARY_TXN_SIM_SEED ?? 1);
const SEEDS = process.env.TRIBUTARY_TXN_SIM_SEED === undefined ? 12 : 1;
const enc = new TextEncoder();

interface Producer {
  readonly producerId: number;
  sequence: number;
  txn: number;
  open: boolean;
  busy: boolean;
}

const open = (sim: SimFileSystem): Promise<FileLog> =>
  openFileLog({ dir: '/data', fs: sim.mount(), maintenanceIntervalMs: 0, logger: pino({ level: 'silent' }) });

/** `s<session>-p<producer>-t<txn>-…` or `plain-…`. */
function transactionOf(value: string): { producerId: number; key: string } | null {
  const match = /^s(\d+)-p(\d+)-t(\d+)-/.exec(value);
  if (match === null) return null;
  const producerId = producerIdFor(Number(match[1]), Number(match[2]));
  return { producerId, key: `${producerId}:${match[3]}` };
}

const producerIdFor = (session: number, producer: number): number => 100 + session * 10 + producer;

async function runSeed(seed: number): Promise<{ crashes: number; markers: number }> {
  const random = new Prng(seed);
  const sim = new SimFileSystem(new Prng(seed * 7919 + 1));
  let log = await open(sim);
  await log.createTopic(TOPIC, { fsync: 'always', segmentBytes: 4096 });
  const acks: TransactionAcks = { data: new Map(), markers: new Map() };
  let session = 0;
  let crashes = 0;
  let plain = 0;
  let producers = newProducers(session);

  for (let step = 0; step < STEPS; step++) {
    const roll = random.next();
    const producer = random.pick(producers);
    if (roll < 0.05) {
      sim.crash('machine');
      crashes++;
      // Operations of the dead engine settle (rejected, or acknowledged if their fdatasync returned).
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      log = await open(sim);
      await checkTransactions(log, TOPIC, acks, transactionOf);
      for (let s = 0; s <= session; s++) {
        for (let p = 0; p < PRODUCERS; p++) {
          await log.writeMarker(TOPIC, 0, {
            producerId: producerIdFor(s, p),
            producerEpoch: 0,
            commit: false,
          });
        }
      }
      session++;
      producers = newProducers(session);
    } else if (roll < 0.25) {
      const value = `plain-${plain++}`;
      void log.append(TOPIC, 0, [{ key: null, value: enc.encode(value) }]).then(
        ({ baseOffset }) => acks.data.set(baseOffset, value),
        () => {},
      );
    } else if (!producer.busy && (roll < 0.75 || !producer.open)) {
      producer.busy = true;
      const count = random.int(1, 3);
      const values = Array.from(
        { length: count },
        (_, i) => `s${session}-p${producer.producerId % 10}-t${producer.txn}-q${producer.sequence + i}`,
      );
      const batch = { producerId: producer.producerId, producerEpoch: 0, baseSequence: producer.sequence };
      producer.sequence += count;
      producer.open = true;
      void log
        .append(
          TOPIC,
          0,
          values.map((value) => ({ key: null, value: enc.encode(value) })),
          { producer: batch, transactional: true },
        )
        .then(
          ({ baseOffset }) => {
            for (const [i, value] of values.entries()) acks.data.set(baseOffset + i, value);
            producer.busy = false;
          },
          () => {}, // only a crash fails it; the session ends with it
        );
    } else if (!producer.busy && producer.open) {
      producer.busy = true;
      const commit = random.chance(0.6);
      const key = `${producer.producerId}:${producer.txn}`;
      void log.writeMarker(TOPIC, 0, { producerId: producer.producerId, producerEpoch: 0, commit }).then(
        ({ offset }) => {
          if (offset !== null) acks.markers.set(key, { commit, offset });
          producer.txn++;
          producer.open = false;
          producer.busy = false;
        },
        () => {},
      );
    }
    for (let i = random.int(0, 3); i > 0; i--) await new Promise((resolve) => setImmediate(resolve));
  }
  // Let everything in flight settle, then check once more after a final crash.
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  await checkTransactions(log, TOPIC, acks, transactionOf);
  sim.crash('machine');
  log = await open(sim);
  await checkTransactions(log, TOPIC, acks, transactionOf);
  await log.close();
  return { crashes: crashes + 1, markers: acks.markers.size };
}

function newProducers(session: number): Producer[] {
  return Array.from({ length: PRODUCERS }, (_, p) => ({
    producerId: producerIdFor(session, p),
    sequence: 0,
    txn: 0,
    open: false,
    busy: false,
  }));
}

describe('transactions under simulated machine crashes', () => {
  it(`keep acknowledged records, markers and the LSO (seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1})`, async () => {
    let markers = 0;
    let crashes = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      try {
        const run = await runSeed(seed);
        markers += run.markers;
        crashes += run.crashes;
      } catch (error) {
        throw new Error(`seed ${seed} failed (replay: TRIBUTARY_TXN_SIM_SEED=${seed}): ${String(error)}`, {
          cause: error,
        });
      }
    }
    // The runs did what they are for: markers acknowledged, machines crashed.
    expect(markers).toBeGreaterThan(SEEDS);
    expect(crashes).toBeGreaterThan(SEEDS);
  }, 120_000);
});
