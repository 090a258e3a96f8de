/**
 * The MQTT front end with security on (mqtt.js, MQTT 3.1.1 and 5): CONNECT credentials as a
 * user name and password, an API key, a JWT; refusals as CONNACK 0x86 / 4; ACL refusals as
 * MQTT 5 reason codes (PUBACK 0x87, SUBACK 0x87) and, for 3.1.1, a closed connection or SUBACK
 * 0x80; wildcard filters limited to readable topics; a client id never taken over by another
 * principal; over TLS, a verified client certificate as the identity.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type ErrorWithSubackPacket, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../src/server/auth/api-keys.js';
import { allow, mintToken, type SecureServer, startSecureServer } from './fixtures/secure-server.js';
import { hasOpenssl, makeTlsFiles, type TlsTestFiles } from './fixtures/tls-certs.js';

const KEY = generateApiKey();
let secure: SecureServer;
const clients: MqttClient[] = [];

beforeAll(async () => {
  secure = await startSecureServer(
    {
      users: { alice: 'alice-pw', bob: 'bob-pw' },
      apiKeys: { ingest: KEY },
      acls: [
        allow('alice', 'topic', 'plant', ['read', 'write', 'create']),
        allow('alice', 'topic', 'office', ['read', 'write', 'create']),
        allow('bob', 'topic', 'plant', ['read']),
        allow('ingest', 'topic', 'plant', ['write']),
      ],
    },
    { mqtt: { port: 0 } },
  );
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await secure.close();
});

function url(): string {
  return `mqtt://127.0.0.1:${secure.server.mqtt?.port}`;
}

async function connect(version: 4 | 5, options: IClientOptions): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url(), { protocolVersion: version, reconnectPeriod: 0, ...options });
  clients.push(c);
  return c;
}

/** The CONNACK code of a refused connection (mqtt.js reports it as the error's `code`). */
async function refusedWith(version: 4 | 5, options: IClientOptions): Promise<number | undefined> {
  const c = mqtt.connect(url(), { protocolVersion: version, reconnectPeriod: 0, ...options });
  clients.push(c);
  return new Promise((resolve) => {
    c.once('connect', () => resolve(undefined));
    c.once('error', (error) => resolve((error as { code?: number }).code));
  });
}

/** The SUBACK codes for `filters` (mqtt.js rejects a SUBACK with a refusal; the packet has them all). */
async function subackCodes(c: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await c.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (error) {
    return (error as ErrorWithSubackPacket).packet.granted as number[];
  }
}

function collect(c: MqttClient): { payloads: string[]; next(n: number): Promise<string[]> } {
  const payloads: string[] = [];
  const waiters = new Set<() => void>();
  c.on('message', (_topic, payload) => {
    payloads.push(payload.toString());
    for (const wake of waiters) wake();
  });
  return {
    payloads,
    next: (n) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (payloads.length < n) return;
          waiters.delete(check);
          resolve(payloads.slice(0, n));
        };
        waiters.add(check);
        check();
      }),
  };
}

describe.each([4, 5] as const)('MQTT %s credentials', (version) => {
  it('accepts a user name and password, an API key and a JWT', async () => {
    const alice = await connect(version, { username: 'alice', password: 'alice-pw' });
    // Creates the topic (the key may write, not create).
    await alice.publishAsync('plant/line0', 'from a password', { qos: 1 });
    const ingest = await connect(version, { username: 'anything', password: KEY });
    await ingest.publishAsync('plant/line1', 'from a key', { qos: 1 });
    const token = await connect(version, { username: 'alice', password: await mintToken('alice') });
    await token.publishAsync('plant/line1', 'from a token', { qos: 1 });
  });

  it('refuses a wrong password, an unknown key and no credentials with the bad-credentials code', async () => {
    const bad = version === 5 ? 0x86 : 4;
    expect(await refusedWith(version, { username: 'alice', password: 'wrong' })).toBe(bad);
    expect(await refusedWith(version, { username: 'x', password: 'trb_not-a-key' })).toBe(bad);
    expect(await refusedWith(version, {})).toBe(bad);
  });
});

