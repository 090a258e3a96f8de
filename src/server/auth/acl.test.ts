import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessPolicy, ANONYMOUS } from './acl.js';
import {
  type AclRule,
  OPERATIONS,
  type Operation,
  type Principal,
  RESOURCE_TYPES,
  type ResourceType,
} from './types.js';

const user = (name: string, rules: readonly AclRule[] = []): Principal => ({
  name,
  method: 'password',
  rules,
});
const rule = (r: Partial<AclRule> & Pick<AclRule, 'principal' | 'operations'>): AclRule => ({
  effect: 'allow',
  resource: 'topic',
  name: '*',
  pattern: 'literal',
  ...r,
});

describe('AccessPolicy', () => {
  it('denies what no rule allows', () => {
    const policy = new AccessPolicy([]);
    expect(policy.decide(user('alice'), 'topic', 'orders', 'read')).toBe(false);
  });

  it('allows literal and prefix names, and * for every name', () => {
    const policy = new AccessPolicy([
      rule({ principal: 'alice', name: 'orders', operations: ['read'] }),
      rule({ principal: 'alice', name: 'metrics.', pattern: 'prefix', operations: ['write'] }),
      rule({ principal: 'bob', resource: 'collection', operations: ['all'] }),
    ]);
    expect(policy.decide(user('alice'), 'topic', 'orders', 'read')).toBe(true);
    expect(policy.decide(user('alice'), 'topic', 'orders2', 'read')).toBe(false);
    expect(policy.decide(user('alice'), 'topic', 'orders', 'write')).toBe(false);
    expect(policy.decide(user('alice'), 'topic', 'metrics.cpu', 'write')).toBe(true);
    expect(policy.decide(user('alice'), 'topic', 'metricsX', 'write')).toBe(false);
    expect(policy.decide(user('bob'), 'collection', 'carts', 'delete')).toBe(true);
    expect(policy.decide(user('bob'), 'topic', 'carts', 'read')).toBe(false);
  });

  it('lets deny win over allow, whichever comes first', () => {
    const allow = rule({ principal: '*', operations: ['all'] });
    const deny = rule({ effect: 'deny', principal: 'mallory', name: 'payroll', operations: ['read'] });
    for (const rules of [
      [allow, deny],
      [deny, allow],
    ]) {
      const policy = new AccessPolicy(rules);
      expect(policy.decide(user('mallory'), 'topic', 'payroll', 'read')).toBe(false);
      expect(policy.decide(user('mallory'), 'topic', 'payroll', 'write')).toBe(true);
      expect(policy.decide(user('alice'), 'topic', 'payroll', 'read')).toBe(true);
    }
  });

  it('implies describe from an allow of read, write, create, delete or alter, but not from a deny', () => {
    for (const op of ['read', 'write', 'create', 'delete', 'alter'] as const) {
      const policy = new AccessPolicy([rule({ principal: 'alice', operations: [op] })]);
      expect(policy.decide(user('alice'), 'topic', 'orders', 'describe')).toBe(true);
    }
    const policy = new AccessPolicy([
      rule({ principal: 'alice', operations: ['describe'] }),
      rule({ effect: 'deny', principal: 'alice', operations: ['read'] }),
    ]);
    expect(policy.decide(user('alice'), 'topic', 'orders', 'describe')).toBe(true);
  });

  it('does not match anonymous with *', () => {
    const policy = new AccessPolicy([rule({ principal: '*', operations: ['read'] })]);
    expect(policy.decide(user(ANONYMOUS), 'topic', 'orders', 'read')).toBe(false);
    const open = new AccessPolicy([rule({ principal: ANONYMOUS, operations: ['read'] })]);
    expect(open.decide(user(ANONYMOUS), 'topic', 'orders', 'read')).toBe(true);
  });

  it('never allows internal topics, not even to super users', () => {
    const policy = new AccessPolicy([rule({ principal: '*', operations: ['all'] })], ['admin']);
    expect(policy.decide(user('admin'), 'topic', '__consumer_offsets', 'read')).toBe(false);
    expect(policy.decide(user('alice'), 'topic', '__collection.carts', 'write')).toBe(false);
    expect(policy.decide(user('admin'), 'cluster', 'cluster', 'alter')).toBe(true);
  });

  it('checks rules carried by the credential, and the file still denies', () => {
    const carried = [rule({ principal: 'tok', name: 'feed.', pattern: 'prefix', operations: ['read'] })];
    const policy = new AccessPolicy([
      rule({ effect: 'deny', principal: 'tok', name: 'feed.secret', operations: ['read'] }),
    ]);
    expect(policy.decide(user('tok', carried), 'topic', 'feed.public', 'read')).toBe(true);
    expect(policy.decide(user('tok', carried), 'topic', 'feed.secret', 'read')).toBe(false);
    expect(policy.decide(user('tok'), 'topic', 'feed.public', 'read')).toBe(false);
  });

  describe('properties', () => {
    const names = fc.constantFrom('orders', 'orders.eu', 'carts', 'g1', '*', 'ord');
    const arbRule = fc.record({
      effect: fc.constantFrom('allow' as const, 'deny' as const),
      principal: fc.constantFrom('alice', 'bob', '*', ANONYMOUS),
      resource: fc.constantFrom(...RESOURCE_TYPES),
      name: names,
      pattern: fc.constantFrom('literal' as const, 'prefix' as const),
      operations: fc.array(fc.constantFrom<Operation | 'all'>(...OPERATIONS, 'all'), {
        minLength: 1,
        maxLength: 3,
      }),
    });
    const question = fc.record({
      principal: fc.constantFrom('alice', 'bob', 'carol', ANONYMOUS),
      resource: fc.constantFrom<ResourceType>(...RESOURCE_TYPES),
      name: fc.constantFrom('orders', 'orders.eu', 'carts', 'g1', '__consumer_offsets'),
      operation: fc.constantFrom<Operation>(...OPERATIONS),
    });

    it('adding a deny rule never allows more; adding an allow rule never allows less', () => {
      fc.assert(
        fc.property(fc.array(arbRule, { maxLength: 8 }), arbRule, question, (rules, extra, q) => {
          const before = new AccessPolicy(rules).decide(user(q.principal), q.resource, q.name, q.operation);
          const after = new AccessPolicy([...rules, extra]).decide(
            user(q.principal),
            q.resource,
            q.name,
            q.operation,
          );
          if (extra.effect === 'deny' && after) expect(before).toBe(true);
          if (extra.effect === 'allow' && before) expect(after).toBe(true);
        }),
        { numRuns: 2000 },
      );
    });

    it('rule order never matters', () => {
      fc.assert(
        fc.property(fc.array(arbRule, { maxLength: 8 }), question, (rules, q) => {
          const forward = new AccessPolicy(rules).decide(user(q.principal), q.resource, q.name, q.operation);
          const backward = new AccessPolicy([...rules].reverse()).decide(
            user(q.principal),
            q.resource,
            q.name,
            q.operation,
          );
          expect(backward).toBe(forward);
        }),
        { numRuns: 2000 },
      );
    });
  });
});
