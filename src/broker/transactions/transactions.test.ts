import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import { createMemoryLog } from '../../log/memory/memory-log.js';
import type { Log } from '../../log/types.js';
import { createBroker, type TributaryBroker } from '../broker.js';
import { ensureInternalTopics } from '../internal-topics.js';
import { OffsetStore } from '../offset-store.js';
import { bytes, text } from '../testing/helpers.js';
import type { ProducerIdentity } from '../types.js';
import { TransactionCoordinator } from './coordinator.js';

const silent = pino({ level: 'silent' });

async function committedValues(log: Log, topic: string, partition: number): Promise<string[]> {
  const records = await log.read(topic, partition, 0, { isolation: 'committed', maxRecords: 10_000 });
  return records.map((r) => text(r.value)!);
}

async function uncommittedValues(log: Log, topic: string, partition: number): Promise<string[]> {
  const records = await log.read(topic, partition, 0, { maxRecords: 10_000 });
  return records.map((r) => text(r.value)!);
}

/** Appends `values` as one transactional batch of `producer`, as a Kafka producer's batch would be. */
async function appendTransactional(
  log: Log,
  producer: ProducerIdentity,
  topic: string,
  partition: number,
  baseSequence: number,
  values: readonly string[],
): Promise<void> {
  await log.append(
    topic,
    partition,
    values.map((v) => ({ key: null, value: bytes(v) })),
    { producer: { ...producer, baseSequence }, transactional: true },
  );
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTributaryError(error) ? error.code : error).toBe(code);
}

