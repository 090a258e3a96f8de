/**
 * @module server/auth/permissions
 * The compact form of ACL rules a JWT may carry in its permissions claim (default claim name
 * `tributary`), small enough for a header: an object from `resource:name` to operations.
 *
 * ```json
 * { "topic:orders.*": ["read"], "collection:carts": ["read", "write"], "group:*": ["read"], "cluster": ["describe"] }
 * ```
 * - the key is `topic:NAME`, `collection:NAME`, `group:NAME` or `cluster`;
 * - a NAME ending in `*` is a prefix (`orders.*` matches `orders.eu`); `*` alone matches every
 *   name of that resource type; anything else is literal;
 * - the operations are `read`, `write`, `create`, `delete`, `describe`, `alter` or `all`.
 *
 * Every entry is an `allow` rule for the token's own principal. A token cannot deny and cannot
 * speak for another principal; `deny` rules of the auth file still win over it. A claim that is
 * not of this form makes the token invalid (the connection is refused, not given fewer rights).
 *
 * @example
 * parsePermissionsClaim({ 'topic:orders.*': ['read'] }, 'alice');
 * // [{ effect: 'allow', principal: 'alice', resource: 'topic', name: 'orders.', pattern: 'prefix', operations: ['read'] }]
 */
import { isJsonObject } from './json-path.js';
import {
  type AclRule,
  CLUSTER_RESOURCE,
  isResourceType,
  isRuleOperation,
  OPERATIONS,
  type Operation,
  type ResourceType,
} from './types.js';

/** Most entries one claim may hold. */
export const PERMISSIONS_ENTRIES_MAX = 256;
const NAME_LENGTH_MAX = 512;

/** The claim is not of the compact form; `message` says why (logged, never sent). */
export class PermissionsClaimError extends Error {
  constructor(message: string) {
    super(`permissions claim: ${message}`);
    this.name = 'PermissionsClaimError';
  }
}

/** The rules a permissions claim grants `principal`; throws {@link PermissionsClaimError}. */
export function parsePermissionsClaim(value: unknown, principal: string): AclRule[] {
  if (!isJsonObject(value)) {
    throw new PermissionsClaimError('must be an object of "resource:name": [operations]');
  }
  const entries = Object.entries(value);
  if (entries.length > PERMISSIONS_ENTRIES_MAX) {
    throw new PermissionsClaimError(`has more than ${PERMISSIONS_ENTRIES_MAX} entries`);
  }
  return entries.map(([key, operations]) => ({
    effect: 'allow' as const,
    principal,
    ...parseKey(key),
    operations: parseOperations(key, operations),
  }));
}

function parseKey(key: string): { resource: ResourceType; name: string; pattern: 'literal' | 'prefix' } {
  if (key === CLUSTER_RESOURCE) return { resource: 'cluster', name: CLUSTER_RESOURCE, pattern: 'literal' };
  const colon = key.indexOf(':');
  const resource = key.slice(0, colon);
  const name = key.slice(colon + 1);
  if (colon <= 0 || !isResourceType(resource) || resource === 'cluster') {
    throw new PermissionsClaimError(
      `key "${key.slice(0, 64)}" is not topic:NAME, collection:NAME, group:NAME or cluster`,
    );
  }
  if (name.length === 0 || name.length > NAME_LENGTH_MAX) {
    throw new PermissionsClaimError(
      `key "${key.slice(0, 64)}" needs a name of 1 to ${NAME_LENGTH_MAX} characters`,
    );
  }
  if (name === '*') return { resource: resource as ResourceType, name: '*', pattern: 'literal' };
  if (name.endsWith('*'))
    return { resource: resource as ResourceType, name: name.slice(0, -1), pattern: 'prefix' };
  return { resource: resource as ResourceType, name, pattern: 'literal' };
}

function parseOperations(key: string, value: unknown): (Operation | 'all')[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > OPERATIONS.length + 1) {
    throw new PermissionsClaimError(`"${key.slice(0, 64)}" must map to a non-empty list of operations`);
  }
  for (const op of value) {
    if (!isRuleOperation(op)) {
      throw new PermissionsClaimError(
        `"${key.slice(0, 64)}": unknown operation ${JSON.stringify(op)?.slice(0, 32)}`,
      );
    }
  }
  return value as (Operation | 'all')[];
}
