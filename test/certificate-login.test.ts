/**
 * Client certificates as a login (auth file `"certificates": { "enabled": true }`), against a
 * real server with TLS (`tlsClientAuth request`) and certificates made by `openssl` at test time
 * (client certificate CN `alice`): curl reads what alice's ACLs allow and is refused the rest, on
 * plain HTTP requests and on an SSE stream; the Node SDK over wss:// is alice; kafkajs (and kcat,
 * when installed) over TLS with no SASL produce as alice and get TOPIC_AUTHORIZATION_FAILED on
 * another topic; explicit credentials win over the certificate (a wrong password is refused, it
 * does not fall back to the certificate); with the option off the certificate alone is
 * UNAUTHENTICATED on every front end; turning the option off ends live certificate sessions with
 * ACCESS_REVOKED.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import type { ServerFrame } from '../src/protocol/native/types.js';
import { RawClient } from '../src/server/front/ws/testing/harness.js';
import { type AuthSpec, allow, type SecureServer, startSecureServer } from './fixtures/secure-server.js';
import { hasOpenssl, makeTlsFiles, type TlsTestFiles } from './fixtures/tls-certs.js';
import { describeWithClient, hasKcat, KCAT, killChildren, run } from './kafka-harness.js';

const CURL = '/usr/bin/curl';
/** No `certificates` key: certificate login is off. */
const BASE: AuthSpec = {
  users: { admin: 'admin-pw' },
  superUsers: ['admin'],
  acls: [allow('alice', 'topic', 'alice.*', ['all'])],
};
const SPEC: AuthSpec = { ...BASE, certificates: true };

let dir: string;
let files: TlsTestFiles;
const servers: SecureServer[] = [];
const clients: TributaryClient[] = [];
const raws: RawClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-cert-login-'));
  if (hasOpenssl()) files = makeTlsFiles(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  killChildren();
  for (const raw of raws.splice(0)) raw.socket.terminate();
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
});

/** A TLS server asking for client certificates, with the topics `alice.orders` and `secret`. */
async function certServer(spec: AuthSpec = SPEC): Promise<SecureServer & { bootstrap: string }> {
  const server = await startSecureServer(spec, {
    tlsCert: files.serverCert,
    tlsKey: files.serverKey,
    tlsCa: files.ca,
    tlsClientAuth: 'request',
    kafka: { port: 0 },
  });
  servers.push(server);
  for (const name of ['alice.orders', 'secret']) {
    const created = await curl(
      [...ADMIN, '-X', 'POST', '-H', 'content-type: application/json'],
      server,
      '/v1/topics',
      ['--data', JSON.stringify({ name, partitions: 1 })],
    );
    expect(created.status, created.body).toBe(201);
  }
  const kafka = server.server.kafka;
  if (kafka === null) throw new Error('no Kafka listener');
  return Object.assign(server, { bootstrap: `127.0.0.1:${kafka.port}` });
}

const CERT = (): string[] => ['--cert', files.clientCert, '--key', files.clientKey];
const ADMIN = ['--user', 'admin:admin-pw'];

/** curl over TLS trusting the test CA; the status and the body. */
async function curl(
  args: readonly string[],
  server: SecureServer,
  path: string,
  after: readonly string[] = [],
): Promise<{ status: number; body: string }> {
  const result = await run(
    CURL,
    [
      ...['--silent', '--show-error', '--max-time', '10', '--cacert', files.ca],
      ...args,
      ...['--write-out', '\n%{http_code}'],
      ...after,
      `${server.url}${path}`,
    ],
    { timeoutMs: 20_000 },
  );
  expect(result.code, result.stderr).toBe(0);
  const cut = result.stdout.lastIndexOf('\n');
  return { status: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, cut) };
}

function produceBody(value: string): string[] {
  return [
    '-X',
    'POST',
    '-H',
    'content-type: application/json',
    '--data',
    JSON.stringify({ records: [{ value }] }),
  ];
}