describe('transaction coordinator (broker, memory log)', () => {
  let log: Log;
  let broker: TributaryBroker;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = await createBroker(log);
    await broker.createTopic('in', { partitions: 2 });
    await broker.createTopic('out', { partitions: 2 });
  });
  afterEach(async () => {
    await broker.close();
    await log.close();
  });

  it('commits records on several partitions and the offsets together', async () => {
    const txn = broker.transactions;
    const producer = await txn.initProducer('job', 10_000);
    expect(producer.producerEpoch).toBe(0);
    await txn.addPartitions('job', producer, [
      { topic: 'out', partition: 0 },
      { topic: 'out', partition: 1 },
    ]);
    await appendTransactional(log, producer, 'out', 0, 0, ['a', 'b']);
    await appendTransactional(log, producer, 'out', 1, 0, ['c']);
    await txn.addOffsets('job', producer, 'readers');
    await txn.commitOffsets('job', producer, 'readers', [{ topic: 'in', partition: 0, offset: 5 }]);

    expect(await uncommittedValues(log, 'out', 0)).toEqual(['a', 'b']);
    expect(await committedValues(log, 'out', 0)).toEqual([]);
    expect(await broker.fetchOffsets('readers', [{ topic: 'in', partition: 0 }])).toEqual([]);

    await txn.endTransaction('job', producer, true);
    expect(await committedValues(log, 'out', 0)).toEqual(['a', 'b']);
    expect(await committedValues(log, 'out', 1)).toEqual(['c']);
    expect(await broker.fetchOffsets('readers', [{ topic: 'in', partition: 0 }])).toEqual([
      { topic: 'in', partition: 0, offset: 5 },
    ]);
    expect(txn.stateOf('job')?.state).toBe('CompleteCommit');
    // A retried commit is answered as the first; an abort now is refused.
    await txn.endTransaction('job', producer, true);
    await expectCode(txn.endTransaction('job', producer, false), 'INVALID_TXN_STATE');
  });

  it('aborts: committed readers never see the records, the offsets are not applied', async () => {
    const txn = broker.transactions;
    const producer = await txn.initProducer('job', 10_000);
    await txn.addPartitions('job', producer, [{ topic: 'out', partition: 0 }]);
    await appendTransactional(log, producer, 'out', 0, 0, ['x', 'y']);
    await txn.addOffsets('job', producer, 'readers');
    await txn.commitOffsets('job', producer, 'readers', [{ topic: 'in', partition: 0, offset: 9 }]);
    await txn.endTransaction('job', producer, false);

    // The next transaction of the same producer commits after the aborted one.
    await txn.addPartitions('job', producer, [{ topic: 'out', partition: 0 }]);
    await appendTransactional(log, producer, 'out', 0, 2, ['z']);
    await txn.endTransaction('job', producer, true);

    expect(await committedValues(log, 'out', 0)).toEqual(['z']);
    expect(await broker.fetchOffsets('readers', [{ topic: 'in', partition: 0 }])).toEqual([]);
    const aborted = await log.abortedTransactions('out', 0, 0, 100);
    expect(aborted).toEqual([{ producerId: producer.producerId, firstOffset: 0, lastOffset: 2 }]);
  });

  it('a second InitProducerId fences the first producer and aborts its open transaction', async () => {
    const txn = broker.transactions;
    const zombie = await txn.initProducer('job', 10_000);
    await txn.addPartitions('job', zombie, [{ topic: 'out', partition: 0 }]);
    await appendTransactional(log, zombie, 'out', 0, 0, ['zombie']);

    const fresh = await txn.initProducer('job', 10_000);
    expect(fresh.producerId).toBe(zombie.producerId);
    expect(fresh.producerEpoch).toBeGreaterThan(zombie.producerEpoch);

    await expectCode(txn.endTransaction('job', zombie, true), 'PRODUCER_FENCED');
    await expectCode(txn.addPartitions('job', zombie, [{ topic: 'out', partition: 1 }]), 'PRODUCER_FENCED');
    expect(() => txn.admitProduce('job', zombie, 'out', 0)).toThrow(/epoch/);
    // The log fences the zombie's epoch too.
    await expectCode(appendTransactional(log, zombie, 'out', 0, 1, ['late']), 'PRODUCER_FENCED');

    await txn.addPartitions('job', fresh, [{ topic: 'out', partition: 0 }]);
    await appendTransactional(log, fresh, 'out', 0, 0, ['fresh']);
    await txn.endTransaction('job', fresh, true);
    expect(await committedValues(log, 'out', 0)).toEqual(['fresh']);
  });

  it('admits a produce only to a partition added to the open transaction', async () => {
    const txn = broker.transactions;
    const producer = await txn.initProducer('job', 10_000);
    expect(() => txn.admitProduce('job', producer, 'out', 0)).toThrow(/not added/);
    await txn.addPartitions('job', producer, [{ topic: 'out', partition: 0 }]);
    txn.admitProduce('job', producer, 'out', 0).done();
    expect(() => txn.admitProduce('job', producer, 'out', 1)).toThrow(/not added/);
    expect(() => txn.admitProduce('job', { ...producer, producerId: 999 }, 'out', 0)).toThrow(
      /belongs to producer/,
    );
  });

  it('ends a transaction only after its admitted appends settle', async () => {
    const txn = broker.transactions;
    const producer = await txn.initProducer('job', 10_000);
    await txn.addPartitions('job', producer, [{ topic: 'out', partition: 0 }]);
    const admitted = txn.admitProduce('job', producer, 'out', 0);
    let ended = false;
    const end = txn.endTransaction('job', producer, true).then(() => {
      ended = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ended).toBe(false);
    await appendTransactional(log, producer, 'out', 0, 0, ['in flight']);
    admitted.done();
    await end;
    expect(await committedValues(log, 'out', 0)).toEqual(['in flight']);
  });

  it('refuses bad timeouts, offsets of a group not added, and the reserved ids', async () => {
    const txn = broker.transactions;
    await expectCode(txn.initProducer('job', 0), 'INVALID_TRANSACTION_TIMEOUT');
    await expectCode(txn.initProducer('job', 900_001), 'INVALID_TRANSACTION_TIMEOUT');
    await expectCode(txn.initProducer('__atomic.0', 1000), 'INVALID_ARGUMENT');
    const producer = await txn.initProducer('job', 1000);
    await txn.addPartitions('job', producer, [{ topic: 'out', partition: 0 }]);
    await expectCode(
      txn.commitOffsets('job', producer, 'readers', [{ topic: 'in', partition: 0, offset: 1 }]),
      'INVALID_TXN_STATE',
    );
    await expectCode(txn.endTransaction('other', producer, true), 'PRODUCER_ID_MISMATCH');
  });

  it('commitAtomically: appends to several topics and commits offsets, all visible together', async () => {
    await broker.commitOffsets('g', '', -1, [{ topic: 'in', partition: 1, offset: 1 }]);
    const result = await broker.commitAtomically({
      appends: [
        {
          topic: 'out',
          partition: 1,
          records: [
            { key: null, value: bytes('o1') },
            { key: null, value: bytes('o2') },
          ],
        },
        { topic: 'in', records: [{ key: bytes('k'), value: bytes('i1') }] },
      ],
      offsets: { groupId: 'g', offsets: [{ topic: 'in', partition: 1, offset: 4 }] },
    });
    expect(result.appends[0]).toEqual({
      topic: 'out',
      offsets: [
        { partition: 1, offset: 0 },
        { partition: 1, offset: 1 },
      ],
    });
    const inPartition = result.appends[1]!.offsets[0]!.partition;
    expect(await committedValues(log, 'out', 1)).toEqual(['o1', 'o2']);
    expect(await committedValues(log, 'in', inPartition)).toEqual(['i1']);
    expect(await broker.fetchOffsets('g', [{ topic: 'in', partition: 1 }])).toEqual([
      { topic: 'in', partition: 1, offset: 4 },
    ]);
    // Calls in parallel each get their own internal id and all commit.
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        broker.commitAtomically({
          appends: [{ topic: 'out', partition: 0, records: [{ key: null, value: bytes(`p${i}`) }] }],
        }),
      ),
    );
    expect((await committedValues(log, 'out', 0)).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('commitAtomically: one failing append aborts all of it', async () => {
    await broker.createTopic('compacted', { partitions: 1, compact: true });
    await expectCode(
      broker.commitAtomically({
        appends: [
          { topic: 'out', partition: 0, records: [{ key: null, value: bytes('kept?') }] },
          // A compacted topic refuses records without a key.
          { topic: 'compacted', partition: 0, records: [{ key: null, value: bytes('bad') }] },
        ],
        offsets: { groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: 3 }] },
      }),
      'INVALID_RECORD',
    );
    expect(await committedValues(log, 'out', 0)).toEqual([]);
    expect((await log.offsets('out', 0)).lastStable).toBe((await log.offsets('out', 0)).next);
    expect(await broker.fetchOffsets('g', [{ topic: 'in', partition: 0 }])).toEqual([]);
  });
});

