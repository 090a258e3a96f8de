import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.js';
import { JetStreamGateways } from './gateways.js';
import { NATS_SERVER_BINARY, type NatsServers, startNatsServers } from './testing/nats-servers.js';

/**
 * The gateway registry, the group coordinator leases and requests between gateways, on a
 * nats-server (R1) this file starts on a free port. Each test uses a namespace of its own.
 */
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';
/** Long enough that a loaded machine does not take a live gateway for dead. */
const TTL_MS = 3000;

describe.skipIf(NATS_SERVER_BINARY === undefined && !required)('JetStream gateways', () => {
  let nats: NatsServers;
  let namespaces = 0;
  const opened: { connection: NatsConnection; gateways: JetStreamGateways }[] = [];

  beforeAll(async () => {
    nats = await startNatsServers();
  }, 30_000);
  afterEach(async () => {
    for (const { connection, gateways } of opened.splice(0)) {
      await gateways.close();
      await connection.close();
    }
  });
  afterAll(async () => {
    await nats?.stop();
  });

  async function gatewaysOf(namespace: string): Promise<JetStreamGateways> {
    const connection = await connect({ servers: [...nats.urls] });
    const gateways = await JetStreamGateways.open({ connection, namespace, replicas: 1, ttlMs: TTL_MS });
    opened.push({ connection, gateways });
    return gateways;
  }

  async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('lists the live gateways with their Kafka addresses, and drops one that closes', async () => {
    const namespace = `gw${process.pid}_${namespaces++}`;
    const a = await gatewaysOf(namespace);
    const b = await gatewaysOf(namespace);
    await a.setKafkaAddress('127.0.0.1', 9092);
    await until(() => b.gateways().some((g) => g.id === a.self.id && g.kafka?.port === 9092));
    expect(a.self.nodeId).not.toBe(b.self.nodeId);
    await until(() => a.gateways().length === 2);
    await b.close();
    await until(() => a.gateways().length === 1);
    expect(a.gateways().map((g) => g.id)).toEqual([a.self.id]);
  });

  it('gives a group one coordinator when gateways ask at once, and moves it when its holder is gone', async () => {
    const namespace = `gw${process.pid}_${namespaces++}`;
    const all = await Promise.all([gatewaysOf(namespace), gatewaysOf(namespace), gatewaysOf(namespace)]);
    await until(() => all.every((g) => g.gateways().length === 3));
    const answers = await Promise.all(all.map((g) => g.coordinatorOf('billing')));
    const holder = answers[0]!.id;
    expect(answers.map((answer) => answer.id)).toEqual([holder, holder, holder]);

    const lost: string[] = [];
    const first = all.find((g) => g.self.id === holder)!;
    first.onCoordinationLost((groupId) => lost.push(groupId));
    const others = all.filter((g) => g !== first);
    // Closing deletes the holder's entry and lease: the others take it over as soon as they see
    // that (within the TTL, not after it), one of them only. Until the deletions reach them,
    // their cached lease still names the holder.
    await first.close();
    await until(() => others.every((g) => !g.gateways().some((each) => each.id === holder)), TTL_MS);
    const next = await Promise.all(others.map((g) => g.coordinatorOf('billing')));
    expect(next[0]!.id).not.toBe(holder);
    expect(next[1]!.id).toBe(next[0]!.id);
    expect(lost).toEqual([]);
  });

  it('takes over the lease of a gateway that stopped heartbeating, and tells it it lost the lease', async () => {
    const namespace = `gw${process.pid}_${namespaces++}`;
    const a = await gatewaysOf(namespace);
    const b = await gatewaysOf(namespace);
    await until(() => b.gateways().length === 2);
    expect((await a.coordinatorOf('orders')).id).toBe(a.self.id);
    const lost: string[] = [];
    a.onCoordinationLost((groupId) => lost.push(groupId));
    // A stalled gateway: its heartbeats stop while it still runs (as after a long pause).
    (a as unknown as { heartbeat: NodeJS.Timeout }).heartbeat.close();
    await until(() => b.gateways().length === 1, 10 * TTL_MS);
    expect((await b.coordinatorOf('orders')).id).toBe(b.self.id);
    await until(() => lost.length === 1);
    expect(lost).toEqual(['orders']);
  });

  it('answers requests between gateways and rethrows the errors their handlers throw', async () => {
    const namespace = `gw${process.pid}_${namespaces++}`;
    const a = await gatewaysOf(namespace);
    const b = await gatewaysOf(namespace);
    b.handle('echo', async (body) => ({ echoed: body }));
    b.handle('refuse', async () => {
      throw new TributaryError('UNKNOWN_MEMBER', { groupId: 'g', memberId: 'm' });
    });
    expect(await a.request(b.self.id, 'echo', { n: 1 })).toEqual({ echoed: { n: 1 } });
    await expect(a.request(b.self.id, 'refuse', null)).rejects.toMatchObject({ code: 'UNKNOWN_MEMBER' });
    await expect(a.request(b.self.id, 'missing', null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await b.close();
    await expect(a.request(b.self.id, 'echo', null, 500)).rejects.toBeInstanceOf(TributaryError);
  });

  it('answers MessagePack requests, and tells a request that reached nobody from one without an answer', async () => {
    const namespace = `gw${process.pid}_${namespaces++}`;
    const a = await gatewaysOf(namespace);
    const b = await gatewaysOf(namespace);
    const big = 2 ** 40 + 3;
    b.handlePacked('echo', async (body) => ({ echoed: body }));
    b.handlePacked('refuse', async () => {
      throw new TributaryError('NOT_PARTITION_LEADER', { collection: 'c', partition: 1 });
    });
    b.handlePacked('stall', () => new Promise(() => undefined));
    const body = { ops: [{ op: 'put', key: 'k', value: { n: 1, s: 'é' } }], offset: big };
    expect(await a.requestPacked(b.self.id, 'echo', body)).toEqual({ echoed: body });
    // The JSON channel does not answer MessagePack methods, and the other way round.
    await expect(a.request(b.self.id, 'echo', null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(a.requestPacked(b.self.id, 'refuse', null)).rejects.toMatchObject({
      code: 'NOT_PARTITION_LEADER',
    });
    await expect(a.requestPacked(b.self.id, 'stall', null, 300)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await b.close();
    await expect(a.requestPacked(b.self.id, 'echo', null, 5000)).rejects.toMatchObject({
      code: 'GATEWAY_UNREACHABLE',
    });
  });

  it('writes a shared table entry over one revision only once, and tells every gateway of each change', async () => {
    const namespace = `gw${process.pid}_${namespaces++}`;
    const [a, b] = await Promise.all([gatewaysOf(namespace), gatewaysOf(namespace)]);
    const [onA, onB] = await Promise.all([a.table('claims'), b.table('claims')]);
    const seen = new Map<string, string | null>();
    const stop = await onB.watch((key, entry) =>
      seen.set(key, entry === null ? null : new TextDecoder().decode(entry.value)),
    );
    const bytes = (text: string) => new TextEncoder().encode(text);
    try {
      expect(await onA.get('sensor/1 é')).toEqual({ value: null, revision: 0 });
      // Two writers over "never written": one wins.
      const [first, second] = await Promise.all([
        onA.swap('sensor/1 é', bytes('a'), 0),
        onB.swap('sensor/1 é', bytes('b'), 0),
      ]);
      expect([first, second].filter((revision) => revision !== null)).toHaveLength(1);
      const current = await onB.get('sensor/1 é');
      expect(current.revision).toBe(first ?? second);
      expect(await onA.swap('sensor/1 é', bytes('stale'), current.revision - 1)).toBeNull();
      const next = await onA.swap('sensor/1 é', bytes('c'), current.revision);
      expect(next).toBeGreaterThan(current.revision);
      await until(() => seen.get('sensor/1 é') === 'c');
      // Deleting at a revision that moved on deletes nothing; at the current one, once.
      expect(await onB.remove('sensor/1 é', current.revision)).toBe(false);
      const removals = await Promise.all([onA.remove('sensor/1 é', next!), onB.remove('sensor/1 é', next!)]);
      expect(removals.filter(Boolean)).toHaveLength(1);
      await until(() => seen.get('sensor/1 é') === null);
      const deleted = await onA.get('sensor/1 é');
      expect(deleted.value).toBeNull();
      expect(await onA.swap('sensor/1 é', bytes('d'), deleted.revision)).not.toBeNull();
      await expect(a.table('no-dashes')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      stop();
    }
  });
});
