/**
 * Competing-consumer groups on the event store: events dealt to several members, each acked
 * event handled once while members live; a member that stops acking (dead) has its events dealt
 * to the others after the ack timeout; nacks retry and park after `retriesMax`; the checkpoint
 * and the parked events survive reopening the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../broker/broker.js';
import { openFileLog } from '../../log/file/file-log.js';
import { type ClosableEventStore, createEventStore } from './store.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(dir: string): Promise<{ store: ClosableEventStore; close: () => Promise<void> }> {
  const log = await openFileLog({ dir: join(dir, 'log'), maintenanceIntervalMs: 0 });
  const broker = (await createBroker(log)).forSystem();
  const store = await createEventStore({ broker });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await store.close();
    await broker.close();
    await log.close();
  };
  cleanups.push(close);
  return { store, close };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-es-groups-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('competing-consumer groups', () => {
  it('deals events to live members; a dead member’s events go to the others after the ack timeout', async () => {
    const { store } = await open(await tempDir());
    await store.groups.createGroup('billing', { target: { category: 'order' }, ackTimeoutMs: 300 });
    for (let i = 0; i < 60; i++) await store.append(`order-${i % 7}`, [{ type: 'E', data: i }]);
    await store.append('invoice-1', [{ type: 'Other', data: 0 }]); // not the group's category
    const handled = new Map<string, number[]>();
    const handledCount = (): number => [...handled.values()].reduce((n, list) => n + list.length, 0);
    // The member that dies takes a batch and never acks it.
    const lost = await store.groups.readGroup('billing', 'dead', { max: 10, waitMs: 5000 });
    expect(lost).toHaveLength(10);
    const live = async (member: string): Promise<void> => {
      const mine: number[] = [];
      handled.set(member, mine);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const dealt = await store.groups.readGroup('billing', member, { max: 5, waitMs: 200 });
        for (const d of dealt) mine.push(d.event.data as number);
        await store.groups.ack(
          'billing',
          member,
          dealt.map((d) => d.event.position),
        );
        const info = await store.groups.groupInfo('billing');
        if (info.pending === 0 && handledCount() === 60) return;
      }
    };
    await Promise.all([live('a'), live('b')]);
    const a = handled.get('a') ?? [];
    const b = handled.get('b') ?? [];
    // Every event handled by exactly one live member, the dead member's ten among them.
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    for (const d of lost) expect([...a, ...b]).toContain(d.event.data);
    const info = await store.groups.groupInfo('billing');
    // Its checkpoint: the position of the last order event (the group's own record is at 0).
    expect(info).toMatchObject({ checkpoint: 60, pending: 0, inFlight: 0, parked: 0 });
  });

  it('retries nacked events and parks them after retriesMax; checkpoint and parked events survive a restart', async () => {
    const dir = await tempDir();
    const first = await open(dir);
    await first.store.groups.createGroup('mail', {
      target: { all: true },
      retriesMax: 2,
      ackTimeoutMs: 5000,
    });
    for (let i = 0; i < 10; i++)
      await first.store.append(`user-${i}`, [{ type: i === 4 ? 'Poison' : 'Ok', data: i }]);
    const tries = new Map<number, number>();
    for (let rounds = 0; rounds < 50; rounds++) {
      const dealt = await first.store.groups.readGroup('mail', 'm1', { max: 10, waitMs: 100 });
      if (dealt.length === 0 && (await first.store.groups.groupInfo('mail')).pending === 0) break;
      for (const d of dealt) {
        const i = d.event.data as number;
        tries.set(i, (tries.get(i) ?? 0) + 1);
        if (d.event.type === 'Poison') {
          expect(d.retries).toBe((tries.get(i) ?? 0) - 1);
          await first.store.groups.nack('mail', 'm1', [d.event.position], 'retry', 'cannot send');
        } else {
          await first.store.groups.ack('mail', 'm1', [d.event.position]);
        }
      }
    }
    expect(tries.get(4)).toBe(3); // the first try and two retries
    const parked = await first.store.groups.readParked('mail');
    expect(parked.map((p) => [p.event.data, p.event.type, p.retries])).toEqual([[4, 'Poison', 3]]);
    expect(parked[0]?.reason).toContain('cannot send');
    expect(await first.store.groups.groupInfo('mail')).toMatchObject({ checkpoint: 10, parked: 1 });
    await first.close();
    const { store } = await open(dir);
    await store.append('user-99', [{ type: 'Ok', data: 'after' }]);
    const dealt = await store.groups.readGroup('mail', 'm2', { max: 10, waitMs: 5000 });
    // Only the new event: the checkpoint was written on close.
    expect(dealt.map((d) => d.event.stream)).toEqual(['user-99']);
    expect((await store.groups.readParked('mail')).map((p) => p.event.data)).toEqual([4]);
    // Parking on request, and refusals.
    await store.groups.nack('mail', 'm2', [dealt[0]?.event.position as number], 'park', 'by hand');
    expect((await store.groups.readParked('mail')).map((p) => p.reason)).toEqual([
      'cannot send (after 2 retries)',
      'by hand',
    ]);
    await expect(store.groups.readGroup('nope', 'm', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.groups.createGroup('mail', { target: { category: 'user' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await store.groups.deleteGroup('mail');
    await expect(store.groups.groupInfo('mail')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
