/**
 * The ACL matrix: every principal × resource × operation, on every front end that offers it,
 * attempted for real against one server with an auth file. The expected answer of each cell is
 * computed from the rules below by a small oracle written here (not the server's code); a cell
 * passes only if the front end allowed exactly what the rules allow. Afterwards a super user
 * checks what actually changed: records and documents written only by allowed writes, topics and
 * collections created and deleted only by allowed calls; denied reads returned no data.
 *
 * A front end is a {@link Driver}: which cells it offers and how it attempts one. The Kafka wire
 * protocol is one (raw client, SASL PLAIN for alice, OAUTHBEARER with bob's JWT, no SASL for
 * anonymous): each operation is the Kafka API that performs it (front/kafka/acl.ts) and a denial
 * must be Kafka's code for it, 29 TOPIC_AUTHORIZATION_FAILED or 30 GROUP_AUTHORIZATION_FAILED
 * (31 CLUSTER_AUTHORIZATION_FAILED is never right here: creating a topic needs `create` on the
 * topic, not the cluster). Kafka has no collections, so it offers no collection cells.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaErrorCode } from '../src/protocol/kafka/error-codes.js';
import type { ServerFrame } from '../src/protocol/native/types.js';
import { oauthBearerMessage } from '../src/server/auth/sasl.js';
import type { AclRule, Operation } from '../src/server/auth/types.js';
import { RawClient } from '../src/server/front/ws/testing/harness.js';
import { commitBody, fetchBody, joinBody, produceBody } from './fixtures/kafka-requests.js';
import { allow, deny, mintToken, type SecureServer, startSecureServer } from './fixtures/secure-server.js';
import { RawKafka } from './kafka-harness.js';

type Resource = 'topic' | 'collection' | 'group';
type Principal = 'alice' | 'bob' | 'anonymous';

const RULES: AclRule[] = [
  allow('alice', 'topic', 'orders', ['read', 'write']),
  allow('alice', 'topic', 'orders.*', ['read']),
  deny('alice', 'topic', 'orders.eu', ['read']),
  allow('alice', 'topic', 'scratch.*', ['create', 'delete']),
  allow('alice', 'group', 'g1', ['read']),
  allow('alice', 'collection', 'carts', ['read', 'write']),
  allow('alice', 'collection', 'scratch*', ['create', 'delete']),
  allow('bob', 'topic', '*', ['describe']),
  allow('bob', 'topic', 'secret', ['write']),
  allow('bob', 'topic', 'scratch.*', ['create']),
  deny('bob', 'topic', 'scratch.*', ['delete']),
  allow('bob', 'group', 'g*', ['describe']),
  // read on the group but not on `orders`: joining (and committing for) `orders` is refused
  allow('bob', 'group', 'g2', ['read']),
  allow('bob', 'collection', 'prices', ['read']),
  allow('*', 'collection', 'prices', ['describe']),
  allow('anonymous', 'topic', 'orders', ['read']),
  allow('anonymous', 'collection', 'carts', ['describe']),
];
const PRINCIPALS: readonly Principal[] = ['alice', 'bob', 'anonymous'];
const TOPICS = ['orders', 'orders.eu', 'secret'];
const COLLECTIONS = ['carts', 'prices'];
const GROUPS = ['g1', 'g2'];

/** What the rules say, computed independently of the server (deny wins, describe implied, `*`). */
function expected(principal: Principal, resource: Resource, name: string, operation: Operation): boolean {
  let allowed = false;
  for (const rule of RULES) {
    if (rule.resource !== resource) continue;
    if (rule.principal !== principal && !(rule.principal === '*' && principal !== 'anonymous')) continue;
    const matches =
      rule.pattern === 'prefix' ? name.startsWith(rule.name) : rule.name === '*' || rule.name === name;
    if (!matches) continue;
    const named = rule.operations.includes(operation) || rule.operations.includes('all');
    if (rule.effect === 'deny' && named) return false;
    if (rule.effect === 'allow' && (named || (operation === 'describe' && rule.operations.length > 0)))
      allowed = true;
  }
  return allowed;
}

interface Cell {
  readonly id: number;
  readonly principal: Principal;
  readonly resource: Resource;
  readonly operation: Operation;
  /** The resource the call names (fresh names for create and delete). */
  readonly name: string;
  /** The front end that attempts it. */
  readonly frontEnd: string;
  readonly allowed: boolean;
}

