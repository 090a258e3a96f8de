/**
 * The stream index's memory bound (stream-index.ts, `indexEventsMax`): with 200,000 streams and
 * room for 5,000 events, the index keeps at most its bound in memory, and every answer that
 * rests on it stays exact for evicted streams: revisions and expected-revision checks, event-id
 * idempotence, reads, metadata, also after a restart that rebuilds the index from the log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../broker/broker.js';
import { isTributaryError } from '../../errors.js';
import { openFileLog } from '../../log/file/file-log.js';
import { type ClosableEventStore, createEventStore } from './store.js';

const STREAMS = 200_000;
const BOUND = 5_000;
/** Streams with several events, appended at the start and again at the end of the workload. */
const LONG = Array.from({ length: 20 }, (_, i) => `long-${i}`);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(dir: string): Promise<{ store: ClosableEventStore; close(): Promise<void> }> {
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  const broker = await createBroker(log);
  const store = await createEventStore({ broker: broker.forSystem(), indexEventsMax: BOUND });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await store.close();
    await broker.close();
    await log.close();
  };
  cleanups.push(close);
  return { store, close };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; actual: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (isTributaryError(error))
      return { code: error.code, actual: (error.details as { actual?: unknown }).actual };
    throw error;
  }
  throw new Error('expected a refusal');
}

function expectBounded(store: ClosableEventStore): void {
  const stats = store.indexStats;
  expect(stats.eventsMax).toBe(BOUND);
  // Each resident stream weighs one plus its events; the store's own streams with metadata stay.
  expect(stats.residentEvents + stats.residentStreams).toBeLessThanOrEqual(BOUND);
}

/** A stream's revision, the expected-revision checks against it and its events, all exact. */
async function expectExact(store: ClosableEventStore, stream: string, revision: number): Promise<void> {
  expect(await store.streamRevision(stream)).toBe(revision);
  expect(await refusal(store.append(stream, [{ type: 'X', data: {} }], 'no_stream'))).toEqual({
    code: 'WRONG_EXPECTED_REVISION',
    actual: revision,
  });
  expect(await refusal(store.append(stream, [{ type: 'X', data: {} }], revision - 1))).toEqual({
    code: 'WRONG_EXPECTED_REVISION',
    actual: revision,
  });
  const events = await store.readStream(stream);
  expect(events.map((e) => e.revision)).toEqual(Array.from({ length: revision + 1 }, (_, i) => i));
  expect(events.every((e) => e.stream === stream)).toBe(true);
}

describe('the stream index under its memory bound', () => {
  it(`keeps ${BOUND.toLocaleString('en')} events in memory for ${STREAMS.toLocaleString('en')} streams and stays exact, also after a restart`, {
    timeout: 480_000, // a quiet machine: ~20 s; one at load 20: ~90 s
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-es-index-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    let { store, close } = await openStore(dir);

    for (const stream of LONG) {
      await store.append(
        stream,
        [0, 1, 2].map((i) => ({ type: 'Early', data: { i }, id: `${stream}-e${i}` })),
        'no_stream',
      );
    }
    // One event in each of 200,000 streams, 1,000 streams per atomic append, 4 appends in flight.
    const chunks = Array.from({ length: STREAMS / 1000 }, (_, c) => c);
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let c = w; c < chunks.length; c += 4) {
          await store.appendMany(
            Array.from({ length: 1000 }, (_, i) => ({
              stream: `s-${c * 1000 + i}`,
              events: [{ type: 'Made', data: {}, id: `s-${c * 1000 + i}-0` }],
              expectedRevision: 'no_stream' as const,
            })),
          );
        }
      }),
    );
    expect(store.streamCount).toBe(STREAMS + LONG.length);
    expect(store.indexStats.evictions).toBeGreaterThan(STREAMS - BOUND);
    expectBounded(store);

    // Evicted streams: exact revisions, checks, reads; an append with the right revision lands.
    for (const stream of ['s-0', 's-1', 's-99999', 'long-0']) {
      await expectExact(store, stream, stream.startsWith('long') ? 2 : 0);
    }
    expect((await store.append('s-5', [{ type: 'More', data: {}, id: 's-5-1' }], 0)).revision).toBe(1);
    // A retried append (same event id) of an evicted stream is answered with the original result.
    const first = await store.append('s-7', [{ type: 'Made', data: {}, id: 's-7-0' }], 'no_stream');
    expect(first.revision).toBe(0);
    expect(await store.streamRevision('s-7')).toBe(0);
    // A stream never written is still empty (the filter of evicted streams never says "no" wrongly).
    expect((await store.append('fresh-1', [{ type: 'Made', data: {} }], 'no_stream')).revision).toBe(0);
    // The long streams get events after having been evicted; one gets metadata while evicted.
    for (const stream of LONG) {
      await store.append(stream, [{ type: 'Late', data: {}, id: `${stream}-late` }], 2);
    }
    await store.setStreamMetadata('s-11', { maxCount: 1 });
    expectBounded(store);

    await close();
    ({ store, close } = await openStore(dir));
    // The rebuild read 200,000 streams through the same bound.
    expectBounded(store);
    // `fresh-1` and the metadata stream of `s-11` (the store's own streams count too).
    expect(store.streamCount).toBe(STREAMS + LONG.length + 2);
    await expectExact(store, 's-5', 1);
    await expectExact(store, 's-150000', 0);
    for (const stream of ['long-0', 'long-13', 'long-19']) {
      await expectExact(store, stream, 3);
      const events = await store.readStream(stream);
      expect(events.map((e) => e.id)).toEqual([
        `${stream}-e0`,
        `${stream}-e1`,
        `${stream}-e2`,
        `${stream}-late`,
      ]);
    }
    expect(
      await refusal(
        store.append(
          'long-4',
          [
            { type: 'Late', data: {}, id: 'long-4-late' },
            { type: 'New', data: {} },
          ],
          3,
        ),
      ),
    ).toEqual({
      code: 'EVENT_ID_CONFLICT',
      actual: undefined,
    });
    expect((await store.append('long-4', [{ type: 'Late', data: {}, id: 'long-4-late' }], 2)).revision).toBe(
      3,
    );
    expect((await store.append('s-199999', [{ type: 'More', data: {} }], 0)).revision).toBe(1);
    expect((await store.getStreamMetadata('s-11')).metadata).toEqual({ maxCount: 1 });
    expect(await store.streamRevision('s-11')).toBe(0);
    expect((await store.append('s-11', [{ type: 'More', data: {} }], 0)).revision).toBe(1);
    expect((await store.readStream('s-11')).map((e) => e.revision)).toEqual([1]);
    expect((await store.readAll({ category: 'long', limit: 1000 })).length).toBe(LONG.length * 4);
    expectBounded(store);
  });
});
