import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PermissionsClaimError, parsePermissionsClaim } from './permissions.js';

describe('permissions claim', () => {
  it('maps the compact form to allow rules of the token’s principal', () => {
    expect(
      parsePermissionsClaim(
        {
          'topic:orders.*': ['read'],
          'collection:carts': ['read', 'write'],
          'group:*': ['all'],
          cluster: ['describe'],
        },
        'alice',
      ),
    ).toEqual([
      {
        effect: 'allow',
        principal: 'alice',
        resource: 'topic',
        name: 'orders.',
        pattern: 'prefix',
        operations: ['read'],
      },
      {
        effect: 'allow',
        principal: 'alice',
        resource: 'collection',
        name: 'carts',
        pattern: 'literal',
        operations: ['read', 'write'],
      },
      {
        effect: 'allow',
        principal: 'alice',
        resource: 'group',
        name: '*',
        pattern: 'literal',
        operations: ['all'],
      },
      {
        effect: 'allow',
        principal: 'alice',
        resource: 'cluster',
        name: 'cluster',
        pattern: 'literal',
        operations: ['describe'],
      },
    ]);
  });

  it('refuses anything else with a PermissionsClaimError', () => {
    for (const claim of [
      null,
      [],
      'x',
      { topic: ['read'] },
      { 'cluster:x': ['read'] },
      { 'topic:': ['read'] },
    ]) {
      expect(() => parsePermissionsClaim(claim, 'a')).toThrow(PermissionsClaimError);
    }
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`topic:t${i}`, ['read']]));
    expect(() => parsePermissionsClaim(many, 'a')).toThrow(/more than 256/);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parsePermissionsClaim(value, 'a');
        } catch (error) {
          if (!(error instanceof PermissionsClaimError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});
