/**
 * Helpers of the projection tests: an order-dashboard projection whose documents count and sum
 * (so an event applied twice or skipped shows), a seeded workload of order events, and the
 * crash-free reference: the same definition folded over the store's events in memory.
 */
import { createBroker } from '../src/broker/broker.js';
import type { JsonObject } from '../src/crdt/index.js';
import type { ProjectionDefinition } from '../src/es/projections/index.js';
import { CHECKPOINT_KEY_PREFIX } from '../src/es/projections/index.js';
import { type ClosableEventStore, createEventStore } from '../src/es/streams/index.js';
import type { EventInput, RecordedEvent } from '../src/es/streams/types.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { CollectionService } from '../src/sync/index.js';

export interface OrderDoc extends JsonObject {
  readonly kind: 'order' | 'customer';
  readonly count: number;
  readonly total: number;
  readonly status: string;
  readonly last: number;
}

/** Orders (`order-<n>`: status, items, total) and customers (`customer-<c>`: orders, total spent). */
export function orderDashboard(name = 'dashboard', partitions = 1): ProjectionDefinition<OrderDoc> {
  return {
    name,
    partitions,
    source: { category: 'order' },
    documentKeys(event) {
      const data = event.data as { customer: string };
      return event.type === 'OrderPlaced' || event.type === 'ItemAdded'
        ? [event.stream, `customer-${data.customer}`]
        : event.stream;
    },
    evolve(doc, event, key) {
      const data = event.data as { amount?: number };
      const amount = data.amount ?? 0;
      if (key.startsWith('customer-')) {
        return {
          kind: 'customer',
          count: (doc?.count ?? 0) + (event.type === 'OrderPlaced' ? 1 : 0),
          total: (doc?.total ?? 0) + amount,
          status: 'active',
          last: event.position,
        };
      }
      if (event.type === 'OrderCancelled') return null;
      return {
        kind: 'order',
        count: (doc?.count ?? 0) + 1,
        total: (doc?.total ?? 0) + amount,
        status: event.type === 'OrderShipped' ? 'shipped' : (doc?.status ?? 'open'),
        last: event.position,
      };
    },
  };
}

/** A seeded PRNG (mulberry32): the same seed gives the same workload. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` appends of order events over `orders` streams (plus a few `audit-` events the projection ignores). */
export function orderWorkload(
  seed: number,
  count: number,
  orders = 40,
): { stream: string; events: EventInput[] }[] {
  const random = prng(seed);
  const placed = new Set<number>();
  const appends: { stream: string; events: EventInput[] }[] = [];
  for (let i = 0; i < count; i++) {
    const order = Math.floor(random() * orders);
    const stream = `order-${order}`;
    const customer = `c${order % 7}`;
    if (random() < 0.05) {
      appends.push({ stream: `audit-${i}`, events: [{ type: 'Audited', data: { i } }] });
      continue;
    }
    if (!placed.has(order)) {
      placed.add(order);
      appends.push({ stream, events: [{ type: 'OrderPlaced', data: { customer, amount: 10 + (i % 13) } }] });
      continue;
    }
    const roll = random();
    const type = roll < 0.7 ? 'ItemAdded' : roll < 0.9 ? 'OrderShipped' : 'OrderCancelled';
    if (type === 'OrderCancelled') placed.delete(order);
    const events: EventInput[] = [
      { type, data: { customer, amount: type === 'ItemAdded' ? 1 + (i % 5) : 0 } },
    ];
    if (type === 'ItemAdded' && random() < 0.3) events.push({ type, data: { customer, amount: 2 } });
    appends.push({ stream, events });
  }
  return appends;
}

/** Every event of the store in position order. */
export async function readEverything(store: Pick<ClosableEventStore, 'readAll'>): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll({
      ...(all.length > 0 ? { after: all.at(-1)!.position } : {}),
      limit: 1000,
    });
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

/** The crash-free state: the definition folded over `events` in memory, documents by key. */
export function fold<Doc extends JsonObject>(
  definition: ProjectionDefinition<Doc>,
  events: readonly RecordedEvent[],
): Map<string, Doc> {
  const docs = new Map<string, Doc>();
  const source = definition.source;
  for (const event of events) {
    if (source !== undefined && 'category' in source && !event.stream.startsWith(`${source.category}-`))
      continue;
    if (source !== undefined && 'stream' in source && event.stream !== source.stream) continue;
    const keys = definition.documentKeys(event);
    for (const key of keys === null || keys === undefined ? [] : typeof keys === 'string' ? [keys] : keys) {
      const next = definition.evolve(docs.get(key) ?? null, event, key);
      if (next === null) docs.delete(key);
      else docs.set(key, next);
    }
  }
  return docs;
}

/** The documents of a read model collection (checkpoints left out), by key. */
export async function readModelDocs(
  collections: CollectionService,
  collection: string,
): Promise<Map<string, JsonObject>> {
  const { items } = await collections.collection(collection).query({});
  return new Map(
    items.filter((item) => !item.key.startsWith(CHECKPOINT_KEY_PREFIX)).map((item) => [item.key, item.value]),
  );
}

/** A file log, a broker, the event store and the collection service in `dir` (reopened on the same data). */
export async function openStack(dir: string): Promise<{
  store: ClosableEventStore;
  collections: CollectionService;
  close(): Promise<void>;
}> {
  const log = await openFileLog({ dir, maintenanceIntervalMs: 0 });
  const broker = await createBroker(log);
  const system = broker.forSystem();
  const collections = await CollectionService.open(system, { checkpointIntervalMs: 0 });
  const store = await createEventStore({ broker: system });
  return {
    store,
    collections,
    async close() {
      await store.close();
      await collections.close();
      await broker.close();
      await log.close();
    },
  };
}

/** Appends `workload` in order; answers the last position. */
export async function appendAll(
  store: Pick<ClosableEventStore, 'append'>,
  workload: readonly { stream: string; events: EventInput[] }[],
): Promise<number> {
  let position = -1;
  for (const { stream, events } of workload) position = (await store.append(stream, events)).position;
  return position;
}
