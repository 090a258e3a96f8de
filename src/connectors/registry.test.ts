import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../broker/index.js';
import type { Broker } from '../broker/types.js';
import { createMemoryLog } from '../log/memory/memory-log.js';
import type { CollectionService } from '../sync/index.js';
import { connectorPositions } from './positions.js';
import { postgresCdcFactory } from './postgres-cdc/index.js';
import { CONNECTOR_FACTORIES } from './registry.js';
import { postgresSinkFactory, redisSinkFactory, webhookSinkFactory } from './sinks/index.js';
import type { ConnectorContext } from './types.js';

const brokers: Broker[] = [];
afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.close();
});

describe('the connector registry', () => {
  it("names each type with its factory's kind and config check", () => {
    const factories = [postgresCdcFactory, postgresSinkFactory, redisSinkFactory, webhookSinkFactory];
    expect(CONNECTOR_FACTORIES.map((f) => f.type)).toEqual(factories.map((f) => f.type));
    for (const [index, factory] of factories.entries()) {
      const registered = CONNECTOR_FACTORIES[index]!;
      expect(registered.kind, factory.type).toBe(factory.kind);
      expect(registered.validate, factory.type).toBe(factory.validate);
    }
  });

  it("creates a type's connectors once its code is loaded (prepare), not before", async () => {
    const broker = await createBroker(createMemoryLog());
    brokers.push(broker);
    const registered = CONNECTOR_FACTORIES.find((f) => f.type === 'webhook-sink')!;
    const config = { topics: ['orders'], url: 'http://127.0.0.1:9/hook' };
    const spec = { name: 'hook', type: 'webhook-sink', config };
    const context: ConnectorContext = {
      broker,
      collections: undefined as unknown as CollectionService,
      logger: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      onStatus: () => undefined,
      positions: connectorPositions(broker, 'hook'),
    };
    const checked = registered.validate(config);
    expect(() => registered.create(spec, checked, context)).toThrow(/before prepare/);
    await registered.prepare!();
    const connector = registered.create(spec, checked, context);
    expect(connector.status()).toMatchObject({ name: 'hook', type: 'webhook-sink', kind: 'sink' });
    await connector.stop();
  });
});
