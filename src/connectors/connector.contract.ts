/**
 * @module connectors/connector.contract
 * The behaviour every connector must show, as ONE vitest suite each connector runs (as the log
 * engines run `log.contract.ts`), on a real broker (memory log) with live collections:
 *
 * - `validate` refuses each bad config with `INVALID_ARGUMENT` and accepts the good one;
 * - `start` resolves; the status names the connector, its type and kind; data moves and
 *   `records` counts it; `onStatus` is called;
 * - `pause` stops moving data (a change made while paused has not arrived after a while) and
 *   `resume` moves it;
 * - `stop` ends in `stopped`, is idempotent, and a new connector of the same spec on the same
 *   broker goes on from the stored position: nothing moved twice, nothing lost.
 *
 * @example
 * describeConnectorContract('postgres-cdc', async () => ({ factory: postgresCdc, config: {...}, ... }));
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../broker/broker.js';
import type { Broker } from '../broker/types.js';
import { isTributaryError } from '../errors.js';
import { createMemoryLog } from '../log/memory/memory-log.js';
import { CollectionService } from '../sync/index.js';
import { connectorPositions, openPositionTopic } from './positions.js';
import type {
  Connector,
  ConnectorContext,
  ConnectorFactory,
  ConnectorSpec,
  ConnectorStatus,
} from './types.js';

/** What a connector's suite gives: the factory, configs, and how to make and see a change. */
export interface ConnectorHarness {
  // biome-ignore lint/suspicious/noExplicitAny: any connector's factory, whatever its config type.
  readonly factory: ConnectorFactory<any>;
  /** A config that works here; called once per test with that test's own `name` (use it for tables, topics). */
  readonly config: (env: HarnessEnv) => Promise<Record<string, unknown>>;
  /** Configs `validate` must refuse with `INVALID_ARGUMENT`. */
  readonly badConfigs: readonly unknown[];
  /** Makes change number `round` (1, 2, …) on the input side (a row written, a record produced). */
  readonly change: (env: HarnessEnv, round: number) => Promise<void>;
  /**
   * How many changes have arrived at the far side, counting duplicates (records in the output
   * topic, applications at the target), so that a change moved twice shows.
   */
  readonly arrived: (env: HarnessEnv) => Promise<number>;
  /** Removes what the test created outside (tables, slots); called after every test. */
  readonly cleanup?: (env: HarnessEnv) => Promise<void>;
  /** Longest wait for a change to arrive. Default 15 000 ms. */
  readonly arriveTimeoutMs?: number;
}

