/**
 * The auth file changes under a running server, checked over HTTP as a client sees it: after a
 * reload the old password and the revoked key are refused and the new ones work; a broken file
 * keeps the previous one in force; a file replaced on disk is picked up without a signal.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../src/server/auth/api-keys.js';
import {
  type AuthSpec,
  allow,
  authDocument,
  basic,
  type SecureServer,
  startSecureServer,
} from './fixtures/secure-server.js';

const OLD_KEY = generateApiKey();
const NEW_KEY = generateApiKey();
const ADMIN = { admin: 'admin-pw' };
const acls = [
  allow('alice', 'topic', 'orders', ['read']),
  allow('carol', 'topic', 'orders', ['read']),
  allow('ingest', 'topic', 'orders', ['write']),
];
const BEFORE: AuthSpec = {
  users: { ...ADMIN, alice: 'old-pw' },
  apiKeys: { ingest: OLD_KEY },
  superUsers: ['admin'],
  acls,
};
const AFTER: AuthSpec = {
  users: { ...ADMIN, alice: 'new-pw', carol: 'carol-pw' },
  apiKeys: { ingest: NEW_KEY },
  superUsers: ['admin'],
  acls,
};

let secure: SecureServer | undefined;
afterEach(async () => {
  await secure?.close();
  secure = undefined;
});

async function read(authorization: string): Promise<number> {
  const response = await fetch(`${secure?.url}/v1/topics/orders/partitions/0/records?offset=0`, {
    headers: { authorization },
  });
  await response.arrayBuffer();
  return response.status;
}

async function write(key: string): Promise<number> {
  const response = await fetch(`${secure?.url}/v1/topics/orders/records`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ value: 'x' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('auth file reload, seen over HTTP', () => {
  it('refuses the old credentials and accepts the new, and keeps the file in force when the next is broken', async () => {
    secure = await startSecureServer(BEFORE);
    const created = await fetch(`${secure.url}/v1/topics`, {
      method: 'POST',
      headers: { authorization: basic('admin', 'admin-pw'), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'orders', partitions: 1 }),
    });
    expect(created.status).toBe(201);
    expect(await read(basic('alice', 'old-pw'))).toBe(200);
    expect(await write(OLD_KEY)).toBeLessThan(300);
    expect(await read(basic('carol', 'carol-pw'))).toBe(401);

    await secure.rewrite(AFTER);
    expect(await read(basic('alice', 'old-pw'))).toBe(401);
    expect(await write(OLD_KEY)).toBe(401);
    expect(await read(basic('alice', 'new-pw'))).toBe(200);
    expect(await write(NEW_KEY)).toBeLessThan(300);
    expect(await read(basic('carol', 'carol-pw'))).toBe(200);

    const path = secure.security.config?.path ?? '';
    writeFileSync(path, '{ "users": { "alice": ');
    await secure.server.reloadAuth();
    expect(await read(basic('alice', 'new-pw'))).toBe(200);
    expect(await write(NEW_KEY)).toBeLessThan(300);

    // Replaced on disk, no signal: the watcher picks it up.
    const { carol: _, ...users } = AFTER.users ?? {};
    writeFileSync(`${path}.next`, JSON.stringify(await authDocument({ ...AFTER, users })));
    renameSync(`${path}.next`, path);
    const deadline = Date.now() + 20_000;
    while ((await read(basic('carol', 'carol-pw'))) !== 401) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((done) => setTimeout(done, 100));
    }
    expect(await read(basic('alice', 'new-pw'))).toBe(200);
  }, 60_000);
});
