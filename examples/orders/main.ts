/**
 * An order system with event sourcing and CQRS: commands append events to one stream per order,
 * a projection folds them into a live read model, and a dashboard watches it.
 *
 *     npm run example:orders                (add -- --short for a quick run)
 *
 * - Clerks send commands (place an order, add items, ship, cancel) through the command helper:
 *   it loads the order (its events), decides with the rules below, appends with the expected
 *   revision and retries when another clerk got there first (several clerks work on the same
 *   orders, so they do conflict).
 * - The projection `orders-dashboard` runs in the server process: one document per order
 *   (status, items, total), in the strong collection
 *   `orders-dashboard.v1`, its checkpoint committed in the same transaction.
 * - A clerk that needs to see its own write waits for the projection to reach its append's
 *   position (read-your-writes), then reads the order through the SDK.
 * - The dashboard is an SDK client with a live query on the read model (what a browser does).
 * - At the end the projection is rebuilt into v2 while v1 serves (progress and ETA printed), and
 *   swapped. The example checks that the dashboard's live view, the rebuilt read model and every
 *   order's own events agree, and prints `orders: OK …`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/node/index.js';
import type { JsonObject } from '../../src/crdt/index.js';
import { type Decider, handleCommand, loadAggregate } from '../../src/es/commands/index.js';
import type { ProjectionDefinition } from '../../src/es/projections/index.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { startServer } from '../../src/server/server.js';
import { randomInt, SHORT, timeLimit } from '../shared/run.js';

const ORDERS = SHORT ? 6 : 20;
const CLERKS = SHORT ? 3 : 6;
const COMMANDS_PER_CLERK = SHORT ? 25 : 120;

// ── The write side: an order's rules ───────────────────────────────────────────────────────────

interface Order {
  readonly status: 'none' | 'open' | 'shipped' | 'cancelled';
  readonly items: number;
  readonly total: number;
}

type OrderCommand =
  | { readonly type: 'Place'; readonly customer: string }
  | { readonly type: 'AddItem'; readonly price: number }
  | { readonly type: 'Ship' }
  | { readonly type: 'Cancel' };

const orderRules: Decider<Order, OrderCommand> = {
  initialState: () => ({ status: 'none', items: 0, total: 0 }),
  evolve(order, event) {
    const data = event.data as { price?: number };
    switch (event.type) {
      case 'OrderPlaced':
        return { ...order, status: 'open' };
      case 'ItemAdded':
        return { ...order, items: order.items + 1, total: order.total + (data.price ?? 0) };
      case 'OrderShipped':
        return { ...order, status: 'shipped' };
      case 'OrderCancelled':
        return { ...order, status: 'cancelled' };
      default:
        return order;
    }
  },
  decide(command, order) {
    switch (command.type) {
      case 'Place':
        return order.status === 'none' ? [{ type: 'OrderPlaced', data: { customer: command.customer } }] : [];
      case 'AddItem':
        return order.status === 'open' ? [{ type: 'ItemAdded', data: { price: command.price } }] : [];
      case 'Ship':
        return order.status === 'open' && order.items > 0 ? [{ type: 'OrderShipped', data: {} }] : [];
      case 'Cancel':
        return order.status === 'open' ? [{ type: 'OrderCancelled', data: {} }] : [];
    }
  },
};

// ── The read side: the dashboard's projection ─────────────────────────────────────────────────

interface DashboardDoc extends JsonObject {
  readonly status: string;
  readonly items: number;
  readonly total: number;
}

const dashboard: ProjectionDefinition<DashboardDoc> = {
  name: 'orders-dashboard',
  source: { category: 'order' },
  documentKeys: (event) => event.stream, // one document per order
  evolve(doc, event) {
    const price = (event.data as { price?: number }).price ?? 0;
    const status =
      event.type === 'OrderShipped'
        ? 'shipped'
        : event.type === 'OrderCancelled'
          ? 'cancelled'
          : (doc?.status ?? 'open');
    return {
      status,
      items: (doc?.items ?? 0) + (event.type === 'ItemAdded' ? 1 : 0),
      total: (doc?.total ?? 0) + price,
    };
  },
};

// ── Running it ─────────────────────────────────────────────────────────────────────────────────

timeLimit(120_000, 'orders');
const dataDir = await mkdtemp(join(tmpdir(), 'tributary-orders-'));
const server = await startServer({
  dataDir,
  host: '127.0.0.1',
  port: 0,
  metrics: new ServerMetrics({ defaultMetrics: false }),
  closeGraceMs: 500,
});
const url = `ws://127.0.0.1:${server.port}/v1/ws`;
console.log(`Tributary server on ${url}`);
const projection = await server.startProjection(dashboard);
console.log(`projection ${projection.name} → collection ${projection.collection}`);

// The dashboard: a live query on the read model, as a browser would hold it.
const viewer = await connect({ url, clientName: 'dashboard' });
const live = viewer.collection(projection.collection).subscribe({ keyPrefix: 'order-' });
await live.ready;
let changesSeen = 0;
live.on('change', () => {
  changesSeen++;
});

const store = server.eventStore;
const orderIds = Array.from({ length: ORDERS }, (_, i) => `order-${i + 1}`);
for (const id of orderIds)
  await handleCommand(store, id, orderRules, { type: 'Place', customer: `c${id.length}` });

/** One clerk: random commands on random orders; every fifth write is read back at once. */
async function clerk(name: string) {
  const reader = await connect({ url, clientName: name });
  const stats = { commands: 0, appended: 0, retried: 0, readOwnWrites: 0 };
  for (let n = 0; n < COMMANDS_PER_CLERK; n++) {
    const id = orderIds[randomInt(0, orderIds.length - 1)]!;
    const roll = Math.random();
    const command: OrderCommand =
      roll < 0.8
        ? { type: 'AddItem', price: randomInt(1, 20) }
        : roll < 0.92
          ? { type: 'Ship' }
          : { type: 'Cancel' };
    const result = await handleCommand(store, id, orderRules, command, { attemptsMax: 50 });
    stats.commands++;
    if (result.attempts > 1) stats.retried++;
    if (result.position === null) continue;
    stats.appended++;
    if (stats.appended % 5 === 1) {
      await projection.waitFor(result.position); // read-your-writes
      const row = await reader.collection(projection.collection).get(id);
      // Items only grow: the read model shows at least this write (other clerks may have added more).
      if (((row.value as DashboardDoc | null)?.items ?? -1) < result.state.items) {
        throw new Error(
          `${name}: ${id} shows ${JSON.stringify(row.value)} after its own write (${result.state.items} items)`,
        );
      }
      stats.readOwnWrites++;
    }
  }
  await reader.close();
  console.log(
    `[${name}] ${stats.commands} commands, ${stats.appended} appended, ${stats.retried} retried after a conflict, ${stats.readOwnWrites} read their own write`,
  );
  return stats;
}

