import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../../../broker/broker.js';
import type { Broker, RecordInput } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
// biome-ignore lint/style/noRestrictedImports: the test is a composition root: it builds a broker on a log.
import { createMemoryLog, type MemoryLog } from '../../../log/memory/memory-log.js';
import { MQTT_RETAINED_TOPIC, RetainedStore, type RetainedStoreOptions } from './retained.js';
import { filterMatches, parseTopicFilter } from './topics.js';

const logger = pino({ level: 'silent' });
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LIMITS: RetainedStoreOptions = { messagesMax: 1000, bytesMax: 1 << 20, logger };

const message = (payload: string, headers: Record<string, string> = {}): RecordInput => ({
  key: null,
  value: encoder.encode(payload),
  headers: Object.entries(headers).map(([key, value]) => ({ key, value: encoder.encode(value) })),
});
const clear = (): RecordInput => ({ key: null, value: new Uint8Array(0) });

/** Retained names matching `filter`, each with its payload, sorted. */
function retainedOf(store: RetainedStore, filter: string, mayRead?: (topic: string) => boolean): string[] {
  return store
    .matching(parseTopicFilter(filter), mayRead)
    .map(({ topicName, record }) => `${topicName}=${decoder.decode(record.value!)}`)
    .sort();
}

describe('retained message store', () => {
  let log: MemoryLog;
  let broker: Broker;
  let store: RetainedStore;

  beforeEach(async () => {
    log = createMemoryLog();
    broker = (await createBroker(log)).forSystem();
    store = await RetainedStore.open(broker, LIMITS);
  });
  afterEach(async () => {
    store.close();
    await broker.close();
    await log.close();
  });

  it('keeps its messages in a compacted, fsynced internal topic keyed by MQTT topic name', async () => {
    await store.retain('sensors/kitchen/temp', { ...message('21.5', { 'mqtt.qos': '1', unit: 'C' }) });
    const topic = await log.describeTopic(MQTT_RETAINED_TOPIC);
    expect(topic.config).toMatchObject({ compact: true, fsync: 'always', partitions: 1 });
    const [record] = await broker.fetch(MQTT_RETAINED_TOPIC, 0, 0);
    expect(decoder.decode(record!.key!)).toBe('sensors/kitchen/temp');
    expect(decoder.decode(record!.value!)).toBe('21.5');
    expect(record!.headers.map((h) => [h.key, decoder.decode(h.value)])).toEqual([
      ['mqtt.qos', '1'],
      ['unit', 'C'],
    ]);
    expect((await broker.listTopics()).map((t) => t.name)).not.toContain(MQTT_RETAINED_TOPIC);
  });

  it('sets, overwrites and clears (an empty payload writes a tombstone)', async () => {
    await store.retain('a/b', message('1'));
    expect(retainedOf(store, 'a/b')).toEqual(['a/b=1']);
    await store.retain('a/b', message('2'));
    expect(retainedOf(store, 'a/b')).toEqual(['a/b=2']);
    expect(store.size).toBe(1);
    await store.retain('a/b', clear());
    expect(retainedOf(store, 'a/#')).toEqual([]);
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    const records = await broker.fetch(MQTT_RETAINED_TOPIC, 0, 0);
    expect(records.at(-1)!.value).toBeNull();
    await store.retain('a/never-set', clear()); // clearing nothing is fine
    expect(store.size).toBe(0);
  });

  it('finds what each kind of filter matches (MQTT §4.7), "$" names only by literal filters', async () => {
    const names = [
      'sport',
      'sport/',
      'sport/tennis',
      'sport/tennis/player1',
      'sport/golf/x',
      'news/a',
      'news',
    ];
    for (const name of names) await store.retain(name, message(name.length.toString()));
    expect(retainedOf(store, 'sport/#')).toEqual([
      'sport/=6',
      'sport/golf/x=12',
      'sport/tennis/player1=20',
      'sport/tennis=12',
      'sport=5',
    ]);
    expect(retainedOf(store, 'sport/+')).toEqual(['sport/=6', 'sport/tennis=12']);
    expect(retainedOf(store, '+')).toEqual(['news=4', 'sport=5']);
    expect(retainedOf(store, '+/+/player1')).toEqual(['sport/tennis/player1=20']);
    expect(retainedOf(store, '#')).toHaveLength(names.length);
    expect(retainedOf(store, 'sport/tennis/#')).toEqual(['sport/tennis/player1=20', 'sport/tennis=12']);
    expect(retainedOf(store, 'nothing/#')).toEqual([]);
    expect(retainedOf(store, '$share/g/news/#')).toEqual(['news/a=6', 'news=4']);
  });

  it('leaves out the topics the subscriber may not read', async () => {
    await store.retain('open/x', message('1'));
    await store.retain('secret/x', message('2'));
    const mayRead = (topic: string) => topic !== 'secret';
    expect(retainedOf(store, '#', mayRead)).toEqual(['open/x=1']);
    expect(retainedOf(store, '+/x', mayRead)).toEqual(['open/x=1']);
    expect(retainedOf(store, 'secret/#', mayRead)).toEqual([]);
  });

  it('loads everything again on a new broker over the same log, compacted or not', async () => {
    await store.retain('a/1', message('one'));
    await store.retain('a/2', message('two'));
    await store.retain('a/2', message('two again'));
    await store.retain('a/1', clear());
    await store.retain('b', message('bee'));
    for (const compact of [false, true]) {
      if (compact) await log.compact(MQTT_RETAINED_TOPIC);
      const again = await RetainedStore.open((await createBroker(log)).forSystem(), LIMITS);
      expect(retainedOf(again, '#')).toEqual(['a/2=two again', 'b=bee']);
      expect(again.size).toBe(2);
      expect(again.bytes).toBe(store.bytes);
      again.close();
    }
  });

  it('follows records other writers append (another server on the same log)', async () => {
    const other = await RetainedStore.open(broker, LIMITS);
    await other.retain('x/y', message('from the other'));
    await store.retain('x/z', message('mine'));
    // `retain` resolves once its own store applied it; the other store follows the same topic.
    await other.retain('x/sync', message('.'));
    expect(retainedOf(other, 'x/+')).toEqual(['x/sync=.', 'x/y=from the other', 'x/z=mine']);
    await store.retain('x/sync', message('.'));
    expect(retainedOf(store, 'x/+')).toEqual(['x/sync=.', 'x/y=from the other', 'x/z=mine']);
    other.close();
  });

  it('ends concurrent writes of one name with the last one the log took', async () => {
    const writes = Array.from({ length: 20 }, (_, i) =>
      store.retain('race/one', i % 5 === 4 ? clear() : message(`v${i}`)),
    );
    await Promise.all(writes);
    const records = await broker.fetch(MQTT_RETAINED_TOPIC, 0, 0, { maxRecords: 100 });
    const last = records.at(-1)!;
    const expected = last.value === null ? [] : [`race/one=${decoder.decode(last.value)}`];
    expect(retainedOf(store, 'race/#')).toEqual(expected);
  });

  it('refuses a new message past mqttRetainedMessagesMax, writing nothing; overwrites and clears still work', async () => {
    const small = await RetainedStore.open(broker, { ...LIMITS, messagesMax: 2 });
    await small.retain('q/1', message('1'));
    await Promise.all([small.retain('q/2', message('2')), small.retain('q/2', message('2b'))]);
    expect(() => small.check('q/3', message('3'))).toThrow(/retained MQTT messages/);
    expect(() => small.check('q/1', message('replacing is fine'))).not.toThrow();
    expect(() => small.check('q/3', clear())).not.toThrow();
    const before = (await broker.offsets(MQTT_RETAINED_TOPIC, 0)).next;
    const refused = await small.retain('q/3', message('3')).catch((error: unknown) => error);
    expect(isTributaryError(refused, 'RESOURCE_EXHAUSTED')).toBe(true);
    expect((refused as Error).message).toContain('retained MQTT messages');
    expect((await broker.offsets(MQTT_RETAINED_TOPIC, 0)).next).toBe(before);
    await small.retain('q/1', message('1 again'));
    await small.retain('q/2', clear());
    await small.retain('q/3', message('3'));
    expect(retainedOf(small, 'q/#')).toEqual(['q/1=1 again', 'q/3=3']);
    small.close();
  });

  it('counts concurrent new names against the limit before any is durable', async () => {
    const small = await RetainedStore.open(broker, { ...LIMITS, messagesMax: 3 });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => small.retain(`c/${i}`, message('x'))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(small.size).toBe(3);
    small.close();
  });

  it('refuses a message past mqttRetainedBytesMax', async () => {
    const small = await RetainedStore.open(broker, { ...LIMITS, bytesMax: 100 });
    await small.retain('b/1', message('x'.repeat(50)));
    const refused = await small.retain('b/2', message('x'.repeat(50))).catch((error: unknown) => error);
    expect(isTributaryError(refused, 'RESOURCE_EXHAUSTED')).toBe(true);
    expect((refused as Error).message).toContain('bytes');
    await small.retain('b/1', message('x'.repeat(90))); // replacing within the limit
    expect(small.bytes).toBe(93);
    small.close();
  });

  it('loads no more than its limit when the topic holds more (a lowered setting)', async () => {
    for (let i = 0; i < 5; i += 1) await store.retain(`l/${i}`, message(String(i)));
    const small = await RetainedStore.open(broker, { ...LIMITS, messagesMax: 3 });
    expect(small.size).toBe(3);
    expect(retainedOf(small, 'l/+')).toEqual(['l/0=0', 'l/1=1', 'l/2=2']);
    small.close();
  });

  it('handles names of thousands of levels without deep recursion', async () => {
    const deep = `d/${'x/'.repeat(20_000)}end`;
    await store.retain(deep, message('deep'));
    expect(store.matching(parseTopicFilter('d/#'))).toHaveLength(1);
    expect(store.matching(parseTopicFilter(`d/${'+/'.repeat(20_000)}end`))).toHaveLength(1);
    await store.retain(deep, clear());
    expect(store.matching(parseTopicFilter('#'))).toHaveLength(0);
  });

  it('fails pending and later writes once closed', async () => {
    const closing = await RetainedStore.open(broker, LIMITS);
    closing.close();
    const error = await closing.retain('z/1', message('1')).catch((caught: unknown) => caught);
    expect(isTributaryError(error, 'SHUTTING_DOWN')).toBe(true);
  });
});