/** A raw WebSocket over TLS with the client certificate (or not), sending hello with `auth`. */
async function wsHello(
  server: SecureServer,
  options: { cert: boolean; auth?: Record<string, string> },
): Promise<{ client: RawClient; first: ServerFrame }> {
  const client = new RawClient(server.wsUrl, {
    tls: {
      ca: readFileSync(files.ca),
      ...(options.cert ? { cert: readFileSync(files.clientCert), key: readFileSync(files.clientKey) } : {}),
    },
  });
  raws.push(client);
  await client.opened;
  client.sendRaw(
    JSON.stringify({
      type: 'hello',
      protocol: 1,
      client: 'test/1',
      ...(options.auth ? { auth: options.auth } : {}),
    }),
  );
  const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
  return { client, first };
}

function kafkajs(server: { bootstrap: string }, cert: boolean): Kafka {
  return new Kafka({
    clientId: 'cert-login-test',
    brokers: [server.bootstrap],
    ssl: {
      ca: [readFileSync(files.ca, 'utf8')],
      ...(cert
        ? { cert: readFileSync(files.clientCert, 'utf8'), key: readFileSync(files.clientKey, 'utf8') }
        : {}),
    },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 5_000,
  });
}

function describeError(error: unknown): string {
  const e = error as { type?: unknown; message?: unknown; cause?: { type?: unknown; message?: unknown } };
  return `${String(e.type)} ${String(e.message)} ${String(e.cause?.type)} ${String(e.cause?.message)}`;
}