/** What an attempt came to: allowed or refused, and for reads whether data came back. */
interface Outcome {
  readonly allowed: boolean;
  readonly data: boolean;
  /** A refusal's or failure's code, for the report. */
  readonly code?: string;
}

interface Driver {
  readonly name: string;
  /** The operations this front end offers on a resource type. */
  offers(resource: Resource, operation: Operation): boolean;
  attempt(cell: Cell): Promise<Outcome>;
  /** The code a denied cell must answer, when the front end has one per cell (Kafka's). */
  deniedCode?(cell: Cell): string;
  close(): Promise<void>;
}

const DENIED = /_ACCESS_DENIED$|^UNAUTHENTICATED$/;

let secure: SecureServer;
let admin: RawClient;
let bobToken: string;

function credentialsWs(principal: Principal): Record<string, string> | undefined {
  if (principal === 'alice') return { username: 'alice', password: 'alice-pw' };
  if (principal === 'bob') return { token: bobToken };
  return undefined;
}

function headersHttp(principal: Principal): Record<string, string> {
  if (principal === 'alice')
    return { authorization: `Basic ${Buffer.from('alice:alice-pw').toString('base64')}` };
  if (principal === 'bob') return { authorization: `Bearer ${bobToken}` };
  return {};
}

async function connect(auth?: Record<string, string>): Promise<RawClient> {
  const client = new RawClient(secure.wsUrl);
  await client.opened;
  client.send({
    type: 'hello',
    protocol: 1,
    client: 'matrix/1',
    ...(auth === undefined ? {} : { auth: auth as never }),
  });
  const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
  if (first.type !== 'welcome') throw new Error(`hello refused: ${JSON.stringify(first)}`);
  return client;
}

function outcomeOf(response: ServerFrame & { type: 'response' }, data = true): Outcome {
  if ('error' in response) {
    if (DENIED.test(response.error.code)) return { allowed: false, data: false, code: response.error.code };
    throw new Error(`unexpected ${response.error.code}: ${response.error.message}`);
  }
  return { allowed: true, data };
}

function wsDriver(): Driver {
  const clients = new Map<Principal, Promise<RawClient>>();
  const client = (p: Principal) => {
    let c = clients.get(p);
    if (c === undefined) {
      c = connect(credentialsWs(p));
      clients.set(p, c);
    }
    return c;
  };
  return {
    name: 'ws',
    offers: () => true,
    async attempt(cell) {
      const c = await client(cell.principal);
      const { name } = cell;
      const request = (frame: Record<string, unknown> & { type: string }) => c.request(frame);
      switch (`${cell.resource}:${cell.operation}`) {
        case 'topic:describe':
          return outcomeOf(await request({ type: 'describeTopic', name }));
        case 'topic:read': {
          const r = await request({ type: 'fetch', topic: name, partition: 0, offset: 0 });
          return outcomeOf(r, 'ok' in r && (r.ok as { records: unknown[] }).records.length > 0);
        }
        case 'topic:write':
          return outcomeOf(
            await request({ type: 'produce', topic: name, records: [{ value: new Uint8Array([cell.id]) }] }),
          );
        case 'topic:create':
          return outcomeOf(await request({ type: 'createTopic', name, config: { partitions: 1 } }));
        case 'topic:delete':
          return outcomeOf(await request({ type: 'deleteTopic', name }));
        case 'collection:describe':
          return outcomeOf(await request({ type: 'describeCollection', name }));
        case 'collection:read': {
          const r = await request({ type: 'collectionGet', collection: name, key: 'seed' });
          return outcomeOf(r, 'ok' in r && (r.ok as { value: unknown }).value !== null);
        }
        case 'collection:write':
          return outcomeOf(
            await request({ type: 'collectionPut', collection: name, key: `k${cell.id}`, value: { n: 1 } }),
          );
        case 'collection:create':
          return outcomeOf(await request({ type: 'createCollection', name, mode: 'eventual' }));
        case 'collection:delete':
          return outcomeOf(await request({ type: 'deleteCollection', name }));
        case 'group:read': {
          const r = await request({
            type: 'joinGroup',
            groupId: name,
            topics: ['orders'],
            sessionTimeoutMs: 60_000,
          });
          if ('ok' in r)
            await c.ok({
              type: 'leaveGroup',
              groupId: name,
              memberId: (r.ok as { memberId: string }).memberId,
            });
          return outcomeOf(r);
        }
        case 'group:describe':
          return outcomeOf(await request({ type: 'fetchOffsets', groupId: name, partitions: [] }));
        default:
          throw new Error(`ws offers no ${cell.resource}:${cell.operation}`);
      }
    },
    async close() {
      for (const c of clients.values()) (await c).socket.terminate();
    },
  };
}

