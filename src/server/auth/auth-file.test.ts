import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiKeyHash } from './api-keys.js';
import { AuthFileError, loadAuthFile, parseAuthFile, validateAuthDocument } from './auth-file.js';
import { deriveScramCredential, hashPassword, scramCredentialJson } from './passwords.js';

const FAST = { N: 1024, r: 8, p: 1 };
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';

function problemsOf(value: unknown): string[] {
  try {
    validateAuthDocument(value);
  } catch (error) {
    if (error instanceof AuthFileError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

async function fullDocument(): Promise<Record<string, unknown>> {
  return {
    users: {
      alice: {
        password: await hashPassword('pw', FAST),
        scram: {
          'SCRAM-SHA-256': scramCredentialJson(deriveScramCredential('pw', 'SCRAM-SHA-256')),
          'SCRAM-SHA-512': scramCredentialJson(deriveScramCredential('pw', 'SCRAM-SHA-512')),
        },
      },
    },
    apiKeys: [{ principal: 'ingest', id: 'ci-2026', sha256: apiKeyHash('trb_x') }],
    jwt: { issuer: 'https://auth.example', audience: 'tributary', keys: [{ alg: 'HS256', secret: SECRET }] },
    anonymous: true,
    certificates: { enabled: true },
    superUsers: ['admin'],
    acls: [
      {
        effect: 'allow',
        principal: 'alice',
        resource: 'topic',
        name: 'orders.',
        pattern: 'prefix',
        operations: ['read'],
      },
      { effect: 'deny', principal: '*', resource: 'cluster', name: 'cluster', operations: ['alter'] },
    ],
  };
}

describe('auth file validation', () => {
  it('accepts the documented format and fills defaults', async () => {
    const document = validateAuthDocument(await fullDocument());
    expect(document.users.get('alice')?.scram['SCRAM-SHA-512']?.storedKey.length).toBe(64);
    expect(document.apiKeys).toEqual([{ principal: 'ingest', id: 'ci-2026', sha256: apiKeyHash('trb_x') }]);
    expect(document.jwt).toMatchObject({
      principalClaim: 'sub',
      permissionsClaim: 'tributary',
      clockToleranceSec: 30,
    });
    expect(document.acls[1]).toMatchObject({ pattern: 'literal', principal: '*' });
    expect(document.anonymous).toBe(true);
    expect(validateAuthDocument({}).users.size).toBe(0);
    expect(validateAuthDocument({}).anonymous).toBe(false);
    expect(document.certificates).toEqual({ enabled: true });
    expect(validateAuthDocument({}).certificates).toEqual({ enabled: false });
  });

  it('names the place of every problem', async () => {
    const document = await fullDocument();
    const users = document.users as Record<string, Record<string, unknown>>;
    (users.alice as Record<string, unknown>).password = 'hunter2';
    users.bob = {};
    users.anonymous = { password: 'x' };
    document.apiKeys = [
      { principal: 'ingest', id: 'a', sha256: 'ABC' },
      { principal: 'ingest', id: 'a', sha256: apiKeyHash('k'), extra: 1 },
    ];
    document.acls = [
      { effect: 'maybe', principal: 'alice', resource: 'table', name: '', operations: ['read', 'fly'] },
    ];
    document.jwt = {
      keys: [{ alg: 'none' }, { alg: 'HS256', secret: 'short' }, { alg: 'RS256', secret: SECRET }],
    };
    document.acl = [];
    document.certificates = { enabled: 'yes', mapping: 'CN' };
    document.quotas = { alice: { connections: -1 } };
    const problems = problemsOf(document);
    const expected = [
      'users.alice.password: not a scrypt hash',
      'users.bob: a user needs a "password" or "scram"',
      'users.anonymous: "anonymous" is reserved',
      'apiKeys[0].sha256: must be the lowercase hex SHA-256',
      'apiKeys[1].extra: unknown key',
      'apiKeys[1].id: duplicate key id "a"',
      'acls[0].effect: must be "allow" or "deny"',
      'acls[0].resource: must be one of topic, collection, group, cluster',
      'acls[0].name: must be a non-empty string',
      'acls[0].operations[1]: must be one of',
      'jwt.keys[0].alg: must be one of HS256',
      'jwt.keys[1].secret: HS256 needs a secret of at least 32 bytes',
      'jwt.keys[2].secret: RS256 verifies with a public key, not a secret',
      'acl: unknown key',
      'certificates.mapping: unknown key',
      'certificates.enabled: must be true or false',
      'quotas.alice.connections: ',
    ];
    for (const start of expected)
      expect(
        problems.some((p) => p.startsWith(start)),
        start,
      ).toBe(true);
    // The plain-text "password" is not repeated in the message.
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('checks SCRAM credentials by mechanism', async () => {
    const sha256 = scramCredentialJson(deriveScramCredential('pw', 'SCRAM-SHA-256'));
    const problems = problemsOf({
      users: {
        carol: { scram: { 'SCRAM-SHA-512': sha256, 'SCRAM-SHA-1': sha256 } },
        dave: { scram: { 'SCRAM-SHA-256': { ...sha256, iterations: 10 } } },
      },
    });
    expect(problems).toContainEqual(
      expect.stringMatching(/^users\.carol\.scram\.SCRAM-SHA-512\.storedKey: must be 64 bytes/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^users\.carol\.scram\.SCRAM-SHA-1: unknown key/));
    expect(problems).toContainEqual(
      expect.stringMatching(/^users\.dave\.scram\.SCRAM-SHA-256\.iterations: must be an integer from 4096/),
    );
  });

  it('refuses a JWKS URL over plain http to another host', () => {
    expect(problemsOf({ jwt: { jwksUrl: 'http://auth.example/jwks.json' } })).toEqual([
      'jwt.jwksUrl: must be an https URL (http only for localhost)',
    ]);
    expect(problemsOf({ jwt: { jwksUrl: 'http://127.0.0.1:8080/jwks.json' } })).toEqual([]);
    expect(problemsOf({ jwt: {} })[0]).toMatch(/^jwt: needs "keys", "jwksFile" or "jwksUrl"/);
  });

  it('reports text that is not JSON', () => {
    expect(() => parseAuthFile('{ "users": ', '/x/auth.json')).toThrow(
      /Auth file \/x\/auth\.json is invalid: not JSON/,
    );
  });

  it('loads key files relative to the auth file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-file-'));
    const pem = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n';
    writeFileSync(join(dir, 'rsa.pem'), pem);
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'EC' }] }));
    writeFileSync(
      join(dir, 'auth.json'),
      JSON.stringify({ jwt: { keys: [{ alg: 'RS256', publicKeyFile: 'rsa.pem' }], jwksFile: 'jwks.json' } }),
    );
    const config = await loadAuthFile(join(dir, 'auth.json'));
    expect(config.jwt?.loadedKeys[0]).toMatchObject({ alg: 'RS256', pem });
    expect(config.jwt?.jwks?.keys).toEqual([{ kty: 'EC' }]);

    writeFileSync(
      join(dir, 'auth.json'),
      JSON.stringify({ jwt: { keys: [{ alg: 'ES256', publicKeyFile: 'nope.pem' }] } }),
    );
    await expect(loadAuthFile(join(dir, 'auth.json'))).rejects.toThrow(
      /jwt\.keys\[0\]\.publicKeyFile: cannot read/,
    );
    writeFileSync(join(dir, 'auth.json'), JSON.stringify({ jwt: { jwksFile: 'rsa.pem' } }));
    await expect(loadAuthFile(join(dir, 'auth.json'))).rejects.toThrow(/jwt\.jwksFile: not JSON/);
  });

  it('never throws anything but AuthFileError on random JSON', () => {
    const keys = fc.constantFrom(
      'users',
      'apiKeys',
      'jwt',
      'anonymous',
      'superUsers',
      'acls',
      'password',
      'scram',
      'SCRAM-SHA-256',
      'salt',
      'iterations',
      'storedKey',
      'serverKey',
      'principal',
      'id',
      'sha256',
      'keys',
      'alg',
      'secret',
      'effect',
      'resource',
      'name',
      'pattern',
      'operations',
      'issuer',
      'audience',
      'jwksUrl',
      'alice',
      '__proto__',
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.constantFrom('HS256', 'RS256', 'allow', 'topic', 'read', 'prefix', 'scrypt$1024$8$1$AAAA$AAAA'),
        fc.array(tie('tree'), { maxLength: 4 }),
        fc.dictionary(keys, tie('tree'), { maxKeys: 5 }),
      ),
    }));
    fc.assert(
      fc.property(fc.oneof(tree, fc.dictionary(keys, tree, { maxKeys: 6 })), (value) => {
        try {
          validateAuthDocument(value);
        } catch (error) {
          if (!(error instanceof AuthFileError)) throw error;
          expect(error.problems.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
