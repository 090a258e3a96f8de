/**
 * TLS on the HTTP/WebSocket port (`tlsCert`, `tlsKey`, `tlsCa`, `tlsClientAuth`), against a real
 * server with certificates made by `openssl` at test time: curl over https (with and without a
 * client certificate under `require`), the Node SDK over wss, clients that trust another CA
 * refused, a plain-HTTP client failing at once instead of hanging, bad files named at start-up,
 * TLS 1.1 refused, and a renewed certificate served after `reloadTls()` without a restart.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TributaryClient, text } from '../src/client/node/index.js';
import { TlsFileError } from '../src/server/auth/tls.js';
import { ConfigError, resolveServerConfig } from '../src/server/config.js';
import { spawnCli } from './fixtures/cli-process.js';
import { freePort } from './fixtures/server-process.js';
import { hasOpenssl, makeTlsFiles, type TlsTestFiles } from './fixtures/tls-certs.js';
import { start, type TestServer, tempDir } from './http-helpers.js';
import { run, waitFor } from './kafka-harness.js';

const CURL = '/usr/bin/curl';

let dir: Awaited<ReturnType<typeof tempDir>>;
let files: TlsTestFiles;
const servers: TestServer[] = [];
const clients: TributaryClient[] = [];

beforeAll(async () => {
  dir = await tempDir('tributary-tls-');
  files = makeTlsFiles(dir.path);
});

afterAll(async () => {
  await dir.remove();
});

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
});

async function tlsServer(options: Parameters<typeof start>[1] = {}): Promise<TestServer> {
  const data = await tempDir('tributary-tls-data-');
  const server = await start(data.path, { tlsCert: files.serverCert, tlsKey: files.serverKey, ...options });
  servers.push(server);
  return server;
}

function curl(args: readonly string[]) {
  return run(CURL, ['--silent', '--show-error', '--max-time', '10', ...args], { timeoutMs: 20_000 });
}

/** The subject of the certificate a new TLS connection to `port` is served. */
function servedSubject(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, ca: readFileSync(files.ca), servername: 'localhost' },
      () => {
        const subject = socket.getPeerCertificate().subject;
        socket.destroy();
        resolve(`O=${String(subject.O ?? '')} CN=${String(subject.CN)}`);
      },
    );
    socket.once('error', reject);
  });
}