async function http(
  cell: Cell,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ outcome: Outcome; json: unknown }> {
  const response = await fetch(`${secure.url}${path}`, {
    method,
    headers: {
      ...headersHttp(cell.principal),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const json: unknown = text === '' ? null : JSON.parse(text);
  if (response.status === 401 || response.status === 403) {
    const code = (json as { error: { code: string } }).error.code;
    if (!DENIED.test(code)) throw new Error(`unexpected ${code}`);
    return { outcome: { allowed: false, data: false, code }, json };
  }
  if (response.status >= 300) throw new Error(`unexpected ${response.status}: ${text}`);
  return { outcome: { allowed: true, data: true }, json };
}

function httpDriver(): Driver {
  const ops: Record<string, readonly Operation[]> = {
    topic: ['describe', 'read', 'write', 'create', 'delete'],
    collection: ['describe', 'read', 'write', 'create', 'delete'],
  };
  return {
    name: 'http',
    offers: (resource, operation) => ops[resource]?.includes(operation) ?? false,
    async attempt(cell) {
      const n = encodeURIComponent(cell.name);
      switch (`${cell.resource}:${cell.operation}`) {
        case 'topic:describe':
          return (await http(cell, 'GET', `/v1/topics/${n}`)).outcome;
        case 'topic:read': {
          const { outcome, json } = await http(cell, 'GET', `/v1/topics/${n}/partitions/0/records?offset=0`);
          return { ...outcome, data: outcome.allowed && (json as { records: unknown[] }).records.length > 0 };
        }
        case 'topic:write':
          return (
            await http(cell, 'POST', `/v1/topics/${n}/records`, { records: [{ value: `c${cell.id}` }] })
          ).outcome;
        case 'topic:create':
          return (await http(cell, 'POST', '/v1/topics', { name: cell.name, partitions: 1 })).outcome;
        case 'topic:delete':
          return (await http(cell, 'DELETE', `/v1/topics/${n}`)).outcome;
        case 'collection:describe':
          return (await http(cell, 'GET', `/v1/collections/${n}`)).outcome;
        case 'collection:read':
          return (await http(cell, 'GET', `/v1/collections/${n}/items/seed`)).outcome;
        case 'collection:write':
          return (await http(cell, 'PUT', `/v1/collections/${n}/items/k${cell.id}`, { value: { n: 1 } }))
            .outcome;
        case 'collection:create':
          return (await http(cell, 'POST', '/v1/collections', { name: cell.name, mode: 'eventual' })).outcome;
        case 'collection:delete':
          return (await http(cell, 'DELETE', `/v1/collections/${n}`)).outcome;
        default:
          throw new Error(`http offers no ${cell.resource}:${cell.operation}`);
      }
    },
    async close() {},
  };
}

/** SSE: reads only. Allowed: the stream opens and its first events carry the seed data. */
function sseDriver(): Driver {
  return {
    name: 'sse',
    offers: (resource, operation) => operation === 'read' && resource !== 'group',
    async attempt(cell) {
      const path =
        cell.resource === 'topic'
          ? `/v1/topics/${encodeURIComponent(cell.name)}/events?from=earliest`
          : `/v1/collections/${encodeURIComponent(cell.name)}/events`;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 5_000);
      try {
        const response = await fetch(`${secure.url}${path}`, {
          headers: headersHttp(cell.principal),
          signal: controller.signal,
        });
        if (response.status === 401 || response.status === 403) {
          const code = ((await response.json()) as { error: { code: string } }).error.code;
          return { allowed: false, data: false, code };
        }
        if (response.status !== 200 || response.body === null)
          throw new Error(`unexpected ${response.status}`);
        let text = '';
        const want = cell.resource === 'topic' ? 'event: record' : 'event: snapshot';
        for await (const chunk of response.body) {
          text += new TextDecoder().decode(chunk as Uint8Array);
          if (text.includes(want) || text.includes('event: error')) break;
        }
        if (text.includes('event: error')) throw new Error(`stream failed: ${text}`);
        return {
          allowed: true,
          data: text.includes(want) && (cell.resource === 'topic' || text.includes('seed')),
        };
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
    },
    async close() {},
  };
}

const {
  NONE,
  TOPIC_AUTHORIZATION_FAILED: TOPIC_DENIED,
  GROUP_AUTHORIZATION_FAILED: GROUP_DENIED,
  MEMBER_ID_REQUIRED,
} = KafkaErrorCode;

/** A Kafka connection as `principal`: PLAIN for alice, OAUTHBEARER for bob, no SASL for anonymous. */
async function connectKafka(principal: Principal): Promise<RawKafka> {
  const port = secure.server.kafka?.port;
  if (port === undefined) throw new Error('the Kafka listener did not start');
  const client = await RawKafka.open(port);
  if (principal === 'anonymous') return client;
  const mechanism = principal === 'alice' ? 'PLAIN' : 'OAUTHBEARER';
  const shaken = await client.call('SaslHandshake', 1, { mechanism });
  if (shaken.errorCode !== NONE) throw new Error(`SaslHandshake ${mechanism}: ${shaken.errorCode}`);
  const authBytes =
    principal === 'alice'
      ? new TextEncoder().encode('\u0000alice\u0000alice-pw')
      : oauthBearerMessage(bobToken);
  const answer = await client.call('SaslAuthenticate', 1, { authBytes });
  if (answer.errorCode !== NONE) throw new Error(`SaslAuthenticate ${mechanism}: ${answer.errorCode}`);
  return client;
}

/**
 * The outcome of Kafka answers to one cell: all 0 is allowed; all one of `denials` is denied
 * (the first answer's code); anything else (another code, or APIs that disagree) is a failure.
 */
function kafkaOutcome(
  what: string,
  codes: readonly number[],
  denials: readonly number[],
  data = true,
): Outcome {
  if (codes.every((c) => c === NONE)) return { allowed: true, data };
  const code = codes[0] as number;
  if (denials.includes(code) && codes.every((c) => c === code))
    return { allowed: false, data: false, code: String(code) };
  throw new Error(`${what}: Kafka answered ${codes.join(', ')}`);
}

/** Kafka: topics and groups; collections have no Kafka API. One connection per principal. */
function kafkaDriver(): Driver {
  const clients = new Map<Principal, Promise<RawKafka>>();
  const client = (p: Principal) => {
    let c = clients.get(p);
    if (c === undefined) {
      c = connectKafka(p);
      clients.set(p, c);
    }
    return c;
  };
  return {
    name: 'kafka',
    offers: (resource) => resource !== 'collection',
    deniedCode: (cell) =>
      String(
        cell.resource === 'topic' ||
          // OffsetCommit checks the group first, then the topic it commits for
          (cell.operation === 'read' && expected(cell.principal, 'group', cell.name, 'read'))
          ? TOPIC_DENIED
          : GROUP_DENIED,
      ),
    async attempt(cell) {
      const c = await client(cell.principal);
      const { name } = cell;
      const what = `kafka ${cell.principal} ${cell.operation} ${cell.resource} ${name}`;
      switch (`${cell.resource}:${cell.operation}`) {
        case 'topic:describe': {
          const metadata = await c.call('Metadata', 4, { topics: [{ name }], allowAutoTopicCreation: false });
          const offsets = await c.call('ListOffsets', 2, {
            replicaId: -1,
            isolationLevel: 0,
            topics: [{ name, partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
          });
          const codes = [metadata.topics[0]?.errorCode, offsets.topics[0]?.partitions[0]?.errorCode];
          return kafkaOutcome(what, codes as number[], [TOPIC_DENIED]);
        }
        case 'topic:read': {
          const partition = (await c.call('Fetch', 11, fetchBody(name))).responses[0]?.partitions[0];
          return kafkaOutcome(
            what,
            [partition?.errorCode as number],
            [TOPIC_DENIED],
            (partition?.records.length ?? 0) > 0,
          );
        }
        case 'topic:write': {
          const answer = await c.call('Produce', 7, produceBody(name, `c${cell.id}`));
          return kafkaOutcome(
            what,
            [answer.responses[0]?.partitions[0]?.errorCode as number],
            [TOPIC_DENIED],
          );
        }
        case 'topic:create': {
          const answer = await c.call('CreateTopics', 3, {
            timeoutMs: 5000,
            validateOnly: false,
            topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          });
          return kafkaOutcome(what, [answer.topics[0]?.errorCode as number], [TOPIC_DENIED]);
        }
        case 'topic:delete': {
          const answer = await c.call('DeleteTopics', 3, { timeoutMs: 5000, topicNames: [name] });
          return kafkaOutcome(what, [answer.responses[0]?.errorCode as number], [TOPIC_DENIED]);
        }
        case 'group:read': {
          // JoinGroup needs read on the group (allowed: a first join is asked for its member id);
          // OffsetCommit for `orders` needs it too, and read on the topic, as the other front
          // ends' join of a group on `orders` does.
          const joined = (await c.call('JoinGroup', 5, joinBody(name))).errorCode;
          const committed = (await c.call('OffsetCommit', 7, commitBody(name, 'orders'))).topics[0]
            ?.partitions[0]?.errorCode as number;
          if (joined === GROUP_DENIED) return kafkaOutcome(what, [joined, committed], [GROUP_DENIED]);
          if (joined !== MEMBER_ID_REQUIRED) throw new Error(`${what}: JoinGroup answered ${joined}`);
          return kafkaOutcome(what, [committed], [TOPIC_DENIED]);
        }
        case 'group:describe': {
          const described = await c.call('DescribeGroups', 4, {
            groups: [name],
            includeAuthorizedOperations: false,
          });
          const offsets = await c.call('OffsetFetch', 5, { groupId: name, topics: null });
          const codes = [described.groups[0]?.errorCode as number, offsets.errorCode];
          return kafkaOutcome(what, codes, [GROUP_DENIED]);
        }
        default:
          throw new Error(`kafka offers no ${cell.resource}:${cell.operation}`);
      }
    },
    async close() {
      for (const c of clients.values()) (await c).close();
    },
  };
}

const DRIVERS: (() => Driver)[] = [wsDriver, httpDriver, sseDriver, kafkaDriver];

/** Every cell: principals × resources × operations × front ends that offer them. */
function cells(drivers: readonly Driver[]): Cell[] {
  const out: Cell[] = [];
  let id = 1;
  const add = (principal: Principal, resource: Resource, operation: Operation, name: string, d: Driver) => {
    if (!d.offers(resource, operation)) return;
    const allowed =
      expected(principal, resource, name, operation) &&
      // joining a group also needs read on each of its topics
      (resource !== 'group' || operation !== 'read' || expected(principal, 'topic', 'orders', 'read'));
    out.push({ id: id++, principal, resource, operation, name, frontEnd: d.name, allowed });
  };
  for (const d of drivers) {
    for (const p of PRINCIPALS) {
      for (const t of TOPICS)
        for (const op of ['describe', 'read', 'write'] as const) add(p, 'topic', op, t, d);
      for (const c of COLLECTIONS)
        for (const op of ['describe', 'read', 'write'] as const) add(p, 'collection', op, c, d);
      for (const g of GROUPS) for (const op of ['read', 'describe'] as const) add(p, 'group', op, g, d);
      for (const prefix of ['scratch', 'plain']) {
        add(p, 'topic', 'create', `${prefix}.new${id}`, d);
        add(p, 'topic', 'delete', `${prefix}.old${id}`, d);
        add(p, 'collection', 'create', `${prefix}-new${id}`, d);
        add(p, 'collection', 'delete', `${prefix}-old${id}`, d);
      }
    }
  }
  return out;
}

describe('ACL matrix over WebSocket, HTTP, SSE and Kafka', () => {
  const drivers = DRIVERS.map((make) => make());
  const matrix = cells(drivers);
  const results = new Map<number, Outcome>();

  beforeAll(async () => {
    bobToken = await mintToken('bob');
    secure = await startSecureServer(
      {
        users: { alice: 'alice-pw', admin: 'admin-pw' },
        superUsers: ['admin'],
        anonymous: true,
        acls: RULES,
      },
      { kafka: { port: 0 } },
    );
    admin = await connect({ username: 'admin', password: 'admin-pw' });
    for (const t of TOPICS) {
      await admin.ok({ type: 'createTopic', name: t, config: { partitions: 1 } });
      await admin.ok({ type: 'produce', topic: t, records: [{ value: new Uint8Array([0]) }] });
    }
    for (const c of COLLECTIONS) {
      await admin.ok({ type: 'createCollection', name: c, mode: 'eventual' });
      await admin.ok({ type: 'collectionPut', collection: c, key: 'seed', value: { seed: true } });
    }
    // What delete cells delete exists first.
    for (const cell of matrix) {
      if (cell.operation !== 'delete') continue;
      if (cell.resource === 'topic')
        await admin.ok({ type: 'createTopic', name: cell.name, config: { partitions: 1 } });
      else await admin.ok({ type: 'createCollection', name: cell.name, mode: 'eventual' });
    }
  }, 120_000);

  afterAll(async () => {
    for (const d of drivers) await d.close();
    admin?.socket.terminate();
    await secure?.close();
  });

  it(`allows exactly what the rules allow (${matrix.length} cells)`, async () => {
    const wrong: string[] = [];
    for (const cell of matrix) {
      const driver = drivers.find((d) => d.name === cell.frontEnd)!;
      const outcome = await driver.attempt(cell);
      results.set(cell.id, outcome);
      const what = `${cell.frontEnd} ${cell.principal} ${cell.operation} ${cell.resource} ${cell.name}`;
      if (outcome.allowed !== cell.allowed) {
        wrong.push(
          `${what}: expected ${cell.allowed ? 'allowed' : 'denied'}, got ${outcome.code ?? 'allowed'}`,
        );
      } else if (
        !cell.allowed &&
        driver.deniedCode !== undefined &&
        outcome.code !== driver.deniedCode(cell)
      ) {
        wrong.push(`${what}: denied with ${outcome.code}, expected ${driver.deniedCode(cell)}`);
      }
      if (cell.operation === 'read' && outcome.allowed !== outcome.data)
        wrong.push(`${what}: data ${outcome.data}`);
    }
    const allowed = matrix.filter((c) => c.allowed).length;
    console.info(
      `ACL matrix: ${matrix.length} cells (${allowed} allowed, ${matrix.length - allowed} denied) over ` +
        drivers.map((d) => `${d.name} ${matrix.filter((c) => c.frontEnd === d.name).length}`).join(', '),
    );
    expect(wrong).toEqual([]);
    expect(allowed).toBeGreaterThan(10);
    expect(matrix.length - allowed).toBeGreaterThan(10);
  }, 120_000);

  it('changed only what allowed calls changed (checked by a super user)', async () => {
    expect(results.size).toBe(matrix.length);
    for (const t of TOPICS) {
      const writes = matrix.filter((c) => c.resource === 'topic' && c.operation === 'write' && c.name === t);
      const { next } = await admin.ok<{ next: number }>({ type: 'offsets', topic: t, partition: 0 });
      expect(next, t).toBe(1 + writes.filter((c) => c.allowed).length);
    }
    const topics = new Set(
      (await admin.ok<{ topics: { name: string }[] }>({ type: 'listTopics' })).topics.map((t) => t.name),
    );
    const collections = new Set(
      (await admin.ok<{ collections: { name: string }[] }>({ type: 'listCollections' })).collections.map(
        (c) => c.name,
      ),
    );
    for (const cell of matrix) {
      const what = `${cell.frontEnd} ${cell.principal} ${cell.operation} ${cell.resource} ${cell.name}`;
      const names = cell.resource === 'topic' ? topics : collections;
      if (cell.operation === 'create') expect(names.has(cell.name), what).toBe(cell.allowed);
      if (cell.operation === 'delete') expect(names.has(cell.name), what).toBe(!cell.allowed);
      if (cell.resource === 'collection' && cell.operation === 'write') {
        const got = await admin.ok<{ value: unknown }>({
          type: 'collectionGet',
          collection: cell.name,
          key: `k${cell.id}`,
        });
        expect(got.value !== null, what).toBe(cell.allowed);
      }
    }
  });
});