describe('MQTT ACLs', () => {
  it('MQTT 5: a publish without write gets PUBACK 0x87 and the connection stays', async () => {
    const bob = await connect(5, { username: 'bob', password: 'bob-pw' });
    const error = await bob.publishAsync('plant/line1', 'x', { qos: 1 }).then(
      () => null,
      (e: unknown) => e as { code?: number },
    );
    expect(error?.code).toBe(0x87);
    expect(bob.connected).toBe(true);
    expect(await subackCodes(bob, ['office/#', 'plant/#'])).toEqual([0x87, 1]);
  });

  it('MQTT 3.1.1: a publish without write closes the connection; a refused filter gets SUBACK 0x80', async () => {
    const bob = await connect(4, { username: 'bob', password: 'bob-pw' });
    expect(await subackCodes(bob, ['office/#', 'plant/#'])).toEqual([0x80, 1]);
    const closed = new Promise<void>((resolve) => bob.once('close', () => resolve()));
    bob.publish('plant/line1', 'x', { qos: 1 });
    await closed;
  });

  it('a wildcard first level reads only the topics the principal may read', async () => {
    const alice = await connect(5, { username: 'alice', password: 'alice-pw' });
    await alice.publishAsync('office/a', 'create', { qos: 1 });
    const bob = await connect(5, { username: 'bob', password: 'bob-pw' });
    const inbox = collect(bob);
    expect((await bob.subscribeAsync('#', { qos: 1 }))[0]?.qos).toBe(1);
    await alice.publishAsync('office/a', 'secret', { qos: 1 });
    await alice.publishAsync('plant/a', 'public', { qos: 1 });
    expect(await inbox.next(1)).toEqual(['public']);
    await alice.publishAsync('plant/a', 'public 2', { qos: 1 });
    expect(await inbox.next(2)).toEqual(['public', 'public 2']);
  });

  it('a client id connected as one principal is not taken over by another', async () => {
    const alice = await connect(5, { username: 'alice', password: 'alice-pw', clientId: 'shared-id' });
    expect(await refusedWith(5, { username: 'bob', password: 'bob-pw', clientId: 'shared-id' })).toBe(0x87);
    expect(alice.connected).toBe(true);
  });
});

describe.skipIf(!hasOpenssl())('MQTT over TLS', () => {
  let tlsDir: string;
  let files: TlsTestFiles;
  let tlsServer: SecureServer;

  beforeAll(async () => {
    tlsDir = await mkdtemp(join(tmpdir(), 'tributary-mqtt-tls-'));
    files = makeTlsFiles(tlsDir);
    tlsServer = await startSecureServer(
      {
        users: { admin: 'admin-pw' },
        certificates: true,
        acls: [allow('alice', 'topic', 'alice', ['read', 'write', 'create'])],
      },
      {
        tlsCert: files.serverCert,
        tlsKey: files.serverKey,
        tlsCa: files.ca,
        tlsClientAuth: 'request',
        mqtt: { port: 0 },
      },
    );
  });

  afterAll(async () => {
    await tlsServer.close();
    await rm(tlsDir, { recursive: true, force: true });
  });

  const tlsOptions = (): IClientOptions => ({
    protocolVersion: 5,
    reconnectPeriod: 0,
    ca: readFileSync(files.ca),
    servername: 'localhost',
  });

  it('a verified client certificate without credentials logs in as its CN', async () => {
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${tlsServer.server.mqtt?.port}`, {
      ...tlsOptions(),
      cert: readFileSync(files.clientCert),
      key: readFileSync(files.clientKey),
    });
    clients.push(c);
    await c.publishAsync('alice/x', 'from a certificate', { qos: 1 });
  });

  it('without a certificate or credentials the CONNECT is refused 0x86; plain MQTT gets no answer', async () => {
    const c = mqtt.connect(`mqtts://127.0.0.1:${tlsServer.server.mqtt?.port}`, tlsOptions());
    clients.push(c);
    const code = await new Promise((resolve) =>
      c.once('error', (e) => resolve((e as { code?: number }).code)),
    );
    expect(code).toBe(0x86);
    const plain = mqtt.connect(`mqtt://127.0.0.1:${tlsServer.server.mqtt?.port}`, {
      reconnectPeriod: 0,
      connectTimeout: 1000,
    });
    clients.push(plain);
    await new Promise<void>((resolve) => plain.once('close', () => resolve()));
    expect(plain.connected).toBe(false);
  });
});
