/**
 * @module connectors/sinks/redis/redis-sink
 * `redis-sink`: writes each record to Redis by key — `SET`, a hash, or an `INCRBY` counter (see
 * `RedisSinkMode`) — and `DEL`s on a tombstone. A batch is one Lua script (`apply-script.ts`)
 * that also stores the partition's next offset in a positions hash, so the effect is exactly once:
 * a batch applied again finds its records below the stored position and skips them, which is what
 * keeps an `incr` counter from counting a record twice after a crash. One Redis server (not
 * Redis Cluster: the script touches keys it does not declare).
 *
 * @example
 * { "name": "orders-cache", "type": "redis-sink",
 *   "config": { "topics": ["orders"], "url": "redis://127.0.0.1:6379", "mode": "hash", "keyPrefix": "order:" } }
 */
import type { Redis } from 'ioredis';
import type { LogRecord, TopicPartition } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import { loadRedis } from '../../drivers.js';
import type { ConnectorFactory, ConnectorSpec } from '../../types.js';
import {
  changeOf,
  isCdcRecord,
  type RecordWhere,
  recordChange,
  recordInvalid,
  recordKeyText,
  type SinkChange,
} from '../record-changes.js';
import { createSinkConnector, sinkOwnsItsPositions, sinkPositionOwner } from '../sink-connector.js';
import { positionKey, type SinkBatch, type SinkTarget } from '../sink-target.js';
import { APPLY_SCRIPT, SKIP_SCRIPT } from './apply-script.js';
import { type RedisSinkConfig, readRedisSinkConfig } from './config.js';

const REFUSED_PREFIX = 'SINK_TARGET_REFUSED ';
const INTEGER = /^-?\d{1,18}$/;
const decoder = new TextDecoder();

export function redisPositionsKey(spec: ConnectorSpec, config: RedisSinkConfig): string {
  return config.positionsKey ?? `tributary:sink-positions:${sinkPositionOwner(spec, config.common)}`;
}

export const redisSinkFactory: ConnectorFactory<RedisSinkConfig> = {
  type: 'redis-sink',
  kind: 'sink',
  validate: readRedisSinkConfig,
  create(spec, config, context) {
    return createSinkConnector(
      spec,
      config.common,
      createRedisSinkTarget(spec, config),
      context,
      config.keyed.deadLetterTopic,
    );
  },
  async destroy(spec, config) {
    if (!sinkOwnsItsPositions(config.common)) return; // the group's other members go on from them
    const RedisClient = await loadRedis();
    const redis = new RedisClient(config.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      await redis.del(redisPositionsKey(spec, config));
    } finally {
      redis.disconnect();
    }
  },
};

/** The target alone (no group, no reader): what the connector drives; tests apply batches with it directly. */
export function createRedisSinkTarget(spec: ConnectorSpec, config: RedisSinkConfig): SinkTarget {
  return new RedisSinkTarget(spec, config);
}

class RedisSinkTarget implements SinkTarget {
  readonly #spec: ConnectorSpec;
  readonly #config: RedisSinkConfig;
  readonly #positionsKey: string;
  #redis: Redis | undefined;

  constructor(spec: ConnectorSpec, config: RedisSinkConfig) {
    this.#spec = spec;
    this.#config = config;
    this.#positionsKey = redisPositionsKey(spec, config);
  }