describe('transaction timeouts (injected clock)', () => {
  it('aborts an open transaction past its timeout and fences its producer', async () => {
    const log = createMemoryLog();
    await ensureInternalTopics(log);
    await log.createTopic('out', { partitions: 1 });
    const offsets = await OffsetStore.load(log, silent);
    let now = 1_000_000;
    let nextId = 100;
    const txn = await TransactionCoordinator.load({
      log,
      offsets,
      allocateProducerId: async () => nextId++,
      logger: silent,
      now: () => now,
      timeoutCheckMs: 0,
    });
    const producer = await txn.initProducer('slow', 5_000);
    await txn.addPartitions('slow', producer, [{ topic: 'out', partition: 0 }]);
    await appendTransactional(log, producer, 'out', 0, 0, ['late']);
    now += 5_000;
    await txn.expireTimedOut();
    expect(txn.stateOf('slow')?.state).toBe('Ongoing');
    expect((await log.offsets('out', 0)).lastStable).toBe(0);
    now += 1;
    await txn.expireTimedOut();
    expect(txn.stateOf('slow')?.state).toBe('CompleteAbort');
    expect((await log.offsets('out', 0)).lastStable).toBe((await log.offsets('out', 0)).next);
    await expectCode(txn.endTransaction('slow', producer, true), 'PRODUCER_FENCED');
    expect(await committedValues(log, 'out', 0)).toEqual([]);
    await txn.close();
    await log.close();
  });
});

