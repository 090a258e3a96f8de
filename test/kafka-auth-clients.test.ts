/**
 * Real Kafka clients, unmodified, authenticating against a server with an auth file, each with
 * every SASL mechanism it has:
 * - kcat 1.7.1 / librdkafka 2.0.2: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512. kcat has no way to hand
 *   librdkafka a signed OAUTHBEARER token: its OIDC method (`sasl.oauthbearer.method=oidc`) is
 *   not in this build ("depends on libcurl"), and a token refresh callback needs the C API; so
 *   kcat only shows that librdkafka's built-in "unsecured JWT" (alg none) is refused, and
 *   OAUTHBEARER with a signed token is tested with kafka-python and kafkajs;
 * - kafka-python 2.0.2 (SaslHandshake v0 and raw tokens): PLAIN, SCRAM-SHA-256/512, OAUTHBEARER
 *   with `sasl_oauth_token_provider`;
 * - kafkajs 2.2.4: PLAIN, SCRAM-SHA-256/512, OAUTHBEARER with `oauthBearerProvider`, and
 *   re-authentication on the same connection before the token expires (KIP-368).
 * Wrong passwords, unknown users and bad tokens are refused; produce and fetch the ACLs do not
 * allow get Kafka's authorization errors in each client (every API's codes, group ones included,
 * are checked byte for byte in kafka-acl.test.ts).
 */
import { join } from 'node:path';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt, writeTestAuthFile } from './fixtures/kafka-security.js';
import {
  describeWithClient,
  hasKafkaPython,
  hasKcat,
  type KafkaTestServer,
  KCAT,
  killChildren,
  PYTHON,
  run,
  startKafkaServer,
  tempDir,
} from './kafka-harness.js';

const SECRET = 'kafka-clients-test-secret-of-32-bytes!';
const PASSWORDS: Record<string, string> = { alice: 'alice-pw', mallory: 'mallory-pw' };

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: KafkaTestServer;

/** Failed authentications the server counted on the Kafka port (all reasons). */
async function authFailures(): Promise<number> {
  const { values } = await server.metrics.authFailures.get();
  return values.filter((v) => v.labels.protocol === 'kafka').reduce((sum, v) => sum + v.value, 0);
}

