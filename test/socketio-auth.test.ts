/**
 * The Socket.IO endpoint with security on: the handshake's `auth` payload (`{ username,
 * password }`, `{ apiKey }`, `{ token }`) is checked by the one Security, each namespace
 * connection has its own session, produce and subscribe go through the guard, and refusals are
 * `connect_error`s (or acks) carrying the typed error. The browser policy refuses other origins'
 * polling requests and upgrades before engine.io sees them.
 */
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allow, mintToken, type SecureServer, startSecureServer } from './fixtures/secure-server.js';
import { closeAllClients, connectClient, emitWithAck, until } from './fixtures/socketio-clients.js';

const API_KEY = 'trb_socketio_test_key_0123456789abcdef';
let secure: SecureServer;

const spec = {
  users: { alice: 'alice-pw', bob: 'bob-pw', eve: 'eve-pw' },
  apiKeys: { carol: API_KEY },
  acls: [
    allow('alice', 'topic', 'socket.io', ['read', 'write', 'create']),
    allow('bob', 'topic', 'socket.io', ['read']),
    allow('carol', 'topic', 'socket.io', ['read', 'write']),
    allow('dave', 'topic', 'socket.io', ['read', 'write']),
  ],
};

beforeAll(async () => {
  secure = await startSecureServer(spec);
});

afterAll(async () => {
  await secure.close();
});

afterEach(() => closeAllClients());

/** The `data` of the connect_error a connection attempt ends with. */
async function refusal(auth: Record<string, unknown>): Promise<unknown> {
  try {
    await connectClient(secure.url, '/', { auth });
  } catch (error) {
    return (error as { data?: unknown }).data;
  }
  throw new Error('connected');
}

/** Status and body of a raw HTTP request to the server. */
function raw(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${secure.url}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Socket.IO endpoint with security on', () => {
  it('refuses a handshake without credentials or with wrong ones: connect_error with the typed error', async () => {
    expect(await refusal({})).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await refusal({ username: 'alice', password: 'wrong' })).toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    expect(await refusal({ token: 42 })).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await refusal({ username: 'eve', password: 'eve-pw' })).toMatchObject({
      code: 'TOPIC_ACCESS_DENIED',
    });
  });

  it('lets each principal do what its rules allow: password, API key and token logins', async () => {
    const alice = await connectClient(secure.url, '/', { auth: { username: 'alice', password: 'alice-pw' } });
    const bob = await connectClient(secure.url, '/', { auth: { username: 'bob', password: 'bob-pw' } });
    const carol = await connectClient(secure.url, '/', { auth: { apiKey: API_KEY } });
    const dave = await connectClient(secure.url, '/', { auth: { token: await mintToken('dave') } });
    expect(await emitWithAck(alice.socket, 'data-update', 'a')).toMatchObject({ topic: 'socket.io' });
    expect(await emitWithAck(carol.socket, 'data-update', 'c')).toMatchObject({ topic: 'socket.io' });
    expect(await emitWithAck(dave.socket, 'data-update', 'd')).toMatchObject({ topic: 'socket.io' });
    // Bob may read, not write.
    expect(await emitWithAck(bob.socket, 'data-update', 'b')).toMatchObject({
      error: { code: 'TOPIC_ACCESS_DENIED' },
    });
    await until(() => bob.named('data-update').length === 3, 'what the others wrote');
    expect(bob.named('data-update').map((args) => args[0])).toEqual(['a', 'c', 'd']);
  });

  it('ends the socket of a principal whose access is revoked, with the typed error', async () => {
    const carol = await connectClient(secure.url, '/', { auth: { apiKey: API_KEY } });
    const gone = new Promise<string>((resolve) =>
      carol.socket.once('disconnect', (reason) => resolve(reason)),
    );
    await secure.rewrite({ ...spec, apiKeys: {} });
    expect(await gone).toBe('io server disconnect');
    expect(carol.named('tributary:error')[0]).toMatchObject([{ code: 'ACCESS_REVOKED' }]);
    await secure.rewrite(spec);
  });

  it("refuses other origins' polling requests and upgrades before engine.io answers (one browser policy)", async () => {
    const polling = await raw('/socket.io/?EIO=4&transport=polling', { origin: 'http://evil.example' });
    expect(polling.status).toBe(403);
    expect(polling.body).toContain('ORIGIN_NOT_ALLOWED');
    const upgrade = await raw('/socket.io/?EIO=4&transport=websocket', {
      origin: 'http://evil.example',
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    expect(upgrade.status).toBe(403);
    expect(upgrade.body).toContain('ORIGIN_NOT_ALLOWED');
    const host = await raw('/socket.io/?EIO=4&transport=polling', { host: 'rebound.example' });
    expect(host.status).toBe(403);
    // The server's own origin is fine.
    const own = await raw('/socket.io/?EIO=4&transport=polling', { origin: secure.url });
    expect(own.status).toBe(200);
    expect(own.body.startsWith('0{')).toBe(true);
  });
});
