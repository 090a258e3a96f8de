/**
 * Kafka SASL at the byte level, with a raw client against a real server: SaslHandshake v0/v1,
 * SaslAuthenticate v0–v2 with PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER, raw tokens after a v0
 * handshake, refusals (wrong password, unknown user, alg none, expired, tampered), requests
 * before authentication, session lifetimes (KIP-368), re-authentication, expiry and revocation
 * closing the connection, and security off.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import { oauthBearerMessage } from '../src/server/auth/sasl.js';
import { signJwt, type TestAuthFile, writeTestAuthFile } from './fixtures/kafka-security.js';
import { type KafkaTestServer, RawKafka, startKafkaServer, tempDir, waitFor } from './kafka-harness.js';

const SECRET = 'kafka-sasl-test-secret-of-32-bytes!!';
const jwt = (sub: string, expiresInSec: number) => signJwt(SECRET, sub, expiresInSec);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
const text = (value: Uint8Array): string => new TextDecoder().decode(value);
const plain = (user: string, password: string): Uint8Array => bytes(`\u0000${user}\u0000${password}`);

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;
let auth: TestAuthFile | undefined;
const clients: RawKafka[] = [];

async function open(): Promise<RawKafka> {
  const client = await RawKafka.open(server.kafka.port);
  clients.push(client);
  return client;
}

async function start(
  options: { security?: boolean; anonymous?: boolean; authenticationTimeoutMs?: number } = {},
): Promise<void> {
  auth = await writeTestAuthFile(dir.path, {
    users: { alice: 'alice-pw', bob: 'bob-pw' },
    jwtSecret: SECRET,
    acls: [
      {
        effect: 'allow',
        principal: '*',
        resource: 'topic',
        name: '*',
        pattern: 'literal',
        operations: ['all'],
      },
    ],
    anonymous: options.anonymous === true,
  });
  server = await startKafkaServer(join(dir.path, 'data'), {
    ...(options.security === false ? {} : { authFile: auth.path }),
    ...(options.authenticationTimeoutMs === undefined
      ? {}
      : { kafkaAuthenticationTimeoutMs: options.authenticationTimeoutMs }),
  });
}

async function closed(client: RawKafka): Promise<void> {
  await waitFor(() => client.closed, 5_000, 'the server to close the connection');
}

async function handshake(client: RawKafka, mechanism: string, version = 1): Promise<void> {
  const answer = await client.call('SaslHandshake', version, { mechanism });
  expect(answer).toEqual({
    errorCode: 0,
    mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'],
  });
}

function authenticate(client: RawKafka, token: Uint8Array, version = 1) {
  return client.call('SaslAuthenticate', version, { authBytes: token });
}

async function metadataWorks(client: RawKafka): Promise<void> {
  const answer = await client.call('Metadata', 1, {
    topics: null,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  } as never);
  expect(answer.brokers).toHaveLength(1);
}

/** A SCRAM client exchange over SaslAuthenticate; returns the final answer. */
async function scram(
  client: RawKafka,
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
  user: string,
  password: string,
  version = 1,
) {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const size = hash === 'sha256' ? 32 : 64;
  const bare = `n=${user},r=${randomBytes(12).toString('base64')}`;
  const first = await authenticate(client, bytes(`n,,${bare}`), version);
  expect(first.errorCode).toBe(0);
  const serverFirst = text(first.authBytes);
  const fields = Object.fromEntries(serverFirst.split(',').map((f) => [f[0], f.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(fields.s ?? '', 'base64'), Number(fields.i), size, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${fields.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number))).toString('base64');
  const final = await authenticate(client, bytes(`${withoutProof},p=${proof}`), version);
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  return { final, expected: `v=${createHmac(hash, serverKey).update(authMessage).digest('base64')}` };
}

/** Sends a raw SASL token (after a v0 handshake) and reads the raw answer. */
async function rawToken(client: RawKafka, token: Uint8Array): Promise<Buffer> {
  const frame = Buffer.alloc(4 + token.length);
  frame.writeInt32BE(token.length, 0);
  frame.set(token, 4);
  client.write(frame);
  return client.next();
}

beforeEach(async () => {
  dir = await tempDir('tributary-kafka-sasl-');
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close();
  auth = undefined;
  await dir.remove();
});

describe('Kafka SASL', () => {
  it('advertises SaslHandshake v0-v1 and SaslAuthenticate v0-v2', async () => {
    await start();
    const client = await open();
    const versions = await client.call('ApiVersions', 0, {
      clientSoftwareName: '',
      clientSoftwareVersion: '',
    });
    expect(versions.apiKeys).toContainEqual({ apiKey: 17, minVersion: 0, maxVersion: 1 });
    expect(versions.apiKeys).toContainEqual({ apiKey: 36, minVersion: 0, maxVersion: 2 });
  });

  it('closes a connection that sends another request before authenticating', async () => {
    await start();
    const client = await open();
    await client.call('ApiVersions', 1, { clientSoftwareName: '', clientSoftwareVersion: '' });
    client.send('Metadata', 1, { topics: null, allowAutoTopicCreation: false } as never);
    await closed(client);
    expect(client.payloads).toHaveLength(0);
  });

  it('closes a connection that has not authenticated within kafkaAuthenticationTimeoutMs, however busy', async () => {
    await start({ authenticationTimeoutMs: 600 });
    const stranger = await open();
    const authenticated = await open();
    await handshake(authenticated, 'PLAIN');
    expect((await authenticate(authenticated, plain('alice', 'alice-pw'))).errorCode).toBe(0);
    const opened = Date.now();
    // ApiVersions is allowed before authentication, but must not keep a stranger connected.
    while (!stranger.closed && Date.now() - opened < 5_000) {
      stranger.send('ApiVersions', 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stranger.closed).toBe(true);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(500);
    await metadataWorks(authenticated);
  });

  for (const version of [0, 1, 2]) {
    it(`PLAIN over SaslAuthenticate v${version}: right password in, wrong one and unknown user refused alike`, async () => {
      await start();
      const ok = await open();
      await handshake(ok, 'PLAIN');
      const answer = await authenticate(ok, plain('alice', 'alice-pw'), version);
      expect({ ...answer, authBytes: [...answer.authBytes] }).toEqual({
        errorCode: 0,
        errorMessage: null,
        authBytes: [],
        sessionLifetimeMs: 0,
      });
      await metadataWorks(ok);

      const refusals = [];
      for (const [user, password] of [
        ['alice', 'wrong'],
        ['nobody', 'alice-pw'],
      ] as const) {
        const bad = await open();
        await handshake(bad, 'PLAIN');
        refusals.push(await authenticate(bad, plain(user, password), version));
        await closed(bad);
      }
      expect(refusals[0]?.errorCode).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
      expect(refusals[0]).toEqual(refusals[1]);
    });
  }

  it('PLAIN with raw tokens after a v0 handshake (kafka-python): empty answer, or the connection closes', async () => {
    await start();
    const ok = await open();
    await handshake(ok, 'PLAIN', 0);
    expect((await rawToken(ok, plain('bob', 'bob-pw'))).length).toBe(0);
    await metadataWorks(ok);
    const bad = await open();
    await handshake(bad, 'PLAIN', 0);
    const token = plain('bob', 'no');
    bad.write(Buffer.concat([Buffer.from([0, 0, 0, token.length]), Buffer.from(token)]));
    await closed(bad);
    expect(bad.payloads).toHaveLength(0);
  });

  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    it(`${mechanism}: server signature checks out; a wrong password is refused`, async () => {
      await start();
      for (const version of [1, 2]) {
        const client = await open();
        await handshake(client, mechanism);
        const { final, expected } = await scram(client, mechanism, 'alice', 'alice-pw', version);
        expect(final.errorCode).toBe(0);
        expect(text(final.authBytes)).toBe(expected);
        await metadataWorks(client);
      }
      const bad = await open();
      await handshake(bad, mechanism);
      const { final } = await scram(bad, mechanism, 'alice', 'nope');
      expect(final.errorCode).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
      expect(final.errorMessage).toBe('Authentication failed: invalid credentials');
      await closed(bad);
    });
  }

  it('SCRAM with raw tokens after a v0 handshake', async () => {
    await start();
    const client = await open();
    await handshake(client, 'SCRAM-SHA-256', 0);
    const serverFirst = (await rawToken(client, bytes('n,,n=bob,r=abc'))).toString();
    expect(serverFirst).toMatch(/^r=abc.+,s=.+,i=4096$/);
  });

  it('OAUTHBEARER: a signed token gets its lifetime; alg none, tampered, wrong key and expired are refused with the RFC 7628 error', async () => {
    await start();
    const client = await open();
    await handshake(client, 'OAUTHBEARER');
    const answer = await authenticate(client, oauthBearerMessage(await jwt('alice', 600)));
    expect(answer.errorCode).toBe(0);
    expect(answer.sessionLifetimeMs).toBeGreaterThan(590_000);
    expect(answer.sessionLifetimeMs).toBeLessThanOrEqual(600_000);
    await metadataWorks(client);

    const good = await jwt('alice', 600);
    const [h, p, s] = good.split('.') as [string, string, string];
    const forged = [
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`,
      `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', exp: 4102444800 })).toString('base64url')}.${s}`,
      await signJwt('another-secret-another-secret-1234', 'alice', 600),
      await jwt('alice', -10),
      'not-a-jwt',
    ];
    for (const token of forged) {
      const bad = await open();
      await handshake(bad, 'OAUTHBEARER');
      const refused = await authenticate(bad, oauthBearerMessage(token));
      expect(refused.errorCode).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
      expect(text(refused.authBytes)).toBe('{"status":"invalid_token"}');
      await closed(bad);
    }
  });

  it('OAUTHBEARER: an authzid other than the token subject is refused', async () => {
    await start();
    const client = await open();
    await handshake(client, 'OAUTHBEARER');
    const answer = await authenticate(client, oauthBearerMessage(await jwt('alice', 60), 'bob'));
    expect(answer.errorCode).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
  });

  it('re-authenticates on the same connection (KIP-368); another principal is refused', async () => {
    await start();
    const client = await open();
    await handshake(client, 'OAUTHBEARER');
    await authenticate(client, oauthBearerMessage(await jwt('alice', 60)));
    await handshake(client, 'OAUTHBEARER');
    const again = await authenticate(client, oauthBearerMessage(await jwt('alice', 3600)));
    expect(again.errorCode).toBe(0);
    expect(again.sessionLifetimeMs).toBeGreaterThan(3_500_000);
    await metadataWorks(client);
    expect(server.security.sessionCount).toBe(1);

    await handshake(client, 'OAUTHBEARER');
    const other = await authenticate(client, oauthBearerMessage(await jwt('bob', 60)));
    expect(other.errorCode).toBe(KafkaErrorCode.SASL_AUTHENTICATION_FAILED);
    await closed(client);
  });

  it('re-authentication with another mechanism is refused', async () => {
    await start();
    const client = await open();
    await handshake(client, 'PLAIN');
    await authenticate(client, plain('alice', 'alice-pw'));
    const answer = await client.call('SaslHandshake', 1, { mechanism: 'OAUTHBEARER' });
    expect(answer.errorCode).toBe(KafkaErrorCode.ILLEGAL_SASL_STATE);
    await closed(client);
  });

  it('closes the connection when the token expires without re-authentication', async () => {
    await start();
    const client = await open();
    await handshake(client, 'OAUTHBEARER');
    const answer = await authenticate(client, oauthBearerMessage(await jwt('alice', 2)));
    expect(answer.sessionLifetimeMs).toBeGreaterThan(0);
    expect(answer.sessionLifetimeMs).toBeLessThanOrEqual(2000);
    await metadataWorks(client);
    await waitFor(() => client.closed, 6_000, 'the connection to close at expiry');
  });

  it('closes the connection when its principal is revoked', async () => {
    await start();
    const alice = await open();
    await handshake(alice, 'PLAIN');
    await authenticate(alice, plain('alice', 'alice-pw'));
    const bob = await open();
    await handshake(bob, 'PLAIN');
    await authenticate(bob, plain('bob', 'bob-pw'));
    await auth?.remove('alice');
    await server.reloadAuth();
    await closed(alice);
    await metadataWorks(bob);
  });

  it('an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM with the offered list, then the connection closes', async () => {
    await start();
    const client = await open();
    const answer = await client.call('SaslHandshake', 1, { mechanism: 'GSSAPI' });
    expect(answer.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM);
    expect(answer.mechanisms).toContain('SCRAM-SHA-512');
    await closed(client);
  });

  it('SaslAuthenticate before SaslHandshake: ILLEGAL_SASL_STATE, closed', async () => {
    await start();
    const client = await open();
    const answer = await authenticate(client, plain('alice', 'alice-pw'));
    expect(answer.errorCode).toBe(KafkaErrorCode.ILLEGAL_SASL_STATE);
    await closed(client);
  });

  it('anonymous, when enabled, needs no SASL', async () => {
    await start({ anonymous: true });
    const client = await open();
    await metadataWorks(client);
  });

  it('security off: no SASL needed, SaslHandshake answered UNSUPPORTED_SASL_MECHANISM with no mechanisms', async () => {
    await start({ security: false });
    const client = await open();
    expect(await client.call('SaslHandshake', 1, { mechanism: 'PLAIN' })).toEqual({
      errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: [],
    });
    await metadataWorks(client);
  });
});
