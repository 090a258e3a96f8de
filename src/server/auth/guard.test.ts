import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../broker/broker.js';
import type { Broker, Delivery, GroupAssignment } from '../../broker/types.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import { createMemoryLog } from '../../log/memory/memory-log.js';
import { CollectionService } from '../../sync/index.js';
import type { SubscriptionSink } from '../../sync/subscription.js';
import { AccessPolicy } from './acl.js';
import { ACCESS, guardBroker, guardCollections } from './guard.js';
import { AuthSession } from './session.js';
import type { AclRule, Operation, Principal, ResourceType } from './types.js';

const connection = { protocol: 'test', remoteAddress: '127.0.0.1' };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function rule(
  principal: string,
  resource: ResourceType,
  name: string,
  operations: AclRule['operations'],
  extra: Partial<AclRule> = {},
): AclRule {
  return { effect: 'allow', principal, resource, name, pattern: 'literal', operations, ...extra };
}

/** A real broker on the memory log, its collections, and sessions over a policy that tests can swap. */
async function setup(rules: AclRule[], superUsers: string[] = []) {
  const log = createMemoryLog();
  const broker = await createBroker(log);
  const collections = await CollectionService.open(broker.forSystem(), { progressMs: 50 });
  cleanups.push(async () => {
    await collections.close();
    await broker.close();
    await log.close();
  });
  let policy = new AccessPolicy(rules, superUsers);
  const session = (name: string, expiresAt: number | null = null): AuthSession => {
    const principal: Principal = { name, method: 'password', rules: [] };
    const s = new AuthSession({
      principal,
      connection,
      expiresAt,
      policy: () => policy,
      refresh: async () => ({ principal, expiresAt: null }),
    });
    cleanups.push(async () => s.close());
    return s;
  };
  return {
    broker,
    collections,
    session,
    setPolicy: (next: AclRule[]) => {
      policy = new AccessPolicy(next, superUsers);
    },
  };
}

