/**
 * The Kafka listener over TLS (`tlsCert`/`tlsKey`: the Kafka port speaks TLS only, clients set
 * `security.protocol=SSL`), with certificates made by `openssl` at test time, against real
 * clients: kcat (librdkafka), kafka-python and kafkajs produce and consume trusting the test CA,
 * and refuse a server whose CA they do not trust; under `tlsClientAuth require` kcat gets in with
 * its client certificate and not without one; a plain Kafka client on the TLS port is cut off at
 * once instead of hanging; SASL (SCRAM-SHA-256 and PLAIN) runs inside TLS (`SASL_SSL`) with an
 * auth file.
 *
 * kcat and kafka-python are skipped when not installed (`apt-get install -y kcat python3-kafka`),
 * unless TRIBUTARY_REQUIRE_SERVICES=1.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTestAuthFile } from './fixtures/kafka-security.js';
import { hasOpenssl, makeTlsFiles, type TlsTestFiles } from './fixtures/tls-certs.js';
import {
  describeWithClient,
  hasKafkaPython,
  hasKcat,
  type KafkaTestServer,
  KCAT,
  killChildren,
  PYTHON,
  RawKafka,
  run,
  startKafkaServer,
  tempDir,
  waitFor,
} from './kafka-harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let files: TlsTestFiles;
const servers: KafkaTestServer[] = [];
const dataDirs: Awaited<ReturnType<typeof tempDir>>[] = [];

beforeAll(async () => {
  dir = await tempDir('tributary-kafka-tls-');
  files = makeTlsFiles(dir.path);
});

afterAll(async () => {
  await dir.remove();
});

afterEach(async () => {
  killChildren();
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
  await Promise.allSettled(dataDirs.splice(0).map((d) => d.remove()));
});

async function tlsKafkaServer(
  options: Parameters<typeof startKafkaServer>[1] = {},
): Promise<KafkaTestServer> {
  const data = await tempDir('tributary-kafka-tls-data-');
  dataDirs.push(data);
  const server = await startKafkaServer(data.path, {
    tlsCert: files.serverCert,
    tlsKey: files.serverKey,
    ...options,
  });
  servers.push(server);
  return server;
}

describe.skipIf(!hasOpenssl())('Kafka over TLS', () => {
  it('cuts a plain Kafka client on the TLS port off at once', async () => {
    const server = await tlsKafkaServer();
    const raw = await RawKafka.open(server.kafka.port);
    const started = Date.now();
    raw.send('ApiVersions', 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
    await waitFor(() => raw.closed, 5_000, 'the server to close the plain connection');
    expect(raw.payloads).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    raw.close();
  });

  it('kafkajs with ssl: { ca } produces and consumes; with another CA it is refused', async () => {
    const server = await tlsKafkaServer();
    const kafka = (ca: string): Kafka =>
      new Kafka({
        clientId: 'tls-test',
        brokers: [server.bootstrap],
        ssl: { ca: [readFileSync(ca, 'utf8')] },
        logLevel: logLevel.NOTHING,
        retry: { retries: 1, initialRetryTime: 100 },
        connectionTimeout: 5_000,
      });
    const producer = kafka(files.ca).producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'js-tls', acks: -1, messages: [{ key: 'k', value: 'over tls' }] });
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka(files.ca).consumer({ groupId: 'js-tls-readers', maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'js-tls', fromBeginning: true });
      const seen: string[] = [];
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value));
        },
      });
      await waitFor(() => seen.length > 0, 20_000, 'kafkajs to consume over TLS');
      expect(seen).toEqual(['over tls']);
    } finally {
      await consumer.disconnect();
    }

    const refused = kafka(files.otherCa).producer();
    await expect(refused.connect()).rejects.toThrow(/certificate/i);
  }, 60_000);

  it('kafkajs authenticates with SCRAM-SHA-256 inside TLS (SASL_SSL); a wrong password is refused', async () => {
    const auth = await writeTestAuthFile(dir.path, {
      users: { alice: 'alice-pw' },
      jwtSecret: 'kafka-tls-test-secret-of-32-bytes!!!',
      acls: [{ effect: 'allow', principal: 'alice', resource: 'topic', name: '*', operations: ['all'] }],
    });
    const server = await tlsKafkaServer({ authFile: auth.path });
    const kafka = (password: string): Kafka =>
      new Kafka({
        clientId: 'tls-sasl-test',
        brokers: [server.bootstrap],
        ssl: { ca: [readFileSync(files.ca, 'utf8')] },
        sasl: { mechanism: 'scram-sha-256', username: 'alice', password },
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 5_000,
      });
    const admin = kafka('alice-pw').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'sasl-tls', numPartitions: 1 }] });
      expect(await admin.listTopics()).toContain('sasl-tls');
    } finally {
      await admin.disconnect();
    }
    const wrong = kafka('wrong').admin();
    await expect(wrong.connect()).rejects.toThrow(/SASL|authentication/i);
  }, 60_000);
});

function kcat(server: KafkaTestServer, args: readonly string[], input = '', timeoutMs = 30_000) {
  return run(KCAT, ['-b', server.bootstrap, '-X', 'security.protocol=ssl', ...args], { input, timeoutMs });
}

describeWithClient('kcat over TLS', hasOpenssl() && hasKcat(), 'apt-get install -y kcat', () => {
  it('produces and consumes with ssl.ca.location; refuses a server its CA did not sign', async () => {
    const server = await tlsKafkaServer();
    const ca = ['-X', `ssl.ca.location=${files.ca}`];
    const produced = await kcat(server, [...ca, '-P', '-t', 'kcat-tls', '-K', ':'], 'a:one\nb:two\n');
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await kcat(server, [
      ...ca,
      '-C',
      '-t',
      'kcat-tls',
      '-o',
      'beginning',
      '-e',
      '-f',
      '%k=%s\\n',
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.split('\n').filter(Boolean).sort()).toEqual(['a=one', 'b=two']);

    const wrong = await kcat(server, ['-X', `ssl.ca.location=${files.otherCa}`, '-L', '-m', '5'], '', 20_000);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/certificate verify failed|SSL handshake failed/i);
  }, 90_000);

  it('SASL_SSL: kcat authenticates with PLAIN inside TLS and produces', async () => {
    const auth = await writeTestAuthFile(dir.path, {
      users: { bob: 'bob-pw' },
      jwtSecret: 'kafka-tls-test-secret-of-32-bytes!!!',
      acls: [{ effect: 'allow', principal: 'bob', resource: 'topic', name: '*', operations: ['all'] }],
    });
    const server = await tlsKafkaServer({ authFile: auth.path });
    const sasl = [
      ...['-X', 'security.protocol=sasl_ssl', '-X', `ssl.ca.location=${files.ca}`],
      ...['-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=bob', '-X', 'sasl.password=bob-pw'],
    ];
    const produced = await run(KCAT, ['-b', server.bootstrap, ...sasl, '-P', '-t', 'sasl-ssl'], {
      input: 'one\n',
      timeoutMs: 30_000,
    });
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await run(
      KCAT,
      ['-b', server.bootstrap, ...sasl, '-C', '-t', 'sasl-ssl', '-o', 'beginning', '-e'],
      { timeoutMs: 30_000 },
    );
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.trim()).toBe('one');
  }, 90_000);

  it('tlsClientAuth require: kcat gets in with its client certificate, not without one', async () => {
    const server = await tlsKafkaServer({ tlsCa: files.ca, tlsClientAuth: 'require' });
    const ca = ['-X', `ssl.ca.location=${files.ca}`];
    const withCert = await kcat(server, [
      ...ca,
      ...['-X', `ssl.certificate.location=${files.clientCert}`, '-X', `ssl.key.location=${files.clientKey}`],
      ...['-L', '-m', '10'],
    ]);
    expect(withCert.code, withCert.stderr).toBe(0);
    expect(withCert.stdout).toContain('1 brokers');
    const without = await kcat(server, [...ca, '-L', '-m', '5'], '', 20_000);
    expect(without.code).not.toBe(0);
  }, 90_000);
});

const PYTHON_TLS = `
import json, sys
from kafka import KafkaConsumer, KafkaProducer
b, ca = sys.argv[1], sys.argv[2]
p = KafkaProducer(bootstrap_servers=b, acks='all', security_protocol='SSL', ssl_cafile=ca)
for i in range(3):
    p.send('py-tls', ('v%d' % i).encode())
p.flush()
p.close()
c = KafkaConsumer('py-tls', bootstrap_servers=b, auto_offset_reset='earliest', consumer_timeout_ms=3000,
                  security_protocol='SSL', ssl_cafile=ca)
print(json.dumps(sorted(m.value.decode() for m in c)), flush=True)
c.close()
`;

const PYTHON_WRONG_CA = `
import ssl, sys
from kafka import KafkaProducer
from kafka.errors import NoBrokersAvailable
try:
    KafkaProducer(bootstrap_servers=sys.argv[1], security_protocol='SSL', ssl_cafile=sys.argv[2],
                  api_version_auto_timeout_ms=3000)
    print('CONNECTED', flush=True)
except ssl.SSLCertVerificationError:
    print('REFUSED', flush=True)
except NoBrokersAvailable:
    print('NO BROKERS', flush=True)
`;

describeWithClient(
  'kafka-python over TLS',
  hasOpenssl() && hasKafkaPython(),
  'apt-get install -y python3-kafka',
  () => {
    it("produces and consumes with security_protocol='SSL'; refuses a server its CA did not sign", async () => {
      const server = await tlsKafkaServer();
      const ok = await run(PYTHON, ['-c', PYTHON_TLS, server.bootstrap, files.ca], { timeoutMs: 60_000 });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual(['v0', 'v1', 'v2']);
      const wrong = await run(PYTHON, ['-c', PYTHON_WRONG_CA, server.bootstrap, files.otherCa], {
        timeoutMs: 60_000,
      });
      expect(wrong.stdout.trim(), wrong.stderr).toBe('REFUSED');
    }, 120_000);
  },
);
