/**
 * @module sync/query
 * Queries over a collection's materialized items: conditions (AND), a key prefix, an order and
 * a limit. `checkQuery` validates a query from outside once; `runQuery` evaluates it.
 *
 * Ordering: by `orderBy.field` (numbers before strings, then by value; documents without the
 * field last), ties and the default by key. A subscription's query may not have `orderBy` or
 * `limit` (its result is a set kept live; see `docs/collections.md`).
 *
 * @example
 * const query = checkQuery({ where: [{ field: 'stock', op: '<', value: 5 }], limit: 10 }, 'query');
 * runQuery(query, items); // the 10 first matching items by key
 */
import type { JsonObject } from '../crdt/index.js';
import { TributaryError } from '../errors.js';
import { checkConditions, compareScalars, fieldAt, KEY_FIELD, matchesAll } from './conditions.js';
import { SYNC_LIMITS } from './limits.js';
import type { Item, Query } from './types.js';

const QUERY_KEYS = ['where', 'keyPrefix', 'orderBy', 'limit'];

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

/** A checked copy of a query; `live` (a subscription's) refuses `orderBy` and `limit`. */
export function checkQuery(value: unknown, path = 'query', { live = false } = {}): Query {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) invalid(`${path} must be an object`);
  const raw = value as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!QUERY_KEYS.includes(name))
      invalid(`${path} has an unknown field "${name}" (allowed: ${QUERY_KEYS.join(', ')})`);
  }
  const where = checkConditions(raw.where, `${path}.where`);
  const out: { -readonly [K in keyof Query]: Query[K] } = {};
  if (where.length > 0) out.where = where;
  if (raw.keyPrefix !== undefined) {
    if (typeof raw.keyPrefix !== 'string') invalid(`${path}.keyPrefix must be a string`);
    out.keyPrefix = raw.keyPrefix as string;
  }
  if (raw.orderBy !== undefined) {
    if (live) invalid(`${path}.orderBy is not supported in subscriptions (a live result is a set)`);
    const orderBy = raw.orderBy as Record<string, unknown> | null;
    if (
      orderBy === null ||
      typeof orderBy !== 'object' ||
      typeof orderBy.field !== 'string' ||
      orderBy.field === ''
    ) {
      invalid(`${path}.orderBy must be { field, direction? }`);
    }
    const direction = orderBy.direction ?? 'asc';
    if (direction !== 'asc' && direction !== 'desc')
      invalid(`${path}.orderBy.direction must be "asc" or "desc"`);
    out.orderBy = { field: orderBy.field as string, direction };
  }
  if (raw.limit !== undefined) {
    if (live) invalid(`${path}.limit is not supported in subscriptions (a live result is a set)`);
    if (
      !Number.isSafeInteger(raw.limit) ||
      (raw.limit as number) < 1 ||
      (raw.limit as number) > SYNC_LIMITS.queryLimitMax
    ) {
      invalid(`${path}.limit must be an integer from 1 to ${SYNC_LIMITS.queryLimitMax}`);
    }
    out.limit = raw.limit as number;
  }
  return out;
}

/** True when the document `value` under `key` is in the query's result set (ignoring order and limit). */
export function inResult(query: Query, key: string, value: JsonObject | undefined): boolean {
  if (value === undefined) return false;
  if (query.keyPrefix !== undefined && !key.startsWith(query.keyPrefix)) return false;
  return query.where === undefined || matchesAll(query.where, key, value);
}

/** The items of the query's result, ordered and limited. `items` may be in any order. */
export function runQuery(query: Query, items: Iterable<Item>): Item[] {
  const out: Item[] = [];
  for (const item of items) if (inResult(query, item.key, item.value)) out.push(item);
  const orderBy = query.orderBy;
  if (orderBy === undefined || orderBy.field === KEY_FIELD) {
    out.sort((a, b) => compareKeys(a.key, b.key));
    if (orderBy?.direction === 'desc') out.reverse();
  } else {
    const sign = orderBy.direction === 'desc' ? -1 : 1;
    out.sort((a, b) => {
      const order = compareValues(
        fieldAt(a.key, a.value, orderBy.field),
        fieldAt(b.key, b.value, orderBy.field),
      );
      return order !== 0 ? sign * order : compareKeys(a.key, b.key);
    });
  }
  return query.limit === undefined ? out : out.slice(0, query.limit);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numbers, then strings, then anything else (by JSON text), then missing. */
function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown): number =>
    v === undefined ? 3 : typeof v === 'number' ? 0 : typeof v === 'string' ? 1 : 2;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 3) return 0;
  const scalar = compareScalars(a as never, b as never);
  if (scalar !== undefined) return Math.sign(scalar);
  return compareKeys(JSON.stringify(a), JSON.stringify(b));
}