beforeAll(async () => {
  dir = await tempDir('tributary-kafka-auth-clients-');
  const auth = await writeTestAuthFile(dir.path, {
    users: PASSWORDS,
    jwtSecret: SECRET,
    acls: [
      {
        effect: 'allow',
        principal: 'alice',
        resource: 'topic',
        name: 'shared.',
        pattern: 'prefix',
        operations: ['all'],
      },
      {
        effect: 'allow',
        principal: 'alice',
        resource: 'group',
        name: 'g-',
        pattern: 'prefix',
        operations: ['read'],
      },
      {
        effect: 'allow',
        principal: 'mallory',
        resource: 'topic',
        name: 'shared.public',
        operations: ['describe'],
      },
      {
        effect: 'allow',
        principal: 'mallory',
        resource: 'group',
        name: 'g-mallory',
        operations: ['describe'],
      },
    ],
  });
  server = await startKafkaServer(join(dir.path, 'data'), { authFile: auth.path });
  // The topic mallory may describe but not write or read.
  const admin = kafkajs({ mechanism: 'plain', username: 'alice', password: 'alice-pw' }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'shared.public', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafkajs({ mechanism: 'plain', username: 'alice', password: 'alice-pw' }).producer();
  await producer.connect();
  await producer.send({ topic: 'shared.public', messages: [{ value: 'secret' }] });
  await producer.disconnect();
});

afterAll(async () => {
  killChildren();
  await server?.close();
  await dir?.remove();
});

// ---- kcat ------------------------------------------------------------------------------------

function saslArgs(mechanism: string, user: string, password: string): string[] {
  return [
    ...['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`],
    ...['-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`],
  ];
}

function kcat(auth: readonly string[], args: readonly string[], input = '', timeoutMs = 20_000) {
  return run(KCAT, ['-b', server.bootstrap, ...auth, ...args], { input, timeoutMs });
}

describeWithClient('kcat (librdkafka 2.0.2) with SASL', hasKcat(), 'apt-get install -y kcat', () => {
  const mechanisms: [string, () => string[]][] = [
    ['PLAIN', () => saslArgs('PLAIN', 'alice', 'alice-pw')],
    ['SCRAM-SHA-256', () => saslArgs('SCRAM-SHA-256', 'alice', 'alice-pw')],
    ['SCRAM-SHA-512', () => saslArgs('SCRAM-SHA-512', 'alice', 'alice-pw')],
  ];
  for (const [name, auth] of mechanisms) {
    it(`${name}: produces and consumes`, async () => {
      const topic = `shared.kcat-${name.toLowerCase()}`;
      const produced = await kcat(auth(), ['-P', '-t', topic, '-X', 'acks=all'], 'one\ntwo\n');
      expect(produced.code, produced.stderr).toBe(0);
      const consumed = await kcat(auth(), ['-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%s\\n']);
      expect(consumed.code, consumed.stderr).toBe(0);
      expect(consumed.stdout).toBe('one\ntwo\n');
    }, 60_000);
  }

  it('refuses a wrong password, an unknown user and librdkafka’s unsigned (alg none) token', async () => {
    const attempts = [
      saslArgs('PLAIN', 'alice', 'nope'),
      saslArgs('SCRAM-SHA-256', 'alice', 'nope'),
      saslArgs('SCRAM-SHA-512', 'nobody', 'alice-pw'),
      [
        ...['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=OAUTHBEARER'],
        ...[
          '-X',
          'enable.sasl.oauthbearer.unsecure.jwt=true',
          '-X',
          'sasl.oauthbearer.config=principal=alice',
        ],
      ],
    ];
    for (const auth of attempts) {
      const before = await authFailures();
      const result = await kcat(auth, ['-L', '-m', '5'], '', 20_000);
      expect(result.code, auth.join(' ')).not.toBe(0);
      expect(result.stderr, auth.join(' ')).toMatch(/Authentication failed/);
      expect(await authFailures()).toBeGreaterThan(before);
    }
  }, 120_000);

  it('gets Kafka authorization errors for what the ACLs do not allow', async () => {
    const mallory = saslArgs('PLAIN', 'mallory', 'mallory-pw');
    const produced = await kcat(mallory, ['-P', '-t', 'shared.public', '-X', 'acks=all'], 'x\n');
    expect(produced.code).not.toBe(0);
    expect(produced.stderr).toMatch(/TOPIC_AUTHORIZATION_FAILED|Topic authorization failed/i);
    const consumed = await kcat(mallory, ['-C', '-t', 'shared.public', '-o', 'beginning', '-e'], '', 8_000);
    expect(consumed.stderr).toMatch(/TOPIC_AUTHORIZATION_FAILED|Topic authorization failed/i);
  }, 60_000);
});

// ---- kafka-python ----------------------------------------------------------------------------

/** Produces one record and reads it back; prints the value, or the error's class name. */
const PYTHON_CLIENT = `
import sys, json
from kafka import KafkaProducer, KafkaConsumer
from kafka.oauth.abstract import AbstractTokenProvider
bootstrap, mechanism, user, password, topic, token = sys.argv[1:7]
class Provider(AbstractTokenProvider):
    def token(self):
        return token
common = dict(bootstrap_servers=bootstrap, security_protocol='SASL_PLAINTEXT', sasl_mechanism=mechanism,
              api_version_auto_timeout_ms=10000, request_timeout_ms=15000)
if mechanism == 'OAUTHBEARER':
    common['sasl_oauth_token_provider'] = Provider()
else:
    common.update(sasl_plain_username=user, sasl_plain_password=password)
try:
    producer = KafkaProducer(max_block_ms=10000, **common)
    producer.send(topic, b'from-python').get(timeout=15)
    producer.close()
    consumer = KafkaConsumer(topic, auto_offset_reset='earliest', consumer_timeout_ms=5000, **common)
    values = [m.value.decode() for m in consumer]
    consumer.close()
    print(json.dumps(values))
except Exception as e:
    print(type(e).__name__ + ': ' + str(e))
`;

async function python(mechanism: string, user: string, password: string, topic: string, token = '') {
  return run(PYTHON, ['-c', PYTHON_CLIENT, server.bootstrap, mechanism, user, password, topic, token], {
    timeoutMs: 60_000,
  });
}

describeWithClient(
  'kafka-python 2.0.2 with SASL',
  hasKafkaPython(),
  'apt-get install -y python3-kafka',
  () => {
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']) {
      it(`${mechanism}: produces and consumes`, async () => {
        const token = await signJwt(SECRET, 'alice', 600);
        const result = await python(
          mechanism,
          'alice',
          'alice-pw',
          `shared.py-${mechanism.toLowerCase()}`,
          token,
        );
        expect(result.stdout.trim(), result.stderr).toBe('["from-python"]');
      }, 90_000);
    }

    it('refuses a wrong password, an unknown user and a bad token (kafka-python reports NoBrokersAvailable)', async () => {
      const forged = await signJwt('not-the-secret-not-the-secret-123', 'alice', 600);
      for (const [mechanism, user, password, token] of [
        ['PLAIN', 'alice', 'nope', ''],
        ['SCRAM-SHA-512', 'nobody', 'alice-pw', ''],
        ['OAUTHBEARER', '', '', forged],
      ] as const) {
        const before = await authFailures();
        const result = await python(mechanism, user, password, 'shared.py-x', token);
        expect(result.stdout, mechanism).toMatch(/NoBrokersAvailable|AuthenticationFailed/);
        expect(await authFailures(), mechanism).toBeGreaterThan(before);
      }
    }, 120_000);

    it('gets TopicAuthorizationFailedError for a topic it may not write', async () => {
      const result = await python('PLAIN', 'mallory', 'mallory-pw', 'shared.public');
      expect(result.stdout).toMatch(/TopicAuthorizationFailed/);
    }, 90_000);
  },
);

// ---- kafkajs ---------------------------------------------------------------------------------

function kafkajs(sasl: SASLOptions): Kafka {
  return new Kafka({
    clientId: 'tributary-auth-test',
    brokers: [server.bootstrap],
    sasl,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  });
}

async function roundTrip(client: Kafka, topic: string, groupId: string): Promise<string[]> {
  const producer = client.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ value: 'from-kafkajs' }] });
  await producer.disconnect();
  const consumer = client.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? '');
          resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return values;
}