async function refused(promise: Promise<unknown> | (() => unknown)): Promise<TributaryError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (isTributaryError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const value = (text: string) => ({ key: null, value: new TextEncoder().encode(text) });

function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (condition()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('guardBroker', () => {
  it('allows each call only with the operation of the ACCESS table, refusing before the broker', async () => {
    const { broker, session } = await setup([
      rule('alice', 'topic', 'orders', ['read', 'write']),
      rule('alice', 'group', 'g', ['read']),
      rule('admin', 'topic', '*', ['create', 'delete']),
    ]);
    await broker.createTopic('orders', { partitions: 1 });
    await broker.createTopic('secret', { partitions: 1 });
    const alice = guardBroker(broker, session('alice'));
    const admin = guardBroker(broker, session('admin'));

    expect((await alice.produce('orders', [value('a')]))[0]?.offset).toBe(0);
    expect(await alice.fetch('orders', 0, 0)).toHaveLength(1);
    expect((await alice.describeTopic('orders')).name).toBe('orders'); // describe implied by read
    expect(await alice.offsets('orders', 0)).toEqual({ earliest: 0, next: 1, lastStable: 1 });

    for (const [call, attempt, operation] of [
      ['produce', () => alice.produce('secret', [value('x')]), 'write'],
      ['appendBatch', () => alice.appendBatch('secret', 0, [value('x')]), 'write'],
      ['appendEncoded', () => alice.appendEncoded('secret', 0, new Uint8Array(61)), 'write'],
      ['fetch', () => alice.fetch('secret', 0, 0), 'read'],
      ['readBatches', () => alice.readBatches('secret', 0, 0, { maxBytes: 1024 }), 'read'],
      ['abortedTransactions', () => alice.abortedTransactions('secret', 0, 0, 1), 'read'],
      ['offsets', () => alice.offsets('secret', 0), 'describe'],
      ['resolvePosition', () => alice.resolvePosition('secret', 0, 'earliest'), 'describe'],
      ['describeTopic', () => alice.describeTopic('secret'), 'describe'],
      ['createTopic', () => alice.createTopic('orders2'), 'create'],
      ['deleteTopic', () => alice.deleteTopic('orders'), 'delete'],
      ['addPartitions', () => alice.addPartitions('orders', 2), 'alter'],
      ['deleteRecords', () => alice.deleteRecords('orders', 0, 1), 'delete'],
      [
        'subscribe',
        () => alice.subscribe({ topic: 'secret', partition: 0, from: 'earliest', onRecords() {} }),
        'read',
      ],
    ] as const) {
      const error = await refused(attempt);
      expect(error.code, call).toBe('TOPIC_ACCESS_DENIED');
      expect(error.details, call).toMatchObject({ principal: 'alice', operation });
    }
    expect((await broker.offsets('secret', 0)).next).toBe(0); // nothing was written
    // Nor trimmed or grown.
    expect(await broker.offsets('orders', 0)).toMatchObject({ earliest: 0, next: 1 });
    expect((await broker.describeTopic('orders')).partitions).toHaveLength(1);

    // A refusal comes before the lookup: a topic that does not exist is not revealed.
    expect((await refused(alice.describeTopic('nope'))).code).toBe('TOPIC_ACCESS_DENIED');
    expect((await refused(admin.describeTopic('nope'))).code).toBe('TOPIC_NOT_FOUND');
    await admin.createTopic('made', { partitions: 1 });
    await admin.deleteTopic('made');
    // Internal topics: never, whoever asks.
    expect((await refused(admin.fetch('__consumer_offsets', 0, 0))).code).toBe('TOPIC_ACCESS_DENIED');
  });

  it('lists only the topics the session may describe', async () => {
    const { broker, session } = await setup([
      rule('alice', 'topic', 'orders.', ['read'], { pattern: 'prefix' }),
      { ...rule('alice', 'topic', 'orders.eu', ['describe']), effect: 'deny' },
    ]);
    for (const name of ['orders.us', 'orders.eu', 'payments'])
      await broker.createTopic(name, { partitions: 1 });
    const names = (await guardBroker(broker, session('alice')).listTopics()).map((t) => t.name);
    expect(names).toEqual(['orders.us']);
    expect(await guardBroker(broker, session('nobody')).listTopics()).toEqual([]);
  });

  it('checks groups: join needs group and topic read, fetchOffsets group describe', async () => {
    const { broker, session } = await setup([
      rule('alice', 'topic', 'orders', ['read']),
      rule('alice', 'group', 'g', ['read']),
      rule('bob', 'topic', 'orders', ['read']),
      rule('bob', 'group', 'g', ['describe']),
    ]);
    await broker.createTopic('orders', { partitions: 2 });
    await broker.createTopic('secret', { partitions: 1 });
    const alice = guardBroker(broker, session('alice'));
    const bob = guardBroker(broker, session('bob'));
    const join = (b: Broker, groupId: string, topics: string[]) =>
      b.joinGroup({ groupId, topics, sessionTimeoutMs: 60_000, onAssignment() {} });

    expect((await refused(join(alice, 'other', ['orders']))).code).toBe('GROUP_ACCESS_DENIED');
    expect((await refused(join(alice, 'g', ['orders', 'secret']))).code).toBe('TOPIC_ACCESS_DENIED');
    expect((await refused(join(bob, 'g', ['orders']))).details).toMatchObject({
      group: 'g',
      operation: 'read',
    });
    const member = await join(alice, 'g', ['orders']);
    await until(() => true, 'join');
    const commit = (b: Broker, topic: string) =>
      b.commitOffsets('g', member.memberId, 1, [{ topic, partition: 0, offset: 0 }]);
    expect((await refused(commit(alice, 'secret'))).code).toBe('TOPIC_ACCESS_DENIED');
    expect((await refused(commit(bob, 'orders'))).code).toBe('GROUP_ACCESS_DENIED');
    expect(await bob.fetchOffsets('g', [{ topic: 'orders', partition: 0 }])).toEqual([]);
    expect((await refused(bob.fetchOffsets('g', [{ topic: 'secret', partition: 0 }]))).code).toBe(
      'TOPIC_ACCESS_DENIED',
    );
    await member.leave();
  });

  it('ends a live subscription with the session’s error, and nothing is delivered after', async () => {
    const { broker, session } = await setup([rule('alice', 'topic', 'orders', ['read'])]);
    await broker.createTopic('orders', { partitions: 1 });
    const s = session('alice');
    const delivered: Delivery[] = [];
    const errors: unknown[] = [];
    const sub = await guardBroker(broker, s).subscribe({
      topic: 'orders',
      partition: 0,
      from: 'earliest',
      credit: 100,
      onRecords: (d) => delivered.push(d),
      onError: (e) => errors.push(e),
    });
    await broker.produce('orders', [value('1')]);
    await until(() => delivered.length === 1, 'the first delivery');
    s.end(new TributaryError('ACCESS_REVOKED', { principal: 'alice' }));
    expect(errors).toHaveLength(1);
    expect(isTributaryError(errors[0], 'ACCESS_REVOKED')).toBe(true);
    await broker.produce('orders', [value('2')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(delivered).toHaveLength(1);
    sub.close(); // closing after the end is harmless
    expect(errors).toHaveLength(1);
    // Later calls get the same error.
    expect((await refused(guardBroker(broker, s).fetch('orders', 0, 0))).code).toBe('ACCESS_REVOKED');
  });

  it('ends a subscription with TOKEN_EXPIRED when the session’s token expires', async () => {
    const { broker, session } = await setup([rule('alice', 'topic', 'orders', ['read'])]);
    await broker.createTopic('orders', { partitions: 1 });
    const errors: unknown[] = [];
    await guardBroker(broker, session('alice', Date.now() + 100)).subscribe({
      topic: 'orders',
      partition: 0,
      from: 'latest',
      onRecords() {},
      onError: (e) => errors.push(e),
    });
    await until(() => errors.length === 1, 'the expiry');
    expect(isTributaryError(errors[0], 'TOKEN_EXPIRED')).toBe(true);
  });

  it('ends a subscription whose read is taken away by a reload, before delivering anything more', async () => {
    const { broker, session, setPolicy } = await setup([rule('alice', 'topic', 'orders', ['read'])]);
    await broker.createTopic('orders', { partitions: 1 });
    const delivered: Delivery[] = [];
    const errors: unknown[] = [];
    await guardBroker(broker, session('alice')).subscribe({
      topic: 'orders',
      partition: 0,
      from: 'earliest',
      credit: 100,
      onRecords: (d) => delivered.push(d),
      onError: (e) => errors.push(e),
    });
    await broker.produce('orders', [value('1')]);
    await until(() => delivered.length === 1, 'the first delivery');
    setPolicy([rule('alice', 'topic', 'orders', ['describe'])]);
    await broker.produce('orders', [value('2')]);
    await until(() => errors.length === 1, 'the refusal');
    expect(isTributaryError(errors[0], 'TOPIC_ACCESS_DENIED')).toBe(true);
    expect(delivered).toHaveLength(1);
  });

  it('checks the grant at every stored-batch delivery too: a reload taking read away ends the replay', async () => {
    const { broker, session, setPolicy } = await setup([rule('alice', 'topic', 'orders', ['read'])]);
    await broker.createTopic('orders', { partitions: 1 });
    for (let b = 0; b < 3; b++) await broker.produce('orders', [value(`${b}a`), value(`${b}b`)]);
    let batches = 0;
    let records = 0;
    const errors: unknown[] = [];
    const subscription = await guardBroker(broker, session('alice')).subscribe({
      topic: 'orders',
      partition: 0,
      from: 'earliest',
      credit: 2, // one stored batch
      onRecords: (d) => {
        records += d.records.length;
      },
      onBatches: () => {
        batches += 1;
      },
      onError: (e) => errors.push(e),
    });
    await until(() => batches === 1, 'the first stored batch');
    setPolicy([rule('alice', 'topic', 'orders', ['describe'])]);
    subscription.grant(4);
    await until(() => errors.length === 1, 'the refusal');
    expect(isTributaryError(errors[0], 'TOPIC_ACCESS_DENIED')).toBe(true);
    expect({ batches, records }).toEqual({ batches: 1, records: 0 });
  });

  it('makes group members leave when the session ends, so the others rebalance at once', async () => {
    const { broker, session } = await setup([
      rule('alice', 'topic', 'orders', ['read']),
      rule('alice', 'group', 'g', ['read']),
    ]);
    await broker.createTopic('orders', { partitions: 2 });
    const s = session('alice');
    const other: GroupAssignment[] = [];
    await guardBroker(broker, s).joinGroup({
      groupId: 'g',
      topics: ['orders'],
      sessionTimeoutMs: 60_000,
      onAssignment() {},
    });
    const plain = await broker.joinGroup({
      groupId: 'g',
      topics: ['orders'],
      sessionTimeoutMs: 60_000,
      onAssignment: (a) => other.push(a),
    });
    await until(() => other.at(-1)?.partitions.length === 1, 'a shared assignment');
    s.end(new TributaryError('TOKEN_EXPIRED', { principal: 'alice' }));
    await until(() => other.at(-1)?.partitions.length === 2, 'the rebalance after the leave');
    await plain.leave();
  });

  it('refuses everything once the session ended, and works again after a refresh of an expired one', async () => {
    const { broker, session } = await setup([rule('alice', 'topic', 'orders', ['read', 'write'])]);
    await broker.createTopic('orders', { partitions: 1 });
    const s = session('alice');
    const alice = guardBroker(broker, s);
    s.end(new TributaryError('TOKEN_EXPIRED', { principal: 'alice' }));
    for (const attempt of [
      () => alice.produce('orders', [value('x')]),
      () => alice.initProducer(),
      () => alice.listTopics(),
    ]) {
      expect((await refused(attempt)).code).toBe('TOKEN_EXPIRED');
    }
    await s.refresh({ kind: 'token', token: 'fresh' });
    expect(await alice.produce('orders', [value('x')])).toHaveLength(1);
  });
});

describe('guardCollections', () => {
  function sink(): SubscriptionSink & { events: string[]; errors: unknown[] } {
    const events: string[] = [];
    const errors: unknown[] = [];
    return {
      events,
      errors,
      snapshot: (f) => events.push(`snapshot:${f.items.length}`),
      changes: (f) => events.push(`changes:${f.changes.length}`),
      closed: (e) => errors.push(e),
    };
  }

  it('a write-only principal reads nothing through the answers of its writes', async () => {
    const { collections, session } = await setup([
      rule('ingest', 'collection', 'ledger', ['write']),
      rule('admin', 'collection', '*', ['all']),
    ]);
    const admin = guardCollections(collections, session('admin'));
    const ingest = guardCollections(collections, session('ingest'));
    await admin.create('ledger', { mode: 'strong' });
    await admin.collection('ledger').write({ op: 'put', key: 'acct', value: { card: '4111' } });
    const reads: [string, () => unknown][] = [
      ['patch', () => ingest.collection('ledger').write({ op: 'patch', key: 'acct', fields: {} })],
      [
        'increment',
        () => ingest.collection('ledger').write({ op: 'increment', key: 'acct', field: 'n', by: 1 }),
      ],
      [
        'transact patch',
        () => ingest.collection('ledger').transact({ ops: [{ op: 'patch', key: 'acct', fields: {} }] }),
      ],
      [
        'transact condition',
        () =>
          ingest.collection('ledger').transact({
            ops: [{ op: 'delete', key: 'x' }],
            conditions: [{ key: 'acct', version: 0 }],
          }),
      ],
      ['applyOperations', () => ingest.collection('ledger').applyOperations([])],
    ];
    for (const [call, attempt] of reads) {
      const error = await refused(attempt);
      expect(error.code, call).toBe('COLLECTION_ACCESS_DENIED');
      expect(error.details, call).toMatchObject({ principal: 'ingest', operation: 'read' });
    }
    expect((await ingest.collection('ledger').write({ op: 'put', key: 'k', value: { a: 1 } })).key).toBe('k');
    await ingest.collection('ledger').transact({ ops: [{ op: 'delete', key: 'k' }] });
    expect((await admin.collection('ledger').get('acct')).value).toEqual({ card: '4111' });
  });

  it('checks create, delete, describe, reads and writes; lists only what may be described', async () => {
    const { collections, session } = await setup([
      rule('alice', 'collection', 'carts', ['read', 'write']),
      rule('alice', 'collection', 'prices', ['read']),
      rule('admin', 'collection', '*', ['create', 'delete']),
    ]);
    const admin = guardCollections(collections, session('admin'));
    const alice = guardCollections(collections, session('alice'));
    for (const name of ['carts', 'prices', 'secret']) await admin.create(name, { mode: 'eventual' });

    expect(
      alice
        .list()
        .map((c) => c.name)
        .sort(),
    ).toEqual(['carts', 'prices']);
    expect(admin.list()).toHaveLength(3); // create/delete imply describe
    await alice.collection('carts').write({ op: 'put', key: 'k', value: { n: 1 } });
    expect((await alice.collection('carts').get('k')).value).toEqual({ n: 1 });
    expect((await alice.collection('prices').query({})).items).toEqual([]);
    expect(alice.collection('carts').info.name).toBe('carts');

    const denied: [string, () => unknown, string][] = [
      ['write', () => alice.collection('prices').write({ op: 'put', key: 'k', value: { n: 2 } }), 'write'],
      ['transact', () => alice.collection('prices').transact({ ops: [{ op: 'delete', key: 'k' }] }), 'write'],
      ['applyOperations', () => alice.collection('prices').applyOperations([]), 'write'],
      ['get', () => alice.collection('secret').get('k'), 'read'],
      ['query', () => alice.collection('secret').query({}), 'read'],
      ['subscribe', () => alice.collection('secret').subscribe({}, sink()), 'read'],
      ['describe', () => alice.describe('secret'), 'describe'],
      ['info', () => alice.collection('secret').info, 'describe'],
      ['create', () => alice.create('mine', { mode: 'eventual' }), 'create'],
      ['delete', () => alice.delete('carts'), 'delete'],
    ];
    for (const [call, attempt, operation] of denied) {
      const error = await refused(attempt);
      expect(error.code, call).toBe('COLLECTION_ACCESS_DENIED');
      expect(error.details, call).toMatchObject({ principal: 'alice', operation });
    }
    expect((await collections.collection('prices').query({})).items).toEqual([]); // nothing written
    // Refused before the lookup: existence is not revealed.
    expect((await refused(() => alice.collection('nope').get('k'))).code).toBe('COLLECTION_ACCESS_DENIED');
    expect((await refused(() => admin.collection('nope').get('k'))).code).toBe('COLLECTION_ACCESS_DENIED');
    expect((await refused(() => guardCollections(collections, session('root')).describe('nope'))).code).toBe(
      'COLLECTION_ACCESS_DENIED',
    );
  });

  it('ends live queries with the session’s error; a reload taking read away ends them too', async () => {
    const { collections, session, setPolicy } = await setup([
      rule('alice', 'collection', 'carts', ['read', 'write']),
    ]);
    await collections.create('carts', { mode: 'eventual' });
    const s = session('alice');
    const first = sink();
    const live = guardCollections(collections, s).collection('carts').subscribe({}, first);
    live.start();
    await collections.collection('carts').write({ op: 'put', key: 'a', value: { n: 1 } });
    await until(() => first.events.includes('changes:1'), 'a change');
    s.end(new TributaryError('ACCESS_REVOKED', { principal: 'alice' }));
    expect(first.errors).toHaveLength(1);
    expect(isTributaryError(first.errors[0], 'ACCESS_REVOKED')).toBe(true);
    live.close();

    const second = sink();
    guardCollections(collections, session('alice')).collection('carts').subscribe({}, second).start();
    await until(() => second.events.length === 1, 'the snapshot');
    setPolicy([]);
    await collections.collection('carts').write({ op: 'put', key: 'b', value: { n: 2 } });
    await until(() => second.errors.length === 1, 'the refusal');
    expect(isTributaryError(second.errors[0], 'COLLECTION_ACCESS_DENIED')).toBe(true);
    expect(second.events).toEqual(['snapshot:1']);
  });
});

describe('ACCESS', () => {
  it('names an operation for every resource of every call, and lists every broker call', () => {
    const brokerCalls: (keyof Broker)[] = [
      'createTopic',
      'deleteTopic',
      'listTopics',
      'describeTopic',
      'produce',
      'appendBatch',
      'appendEncoded',
      'initProducer',
      'fetch',
      'readBatches',
      'abortedTransactions',
      'offsets',
      'resolvePosition',
      'subscribe',
      'joinGroup',
      'commitOffsets',
      'fetchOffsets',
    ];
    for (const call of brokerCalls) expect(ACCESS, call).toHaveProperty(call);
    for (const [call, { needs }] of Object.entries(ACCESS)) {
      for (const [resource, operation] of needs as readonly (readonly [ResourceType, Operation])[]) {
        expect(['topic', 'collection', 'group', 'cluster'], call).toContain(resource);
        expect(['read', 'write', 'create', 'delete', 'describe', 'alter'], call).toContain(operation);
      }
    }
  });
});
