/**
 * The command helper on the real event store: load (snapshot + events), decide, append with the
 * expected revision, retry on conflict. Concurrent commands on one stream all land exactly once;
 * a refused command appends nothing; snapshots shorten loading and give the same state.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../src/errors.js';
import { type Decider, handleCommand, loadAggregate, type SnapshotStore } from '../src/es/commands/index.js';
import { openStack } from './es-projections-helpers.js';

interface Order {
  readonly status: 'none' | 'open' | 'shipped';
  readonly items: number;
  readonly total: number;
}

type OrderCommand =
  | { readonly type: 'Place'; readonly customer: string }
  | { readonly type: 'AddItem'; readonly price: number }
  | { readonly type: 'Ship' };

class OrderRefused extends Error {}

const orderDecider: Decider<Order, OrderCommand> = {
  initialState: () => ({ status: 'none', items: 0, total: 0 }),
  evolve(state, event) {
    const data = event.data as { price?: number };
    switch (event.type) {
      case 'OrderPlaced':
        return { ...state, status: 'open' };
      case 'ItemAdded':
        return { ...state, items: state.items + 1, total: state.total + (data.price ?? 0) };
      case 'OrderShipped':
        return { ...state, status: 'shipped' };
      default:
        return state;
    }
  },
  decide(command, state) {
    switch (command.type) {
      case 'Place':
        if (state.status !== 'none') return []; // placing twice changes nothing
        return [{ type: 'OrderPlaced', data: { customer: command.customer } }];
      case 'AddItem':
        if (state.status !== 'open') throw new OrderRefused(`cannot add an item to a ${state.status} order`);
        return [{ type: 'ItemAdded', data: { price: command.price } }];
      case 'Ship':
        if (state.status !== 'open' || state.items === 0) throw new OrderRefused('nothing to ship');
        return [{ type: 'OrderShipped', data: {} }];
    }
  },
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function store() {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-commands-'));
  const stack = await openStack(dir);
  cleanups.push(async () => {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  });
  return stack.store;
}

describe('command helper', () => {
  it('decides on the current state and appends with the expected revision', async () => {
    const s = await store();
    const placed = await handleCommand(s, 'order-1', orderDecider, { type: 'Place', customer: 'ada' });
    expect(placed).toMatchObject({ revision: 0, attempts: 1, state: { status: 'open' } });
    expect(placed.position).toBe(await s.headPosition());
    const again = await handleCommand(s, 'order-1', orderDecider, { type: 'Place', customer: 'ada' });
    expect(again).toMatchObject({ revision: 0, position: null, events: [] });
    await handleCommand(s, 'order-1', orderDecider, { type: 'AddItem', price: 7 });
    const shipped = await handleCommand(s, 'order-1', orderDecider, { type: 'Ship' });
    expect(shipped.state).toEqual({ status: 'shipped', items: 1, total: 7 });
    // A refused command appends nothing.
    await expect(
      handleCommand(s, 'order-1', orderDecider, { type: 'AddItem', price: 1 }),
    ).rejects.toBeInstanceOf(OrderRefused);
    expect(await s.streamRevision('order-1')).toBe(2);
  });

  it('retries on WRONG_EXPECTED_REVISION: 30 concurrent commands on one stream all land once', async () => {
    const s = await store();
    await handleCommand(s, 'order-2', orderDecider, { type: 'Place', customer: 'bo' });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        handleCommand(s, 'order-2', orderDecider, { type: 'AddItem', price: i + 1 }, { attemptsMax: 100 }),
      ),
    );
    expect(results.some((r) => r.attempts > 1)).toBe(true); // they did conflict
    expect(new Set(results.map((r) => r.revision)).size).toBe(30);
    const { state, revision } = await loadAggregate(s, 'order-2', orderDecider);
    expect(revision).toBe(30);
    expect(state).toEqual({ status: 'open', items: 30, total: (30 * 31) / 2 });
  });

  it('passes WRONG_EXPECTED_REVISION on once attempts run out', async () => {
    const s = await store();
    await handleCommand(s, 'order-3', orderDecider, { type: 'Place', customer: 'cy' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        handleCommand(s, 'order-3', orderDecider, { type: 'AddItem', price: 1 }, { attemptsMax: 1 }),
      ),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const o of refused) expect(isTributaryError(o.reason, 'WRONG_EXPECTED_REVISION')).toBe(true);
    const landed = outcomes.length - refused.length;
    expect(await s.streamRevision('order-3')).toBe(landed);
  });

  it('loads from a snapshot and the events after it, to the same state', async () => {
    const s = await store();
    const saved = new Map<string, { revision: number; state: Order }>();
    const snapshots: SnapshotStore<Order> = {
      load: async (stream) => saved.get(stream) ?? null,
      save: async (stream, revision, state) => {
        saved.set(stream, { revision, state });
      },
    };
    await handleCommand(s, 'order-4', orderDecider, { type: 'Place', customer: 'di' });
    for (let i = 0; i < 25; i++)
      await handleCommand(
        s,
        'order-4',
        orderDecider,
        { type: 'AddItem', price: 2 },
        { snapshots, snapshotEveryEvents: 10 },
      );
    expect(saved.get('order-4')!.revision).toBeGreaterThanOrEqual(10);
    const withSnapshot = await loadAggregate(s, 'order-4', orderDecider, snapshots);
    const without = await loadAggregate(s, 'order-4', orderDecider);
    expect(withSnapshot.state).toEqual(without.state);
    expect(withSnapshot.revision).toBe(25);
    expect(withSnapshot.eventsRead).toBeLessThan(without.eventsRead);
    expect(without.state).toEqual({ status: 'open', items: 25, total: 50 });
  });
});