describe('InitProducerId naming the producer (KIP-360)', () => {
  it('answers a retry of a bump whose answer was lost with the same epoch, and fences once the id moved on', async () => {
    const log = createMemoryLog();
    await ensureInternalTopics(log);
    await log.createTopic('out', { partitions: 1 });
    const offsets = await OffsetStore.load(log, silent);
    let nextId = 900;
    const load = () =>
      TransactionCoordinator.load({
        log,
        offsets,
        allocateProducerId: async () => nextId++,
        logger: silent,
        timeoutCheckMs: 0,
        idExpiryCheckMs: 0,
      });
    const txn = await load();
    const first = await txn.initProducer('kip360', 60_000);
    const bumped = await txn.initProducer('kip360', 60_000, first);
    expect(bumped).toEqual({ producerId: first.producerId, producerEpoch: first.producerEpoch + 1 });
    // The answer was lost; the producer asks again with what it had, here and after a restart.
    expect(await txn.initProducer('kip360', 60_000, first)).toEqual(bumped);
    await txn.close();
    const restarted = await load();
    expect(await restarted.initProducer('kip360', 60_000, first)).toEqual(bumped);
    // Once the bumped producer has acted, the old epoch is fenced for good.
    await restarted.addPartitions('kip360', bumped, [{ topic: 'out', partition: 0 }]);
    await expectCode(restarted.initProducer('kip360', 60_000, first), 'PRODUCER_FENCED');
    // Its own open transaction is aborted by its next bump; a retry of that gets the same answer.
    const again = await restarted.initProducer('kip360', 60_000, bumped);
    expect(again.producerEpoch).toBeGreaterThan(bumped.producerEpoch);
    expect(await restarted.initProducer('kip360', 60_000, bumped)).toEqual(again);
    // A producer that never was current is fenced.
    await expectCode(
      restarted.initProducer('kip360', 60_000, { producerId: first.producerId, producerEpoch: 77 }),
      'PRODUCER_FENCED',
    );
    await restarted.close();
    await log.close();
  });
});

describe('transactional id expiry (injected clock)', () => {
  async function coordinatorOn(log: Log, clock: () => number, idExpirationMs: number) {
    const offsets = await OffsetStore.load(log, silent);
    let nextId = 500 + Math.floor(clock() % 100) * 10;
    return TransactionCoordinator.load({
      log,
      offsets,
      allocateProducerId: async () => nextId++,
      logger: silent,
      now: clock,
      timeoutCheckMs: 0,
      idExpiryCheckMs: 0,
      idExpirationMs,
    });
  }

  it('forgets an idle id after the expiration, durably; never one with a transaction in progress', async () => {
    const log = createMemoryLog();
    await ensureInternalTopics(log);
    await log.createTopic('out', { partitions: 1 });
    let now = 10_000_000;
    const txn = await coordinatorOn(log, () => now, 60_000);
    const idle = await txn.initProducer('idle', 120_000);
    await txn.addPartitions('idle', idle, [{ topic: 'out', partition: 0 }]);
    await appendTransactional(log, idle, 'out', 0, 0, ['kept']);
    await txn.endTransaction('idle', idle, true);
    const busy = await txn.initProducer('busy', 120_000);
    now += 30_000;
    // `busy` opens a transaction long after its InitProducerId; the transaction keeps it.
    await txn.addPartitions('busy', busy, [{ topic: 'out', partition: 0 }]);
    now += 30_000;
    expect(await txn.expireIdle()).toBe(0); // exactly the expiration: not past it
    now += 1;
    expect(await txn.expireIdle()).toBe(1);
    expect(txn.stateOf('idle')).toBeUndefined();
    expect(txn.stateOf('busy')?.state).toBe('Ongoing');
    // The forgotten producer can no longer act; a new InitProducerId starts over.
    await expectCode(
      txn.addPartitions('idle', idle, [{ topic: 'out', partition: 0 }]),
      'PRODUCER_ID_MISMATCH',
    );
    now += 200_000;
    // `busy` is past its own timeout too, but an Ongoing transaction is never expired away.
    expect(await txn.expireIdle()).toBe(0);
    await txn.close();

    // What a restart finds: `idle` stays forgotten; `busy` keeps its producer.
    const later = await coordinatorOn(log, () => now, 60_000);
    expect(later.stateOf('idle')).toBeUndefined();
    expect(later.stateOf('busy')).toMatchObject({ producerId: busy.producerId, state: 'Ongoing' });
    const fresh = await later.initProducer('idle', 120_000);
    expect(fresh.producerEpoch).toBe(0);
    expect(fresh.producerId).not.toBe(idle.producerId);
    expect(await committedValues(log, 'out', 0)).toEqual(['kept']);
    await later.close();
    await log.close();
  });

  it('counts from the last state change across restarts, not from the restart', async () => {
    const log = createMemoryLog();
    await ensureInternalTopics(log);
    let now = 50_000_000;
    const first = await coordinatorOn(log, () => now, 60_000);
    const producer = await first.initProducer('job', 10_000);
    await first.close();
    now += 40_000;
    const second = await coordinatorOn(log, () => now, 60_000);
    expect(second.stateOf('job')?.updatedAtMs).toBe(now - 40_000);
    now += 20_001;
    expect(await second.expireIdle()).toBe(1);
    await expectCode(second.endTransaction('job', producer, true), 'PRODUCER_ID_MISMATCH');
    await second.close();
    await log.close();
  });

  it('a state stored without updatedAtMs counts from the start of the coordinator', async () => {
    const log = createMemoryLog();
    await ensureInternalTopics(log);
    const stored = { v: 1, producerId: 7, producerEpoch: 3, timeoutMs: 10_000, state: 'CompleteCommit' };
    await log.append('__transactions', 0, [
      {
        key: bytes('old'),
        value: bytes(JSON.stringify({ ...stored, partitions: [], groups: [], offsets: [], startedAtMs: 0 })),
      },
    ]);
    let now = 90_000_000;
    const txn = await coordinatorOn(log, () => now, 60_000);
    expect(txn.stateOf('old')?.producerEpoch).toBe(3);
    now += 60_000;
    expect(await txn.expireIdle()).toBe(0);
    now += 1;
    expect(await txn.expireIdle()).toBe(1);
    await txn.close();
    await log.close();
  });
});