  async open(): Promise<void> {
    const RedisClient = await loadRedis();
    const redis = new RedisClient(this.#config.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    // ioredis reconnects by itself; errors surface on the commands that fail, and are retried there.
    redis.on('error', () => undefined);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    this.#redis = redis;
  }

  async storedPositions(partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    const fields = partitions.map((tp) => positionKey(tp.topic, tp.partition));
    const values = fields.length === 0 ? [] : await this.#client().hmget(this.#positionsKey, ...fields);
    const positions = new Map<string, number>();
    fields.forEach((field, i) => {
      const value = values[i];
      if (value !== null && value !== undefined) positions.set(field, Number(value));
    });
    return positions;
  }

  async apply(batch: SinkBatch): Promise<void> {
    const last = batch.records[batch.records.length - 1];
    if (last === undefined) return;
    const where: RecordWhere = { connector: this.#spec.name, topic: batch.topic, partition: batch.partition };
    const args: (string | Buffer)[] = [
      positionKey(batch.topic, batch.partition),
      String(last.offset + 1),
      String(this.#config.ttlSeconds),
    ];
    for (const record of batch.records) args.push(...this.#operation(record, where));
    try {
      await this.#client().eval(APPLY_SCRIPT, 1, this.#positionsKey, ...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const refused = message.indexOf(REFUSED_PREFIX);
      if (refused >= 0) {
        throw new TributaryError('SINK_TARGET_REFUSED', {
          connector: this.#spec.name,
          reason: message.slice(refused + REFUSED_PREFIX.length),
        });
      }
      throw error;
    }
  }

  async skip(partition: TopicPartition, nextOffset: number): Promise<void> {
    await this.#client().eval(
      SKIP_SCRIPT,
      1,
      this.#positionsKey,
      positionKey(partition.topic, partition.partition),
      String(nextOffset),
    );
  }

  isPermanent(error: unknown): boolean {
    return error instanceof TributaryError && !error.retriable;
  }

  async close(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    if (redis !== undefined) await redis.quit().catch(() => redis.disconnect());
  }

  /** offset, op, key, value for the script; values are checked here so the script cannot fail half-way. */
  #operation(record: LogRecord, where: RecordWhere): [string, string, string, string | Buffer] {
    const { format, cdcTable } = this.#config.keyed;
    if (format === 'cdc' || (format === 'auto' && record.value !== null && isCdcRecord(record))) {
      return this.#cdcOperation(changeOf(record, where, 'cdc', cdcTable), where);
    }
    const offset = String(record.offset);
    const key = this.#config.keyPrefix + recordKeyText(record, where);
    if (record.value === null) return [offset, 'del', key, ''];
    switch (this.#config.mode) {
      case 'set':
        return [
          offset,
          'set',
          key,
          Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength),
        ];
      case 'incr': {
        const text = decoder.decode(record.value).trim();
        if (!INTEGER.test(text))
          throw recordInvalid(where, record.offset, 'an incr value must be an integer');
        return [offset, 'incr', key, text];
      }
      case 'hash': {
        const change = recordChange(record, where);
        const fields = change.op === 'upsert' ? hashFields(change.row) : [];
        return [offset, 'hash', key, JSON.stringify(fields)];
      }
    }
  }

  /**
   * A CDC change: the row (`after`) as JSON text (`set`) or as the hash (`hash`), a delete by key,
   * or a clear of every key under `keyPrefix`. The key is the row key's values joined by `:`
   * (`{"id":7}` → `7`, `{"tenant":"t1","id":7}` → `t1:7`).
   */
  #cdcOperation(change: SinkChange, where: RecordWhere): [string, string, string, string] {
    const offset = String(change.offset);
    if (this.#config.mode === 'incr') {
      throw recordInvalid(where, change.offset, 'CDC changes cannot be applied in incr mode');
    }
    switch (change.op) {
      case 'skip':
        return [offset, 'skip', '', ''];
      case 'clear':
        if (this.#config.keyPrefix === '') {
          throw recordInvalid(
            where,
            change.offset,
            `a CDC ${change.reason} clears the keys under config.keyPrefix, which is empty`,
          );
        }
        return [offset, 'clear', this.#config.keyPrefix, ''];
      case 'delete':
        return [offset, 'del', this.#config.keyPrefix + cdcKey(change.key), ''];
      case 'upsert': {
        const key = this.#config.keyPrefix + cdcKey(change.key);
        if (this.#config.mode === 'set') return [offset, 'set', key, JSON.stringify(change.row)];
        return [offset, 'hash', key, JSON.stringify(hashFields(change.row))];
      }
    }
  }

  #client(): Redis {
    if (this.#redis === undefined) throw new TributaryError('SHUTTING_DOWN');
    return this.#redis;
  }
}

/** A row as HSET's field, value list (non-string values as JSON text). */
function hashFields(row: Readonly<Record<string, unknown>>): string[] {
  const fields: string[] = [];
  for (const [field, value] of Object.entries(row)) {
    fields.push(field, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return fields;
}

/** A CDC record key (a JSON object of the key columns) as the values joined by `:`. */
function cdcKey(key: string): string {
  try {
    const parsed: unknown = JSON.parse(key);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return Object.values(parsed)
        .map((value) => (typeof value === 'string' ? value : JSON.stringify(value)))
        .join(':');
    }
  } catch {
    // not JSON: the key as it is
  }
  return key;
}
