/**
 * @module client/collections/query
 * Queries on the client: a light shape check (the server checks fully and names the path of
 * anything wrong). Evaluation is the shared model's (`src/model/conditions.ts`), the same code
 * the server runs.
 *
 * @example
 * checkQueryShape({ where: [{ field: 'stock', op: '<', value: 5 }] }, true);
 */
import { TributaryError } from '../../errors.js';
import { COMPARISON_OPS } from '../../model/index.js';
import type { Query } from './types.js';

const OPS: readonly string[] = COMPARISON_OPS;
const QUERY_KEYS = ['where', 'keyPrefix', 'orderBy', 'limit'];

function invalid(reason: string): never {
  throw new TributaryError('INVALID_ARGUMENT', { reason });
}

/**
 * Checks the shape of a query (`live`: a subscription's, without `orderBy` / `limit`) and returns
 * a copy without the fields that are `undefined`.
 */
export function checkQueryShape(value: unknown, live: boolean): Query {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    invalid('a query must be an object');
  const raw = value as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (raw[name] === undefined) continue;
    if (!QUERY_KEYS.includes(name)) invalid(`query has an unknown field "${name}"`);
    if (live && (name === 'orderBy' || name === 'limit')) {
      invalid(`query.${name} is not supported in subscriptions (a live result is a set)`);
    }
  }
  if (raw.keyPrefix !== undefined && typeof raw.keyPrefix !== 'string')
    invalid('query.keyPrefix must be a string');
  if (raw.where !== undefined) {
    if (!Array.isArray(raw.where)) invalid('query.where must be an array of conditions');
    raw.where.forEach((condition: unknown, i: number) => {
      const c = condition as Record<string, unknown> | null;
      if (c === null || typeof c !== 'object' || typeof c.field !== 'string' || c.field === '') {
        invalid(`query.where[${i}] must be { field, op, value }`);
      }
      if (typeof c.op !== 'string' || !OPS.includes(c.op)) {
        invalid(`query.where[${i}].op must be one of ${OPS.join(' ')}`);
      }
      if (c.op === 'in' && !Array.isArray(c.value))
        invalid(`query.where[${i}].value must be an array for "in"`);
      if (c.op === 'exists' && typeof c.value !== 'boolean') {
        invalid(`query.where[${i}].value must be true or false for "exists"`);
      }
    });
  }
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as Query;
}

export { inResult, jsonEqual } from '../../model/index.js';
