/**
 * redis-sink against the machine's Redis: SET/DEL, hashes, INCRBY counters; each batch one Lua
 * script with the partition's position, so a batch applied again (whole or overlapping) adds
 * nothing to a counter; a value the script could only half-apply is refused before any write.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createBroker } from '../src/broker/index.js';
import { eventually } from '../src/broker/testing/helpers.js';
import type { Broker, LogRecord } from '../src/broker/types.js';
import { createRedisSinkTarget, redisSinkFactory } from '../src/connectors/sinks/index.js';
import type { Connector } from '../src/connectors/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import {
  caughtUp,
  describeWithService,
  json,
  REDIS_URL,
  redisAvailable,
  testContext,
  uniqueName,
  utf8,
} from './sinks-helpers.js';

const available = await redisAvailable();

describeWithService('redis-sink', available, `Redis at ${REDIS_URL}`, () => {
  let redis: Redis;
  let broker: Broker;
  let prefix: string;
  let name: string;
  const connectors: Connector[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    broker = await createBroker(createMemoryLog());
    prefix = `${uniqueName('sinktest')}:`;
    name = uniqueName('cache');
  });
  afterEach(async () => {
    for (const connector of connectors.splice(0)) await connector.stop();
    await broker.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.del(`tributary:sink-positions:${name}`);
  });

  function sink(config: Record<string, unknown>): Connector {
    const checked = redisSinkFactory.validate({ url: REDIS_URL, keyPrefix: prefix, ...config });
    const connector = redisSinkFactory.create(
      { name, type: 'redis-sink', config },
      checked,
      testContext(broker),
    );
    connectors.push(connector);
    return connector;
  }

  function record(offset: number, key: string, value: string | null): LogRecord {
    return { offset, timestamp: 0, key: utf8(key), value: value === null ? null : utf8(value), headers: [] };
  }

  it('refuses a bad config naming the field', () => {
    expect(() => redisSinkFactory.validate({ topics: ['t'] })).toThrow(/config.url/);
    expect(() => redisSinkFactory.validate({ topics: ['t'], url: REDIS_URL, mode: 'list' })).toThrow(
      /config.mode/,
    );
  });

  it('set mode: SET by key, DEL on a tombstone, live changes too', async () => {
    await broker.createTopic('prices', { partitions: 2 });
    await broker.produce('prices', [
      { key: utf8('a'), value: utf8('1.5') },
      { key: utf8('b'), value: utf8('2') },
      { key: utf8('a'), value: utf8('1.75') },
      { key: utf8('b'), value: null },
    ]);
    const connector = sink({ topics: ['prices'] });
    await connector.start();
    await caughtUp(connector, broker, 'prices');
    expect(await redis.get(`${prefix}a`)).toBe('1.75');
    expect(await redis.exists(`${prefix}b`)).toBe(0);
    await broker.produce('prices', [{ key: utf8('c'), value: utf8('3') }]);
    await eventually(async () => expect(await redis.get(`${prefix}c`)).toBe('3'), 10_000);
  });

  it('hash mode: the JSON object becomes the hash, replaced whole', async () => {
    await broker.createTopic('users', { partitions: 1 });
    await broker.produce('users', [
      { key: utf8('u1'), value: json({ name: 'Ada', age: 36, admin: true }) },
      { key: utf8('u1'), value: json({ name: 'Ada L.', tags: ['x'] }) },
    ]);
    const connector = sink({ topics: ['users'], mode: 'hash' });
    await connector.start();
    await caughtUp(connector, broker, 'users');
    expect(await redis.hgetall(`${prefix}u1`)).toEqual({ name: 'Ada L.', tags: '["x"]' });
  });

  it('incr mode: a batch applied again, whole or overlapping, adds nothing', async () => {
    const config = redisSinkFactory.validate({
      url: REDIS_URL,
      keyPrefix: prefix,
      topics: ['t'],
      mode: 'incr',
    });
    const target = createRedisSinkTarget({ name, type: 'redis-sink', config: {} }, config);
    await target.open();
    const records = Array.from({ length: 20 }, (_, offset) =>
      record(offset, `k${offset % 3}`, String(offset + 1)),
    );
    const signal = new AbortController().signal;
    await target.apply({ topic: 't', partition: 0, records: records.slice(0, 10) }, signal);
    await target.apply({ topic: 't', partition: 0, records: records.slice(0, 10) }, signal);
    await target.apply({ topic: 't', partition: 0, records: records.slice(5, 20) }, signal);
    const expected = [0, 0, 0];
    for (let offset = 0; offset < 20; offset++)
      expected[offset % 3] = (expected[offset % 3] ?? 0) + offset + 1;
    expect(await redis.mget(`${prefix}k0`, `${prefix}k1`, `${prefix}k2`)).toEqual(expected.map(String));
    expect((await target.storedPositions([{ topic: 't', partition: 0 }])).get('t/0')).toBe(20);
    await target.close();
  });

  it('incr mode: a key holding a non-integer refuses the whole batch before any write', async () => {
    await redis.set(`${prefix}bad`, 'hello');
    const config = redisSinkFactory.validate({
      url: REDIS_URL,
      keyPrefix: prefix,
      topics: ['t'],
      mode: 'incr',
    });
    const target = createRedisSinkTarget({ name, type: 'redis-sink', config: {} }, config);
    await target.open();
    const batch = { topic: 't', partition: 0, records: [record(0, 'good', '5'), record(1, 'bad', '1')] };
    await expect(target.apply(batch, new AbortController().signal)).rejects.toMatchObject({
      code: 'SINK_TARGET_REFUSED',
    });
    expect(await redis.exists(`${prefix}good`)).toBe(0);
    expect((await target.storedPositions([{ topic: 't', partition: 0 }])).size).toBe(0);
    const notANumber = { topic: 't', partition: 0, records: [record(0, 'good', 'x')] };
    await expect(target.apply(notANumber, new AbortController().signal)).rejects.toMatchObject({
      code: 'SINK_RECORD_INVALID',
    });
    await target.close();
  });
});