const clerks = await Promise.all(Array.from({ length: CLERKS }, (_, i) => clerk(`clerk-${i + 1}`)));
const head = await store.headPosition();
await projection.waitFor(head);

// Every order's own events (the write side) against the read model (the read side).
const expected = new Map<string, Order>();
for (const id of orderIds) expected.set(id, (await loadAggregate(store, id, orderRules)).state);
await new Promise((resolve) => setTimeout(resolve, 200)); // the live view's last frame
const view = new Map(live.current().map((item) => [item.key, item.value as DashboardDoc]));
for (const [id, order] of expected) {
  const row = view.get(id);
  if (row?.items !== order.items || row.total !== order.total || row.status !== order.status) {
    throw new Error(
      `the dashboard shows ${id} as ${JSON.stringify(row)}, its events say ${JSON.stringify(order)}`,
    );
  }
}

// Rebuild from position 0 into v2 while v1 serves, then swap.
const before = (await viewer.collection(projection.collection).query({})).items.filter(
  (i) => !i.key.startsWith('$'),
);
const status = await projection.rebuild({
  progressIntervalMs: 100,
  onProgress: (p) =>
    console.log(
      `rebuild v${p.version}: ${(p.progress * 100).toFixed(0)}% (position ${p.position} of ${p.head}, eta ${p.etaMs === null ? '?' : `${p.etaMs} ms`})`,
    ),
});
const after = (await viewer.collection(status.collection).query({})).items.filter(
  (i) => !i.key.startsWith('$'),
);
const same =
  JSON.stringify(before.map((i) => [i.key, i.value])) === JSON.stringify(after.map((i) => [i.key, i.value]));
if (!same) throw new Error('the rebuilt read model differs from the one it replaced');

const appended = clerks.reduce((sum, c) => sum + c.appended, 0);
const retried = clerks.reduce((sum, c) => sum + c.retried, 0);
const ownReads = clerks.reduce((sum, c) => sum + c.readOwnWrites, 0);
await live.close();
await viewer.close();
await server.close();
await rm(dataDir, { recursive: true, force: true });
console.log(
  `orders: OK, ${CLERKS * COMMANDS_PER_CLERK} commands on ${ORDERS} orders (${appended} appended, ${retried} retried after a conflict, ${ownReads} read their own write); the live dashboard (${changesSeen} change frames) matches every order's events; rebuilt into ${status.collection}, identical`,
);
process.exit(0);