describe.skipIf(!hasOpenssl())('client certificates log in (certificates.enabled)', () => {
  it('HTTP: curl with the certificate reads and writes what CN=alice may, and is refused the rest', async () => {
    const server = await certServer();
    const produced = await curl(
      [...CERT(), ...produceBody('from-curl')],
      server,
      '/v1/topics/alice.orders/records',
    );
    expect(produced.status, produced.body).toBe(200);
    const read = await curl(CERT(), server, '/v1/topics/alice.orders/partitions/0/records?offset=0');
    expect(read.status, read.body).toBe(200);
    expect(JSON.parse(read.body)).toMatchObject({ records: [{ offset: 0, value: 'from-curl' }] });

    const denied = await curl(CERT(), server, '/v1/topics/secret/partitions/0/records?offset=0');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ error: { code: 'TOPIC_ACCESS_DENIED' } });
    const deniedWrite = await curl([...CERT(), ...produceBody('x')], server, '/v1/topics/secret/records');
    expect(deniedWrite.status).toBe(403);

    // No certificate, no credentials: 401; explicit credentials win over the certificate.
    expect((await curl([], server, '/v1/topics/alice.orders/partitions/0/records')).status).toBe(401);
    const asAdmin = await curl(
      [...CERT(), ...ADMIN],
      server,
      '/v1/topics/secret/partitions/0/records?offset=0',
    );
    expect(asAdmin.status, asAdmin.body).toBe(200);
    const wrong = await curl(
      [...CERT(), '--user', 'admin:wrong'],
      server,
      '/v1/topics/alice.orders/partitions/0/records?offset=0',
    );
    expect(wrong.status).toBe(401);
    const badBearer = await curl(
      [...CERT(), '-H', 'authorization: Bearer not-a-token'],
      server,
      '/v1/topics/alice.orders/partitions/0/records?offset=0',
    );
    expect(badBearer.status).toBe(401);
  }, 60_000);

  it('SSE: a stream opened with the certificate delivers what alice may read; another topic is 403', async () => {
    const server = await certServer();
    await curl([...CERT(), ...produceBody('streamed')], server, '/v1/topics/alice.orders/records');
    const stream = await run(
      CURL,
      [
        ...['--silent', '--no-buffer', '--max-time', '3', '--cacert', files.ca, ...CERT()],
        `${server.url}/v1/topics/alice.orders/events?from=earliest&partition=0`,
      ],
      { timeoutMs: 20_000 },
    );
    expect(stream.stdout).toContain('streamed');
    const denied = await curl(CERT(), server, '/v1/topics/secret/events?from=earliest&partition=0');
    expect(denied.status).toBe(403);
  }, 60_000);

  it('WebSocket: the SDK over wss:// with the certificate is alice; hello credentials win over it', async () => {
    const server = await certServer();
    const client = await connect({
      url: server.wsUrl,
      reconnect: false,
      tls: {
        ca: readFileSync(files.ca),
        cert: readFileSync(files.clientCert),
        key: readFileSync(files.clientKey),
      },
    });
    clients.push(client);
    const producer = client.producer({ topic: 'alice.orders' });
    expect((await producer.send({ value: 'from-sdk' })).offset).toBe(0);
    await producer.close();
    const refused = client.producer({ topic: 'secret' });
    await expect(refused.send({ value: 'no' })).rejects.toMatchObject({ code: 'TOPIC_ACCESS_DENIED' });
    await refused.close().catch(() => undefined);

    expect((await wsHello(server, { cert: true })).first).toMatchObject({
      type: 'welcome',
      principal: 'alice',
    });
    const admin = await wsHello(server, { cert: true, auth: { username: 'admin', password: 'admin-pw' } });
    expect(admin.first).toMatchObject({ type: 'welcome', principal: 'admin' });
    const wrong = await wsHello(server, { cert: true, auth: { username: 'admin', password: 'wrong' } });
    expect(wrong.first).toMatchObject({ type: 'error', error: { code: 'UNAUTHENTICATED' } });
    const none = await wsHello(server, { cert: false });
    expect(none.first).toMatchObject({ type: 'error', error: { code: 'UNAUTHENTICATED' } });
  }, 60_000);

  it('Kafka: kafkajs over TLS with the certificate and no SASL produces as alice; another topic is TOPIC_AUTHORIZATION_FAILED', async () => {
    const server = await certServer();
    const producer = kafkajs(server, true).producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'alice.orders', acks: -1, messages: [{ value: 'from-kafkajs' }] });
      const denied = await producer
        .send({ topic: 'secret', acks: -1, messages: [{ value: 'no' }] })
        .then(() => 'sent', describeError);
      expect(denied).toMatch(/TOPIC_AUTHORIZATION_FAILED/);
    } finally {
      await producer.disconnect();
    }
    const read = await curl(ADMIN, server, '/v1/topics/alice.orders/partitions/0/records?offset=0');
    expect(JSON.parse(read.body)).toMatchObject({
      records: [{ valueBase64: Buffer.from('from-kafkajs').toString('base64') }],
    });
    const secret = await curl(ADMIN, server, '/v1/topics/secret/partitions/0/records?offset=0');
    expect(JSON.parse(secret.body)).toMatchObject({ records: [] });

    // SASL, when used, wins over the certificate: admin may write `secret`.
    const sasl = new Kafka({
      clientId: 'cert-login-sasl',
      brokers: [server.bootstrap],
      ssl: {
        ca: [readFileSync(files.ca, 'utf8')],
        cert: readFileSync(files.clientCert, 'utf8'),
        key: readFileSync(files.clientKey, 'utf8'),
      },
      sasl: { mechanism: 'plain', username: 'admin', password: 'admin-pw' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 5_000,
    }).producer();
    await sasl.connect();
    try {
      await sasl.send({ topic: 'secret', acks: -1, messages: [{ value: 'by-admin' }] });
    } finally {
      await sasl.disconnect();
    }
  }, 60_000);

  it('turning certificates off ends live certificate sessions with ACCESS_REVOKED; password sessions stay', async () => {
    const server = await certServer();
    const { client, first } = await wsHello(server, { cert: true });
    expect(first).toMatchObject({ type: 'welcome', principal: 'alice' });
    const { sub } = await client.ok<{ sub: number }>({
      type: 'subscribe',
      topic: 'alice.orders',
      partition: 0,
      from: 'latest',
      credit: 100,
    });
    const admin = await wsHello(server, { cert: true, auth: { username: 'admin', password: 'admin-pw' } });
    expect(admin.first).toMatchObject({ type: 'welcome', principal: 'admin' });

    await server.rewrite({ ...SPEC, certificates: false });
    expect(await client.next((f) => f.type === 'subscriptionClosed' && f.sub === sub)).toMatchObject({
      error: { code: 'ACCESS_REVOKED' },
    });
    expect(
      await client.request({
        type: 'produce',
        topic: 'alice.orders',
        records: [{ value: new Uint8Array([1]) }],
      }),
    ).toMatchObject({ error: { code: 'ACCESS_REVOKED' } });
    await admin.client.ok({
      type: 'produce',
      topic: 'alice.orders',
      records: [{ value: new Uint8Array([2]) }],
    });
    // A new connection with the certificate alone is now refused.
    expect((await wsHello(server, { cert: true })).first).toMatchObject({
      type: 'error',
      error: { code: 'UNAUTHENTICATED' },
    });
  }, 60_000);
});