describe('kafkajs 2.2.4 with SASL', () => {
  const cases: [string, () => Promise<SASLOptions>][] = [
    ['PLAIN', async () => ({ mechanism: 'plain', username: 'alice', password: 'alice-pw' })],
    ['SCRAM-SHA-256', async () => ({ mechanism: 'scram-sha-256', username: 'alice', password: 'alice-pw' })],
    ['SCRAM-SHA-512', async () => ({ mechanism: 'scram-sha-512', username: 'alice', password: 'alice-pw' })],
    [
      'OAUTHBEARER',
      async () => ({
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => ({ value: await signJwt(SECRET, 'alice', 600) }),
      }),
    ],
  ];
  for (const [name, sasl] of cases) {
    it(`${name}: produces and consumes in a group`, async () => {
      const values = await roundTrip(
        kafkajs(await sasl()),
        `shared.js-${name.toLowerCase()}`,
        `g-${name.toLowerCase()}`,
      );
      expect(values).toEqual(['from-kafkajs']);
    }, 60_000);
  }

  it('refuses a wrong password, an unknown user and a bad token', async () => {
    const attempts: SASLOptions[] = [
      { mechanism: 'plain', username: 'alice', password: 'nope' },
      { mechanism: 'scram-sha-256', username: 'nobody', password: 'x' },
      { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 'not.a.jwt' }) },
    ];
    for (const sasl of attempts) {
      const admin = kafkajs(sasl).admin();
      await expect(admin.connect()).rejects.toThrow(/SASL|[Aa]uthentication/);
      await admin.disconnect();
    }
  }, 60_000);

  it('gets TOPIC_AUTHORIZATION_FAILED for a topic it may not write', async () => {
    const client = kafkajs({ mechanism: 'plain', username: 'mallory', password: 'mallory-pw' });
    const producer = client.producer();
    await producer.connect();
    const typeOf = (error: unknown) => {
      const e = error as { type?: string; cause?: { type?: string } };
      return e.cause?.type ?? e.type;
    };
    const produced = await producer
      .send({ topic: 'shared.public', messages: [{ value: 'x' }] })
      .catch(typeOf);
    expect(produced).toBe('TOPIC_AUTHORIZATION_FAILED');
    await producer.disconnect();
  }, 60_000);

  it('re-authenticates on the same connection before its token expires (KIP-368)', async () => {
    let tokens = 0;
    // kafkajs re-authenticates once less than 10 s of the session lifetime is left.
    const client = kafkajs({
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => {
        tokens++;
        return { value: await signJwt(SECRET, 'alice', 12) };
      },
    });
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic: 'shared.reauth', messages: [{ value: '1' }] });
    const connectionsBefore = server.security.sessionCount;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await producer.send({ topic: 'shared.reauth', messages: [{ value: '2' }] });
    expect(tokens).toBeGreaterThanOrEqual(2);
    expect(server.security.sessionCount).toBe(connectionsBefore);
    await producer.disconnect();
  }, 60_000);
});
