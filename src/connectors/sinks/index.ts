/**
 * @module connectors/sinks
 * The sink connectors: records of Tributary topics written out to Postgres, Redis and webhooks,
 * each reading as a consumer group. `registry.ts` lists the factories.
 */
export { createPostgresSinkTarget, postgresSinkFactory } from './postgres/postgres-sink.js';
export { createRedisSinkTarget, redisSinkFactory } from './redis/redis-sink.js';
export type { SinkBatch, SinkTarget } from './sink-target.js';
export { verifyWebhookSignature, type WebhookBody, webhookSignature } from './webhook/payload.js';
export { webhookSinkFactory } from './webhook/webhook-sink.js';
