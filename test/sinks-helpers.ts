/**
 * Shared by the sink connector tests: the machine's Postgres and Redis (each suite is skipped
 * with the reason when one is absent, and fails under TRIBUTARY_REQUIRE_SERVICES=1), a
 * `ConnectorContext` over a real broker, and a way to run a sink until it has applied a topic.
 */

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { describe, it } from 'vitest';
import { eventually } from '../src/broker/testing/helpers.js';
import type { Broker } from '../src/broker/types.js';
import { connectorPositions } from '../src/connectors/positions.js';
import type { Connector, ConnectorContext, ConnectorStatus } from '../src/connectors/types.js';
import type { CollectionService } from '../src/sync/index.js';

export const PG_URL = process.env.TRIBUTARY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TRIBUTARY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.TRIBUTARY_REQUIRE_SERVICES === '1';

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function redisAvailable(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** `describe` that runs when the service is up; otherwise skipped with the reason (a failure in CI). */
export function describeWithService(
  name: string,
  available: boolean,
  service: string,
  body: () => void,
): void {
  if (available) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    if (required) {
      it(`needs ${service} (TRIBUTARY_REQUIRE_SERVICES=1)`, () => {
        throw new Error(`${service} is not reachable`);
      });
    } else {
      it.skip(`skipped: ${service} is not reachable (CI sets TRIBUTARY_REQUIRE_SERVICES=1)`, () => undefined);
    }
  });
}

/** A name no other run of the suite uses (tables, Redis keys, connector names). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export interface TestContext extends ConnectorContext {
  readonly statuses: ConnectorStatus[];
  readonly abort: AbortController;
}

export function testContext(broker: Broker): TestContext {
  const abort = new AbortController();
  const statuses: ConnectorStatus[] = [];
  return {
    broker,
    // Sinks never use collections; a source test passes a real service.
    collections: undefined as unknown as CollectionService,
    logger: pino({ level: process.env.TRIBUTARY_TEST_LOG ?? 'silent' }),
    signal: abort.signal,
    onStatus: (status) => statuses.push(status),
    // Sinks keep their positions in their targets; this one is here because the context has it.
    positions: connectorPositions(broker, 'sink-test'),
    statuses,
    abort,
  };
}

/** Waits until the connector has applied every record of `topic` (lag 0 at each partition's end). */
export async function caughtUp(
  connector: Connector,
  broker: Broker,
  topic: string,
  timeoutMs = 20_000,
): Promise<void> {
  const partitions = (await broker.describeTopic(topic)).partitions.length;
  await eventually(async () => {
    const status = connector.status();
    if (status.state === 'failed') throw new Error(`sink failed: ${status.error?.message}`);
    const positions = new Map(
      (status.position ?? '')
        .split(',')
        .filter(Boolean)
        .map((entry) => {
          const [where, offset] = entry.split(':');
          return [where, Number(offset)] as const;
        }),
    );
    for (let partition = 0; partition < partitions; partition++) {
      const { next } = await broker.offsets(topic, partition);
      const position = positions.get(`${topic}/${partition}`);
      if (next > 0 && position !== next) throw new Error(`${topic}/${partition} at ${position}, end ${next}`);
    }
  }, timeoutMs);
}

export const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