describe('recovery', () => {
  it('rolls a decided commit forward at the next start when its markers were never written', async () => {
    const log = createMemoryLog();
    await ensureInternalTopics(log);
    await log.createTopic('out', { partitions: 2 });
    const offsets = await OffsetStore.load(log, silent);
    // The process "dies" after the decision: no marker ever reaches the partitions.
    const noMarkers = new Proxy(log, {
      get(target, property, receiver) {
        if (property === 'writeMarker') return () => Promise.reject(new Error('crashed before the markers'));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    let nextId = 1;
    const txn = await TransactionCoordinator.load({
      log: noMarkers,
      offsets,
      allocateProducerId: async () => nextId++,
      logger: silent,
      timeoutCheckMs: 0,
    });
    const producer = await txn.initProducer('job', 60_000);
    await txn.addPartitions('job', producer, [
      { topic: 'out', partition: 0 },
      { topic: 'out', partition: 1 },
    ]);
    await appendTransactional(log, producer, 'out', 0, 0, ['a']);
    await appendTransactional(log, producer, 'out', 1, 0, ['b']);
    await txn.addOffsets('job', producer, 'g');
    await txn.commitOffsets('job', producer, 'g', [{ topic: 'out', partition: 0, offset: 1 }]);
    await txn.endTransaction('job', producer, true);
    expect(txn.stateOf('job')?.state).toBe('PrepareCommit');
    expect(await committedValues(log, 'out', 0)).toEqual([]);
    await txn.close();

    // A new broker on the same log, as after a restart.
    const broker = await createBroker(log);
    expect(broker.transactions.stateOf('job')?.state).toBe('CompleteCommit');
    expect(await committedValues(log, 'out', 0)).toEqual(['a']);
    expect(await committedValues(log, 'out', 1)).toEqual(['b']);
    expect(await broker.fetchOffsets('g', [{ topic: 'out', partition: 0 }])).toEqual([
      { topic: 'out', partition: 0, offset: 1 },
    ]);
    // The same producer can go on after the restart: the next epoch, a new transaction.
    const again = await broker.transactions.initProducer('job', 60_000);
    expect(again).toEqual({ producerId: producer.producerId, producerEpoch: producer.producerEpoch + 1 });
    await broker.close();
    await log.close();
  });
});
