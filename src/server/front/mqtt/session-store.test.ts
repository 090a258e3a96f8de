import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TributaryBroker } from '../../../broker/broker.js';
import { emptySession, encodeSession, SESSION_EXPIRY_NEVER, type SessionState } from './session-state.js';
import { MqttSessionStore, SESSIONS_TOPIC } from './session-store.js';
import { type LogBroker, openLogBroker } from './testing/log-broker.js';

const encoder = new TextEncoder();

function sessionWithState(clientId: string): SessionState {
  const session = emptySession(clientId, 'local', 5, 3600);
  session.subscriptions.push({
    filter: 'plant/+/temp',
    qos: 2,
    noLocal: true,
    retainAsPublished: false,
    retainHandling: 1,
    subscriptionId: 7,
  });
  session.positions.push({ topic: 'plant', partition: 2, offset: 41 });
  session.outbound.push({ packetId: 9, qos: 2, topic: 'plant', partition: 2, offset: 41, state: 'released' });
  session.inbound.push({ packetId: 3, topic: 'plant', partition: 0, sequence: 5 });
  session.producer = { producerId: 12, producerEpoch: 0 };
  session.sequences.push({ topic: 'plant', partition: 0, next: 6 });
  return session;
}

describe('MQTT session store', () => {
  let logBroker: LogBroker;
  let broker: TributaryBroker;
  let stores: MqttSessionStore[];

  beforeEach(async () => {
    logBroker = await openLogBroker();
    broker = logBroker.broker;
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
    await logBroker.close();
  });

  async function open(options: Parameters<typeof MqttSessionStore.open>[1] = {}): Promise<MqttSessionStore> {
    const store = await MqttSessionStore.open(broker.forSystem(), { expiryCheckMs: 0, ...options });
    stores.push(store);
    return store;
  }

  it('creates a compacted, fsync-always internal topic hidden from users', async () => {
    await open();
    const topic = await broker.forSystem().describeTopic(SESSIONS_TOPIC);
    expect(topic.config).toMatchObject({ compact: true, fsync: 'always' });
    expect(topic.partitions).toHaveLength(1);
    expect((await broker.listTopics()).map((t) => t.name)).not.toContain(SESSIONS_TOPIC);
  });

  it('reloads every field of a saved session, and a removed one stays removed', async () => {
    const store = await open();
    await store.save(sessionWithState('a'));
    await store.save(sessionWithState('b'));
    await store.remove('b');
    const reloaded = await open();
    expect(reloaded.get('b')).toBeUndefined();
    const a = reloaded.get('a');
    // Stored as connected: after a restart it counts as disconnected since the load.
    expect(a?.disconnectedAt).toEqual(expect.any(Number));
    expect({ ...a, disconnectedAt: null }).toEqual(sessionWithState('a'));
  });

  it('group-commits: saves of one moment share one append, and later saves carry the newest state', async () => {
    const store = await open();
    const before = (await broker.forSystem().offsets(SESSIONS_TOPIC, 0)).next;
    const sessions = Array.from({ length: 50 }, (_, i) => sessionWithState(`device-${i}`));
    await Promise.all(sessions.map((s) => store.save(s)));
    const after = (await broker.forSystem().offsets(SESSIONS_TOPIC, 0)).next;
    expect(after - before).toBe(50); // one record per session…
    const records = await broker.forSystem().fetch(SESSIONS_TOPIC, 0, before);
    // …all in one batch: the log stamps one timestamp per append.
    expect(new Set(records.map((r) => r.timestamp)).size).toBeLessThanOrEqual(2);

    // A save while an append is in flight joins the next append, and saving the same session
    // many times writes it once per append.
    const first = sessions[0]!;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      first.positions = [{ topic: 'plant', partition: 2, offset: 100 + i }];
      pending.push(store.save(first));
    }
    await Promise.all(pending);
    const end = (await broker.forSystem().offsets(SESSIONS_TOPIC, 0)).next;
    expect(end - after).toBeLessThanOrEqual(2);
    const reloaded = await open();
    expect(reloaded.get('device-0')?.positions).toEqual([{ topic: 'plant', partition: 2, offset: 199 }]);
  });

  it('saveSoon writes within its delay without being awaited', async () => {
    const store = await open({ positionsFlushMs: 5 });
    const session = sessionWithState('soon');
    store.saveSoon(session);
    await store.close();
    expect((await open()).get('soon')).toBeDefined();
  });

  it('skips unreadable records with a warning and keeps the readable ones', async () => {
    const system = broker.forSystem();
    await open();
    const good = sessionWithState('good');
    await system.appendBatch(SESSIONS_TOPIC, 0, [
      { key: encoder.encode('junk'), value: encoder.encode('{"v":1,"clientId":"junk"') },
      { key: encoder.encode('future'), value: encoder.encode('{"v":99}') },
      { key: encoder.encode('liar'), value: encodeSession(sessionWithState('someone-else')) },
      { key: encoder.encode('good'), value: encodeSession(good) },
      {
        key: encoder.encode('bad-pid'),
        value: encoder.encode(
          JSON.stringify({ ...JSON.parse(new TextDecoder().decode(encodeSession(good))), inbound: [{}] }),
        ),
      },
    ]);
    const warnings: unknown[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    const store = await open({ logger });
    expect([...store.all()].map((s) => s.clientId)).toEqual(['good']);
    expect(warnings).toHaveLength(4);
  });

  it('expires disconnected sessions after their interval, capped by expiryMaxS; never-expiring ones stay', async () => {
    let now = 1_000_000;
    const expired: string[] = [];
    const store = await open({ now: () => now, expiryMaxS: 600, onExpired: (id) => expired.push(id) });
    const short = emptySession('short', 'local', 5, 10);
    const forever = emptySession('forever', 'local', 4, SESSION_EXPIRY_NEVER);
    const connected = emptySession('connected', 'local', 5, 10);
    short.disconnectedAt = now;
    forever.disconnectedAt = now;
    await Promise.all([store.save(short), store.save(forever), store.save(connected)]);
    expect(await store.expire(now + 9_999)).toEqual([]);
    expect(await store.expire(now + 10_000)).toEqual(['short']);
    expect(store.get('short')).toBeUndefined();
    expect(await store.expire(now + 599_999)).toEqual([]);
    // 3.1.1 sessions ask for "never"; expiryMaxS ends them too. A connected session never expires.
    expect(await store.expire(now + 600_000)).toEqual(['forever']);
    expect(expired).toEqual(['short', 'forever']);
    expect(store.effectiveExpiryS(SESSION_EXPIRY_NEVER)).toBe(600);
    expect(store.effectiveExpiryS(30)).toBe(30);

    // Reloaded: the stored-as-connected session counts as disconnected since the load.
    now += 1_000_000;
    const reloaded = await open({ now: () => now });
    expect(reloaded.get('connected')?.disconnectedAt).toBe(now);
    expect(reloaded.get('short')).toBeUndefined();
    expect(await reloaded.expire(now + 10_000)).toEqual(['connected']);
  });

  it('shared by gateways: one store reads what another stored when it follows, and a session handed off is no longer written', async () => {
    const shared = { shared: { catchUp: async () => undefined } };
    const a = await open(shared);
    const b = await open(shared);
    const state = sessionWithState('roaming');
    await a.save(state);
    expect(b.get('roaming')).toBeUndefined();
    await b.follow();
    expect(b.get('roaming')?.positions).toEqual([{ topic: 'plant', partition: 2, offset: 41 }]);

    // A hands the session to B, which moves it on; A's later saves of its copy write nothing.
    a.handOff('roaming');
    const moved = b.get('roaming')!;
    moved.positions = [{ topic: 'plant', partition: 2, offset: 50 }];
    await b.save(moved);
    state.positions = [{ topic: 'plant', partition: 2, offset: 1 }];
    await a.save(state);
    await a.follow();
    expect(a.get('roaming')?.positions).toEqual([{ topic: 'plant', partition: 2, offset: 50 }]);
    const fresh = await open();
    expect(fresh.get('roaming')?.positions).toEqual([{ topic: 'plant', partition: 2, offset: 50 }]);
  });
});

describe('MQTT session store on the file log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-mqtt-sessions-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('survives a restart and compaction', async () => {
    const logBroker = await openLogBroker(dir);
    let store = await MqttSessionStore.open(logBroker.broker.forSystem(), { expiryCheckMs: 0 });
    const session = sessionWithState('sensor');
    for (let i = 0; i < 20; i++) {
      session.positions = [{ topic: 'plant', partition: 2, offset: i }];
      await store.save(session);
    }
    await store.save(sessionWithState('gone'));
    await store.remove('gone');
    await store.close();
    await logBroker.compact(SESSIONS_TOPIC);
    const broker = await logBroker.restart();
    store = await MqttSessionStore.open(broker.forSystem(), { expiryCheckMs: 0 });
    expect(store.get('sensor')?.positions).toEqual([{ topic: 'plant', partition: 2, offset: 19 }]);
    expect(store.get('gone')).toBeUndefined();
    await store.close();
    await logBroker.close();
  });
});