describe('retained message store properties', () => {
  it('matching() finds exactly the retained names filterMatches() accepts, after any sequence of writes', async () => {
    const log = createMemoryLog();
    const broker = (await createBroker(log)).forSystem();
    const store = await RetainedStore.open(broker, { ...LIMITS, messagesMax: 100_000, bytesMax: 1 << 30 });
    const level = fc.constantFrom('a', 'b', '', 'c');
    const name = fc
      .tuple(fc.constantFrom('a', 'b', 't'), fc.array(level, { maxLength: 3 }))
      .map(([first, rest]) => [first, ...rest].join('/'));
    const filter = fc
      .tuple(fc.array(fc.constantFrom('a', 'b', '', '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([levels, hash]) => (hash ? [...levels, '#'] : levels))
      .filter((levels) => ['a', 'b', 't', '+', '#'].includes(levels[0]!))
      .map((levels) => levels.join('/'));
    const write = fc.tuple(name, fc.boolean());
    const model = new Map<string, string>();
    let version = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(write, { maxLength: 8 }),
        fc.array(filter, { maxLength: 4 }),
        async (writes, filters) => {
          for (const [topicName, set] of writes) {
            version += 1;
            if (set) model.set(topicName, String(version));
            else model.delete(topicName);
            await store.retain(topicName, set ? message(String(version)) : clear());
          }
          expect(store.size).toBe(model.size);
          for (const text of filters) {
            const parsed = parseTopicFilter(text);
            const expected = [...model]
              .filter(([topicName]) => filterMatches(parsed, topicName))
              .map(([topicName, payload]) => `${topicName}=${payload}`)
              .sort();
            expect(retainedOf(store, text)).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
    const reloaded = await RetainedStore.open((await createBroker(log)).forSystem(), {
      ...LIMITS,
      messagesMax: 100_000,
      bytesMax: 1 << 30,
    });
    expect(retainedOf(reloaded, '#')).toEqual(retainedOf(store, '#'));
    reloaded.close();
    store.close();
    await broker.close();
    await log.close();
  });
});
