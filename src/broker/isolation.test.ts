import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileLog } from '../log/file/file-log.js';
import { createMemoryLog } from '../log/memory/memory-log.js';
import type { Log } from '../log/types.js';
import { createBroker, type TributaryBroker } from './broker.js';
import { eventually, expectCode, Recorder, settle, text, values } from './testing/helpers.js';
import type { Subscription } from './types.js';

const PRODUCER = 77;
const tx = (baseSequence: number) => ({
  producer: { producerId: PRODUCER, producerEpoch: 0, baseSequence },
  transactional: true,
});
const marker = (commit: boolean) => ({ producerId: PRODUCER, producerEpoch: 0, commit });

const engines: Array<[string, () => Promise<{ log: Log; cleanup: () => Promise<void> }>]> = [
  ['memory', async () => ({ log: createMemoryLog(), cleanup: async () => {} })],
  [
    'file',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tributary-isolation-'));
      const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
      return { log, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(engines)('broker: isolation levels (%s log)', (_name, open) => {
  let log: Log;
  let cleanup: () => Promise<void>;
  let broker: TributaryBroker;
  const subscriptions: Subscription[] = [];

  beforeEach(async () => {
    ({ log, cleanup } = await open());
    broker = await createBroker(log);
    await broker.createTopic('t');
  });
  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.close();
    await broker.close();
    await log.close();
    await cleanup();
  });

  async function subscribe(recorder: Recorder, isolation?: 'committed' | 'uncommitted', from = 'earliest') {
    const subscription = await broker.subscribe({
      topic: 't',
      partition: 0,
      from: from as 'earliest',
      ...(isolation === undefined ? {} : { isolation }),
      onRecords: recorder.onRecords,
      onError: recorder.onError,
    });
    subscriptions.push(subscription);
    return subscription;
  }

  it('reports lastStable and fetches by isolation level', async () => {
    await broker.appendBatch('t', 0, values(1, 'plain'));
    await broker.appendBatch('t', 0, values(2, 'tx'), tx(0));
    expect(await broker.offsets('t', 0)).toEqual({ earliest: 0, next: 3, lastStable: 1 });
    expect((await broker.fetch('t', 0, 0)).map((r) => text(r.value))).toEqual(['plain0', 'tx0', 'tx1']);
    const committed = await broker.fetch('t', 0, 0, { isolation: 'committed' });
    expect(committed.map((r) => text(r.value))).toEqual(['plain0']);
    await expectCode(broker.fetch('t', 0, 0, { isolation: 'dirty' as never }), 'INVALID_ARGUMENT');
  });

  it('delivers committed records to committed subscribers once the marker is written, skipping aborted ones', async () => {
    const committed = new Recorder();
    const everything = new Recorder();
    await subscribe(committed, 'committed');
    await subscribe(everything);
    await broker.appendBatch('t', 0, values(2, 'aborted'), tx(0));
    await broker.appendBatch('t', 0, values(1, 'plain'));
    await eventually(() => expect(everything.values).toEqual(['aborted0', 'aborted1', 'plain0']));
    await settle();
    expect(committed.records).toEqual([]);
    await log.writeMarker('t', 0, marker(false));
    await eventually(() => expect(committed.values).toEqual(['plain0']));
    await broker.appendBatch('t', 0, values(1, 'kept'), tx(2));
    await log.writeMarker('t', 0, marker(true));
    await broker.appendBatch('t', 0, values(1, 'after'));
    await eventually(() => expect(committed.values).toEqual(['plain0', 'kept0', 'after0']));
    await eventually(() =>
      expect(everything.values).toEqual(['aborted0', 'aborted1', 'plain0', 'kept0', 'after0']),
    );
    // Control records never reach subscribers: offsets 3 and 5 are the markers.
    expect(committed.offsets).toEqual([2, 4, 6]);
    expect(committed.deliveries.at(-1)?.highWatermark).toBe(7);
    expect(committed.errors).toEqual([]);
  });

  it("starts a committed subscription from 'latest' at the last stable offset", async () => {
    await broker.appendBatch('t', 0, values(1, 'open'), tx(0));
    await broker.appendBatch('t', 0, values(1, 'plain'));
    const committed = new Recorder();
    await subscribe(committed, 'committed', 'latest');
    await log.writeMarker('t', 0, marker(true));
    await eventually(() => expect(committed.values).toEqual(['open0', 'plain0']));
    await expectCode(
      broker.subscribe({
        topic: 't',
        partition: 0,
        from: 'earliest',
        isolation: 'x' as never,
        onRecords: () => {},
      }),
      'INVALID_ARGUMENT',
    );
  });
});
