/**
 * Event streams in a real server: the store the server opens (`RunningServer.eventStore`) on
 * its file log, its durability across a restart, and optimistic concurrency under contention
 * (thousands of trials where every writer expects the same revision: exactly one wins each).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../src/errors.js';
import { start, type TestServer, tempDir } from './http-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(dataDir?: string): Promise<TestServer> {
  let dir = dataDir;
  if (dir === undefined) {
    const temp = await tempDir('tributary-es-streams-');
    cleanups.push(temp.remove);
    dir = temp.path;
  }
  const running = await start(dir);
  cleanups.push(() => running.close());
  return running;
}

describe('event streams in the server', () => {
  it('keeps streams, revisions and positions across a restart', async () => {
    const first = await server();
    const store = first.eventStore;
    await store.append('order-1', [{ type: 'Placed', data: { total: 30 }, id: 'p1' }], 'no_stream');
    await store.appendMany([
      { stream: 'order-1', events: [{ type: 'Paid', data: { amount: 30 } }], expectedRevision: 0 },
      {
        stream: 'payment-7',
        events: [{ type: 'Received', data: { order: 1 } }],
        expectedRevision: 'no_stream',
      },
    ]);
    await first.close();

    const second = await server(first.dataDir);
    const again = second.eventStore;
    expect(await again.headPosition()).toBe(2);
    expect(await again.streamRevision('order-1')).toBe(1);
    // The id survived the restart: a retry is still a no-op.
    expect(
      await again.append('order-1', [{ type: 'Placed', data: { total: 30 }, id: 'p1' }], 'no_stream'),
    ).toEqual({
      revision: 0,
      position: 0,
    });
    expect((await again.readAll()).map((e) => `${e.stream}@${e.revision}`)).toEqual([
      'order-1@0',
      'order-1@1',
      'payment-7@0',
    ]);
  });

  it('lets exactly one of the writers expecting the same revision win, in every one of 2,000 trials', async () => {
    const { eventStore: store } = await server();
    const streams = 50;
    const rounds = 40;
    const writers = 6;
    let trials = 0;
    await Promise.all(
      Array.from({ length: streams }, async (_, s) => {
        const stream = `race-${s}`;
        for (let round = 0; round < rounds; round++) {
          const expected = round === 0 ? 'no_stream' : round - 1;
          const outcomes = await Promise.allSettled(
            Array.from({ length: writers }, (_, w) =>
              store.append(stream, [{ type: 'Tried', data: { round, w } }], expected),
            ),
          );
          const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
          expect(winners).toHaveLength(1);
          expect((winners[0] as PromiseFulfilledResult<{ revision: number }>).value.revision).toBe(round);
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected') {
              expect(isTributaryError(outcome.reason, 'WRONG_EXPECTED_REVISION')).toBe(true);
              expect(outcome.reason.details.actual).toBe(round);
            }
          }
          trials++;
        }
      }),
    );
    expect(trials).toBe(streams * rounds);
    for (let s = 0; s < streams; s++) {
      const events = await store.readStream(`race-${s}`);
      expect(events.map((e) => (e.data as { round: number }).round)).toEqual(
        Array.from({ length: rounds }, (_, i) => i),
      );
    }
    expect(await store.headPosition()).toBe(streams * rounds - 1);
  });
});
