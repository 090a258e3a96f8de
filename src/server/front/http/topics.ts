/**
 * @module server/front/http/topics
 * Topic resource: `POST /v1/topics`, `GET /v1/topics`, `GET /v1/topics/{topic}`,
 * `DELETE /v1/topics/{topic}`, `POST /v1/topics/{topic}/partitions` (grow the topic) and
 * `DELETE /v1/topics/{topic}/partitions/{partition}/records?before=N` (move the log start).
 * Answers are the broker's `TopicDescription` as JSON.
 *
 * @example
 * // curl -X POST localhost:7700/v1/topics -d '{"name":"orders","partitions":3,"fsync":"always"}'
 */
import type { TopicConfig } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import { readJsonBody } from './body.js';
import { expectObject, type Handler, param, parseNonNegativeInt } from './context.js';
import { sendJson, sendNoContent } from './respond.js';

type FieldType = 'integer' | 'integer|null' | 'boolean' | 'fsync';

/** The topic config fields a create request may set, with their JSON types (ranges: the broker checks). */
const CONFIG_FIELDS: Readonly<Record<keyof TopicConfig, FieldType>> = {
  partitions: 'integer',
  fsync: 'fsync',
  fsyncIntervalMs: 'integer',
  retentionMs: 'integer|null',
  retentionBytes: 'integer|null',
  compact: 'boolean',
  tombstoneRetentionMs: 'integer',
  segmentBytes: 'integer',
  segmentMs: 'integer',
};

export const createTopic: Handler = async (ctx, { req, res }) => {
  const { value } = await readJsonBody(req, ctx.limits);
  const body = expectObject(value, 'The request body');
  const { name, ...rest } = body;
  if (typeof name !== 'string') {
    throw new TributaryError('INVALID_ARGUMENT', { reason: '"name" (the topic name, a string) is required' });
  }
  const config = topicConfigFromJson(rest);
  const description = await ctx.broker.createTopic(name, config);
  sendJson(res, 201, description, { location: `/v1/topics/${encodeURIComponent(name)}` });
};

export const listTopics: Handler = async (ctx, { res }) => {
  const topics = await ctx.broker.listTopics();
  topics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  sendJson(res, 200, { topics });
};

export const describeTopic: Handler = async (ctx, request) => {
  sendJson(request.res, 200, await ctx.broker.describeTopic(param(request, 'topic')));
};

export const deleteTopic: Handler = async (ctx, request) => {
  await ctx.broker.deleteTopic(param(request, 'topic'));
  sendNoContent(request.res);
};

/** Grows the topic to `partitions` partitions in all (Kafka's CreatePartitions); body `{ "partitions": N }`. */
export const addTopicPartitions: Handler = async (ctx, request) => {
  const topic = param(request, 'topic');
  const { value } = await readJsonBody(request.req, ctx.limits);
  const { partitions, ...rest } = expectObject(value, 'The request body');
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `unknown field "${unknown}" (allowed: partitions)`,
    });
  }
  if (!Number.isSafeInteger(partitions)) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: `"partitions" (the new partition count in all, an integer) is required, got ${JSON.stringify(partitions)}`,
    });
  }
  sendJson(request.res, 200, await ctx.broker.addPartitions(topic, partitions as number));
};

/**
 * Deletes a partition's records below `before` (Kafka's DeleteRecords): its log start offset
 * moves up to it, durably. Answers `{ topic, partition, earliest }`.
 */
export const deleteTopicRecords: Handler = async (ctx, request) => {
  const topic = param(request, 'topic');
  const partition = parseNonNegativeInt(param(request, 'partition'), 'The partition');
  const { query } = request;
  for (const name of query.keys()) {
    if (name !== 'before') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `unknown query parameter "${name}" (allowed: before)`,
      });
    }
  }
  const before = query.get('before');
  if (before === null) {
    throw new TributaryError('INVALID_ARGUMENT', {
      reason: '"before" (the offset below which records are deleted) is required',
    });
  }
  const { earliest } = await ctx.broker.deleteRecords(
    topic,
    partition,
    parseNonNegativeInt(before, 'before'),
  );
  sendJson(request.res, 200, { topic, partition, earliest });
};

function topicConfigFromJson(fields: Record<string, unknown>): Partial<TopicConfig> {
  const config: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    const type = CONFIG_FIELDS[field as keyof TopicConfig] as FieldType | undefined;
    if (type === undefined) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `unknown topic field "${field}" (allowed: name, ${Object.keys(CONFIG_FIELDS).join(', ')})`,
      });
    }
    if (!hasType(value, type)) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `"${field}" must be ${describeType(type)}, got ${JSON.stringify(value)}`,
      });
    }
    config[field] = value;
  }
  return config as Partial<TopicConfig>;
}

function hasType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'integer':
      return Number.isSafeInteger(value);
    case 'integer|null':
      return value === null || Number.isSafeInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'fsync':
      return value === 'always' || value === 'interval' || value === 'never';
  }
}

function describeType(type: FieldType): string {
  switch (type) {
    case 'integer':
      return 'an integer';
    case 'integer|null':
      return 'an integer or null';
    case 'boolean':
      return 'true or false';
    case 'fsync':
      return '"always", "interval" or "never"';
  }
}