describe.skipIf(!hasOpenssl())('TLS on the HTTP and WebSocket port', () => {
  it('serves https to curl that trusts the CA, by IP and by name; curl without it or with another CA refuses', async () => {
    const server = await tlsServer();
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
    expect(server.tls).toBe(true);
    const ok = await curl(['--cacert', files.ca, `${server.url}/healthz`]);
    expect(ok).toMatchObject({ code: 0, stdout: '{"status":"ok"}' });
    const byName = await curl(['--cacert', files.ca, `https://localhost:${server.port}/v1/topics`]);
    expect(byName).toMatchObject({ code: 0, stdout: '{"topics":[]}' });
    // 60: the peer certificate cannot be authenticated with the given CA certificates.
    expect((await curl([`${server.url}/healthz`])).code).toBe(60);
    expect((await curl(['--cacert', files.otherCa, `${server.url}/healthz`])).code).toBe(60);
  });

  it('the Node SDK produces and consumes over wss:// with the CA; with another CA or none it is refused', async () => {
    const server = await tlsServer();
    const url = `wss://127.0.0.1:${server.port}/v1/ws`;
    const client = await connect({ url, reconnect: false, tls: { ca: readFileSync(files.ca) } });
    clients.push(client);
    await client.admin.createTopic('secure');
    const producer = client.producer({ topic: 'secure' });
    expect((await producer.send({ key: 'k', value: 'over tls' })).offset).toBe(0);
    await producer.close();
    const consumer = client.consumer({ topic: 'secure', from: 'earliest' });
    const first = await consumer[Symbol.asyncIterator]().next();
    expect(first.done ? 'done' : text(first.value.value)).toBe('over tls');
    await consumer.close();

    for (const tls of [{ ca: readFileSync(files.otherCa) }, undefined]) {
      const refused = await connect({
        url,
        reconnect: false,
        connectTimeoutMs: 5_000,
        ...(tls === undefined ? {} : { tls }),
      }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(Error);
    }
  });

  it('a plain-HTTP client on the TLS port fails at once instead of hanging', async () => {
    const server = await tlsServer();
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/healthz', timeout: 15_000 });
      req.on('response', (res) => resolve(`answered ${res.statusCode}`));
      req.on('timeout', () => {
        req.destroy();
        resolve('timeout');
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error /);
    expect(Date.now() - started).toBeLessThan(5_000);
    // curl: an empty reply or a reset, never its timeout (28).
    const plain = await curl([`http://127.0.0.1:${server.port}/healthz`]);
    expect([52, 56]).toContain(plain.code);
  });

  it('closes a connection that does not finish its handshake in tlsHandshakeTimeoutMs (silent, or stuck in a partial record), on both ports', async () => {
    const server = await tlsServer({ tlsHandshakeTimeoutMs: 300, kafka: { port: 0 } });
    const kafkaPort = server.kafka?.port ?? 0;
    const closedAfter = (port: number, bytes: Buffer | null): Promise<number> =>
      new Promise((resolve) => {
        const started = Date.now();
        const socket = netConnect({ host: '127.0.0.1', port }, () => {
          if (bytes !== null) socket.write(bytes);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Date.now() - started));
        setTimeout(() => socket.destroy(), 10_000);
      });
    for (const port of [server.port, kafkaPort]) {
      // Silent: closed by the handshake timeout (well before the test's own 10 s cut-off).
      expect(await closedAfter(port, null)).toBeLessThan(5_000);
      // A TLS record header announcing more bytes than ever come: the same timeout.
      expect(await closedAfter(port, Buffer.from('16030100ff01ffffff0303deadbeef', 'hex'))).toBeLessThan(
        5_000,
      );
    }
    expect((await curl(['--cacert', files.ca, `${server.url}/healthz`])).code).toBe(0);
  });

  it('refuses TLS 1.1 and accepts TLS 1.2 and 1.3', async () => {
    const server = await tlsServer();
    for (const version of ['--tlsv1.2', '--tlsv1.3']) {
      const ok = await curl([version, '--cacert', files.ca, `${server.url}/healthz`]);
      expect(ok.code, version).toBe(0);
    }
    const old = await new Promise<string>((resolve) => {
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: server.port,
          ca: readFileSync(files.ca),
          maxVersion: 'TLSv1.1',
          minVersion: 'TLSv1',
        },
        () => resolve('connected'),
      );
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? ''}`));
    });
    expect(old).toBe('error ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it("tlsClientAuth require: curl with the client certificate gets in, without one or with another CA's it is refused", async () => {
    const server = await tlsServer({ tlsCa: files.ca, tlsClientAuth: 'require' });
    const withCert = await curl([
      ...['--cacert', files.ca, '--cert', files.clientCert, '--key', files.clientKey],
      `${server.url}/healthz`,
    ]);
    expect(withCert).toMatchObject({ code: 0, stdout: '{"status":"ok"}' });
    const without = await curl(['--cacert', files.ca, `${server.url}/healthz`]);
    expect(without.code).not.toBe(0);
    const foreign = await curl([
      ...['--cacert', files.ca, '--cert', files.otherClientCert, '--key', files.otherClientKey],
      `${server.url}/healthz`,
    ]);
    expect(foreign.code).not.toBe(0);

    const url = `wss://127.0.0.1:${server.port}/v1/ws`;
    const client = await connect({
      url,
      reconnect: false,
      tls: {
        ca: readFileSync(files.ca),
        cert: readFileSync(files.clientCert),
        key: readFileSync(files.clientKey),
      },
    });
    clients.push(client);
    expect(await client.admin.listTopics()).toEqual([]);
    const refused = await connect({
      url,
      reconnect: false,
      connectTimeoutMs: 5_000,
      tls: { ca: readFileSync(files.ca) },
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
  });

  it('tlsClientAuth request: a client without a certificate still gets in', async () => {
    const server = await tlsServer({ tlsCa: files.ca, tlsClientAuth: 'request' });
    expect((await curl(['--cacert', files.ca, `${server.url}/healthz`])).code).toBe(0);
    const withCert = await curl([
      ...['--cacert', files.ca, '--cert', files.clientCert, '--key', files.clientKey],
      `${server.url}/healthz`,
    ]);
    expect(withCert.code).toBe(0);
  });

  it('reloadTls() serves a renewed certificate to new connections without a restart; a bad renewal keeps the old one', async () => {
    const certPath = `${dir.path}/live.pem`;
    const keyPath = `${dir.path}/live.key`;
    copyFileSync(files.serverCert, certPath);
    copyFileSync(files.serverKey, keyPath);
    const server = await tlsServer({ tlsCert: certPath, tlsKey: keyPath });
    expect(await servedSubject(server.port)).toBe('O= CN=localhost');
    copyFileSync(files.server2Cert, certPath);
    copyFileSync(files.server2Key, keyPath);
    await server.reloadTls();
    expect(await servedSubject(server.port)).toBe('O=renewed CN=localhost');

    // A key that is not the certificate's: refused, and the renewed certificate stays.
    copyFileSync(files.serverCert, certPath);
    await expect(server.reloadTls()).rejects.toThrow(TlsFileError);
    expect(await servedSubject(server.port)).toBe('O=renewed CN=localhost');
    expect((await curl(['--cacert', files.ca, `${server.url}/healthz`])).code).toBe(0);
  });

  it("names the bad file at start-up: missing, not PEM, a key that is not the certificate's, a CA bundle without certificates", async () => {
    const data = await tempDir('tributary-tls-bad-');
    const notPem = `${dir.path}/not-pem.key`;
    writeFileSync(notPem, 'just some bytes\n');
    const cases: [Record<string, string>, RegExp][] = [
      [{ tlsCert: `${dir.path}/missing.pem` }, /tlsCert file .*missing\.pem: cannot be read: no such file/],
      [{ tlsKey: notPem }, /tlsKey file .*not-pem\.key: not PEM/],
      [
        { tlsKey: files.otherServerKey },
        /tlsKey file .*other-server\.key: the key does not match the certificate/,
      ],
      [{ tlsCert: files.serverKey }, /tlsCert file .*server\.key: holds no PEM certificate/],
      [
        { tlsCa: files.serverKey, tlsClientAuth: 'require' },
        /tlsCa file .*server\.key: holds no PEM certificate/,
      ],
    ];
    try {
      for (const [options, message] of cases) {
        const error = await start(data.path, {
          tlsCert: files.serverCert,
          tlsKey: files.serverKey,
          ...options,
        }).catch((e: unknown) => e);
        expect(error, JSON.stringify(options)).toBeInstanceOf(TlsFileError);
        expect(String((error as Error).message)).toMatch(message);
      }
      // Settings that contradict each other are refused before any file is read.
      await expect(start(data.path, { tlsCert: files.serverCert })).rejects.toThrow(/tlsCert and tlsKey/);
      await expect(
        start(data.path, { tlsCert: files.serverCert, tlsKey: files.serverKey, tlsClientAuth: 'require' }),
      ).rejects.toThrow(/needs tlsCa/);
    } finally {
      await data.remove();
    }
  });

  it('tributary serve: SIGHUP serves a renewed certificate on both ports without a restart; a bad file stops the start naming it', async () => {
    const data = await tempDir('tributary-tls-serve-');
    const certPath = `${data.path}/live.pem`;
    const keyPath = `${data.path}/live.key`;
    copyFileSync(files.serverCert, certPath);
    copyFileSync(files.serverKey, keyPath);
    const [port, kafkaPort] = [await freePort(), await freePort()];
    const serve = spawnCli([
      ...['serve', '--port', String(port), '--kafka-port', String(kafkaPort), '--data', `${data.path}/d`],
      ...['--tls-cert', certPath, '--tls-key', keyPath],
    ]);
    try {
      await waitFor(
        () => serve.output().includes('Kafka protocol (TLS) listening'),
        30_000,
        'the server to start',
      );
      expect(serve.output()).toContain(`Tributary listening on https://127.0.0.1:${port}`);
      expect(await servedSubject(port)).toBe('O= CN=localhost');
      expect(await servedSubject(kafkaPort)).toBe('O= CN=localhost');

      copyFileSync(files.server2Cert, certPath);
      copyFileSync(files.server2Key, keyPath);
      serve.child.kill('SIGHUP');
      await waitFor(() => serve.output().includes('TLS certificate and key reloaded'), 10_000, 'the reload');
      expect(await servedSubject(port)).toBe('O=renewed CN=localhost');
      expect(await servedSubject(kafkaPort)).toBe('O=renewed CN=localhost');

      // A renewal caught half-written: logged, and the certificate being served stays.
      writeFileSync(certPath, '-----BEGIN CERTIFICATE-----\ntruncat');
      serve.child.kill('SIGHUP');
      await waitFor(() => serve.output().includes('TLS reload failed'), 10_000, 'the failed reload');
      expect(serve.output()).toContain('live.pem');
      expect(await servedSubject(port)).toBe('O=renewed CN=localhost');
      expect(serve.child.exitCode).toBeNull();
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }

    const bad = spawnCli([
      ...['serve', '--port', '0', '--kafka-port', '0', '--data', `${data.path}/d`],
      ...['--tls-cert', certPath, '--tls-key', keyPath],
    ]);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/TLS tlsCert file .*live\.pem: holds no PEM certificate/);
    await data.remove();
  }, 120_000);

  it('the CLI reaches an https:// server with --ca (or TRIBUTARY_CLIENT_CA), and --cert/--key under require; without the CA it says why', async () => {
    const server = await tlsServer({ tlsCa: files.ca, tlsClientAuth: 'require' });
    const client = ['--cert', files.clientCert, '--key', files.clientKey];
    const cli = async (args: readonly string[], env: Record<string, string> = {}) => {
      const child = spawnCli(args, env);
      const code = await child.exited;
      return { code, output: child.output() };
    };
    const created = await cli([
      'topics',
      'create',
      'cli-tls',
      '--url',
      server.url,
      '--ca',
      files.ca,
      ...client,
    ]);
    expect(created, created.output).toMatchObject({ code: 0 });
    const listed = await cli(['topics', 'list', '--url', server.url, ...client], {
      TRIBUTARY_CLIENT_CA: files.ca,
    });
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toContain('cli-tls');

    const untrusted = await cli(['topics', 'list', '--url', server.url, ...client]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.output).toContain('not trusted (give the CA that signed it with --ca)');
    const noClientCert = await cli(['topics', 'list', '--url', server.url, '--ca', files.ca]);
    expect(noClientCert.code).toBe(1);
    const missing = await cli(['topics', 'list', '--url', server.url, '--ca', `${dir.path}/nope.pem`]);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/Cannot read --ca file .*nope\.pem/);

    const produced = await curl([
      ...['--cacert', files.ca, ...client, '-X', 'POST', '-H', 'content-type: application/json'],
      ...['-d', '{"records":[{"value":"via https"}]}', `${server.url}/v1/topics/cli-tls/records`],
    ]);
    expect(produced.code, produced.stderr).toBe(0);
    const tlsArgs = ['--url', server.url, '--ca', files.ca, ...client];
    const sse = await cli(['consume', 'cli-tls', '--from', 'earliest', '--max', '1', ...tlsArgs]);
    expect(sse.code, sse.output).toBe(0);
    expect(sse.output).toContain('"value":"via https"');
    const group = await cli([
      'consume',
      'cli-tls',
      '--group',
      'g',
      '--from',
      'earliest',
      '--max',
      '1',
      ...tlsArgs,
    ]);
    expect(group.code, group.output).toBe(0);
    expect(group.output).toContain('"value":"via https"');
  }, 120_000);
});

describe('the TLS settings', () => {
  it('take paths from flags, variables and a config file (relative to the file) and check the client-auth mode', () => {
    const fromFile = resolveServerConfig({
      file: {
        path: '/etc/tributary/tributary.json',
        text: JSON.stringify({
          tlsCert: 'tls/server.pem',
          tlsKey: '/keys/server.key',
          tlsCa: 'ca.pem',
          tlsClientAuth: 'require',
        }),
      },
      cwd: '/elsewhere',
    });
    expect(fromFile).toMatchObject({
      tlsCert: '/etc/tributary/tls/server.pem',
      tlsKey: '/keys/server.key',
      tlsCa: '/etc/tributary/ca.pem',
      tlsClientAuth: 'require',
    });
    const fromEnv = resolveServerConfig({
      env: { TRIBUTARY_TLS_CERT: 'a.pem', TRIBUTARY_TLS_KEY: 'a.key', TRIBUTARY_TLS_CLIENT_AUTH: ' none ' },
      flags: { tlsKey: 'b.key' },
      cwd: '/run',
    });
    expect(fromEnv).toMatchObject({
      tlsCert: '/run/a.pem',
      tlsKey: '/run/b.key',
      tlsCa: '',
      tlsClientAuth: 'none',
    });
    expect(resolveServerConfig({})).toMatchObject({
      tlsCert: '',
      tlsKey: '',
      tlsCa: '',
      tlsClientAuth: 'none',
    });

    expect(() => resolveServerConfig({ flags: { tlsClientAuth: 'optional' } })).toThrow(ConfigError);
    expect(() => resolveServerConfig({ flags: { tlsClientAuth: 'optional' } })).toThrow(
      /none, request, require/,
    );
    expect(() =>
      resolveServerConfig({ file: { path: 'c.json', text: JSON.stringify({ tlsCert: 42 }) } }),
    ).toThrow(/"tlsCert" is 42/);
    expect(() => resolveServerConfig({ flags: { tlsKey: 'k.pem' } })).toThrow(/tlsCert and tlsKey/);
    expect(() => resolveServerConfig({ flags: { tlsCa: 'ca.pem' } })).toThrow(/tlsCa only with tlsCert/);
    expect(() =>
      resolveServerConfig({ flags: { tlsCert: 'c.pem', tlsKey: 'k.pem', tlsClientAuth: 'request' } }),
    ).toThrow(/needs tlsCa/);
  });
});