describe.skipIf(!hasOpenssl())('client certificates without certificates.enabled', () => {
  it('the certificate alone is UNAUTHENTICATED on HTTP, SSE, WebSocket and Kafka', async () => {
    const server = await certServer(BASE);
    const read = await curl(CERT(), server, '/v1/topics/alice.orders/partitions/0/records?offset=0');
    expect(read.status).toBe(401);
    expect(JSON.parse(read.body)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    const stream = await curl(CERT(), server, '/v1/topics/alice.orders/events?from=earliest&partition=0');
    expect(stream.status).toBe(401);
    expect((await wsHello(server, { cert: true })).first).toMatchObject({
      type: 'error',
      error: { code: 'UNAUTHENTICATED' },
    });
    const producer = kafkajs(server, true).producer();
    const refused = await producer
      .connect()
      .then(() => producer.send({ topic: 'alice.orders', acks: -1, messages: [{ value: 'no' }] }))
      .then(() => 'sent', describeError);
    await producer.disconnect().catch(() => undefined);
    expect(refused).not.toBe('sent');
    const secret = await curl(ADMIN, server, '/v1/topics/alice.orders/partitions/0/records?offset=0');
    expect(JSON.parse(secret.body)).toMatchObject({ records: [] });
  }, 60_000);
});

describeWithClient(
  'kcat with a client certificate',
  hasOpenssl() && hasKcat(),
  'apt-get install -y kcat',
  () => {
    it('security.protocol=ssl with the certificate, no SASL: produces to alice.orders, refused on secret', async () => {
      const server = await certServer();
      const ssl = [
        ...['-b', server.bootstrap, '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${files.ca}`],
        ...[
          '-X',
          `ssl.certificate.location=${files.clientCert}`,
          '-X',
          `ssl.key.location=${files.clientKey}`,
        ],
      ];
      const produced = await run(KCAT, [...ssl, '-P', '-t', 'alice.orders', '-X', 'acks=all'], {
        input: 'from-kcat\n',
        timeoutMs: 30_000,
      });
      expect(produced.code, produced.stderr).toBe(0);
      const consumed = await run(KCAT, [...ssl, '-C', '-t', 'alice.orders', '-o', 'beginning', '-e'], {
        timeoutMs: 30_000,
      });
      expect(consumed.code, consumed.stderr).toBe(0);
      expect(consumed.stdout.trim()).toBe('from-kcat');
      const denied = await run(KCAT, [...ssl, '-P', '-t', 'secret', '-X', 'acks=all'], {
        input: 'no\n',
        timeoutMs: 30_000,
      });
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/TOPIC_AUTHORIZATION_FAILED|Topic authorization failed/i);
    }, 90_000);
  },
);
