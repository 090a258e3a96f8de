/**
 * @module connectors/registry
 * Every connector type the server knows, by `type` name. A new connector adds one entry here:
 * its name, kind and config check, and the import of its factory, which loads with the type's
 * first connector (`lazy-factory.ts`).
 */
import { lazyConnectorFactory } from './lazy-factory.js';
import { validateCdcConfig } from './postgres-cdc/config.js';
import { readPostgresSinkConfig } from './sinks/postgres/config.js';
import { readRedisSinkConfig } from './sinks/redis/config.js';
import { readWebhookSinkConfig } from './sinks/webhook/config.js';
import type { ConnectorFactory } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: factories differ in their config type; each checks its own with validate().
export const CONNECTOR_FACTORIES: readonly ConnectorFactory<any>[] = [
  lazyConnectorFactory({
    type: 'postgres-cdc',
    kind: 'source',
    validate: validateCdcConfig,
    load: async () => (await import('./postgres-cdc/index.js')).postgresCdcFactory,
  }),
  lazyConnectorFactory({
    type: 'postgres-sink',
    kind: 'sink',
    validate: readPostgresSinkConfig,
    load: async () => (await import('./sinks/postgres/postgres-sink.js')).postgresSinkFactory,
  }),
  lazyConnectorFactory({
    type: 'redis-sink',
    kind: 'sink',
    validate: readRedisSinkConfig,
    load: async () => (await import('./sinks/redis/redis-sink.js')).redisSinkFactory,
  }),
  lazyConnectorFactory({
    type: 'webhook-sink',
    kind: 'sink',
    validate: readWebhookSinkConfig,
    load: async () => (await import('./sinks/webhook/webhook-sink.js')).webhookSinkFactory,
  }),
];

export function connectorFactory(type: string): ConnectorFactory<unknown> | undefined {
  return CONNECTOR_FACTORIES.find((factory) => factory.type === type);
}