export interface HarnessEnv {
  /** A name unique to the test, usable as connector, topic and table name. */
  readonly name: string;
  /** The broker as connectors see it (system view). */
  readonly broker: Broker;
  readonly collections: CollectionService;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;

export function describeConnectorContract(
  label: string,
  harness: () => Promise<ConnectorHarness | string>,
): void {
  describe(`connector contract: ${label}`, () => {
    let h: ConnectorHarness | string;
    let env: HarnessEnv;
    let closeAll: () => Promise<void>;
    const running: Connector[] = [];
    const reported: ConnectorStatus[] = [];

    beforeEach(async () => {
      h = await harness();
      const log = createMemoryLog();
      const broker = (await createBroker(log)).forSystem();
      const collections = await CollectionService.open(broker);
      await openPositionTopic(broker);
      counter++;
      env = { name: `contract_${process.pid}_${Date.now() % 1_000_000}_${counter}`, broker, collections };
      closeAll = async () => {
        await collections.close();
        await broker.close();
        await log.close();
      };
      reported.length = 0;
    });

    afterEach(async () => {
      for (const connector of running.splice(0)) await connector.stop().catch(() => undefined);
      if (typeof h !== 'string') await h.cleanup?.(env).catch(() => undefined);
      await closeAll();
    });

    /** The harness, or the reason it cannot run here (the test then fails with it: no silent skip). */
    const ready = (): ConnectorHarness => {
      if (typeof h === 'string') throw new Error(`connector contract cannot run: ${h}`);
      return h;
    };

    const make = async (
      config?: Record<string, unknown>,
    ): Promise<{ spec: ConnectorSpec; connector: Connector }> => {
      const harness = ready();
      const spec: ConnectorSpec = {
        name: env.name,
        type: harness.factory.type,
        config: config ?? (await harness.config(env)),
      };
      const context: ConnectorContext = {
        broker: env.broker,
        collections: env.collections,
        logger: pino({ level: 'silent' }),
        signal: new AbortController().signal,
        onStatus: (status) => reported.push(status),
        positions: connectorPositions(env.broker, env.name),
      };
      const connector = harness.factory.create(spec, harness.factory.validate(spec.config), context);
      running.push(connector);
      return { spec, connector };
    };

    const waitArrived = async (count: number): Promise<void> => {
      const harness = ready();
      const deadline = Date.now() + (harness.arriveTimeoutMs ?? 15_000);
      let seen = await harness.arrived(env);
      while (seen < count && Date.now() < deadline) {
        await sleep(50);
        seen = await harness.arrived(env);
      }
      expect(seen, 'changes arrived at the far side').toBe(count);
    };

    it('validate refuses each bad config with INVALID_ARGUMENT and accepts a good one', async () => {
      const harness = ready();
      expect(harness.badConfigs.length).toBeGreaterThan(0);
      for (const bad of harness.badConfigs) {
        let thrown: unknown;
        try {
          harness.factory.validate(bad);
        } catch (error) {
          thrown = error;
        }
        expect(isTributaryError(thrown, 'INVALID_ARGUMENT'), `refuses ${JSON.stringify(bad)}`).toBe(true);
      }
      expect(() => harness.factory.validate(undefined)).toThrow();
      harness.factory.validate(await harness.config(env));
    });

    it('starts, names itself, moves data and counts it', async () => {
      const harness = ready();
      const { connector } = await make();
      await connector.start();
      const status = connector.status();
      expect(status.name).toBe(env.name);
      expect(status.type).toBe(harness.factory.type);
      expect(status.kind).toBe(harness.factory.kind);
      expect(['starting', 'snapshotting', 'running']).toContain(status.state);
      await harness.change(env, 1);
      await waitArrived(1);
      // The status may catch up a moment after the data is visible.
      const deadline = Date.now() + 5_000;
      while (connector.status().records < 1 && Date.now() < deadline) await sleep(20);
      const after = connector.status();
      expect(after.records).toBeGreaterThanOrEqual(1);
      expect(after.position).not.toBeNull();
      expect(after.lag === null || after.lag >= 0).toBe(true);
      expect(reported.length).toBeGreaterThan(0);
      expect(reported.every((s) => s.name === env.name)).toBe(true);
    });

    it('moves nothing while paused and goes on after resume', async () => {
      const harness = ready();
      const { connector } = await make();
      await connector.start();
      await harness.change(env, 1);
      await waitArrived(1);
      await connector.pause();
      expect(connector.status().state).toBe('paused');
      await harness.change(env, 2);
      await sleep(500);
      expect(await harness.arrived(env), 'a change made while paused does not move').toBe(1);
      await connector.resume();
      expect(connector.status().state).not.toBe('paused');
      await waitArrived(2);
    });

    it('stops for good, idempotently, and a new instance goes on from the stored position', async () => {
      const harness = ready();
      const { spec, connector } = await make();
      await connector.start();
      await harness.change(env, 1);
      await waitArrived(1);
      const position = connector.status().position;
      await connector.stop();
      await connector.stop();
      expect(connector.status().state).toBe('stopped');
      await harness.change(env, 2);
      const again = await make(spec.config as Record<string, unknown>);
      await again.connector.start();
      await waitArrived(2);
      await harness.change(env, 3);
      await waitArrived(3);
      await sleep(300);
      expect(await harness.arrived(env), 'nothing moved twice').toBe(3);
      expect(again.connector.status().position).not.toBe(position);
    });
  });
}
