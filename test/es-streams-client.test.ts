/**
 * Event streams in the SDK (`client.streams`) over the native protocol against a real server:
 * appends with expected revisions (typed refusals), retried appends, multi-stream appends, reads,
 * and catch-up subscriptions that go from history to live under concurrent writers, and across a
 * server restart, with no gap and no duplicate.
 */
import { describe, expect, it } from 'vitest';
import { isTributaryError, type RecordedEvent } from '../src/client/node/index.js';
import { serverFixture } from './server-fixture.js';

const fixture = serverFixture('tributary-es-client-', { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 });
const server = fixture.server;
const client = fixture.client;

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('client.streams', () => {
  it('changes metadata, soft-deletes and keeps snapshots over the native protocol', async () => {
    const c = await client(await server());
    const streams = c.streams;
    for (let i = 0; i < 3; i++) await streams.append('cart-2', [{ type: 'E', data: i }]);
    expect(await streams.setStreamMetadata('cart-2', { truncateBefore: 1 }, 'no_stream')).toMatchObject({
      revision: 0,
    });
    expect((await streams.readStream('cart-2')).map((e) => e.revision)).toEqual([1, 2]);
    expect(await streams.getStreamMetadata('cart-2')).toEqual({
      metadata: { truncateBefore: 1 },
      deleted: false,
      revision: 0,
    });
    await streams.saveSnapshot('cart-2', 2, { items: [1, 2] });
    expect(await streams.loadSnapshot('cart-2')).toMatchObject({ revision: 2, state: { items: [1, 2] } });
    let refusal: unknown;
    try {
      await streams.deleteStream('cart-2', 1);
    } catch (error) {
      refusal = error;
    }
    expect(isTributaryError(refusal, 'WRONG_EXPECTED_REVISION')).toBe(true);
    expect((await streams.deleteStream('cart-2', 2)).position).toBeGreaterThan(0);
    expect(await streams.streamRevision('cart-2')).toBe(-1);
    expect(await streams.loadSnapshot('cart-2')).toBeNull();
    expect((await streams.append('cart-2', [{ type: 'E', data: 3 }], 'no_stream')).revision).toBe(3);
    expect((await streams.getStreamMetadata('cart-2')).deleted).toBe(false);
  });

  it('appends with expected revisions, refuses with the actual revision, and reads', async () => {
    const c = await client(await server());
    const streams = c.streams;
    expect(
      await streams.append('order-1', [{ type: 'Placed', data: { total: 3 }, id: 'p' }], 'no_stream'),
    ).toEqual({
      revision: 0,
      position: 0,
    });
    // A retry (same id) is a no-op with the same answer.
    expect(
      await streams.append('order-1', [{ type: 'Placed', data: { total: 3 }, id: 'p' }], 'no_stream'),
    ).toEqual({
      revision: 0,
      position: 0,
    });
    let refusal: unknown;
    try {
      await streams.append('order-1', [{ type: 'Paid', data: {} }], 'no_stream');
    } catch (error) {
      refusal = error;
    }
    expect(isTributaryError(refusal, 'WRONG_EXPECTED_REVISION')).toBe(true);
    expect((refusal as { details: Record<string, unknown> }).details).toMatchObject({
      actual: 0,
      stream: 'order-1',
    });
    expect(
      await streams.appendMany([
        { stream: 'order-1', events: [{ type: 'Paid', data: { amount: 3 } }], expectedRevision: 0 },
        { stream: 'payment-1', events: [{ type: 'Received', data: 3, metadata: { via: 'card' } }] },
      ]),
    ).toEqual([
      { revision: 1, position: 1 },
      { revision: 0, position: 2 },
    ]);
    const events = await streams.readStream('order-1');
    expect(events.map((e) => [e.type, e.revision, e.position])).toEqual([
      ['Placed', 0, 0],
      ['Paid', 1, 1],
    ]);
    expect(events[0]).toMatchObject({ stream: 'order-1', id: 'p', data: { total: 3 }, metadata: {} });
    expect((await streams.readStream('order-1', { direction: 'backward', limit: 1 }))[0]?.type).toBe('Paid');
    expect((await streams.readAll({ category: 'payment' }))[0]?.metadata).toEqual({ via: 'card' });
    expect((await streams.readAll({ stream: 'order-1', after: 0 })).map((e) => e.position)).toEqual([1]);
    expect(await streams.streamRevision('order-1')).toBe(1);
    expect(await streams.headPosition()).toBe(2);
    let bad: unknown;
    try {
      await streams.append('order-1', [{ type: '', data: 1 }]);
    } catch (error) {
      bad = error;
    }
    expect(isTributaryError(bad)).toBe(true);
  });

  it('catches up from history to live under concurrent writers, then across a server restart, with no gap or duplicate', async () => {
    const s = await server();
    const writer = await client(s);
    const reader = await client(s);
    for (let i = 0; i < 100; i++)
      await writer.streams.append(`job-${i % 5}`, [{ type: 'E', data: i, id: `e${i}` }]);
    const seenAll: RecordedEvent[] = [];
    const seenJob2: number[] = [];
    const all = await reader.streams.subscribe({
      target: { all: true },
      after: 9,
      onEvent: (event) => {
        seenAll.push(event);
      },
    });
    const job2 = await reader.streams.subscribe({
      target: { stream: 'job-2' },
      onEvent: async (event) => {
        if (event.revision % 10 === 0) await new Promise((r) => setTimeout(r, 5));
        seenJob2.push(event.data as number);
      },
    });
    // Three writers at once while the subscriptions cross from history to live.
    await Promise.all(
      [0, 1, 2].map(async (w) => {
        for (let i = 100 + w; i < 250; i += 3)
          await writer.streams.append(`job-${i % 5}`, [{ type: 'E', data: i, id: `e${i}` }]);
      }),
    );
    await until(() => seenAll.length === 240);
    const positions = seenAll.map((e) => e.position);
    expect(positions).toEqual(Array.from({ length: 240 }, (_, i) => i + 10));
    await s.restart();
    // After the restart the same connection reconnects; the polls go on after the last position.
    for (let i = 250; i < 260; i++)
      await writer.streams.append(`job-${i % 5}`, [{ type: 'E', data: i, id: `e${i}` }]);
    await until(() => seenAll.length === 250);
    expect(seenAll.map((e) => e.position)).toEqual(Array.from({ length: 250 }, (_, i) => i + 10));
    const job2Expected = (await writer.streams.readStream('job-2')).map((e) => e.data as number);
    await until(() => seenJob2.length === job2Expected.length);
    expect(seenJob2).toEqual(job2Expected);
    expect(all.position).toBe(259);
    await all.close();
    await job2.close();
  });
});
