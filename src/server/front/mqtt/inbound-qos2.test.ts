import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TributaryBroker } from '../../../broker/broker.js';
import { ExactlyOnceInbound } from './inbound-qos2.js';
import { emptySession, type SessionState } from './session-state.js';
import { MqttSessionStore } from './session-store.js';
import { type LogBroker, openLogBroker } from './testing/log-broker.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const record = (text: string) => ({ key: encoder.encode('plant/line1'), value: encoder.encode(text) });

describe('QoS 2 inbound exactly once through the idempotent producer', () => {
  let logBroker: LogBroker;
  let broker: TributaryBroker;
  let store: MqttSessionStore;

  beforeEach(async () => {
    logBroker = await openLogBroker();
    broker = logBroker.broker;
    await broker.createTopic('plant', { partitions: 2 });
    store = await MqttSessionStore.open(broker.forSystem(), { expiryCheckMs: 0 });
  });
  afterEach(async () => {
    await store.close();
    await logBroker.close();
  });

  /** A server restart: a new broker and session store on the same log, the session as stored. */
  async function restart(clientId: string): Promise<SessionState> {
    await store.close();
    broker = await logBroker.restart();
    store = await MqttSessionStore.open(broker.forSystem(), { expiryCheckMs: 0 });
    return store.get(clientId)!;
  }

  function inbound(session: SessionState): ExactlyOnceInbound {
    return new ExactlyOnceInbound({ broker, session, persist: (s) => store.save(s) });
  }

  async function values(partition = 0): Promise<string[]> {
    const records = await broker.fetch('plant', partition, 0);
    return records.map((r) => decoder.decode(r.value!));
  }

  it('appends a message once; a resend of its packet id, before or after PUBREC, appends nothing', async () => {
    const session = emptySession('dev', 'local', 5, 60);
    const device = inbound(session);
    const [first, again] = await Promise.all([
      device.receive(1, 'plant', 0, record('a')),
      device.receive(1, 'plant', 0, record('a')),
    ]);
    expect(first).toEqual({ duplicate: false, offset: 0 });
    expect(again).toEqual({ duplicate: true });
    expect(await device.receive(1, 'plant', 0, record('a'))).toEqual({ duplicate: true });
    expect(await values()).toEqual(['a']);
    expect(device.has(1)).toBe(true);
  });

  it('writes the intent durably before the append, and PUBREL forgets it durably', async () => {
    const session = emptySession('dev', 'local', 5, 60);
    let appendsSeen = 0;
    const device = new ExactlyOnceInbound({
      broker,
      session,
      persist: async (s) => {
        await store.save(s);
        appendsSeen = (await broker.offsets('plant', 0)).next;
      },
    });
    await device.receive(7, 'plant', 0, record('a'));
    expect(appendsSeen).toBe(0); // the intent was stored while the log was still empty
    expect(store.get('dev')?.inbound).toMatchObject([
      { packetId: 7, topic: 'plant', partition: 0, sequence: 0 },
    ]);
    expect(await device.release(7)).toBe(true);
    expect(await device.release(7)).toBe(false);
    const reloaded = await restart('dev');
    expect(reloaded.inbound).toEqual([]);
    // After the release the packet id is free: the client may reuse it for a new message.
    await inbound(reloaded).receive(7, 'plant', 0, record('b'));
    expect(await values()).toEqual(['a', 'b']);
  });

  it('a crash after the append: the resend reuses the sequence and the log drops the duplicate', async () => {
    const device = inbound(emptySession('dev', 'local', 5, 60));
    await device.receive(1, 'plant', 0, record('a'));
    await device.receive(2, 'plant', 1, record('b'));
    const reloaded = await restart('dev');
    const after = inbound(reloaded);
    expect(await after.receive(1, 'plant', 0, record('a'))).toEqual({ duplicate: true });
    expect(await after.receive(2, 'plant', 1, record('b'))).toEqual({ duplicate: true });
    await after.receive(3, 'plant', 0, record('c'));
    expect(await values(0)).toEqual(['a', 'c']);
    expect(await values(1)).toEqual(['b']);
  });

  it('a crash between intent and append: the resend appends it, once', async () => {
    const session = emptySession('dev', 'local', 5, 60);
    session.producer = await broker.initProducer();
    session.sequences.push({ topic: 'plant', partition: 0, next: 1 });
    session.inbound.push({ packetId: 4, topic: 'plant', partition: 0, sequence: 0 });
    await store.save(session);
    const reloaded = await restart('dev');
    const device = inbound(reloaded);
    await device.receive(4, 'plant', 0, record('a'));
    await device.receive(4, 'plant', 0, record('a'));
    await device.receive(5, 'plant', 0, record('b'));
    expect(await values()).toEqual(['a', 'b']);
  });

  it('resends of messages older than the log remembers for duplicates are still not appended', async () => {
    const device = inbound(emptySession('dev', 'local', 5, 60));
    // Twelve QoS 2 messages in flight, none released, then a crash: the log remembers only the
    // last five batches of a producer per partition.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => device.receive(i + 1, 'plant', 0, record(`m${i}`))),
    );
    const reloaded = await restart('dev');
    const after = inbound(reloaded);
    for (let i = 0; i < 12; i++) await after.receive(i + 1, 'plant', 0, record(`m${i}`));
    expect(await values()).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`));
    await after.receive(13, 'plant', 0, record('new'));
    expect((await values()).at(-1)).toBe('new');
  });

  it('concurrent messages to one partition are appended in the order received', async () => {
    const device = inbound(emptySession('dev', 'local', 5, 60));
    const texts = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await Promise.all(texts.map((text, i) => device.receive(i + 1, 'plant', 0, record(text))));
    expect(await values()).toEqual(texts);
  });

  it('intents a client never resends (it lost its state) leave no gap: later messages are appended', async () => {
    const session = emptySession('dev', 'local', 5, 60);
    session.producer = await broker.initProducer();
    // Two intents stored, never appended; the client comes back without them.
    session.sequences.push({ topic: 'plant', partition: 0, next: 2 });
    session.inbound.push({ packetId: 1, topic: 'plant', partition: 0, sequence: 0 });
    session.inbound.push({ packetId: 2, topic: 'plant', partition: 0, sequence: 1 });
    await store.save(session);
    const reloaded = await restart('dev');
    const device = inbound(reloaded);
    await Promise.all([
      device.receive(10, 'plant', 0, record('x')),
      device.receive(11, 'plant', 0, record('y')),
      device.receive(12, 'plant', 0, record('z')),
    ]);
    expect(await values()).toEqual(['x', 'y', 'z']);
    // The dropped intents' packet ids are new messages now.
    expect(device.has(1)).toBe(false);
    await device.receive(1, 'plant', 0, record('w'));
    expect(await values()).toEqual(['x', 'y', 'z', 'w']);
    const again = await restart('dev');
    expect(again.sequences).toEqual([{ topic: 'plant', partition: 0, next: 4 }]);
    expect(again.inbound.map((i) => [i.packetId, i.sequence])).toEqual([
      [10, 0],
      [11, 1],
      [12, 2],
      [1, 3],
    ]);
  });

  it('a failed append leaves no intent: the packet id can be sent again', async () => {
    const device = inbound(emptySession('dev', 'local', 5, 60));
    await expect(device.receive(1, 'missing', 0, record('a'))).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    expect(device.has(1)).toBe(false);
    await device.receive(1, 'plant', 0, record('a'));
    expect(await values()).toEqual(['a']);
  });
});
