/**
 * @module connectors/registry
 * Every connector type the server knows, by `type` name. A new connector adds one line here.
 */
import { postgresCdcFactory } from './postgres-cdc/index.js';
import { postgresSinkFactory, redisSinkFactory, webhookSinkFactory } from './sinks/index.js';
import type { ConnectorFactory } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: factories differ in their config type; each checks its own with validate().
export const CONNECTOR_FACTORIES: readonly ConnectorFactory<any>[] = [
  postgresCdcFactory,
  postgresSinkFactory,
  redisSinkFactory,
  webhookSinkFactory,
];

export function connectorFactory(type: string): ConnectorFactory<unknown> | undefined {
  return CONNECTOR_FACTORIES.find((factory) => factory.type === type);
}
