/**
 * What a partition does when the disk fails under it (docs/FORMAT.md, "Full disk and I/O
 * errors"): appends not yet acknowledged are rejected, nothing half-written is ever readable,
 * and once the disk works again the next append succeeds without a restart; what was
 * acknowledged survives a crash, also after a failed fdatasync. Runs over the simulated file
 * system, which can fail exactly the call a test names.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.js';
import type { TopicConfig } from '../types.js';
import { type FileLog, openFileLog } from './file-log.js';
import { PREALLOCATE_BYTES_MAX, walkBatches } from './segment.js';
import { Prng } from './testing/prng.js';
import { SimFileSystem } from './testing/sim-fs.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const DIR = '/data';
const SEGMENT = '/data/topics/t/0/00000000000000000000.log';

async function setup(config: Partial<TopicConfig> = {}): Promise<{ sim: SimFileSystem; log: FileLog }> {
  const sim = new SimFileSystem(new Prng(7));
  const log = await open(sim);
  await log.createTopic('t', { fsync: 'always', ...config });
  return { sim, log };
}

function open(sim: SimFileSystem): Promise<FileLog> {
  return openFileLog({
    dir: DIR,
    fs: sim.mount(),
    maintenanceIntervalMs: 0,
    logger: pino({ level: 'silent' }),
  });
}

const append = (log: FileLog, value: string) => log.append('t', 0, [{ key: null, value: enc.encode(value) }]);

async function values(log: FileLog): Promise<string[]> {
  const records = await log.read('t', 0, 0, { maxRecords: 10_000 });
  expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
  return records.map((r) => dec.decode(r.value!));
}

/** Waits until `condition` holds; fails after 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) expect.fail('timed out waiting for the simulated disk');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the append to be rejected'),
    (error: unknown) => error,
  );
}

describe('file partition after a storage failure', () => {
  it('accepts appends again once a full disk has space, with no torn batch left behind', async () => {
    const { sim, log } = await setup();
    await append(log, 'a');
    await append(log, 'b');
    // The file holds the batches, then the zeros preallocated for the next ones.
    const acknowledgedBytes = walkBatches(sim.contents(SEGMENT), 0).end;
    expect(sim.size(SEGMENT)).toBeGreaterThan(acknowledgedBytes + PREALLOCATE_BYTES_MAX / 2);
    expect(
      sim
        .contents(SEGMENT)
        .subarray(acknowledgedBytes)
        .every((byte) => byte === 0),
    ).toBe(true);
    // Room for part of a batch larger than the preallocated zeros: a short write, then ENOSPC.
    sim.capacityBytes = sim.usedBytes() + 10;
    const error = await rejection(append(log, 'c'.repeat(PREALLOCATE_BYTES_MAX)));
    expect(isTributaryError(error) && error.code).toBe('STORAGE_ERROR');
    expect(String((error as Error).message)).toContain('no space left on device');
    // Still full (cutting the torn batch off freed the preallocated zeros, no more): every append
    // fails, none is readable, offsets do not move.
    await rejection(append(log, 'd'.repeat(2 * PREALLOCATE_BYTES_MAX)));
    expect(await values(log)).toEqual(['a', 'b']);
    expect((await log.offsets('t', 0)).next).toBe(2);

    sim.capacityBytes = Number.POSITIVE_INFINITY; // space freed
    expect((await append(log, 'e')).baseOffset).toBe(2);
    expect(await values(log)).toEqual(['a', 'b', 'e']);
    // The torn bytes were cut off before 'e' was written right after 'b'.
    expect(sim.size(SEGMENT)).toBeGreaterThan(acknowledgedBytes);
    const bytes = sim.contents(SEGMENT);
    expect(dec.decode(bytes.subarray(acknowledgedBytes))).toContain('e');
    expect(dec.decode(bytes)).not.toContain('ccc');
    expect(dec.decode(bytes)).not.toContain('ddd');

    sim.crash('machine');
    const reopened = await open(sim);
    expect(await values(reopened)).toEqual(['a', 'b', 'e']);
    await reopened.close();
  });

  it('rejects the appends of a failed fdatasync and appends the next at their offsets', async () => {
    const { sim, log } = await setup();
    await append(log, 'a');
    sim.failNext = { fsync: 'EIO', pathSuffix: '.log' };
    const [failed, alsoFailed] = await Promise.allSettled([append(log, 'lost-1'), append(log, 'lost-2')]);
    expect(failed.status).toBe('rejected');
    expect(alsoFailed.status).toBe('rejected');
    expect(await values(log)).toEqual(['a']);
    expect((await append(log, 'b')).baseOffset).toBe(1);
    expect(await values(log)).toEqual(['a', 'b']);
    sim.crash('machine');
    const reopened = await open(sim);
    expect(await values(reopened)).toEqual(['a', 'b']);
    await reopened.close();
  });

  it("writes acknowledged bytes again after a failed background fdatasync (fsync: 'interval')", async () => {
    const { sim, log } = await setup({ fsync: 'interval', fsyncIntervalMs: 5 });
    await append(log, 'a');
    await until(() => dec.decode(sim.durableContents(SEGMENT)).includes('a')); // synced
    // 'b' is acknowledged (in the page cache); its background fdatasync fails, and the kernel
    // marks the pages clean: a later fdatasync alone would never write 'b'.
    sim.failNext = { fsync: 'EIO', pathSuffix: '.log' };
    await append(log, 'b');
    await until(() => sim.failNext.fsync === undefined);
    // Then the partition writes the bytes again and syncs them: the disk holds what readers see.
    await until(() => Buffer.from(sim.durableContents(SEGMENT)).equals(sim.contents(SEGMENT)));
    sim.crash('machine');
    const reopened = await open(sim);
    expect(await values(reopened)).toEqual(['a', 'b']);
    expect((await append(reopened, 'c')).baseOffset).toBe(2);
    await reopened.close();
  });

  it('appends a retried idempotent batch whose first attempt failed, instead of calling it a duplicate', async () => {
    const { sim, log } = await setup();
    const producer = { producerId: 1, producerEpoch: 0, baseSequence: 0 };
    const record = [{ key: null, value: enc.encode('p0') }];
    sim.failNext = { write: 'ENOSPC', pathSuffix: '.log' };
    await rejection(log.append('t', 0, record, { producer }));
    const retry = await log.append('t', 0, record, { producer });
    expect(retry).toMatchObject({ baseOffset: 0, duplicate: false });
    const again = await log.append('t', 0, record, { producer });
    expect(again).toMatchObject({ baseOffset: 0, duplicate: true });
    expect(await values(log)).toEqual(['p0']);
    await log.close();
  });

  it('keeps a transaction open when the disk rejects its marker; the retried marker closes it', async () => {
    const { sim, log } = await setup();
    const producer = { producerId: 3, producerEpoch: 0, baseSequence: 0 };
    await log.append('t', 0, [{ key: null, value: enc.encode('t0') }], { producer, transactional: true });
    const marker = { producerId: 3, producerEpoch: 0, commit: false };
    sim.failNext = { fsync: 'EIO', pathSuffix: '.log' };
    const error = await rejection(log.writeMarker('t', 0, marker));
    expect(isTributaryError(error) && error.code).toBe('STORAGE_ERROR');
    // The marker was never acknowledged: the transaction is still open, nothing was aborted.
    expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 1, lastStable: 0 });
    expect(await log.abortedTransactions('t', 0, 0, 1)).toEqual([]);
    expect(await log.writeMarker('t', 0, marker)).toEqual({ offset: 1 });
    expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 2, lastStable: 2 });
    sim.crash('machine');
    const reopened = await open(sim);
    expect(await reopened.offsets('t', 0)).toEqual({ earliest: 0, next: 2, lastStable: 2 });
    expect(await reopened.abortedTransactions('t', 0, 0, 2)).toEqual([
      { producerId: 3, firstOffset: 0, lastOffset: 1 },
    ]);
    expect(await reopened.read('t', 0, 0, { isolation: 'committed' })).toEqual([]);
    await reopened.close();
  });

  it('answers a repeated marker once the first is durable, or writes it if the first failed', async () => {
    const { sim, log } = await setup();
    const producer = { producerId: 4, producerEpoch: 0, baseSequence: 0 };
    const marker = { producerId: 4, producerEpoch: 0, commit: true };
    await log.append('t', 0, [{ key: null, value: enc.encode('t0') }], { producer, transactional: true });
    sim.failNext = { fsync: 'EIO', pathSuffix: '.log' };
    const [first, repeated] = await Promise.allSettled([
      log.writeMarker('t', 0, marker),
      log.writeMarker('t', 0, marker),
    ]);
    expect(first.status).toBe('rejected');
    expect(repeated).toEqual({ status: 'fulfilled', value: { offset: 1 } });
    expect(await log.offsets('t', 0)).toEqual({ earliest: 0, next: 2, lastStable: 2 });

    await log.append('t', 0, [{ key: null, value: enc.encode('t1') }], {
      producer: { ...producer, baseSequence: 1 },
      transactional: true,
    });
    const order: string[] = [];
    const again = await Promise.all([
      log.writeMarker('t', 0, marker).then((r) => {
        order.push('first');
        return r;
      }),
      log.writeMarker('t', 0, marker).then((r) => {
        order.push('repeated');
        return r;
      }),
    ]);
    expect(again).toEqual([{ offset: 3 }, { offset: null }]);
    expect(order).toEqual(['first', 'repeated']);
    await log.close();
  });

  it('answers a retry sent while its first attempt is in flight with that attempt’s outcome', async () => {
    const { sim, log } = await setup();
    await append(log, 'a');
    const producer = { producerId: 2, producerEpoch: 0, baseSequence: 0 };
    const record = [{ key: null, value: enc.encode('p0') }];
    sim.failNext = { fsync: 'EIO', pathSuffix: '.log' };
    const first = log.append('t', 0, record, { producer });
    const retry = log.append('t', 0, record, { producer });
    const [firstOutcome, retryOutcome] = await Promise.allSettled([first, retry]);
    expect(firstOutcome.status).toBe('rejected');
    expect(retryOutcome.status).toBe('rejected');
    // Offset 1 goes to the next append; the producer's batch was never stored.
    expect((await append(log, 'b')).baseOffset).toBe(1);
    expect(await log.append('t', 0, record, { producer })).toMatchObject({ baseOffset: 2, duplicate: false });
    expect(await values(log)).toEqual(['a', 'b', 'p0']);
    await log.close();
  });
});
