/**
 * @module server/auth/acl
 * The one place that decides whether a principal may perform an operation on a resource. Every
 * front end reaches it through `Session.authorize` (session.ts); nothing else evaluates rules.
 *
 * Semantics (docs/security.md, "Authorization"):
 * - deny wins: allowed when an `allow` rule matches and no `deny` rule does; no match: denied;
 * - an `allow` of `read`, `write`, `create`, `delete` or `alter` also allows `describe`
 *   (Kafka's rule); a `deny` denies only what it names;
 * - rule principal `*` matches every authenticated principal (not `anonymous`);
 * - names are literal (`*` alone matches all) or prefixes;
 * - topics whose names start with `__` are internal and never allowed, super users included.
 *
 * @example
 * const policy = new AccessPolicy(rules, ['admin']);
 * policy.decide(principal, 'topic', 'orders', 'write'); // true | false
 */
import type { AclRule, Operation, Principal, ResourceType } from './types.js';

/** The principal a connection gets when it presents nothing and the auth file allows it. */
export const ANONYMOUS = 'anonymous';
/** The principal of every connection when security is off. */
export const LOCAL = 'local';

/** Operations whose `allow` also allows `describe`. */
const IMPLIES_DESCRIBE: ReadonlySet<Operation | 'all'> = new Set([
  'read',
  'write',
  'create',
  'delete',
  'alter',
  'all',
]);

/** True for names no principal may reach: the broker's and the sync layer's own topics. */
export function isInternalName(resource: ResourceType, name: string): boolean {
  return resource === 'topic' && name.startsWith('__');
}

/** An immutable snapshot of the auth file's rules; a reload builds a new one. */
export class AccessPolicy {
  readonly #rules: readonly AclRule[];
  readonly #superUsers: ReadonlySet<string>;
  /** Bumped per snapshot so sessions know when their cached decisions are stale. */
  readonly version: number;
  static #versions = 0;

  constructor(rules: readonly AclRule[], superUsers: readonly string[] = []) {
    this.#rules = rules;
    this.#superUsers = new Set(superUsers);
    this.version = ++AccessPolicy.#versions;
  }

  decide(principal: Principal, resource: ResourceType, name: string, operation: Operation): boolean {
    if (isInternalName(resource, name)) return false;
    if (principal.name !== ANONYMOUS && this.#superUsers.has(principal.name)) return true;
    const file = evaluate(this.#rules, principal.name, resource, name, operation);
    if (file === 'deny') return false;
    if (principal.rules.length === 0) return file === 'allow';
    const carried = evaluate(principal.rules, principal.name, resource, name, operation);
    if (carried === 'deny') return false;
    return file === 'allow' || carried === 'allow';
  }
}

type Verdict = 'allow' | 'deny' | 'none';

function evaluate(
  rules: readonly AclRule[],
  principal: string,
  resource: ResourceType,
  name: string,
  operation: Operation,
): Verdict {
  let verdict: Verdict = 'none';
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as AclRule;
    if (rule.resource !== resource) continue;
    if (!principalMatches(rule.principal, principal)) continue;
    if (!nameMatches(rule, name)) continue;
    if (rule.effect === 'deny') {
      if (rule.operations.includes(operation) || rule.operations.includes('all')) return 'deny';
    } else if (allows(rule.operations, operation)) {
      verdict = 'allow';
    }
  }
  return verdict;
}

function principalMatches(rulePrincipal: string, principal: string): boolean {
  return rulePrincipal === principal || (rulePrincipal === '*' && principal !== ANONYMOUS);
}

function nameMatches(rule: AclRule, name: string): boolean {
  if (rule.pattern === 'prefix') return name.startsWith(rule.name);
  return rule.name === '*' || rule.name === name;
}

function allows(operations: readonly (Operation | 'all')[], operation: Operation): boolean {
  for (const granted of operations) {
    if (granted === operation || granted === 'all') return true;
    if (operation === 'describe' && IMPLIES_DESCRIBE.has(granted)) return true;
  }
  return false;
}
