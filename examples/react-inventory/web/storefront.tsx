/**
 * The inventory example's storefront as React components. Every tab shows the stock live
 * (`useQuery` on the `inventory` collection); "Buy" takes a unit with one transaction, as the
 * command-line storefront does: decrement `stock`, add to `sold`, create an order record, all or
 * nothing, guarded by `stock >= 0`. The tab shows its own order at once (pending) and the
 * server's answer after: confirmed, or refused and undone when another tab took the last unit.
 */
import { useState } from 'react';
import type { Collection, LiveItem } from '../../../src/client/index.js';
import { useConnection, useQuery } from '../../../src/react/index.js';

/** Names this tab's orders: unique, so an order sent twice cannot sell twice (`ifVersion: -1`). */
const TAB = Math.random().toString(36).slice(2, 8);
let ordersMade = 0;

function buy(inventory: Collection, sku: string): Promise<unknown> {
  const order = `order-${TAB}-${++ordersMade}`;
  return inventory.transact(
    [
      { op: 'increment', key: sku, field: 'stock', by: -1 },
      { op: 'increment', key: sku, field: 'sold', by: 1 },
      { op: 'put', key: order, value: { sku, qty: 1, tab: TAB }, ifVersion: -1 },
    ],
    [{ key: sku, field: 'stock', op: '>=', value: 0, when: 'after' }],
  );
}

export function Storefront() {
  const { items, loading, error, rollback, collection } = useQuery('inventory', { keyPrefix: 'sku-' });
  const orders = useQuery('inventory', { keyPrefix: `order-${TAB}-` });
  const [message, setMessage] = useState('');

  if (error !== undefined && loading)
    return <p className="refused">Cannot reach the store: {error.message}</p>;
  if (loading) return <p className="status">Loading the shelf…</p>;

  const onBuy = (item: LiveItem) => {
    if (collection === undefined) return;
    setMessage(`Ordering one ${String(item.value.name)}…`);
    buy(collection, item.key).then(
      () => setMessage(`Ordered one ${String(item.value.name)}.`),
      (refusal: { code?: string }) =>
        setMessage(
          refusal.code === 'PRECONDITION_FAILED'
            ? `${String(item.value.name)} sold out before your order arrived.`
            : `Your order failed: ${String(refusal.code)}.`,
        ),
    );
  };

  return (
    <main>
      <h1>Storefront</h1>
      <ConnectionLine />
      <table>
        <thead>
          <tr>
            <th>SKU</th>
            <th>Product</th>
            <th>In stock</th>
            <th>Sold</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.key} data-sku={item.key} className={item.pending ? 'pending' : undefined}>
              <td>{item.key}</td>
              <td>{String(item.value.name)}</td>
              <td className="number stock">{String(item.value.stock)}</td>
              <td className="number">{String(item.value.sold)}</td>
              <td>
                <button
                  type="button"
                  disabled={(item.value.stock as number) <= 0}
                  onClick={() => onBuy(item)}
                  aria-label={`Buy one ${String(item.value.name)}`}
                >
                  {(item.value.stock as number) <= 0 ? 'Sold out' : 'Buy'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="message" role="status">
        {message}
      </p>
      {rollback === undefined ? null : (
        <p className="refused">Last refused order: {rollback.error.code} (its effect was undone).</p>
      )}
      <p className="status">
        Orders from this tab: <span className="orders">{orders.items.length}</span>
        {orders.pending ? ' (one is being confirmed)' : ''}
      </p>
    </main>
  );
}

function ConnectionLine() {
  const { status, error } = useConnection();
  return (
    <p className="status connection">
      {status}
      {status !== 'connected' && error !== undefined ? `: ${error.message}` : ''}
    </p>
  );
}
