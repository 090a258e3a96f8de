/**
 * @module connectors/positions
 * Connector positions kept in the log: the compacted internal topic `__connectors.positions`,
 * key = the connector name, value = UTF-8 position text (a tombstone when the connector is
 * deleted). A source writes its position in the same `broker.commitAtomically` call as the
 * records it moved, so after any crash the stored position and the stored records agree: the
 * position is read with committed isolation, never from an aborted commit.
 *
 * @example
 * const positions = await openPositionTopic(systemBroker);
 * const mine = connectorPositions(systemBroker, 'orders-cdc');
 * await broker.commitAtomically({ appends: [{ topic: 'orders', records }, mine.append('0/16B3748')] });
 * await mine.load(); // '0/16B3748'
 */
import { ensureTopic } from '../broker/ensure-topic.js';
import type { AtomicAppend, Broker } from '../broker/types.js';
import type { ConnectorPositions } from './types.js';

export const CONNECTOR_POSITIONS_TOPIC = '__connectors.positions';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const READ_RECORDS_MAX = 1_000;

/** Creates `__connectors.positions` when it does not exist yet (compacted, fsync always). */
export async function openPositionTopic(systemBroker: Broker): Promise<void> {
  await ensureTopic(systemBroker, CONNECTOR_POSITIONS_TOPIC, {
    partitions: 1,
    compact: true,
    fsync: 'always',
  });
}

/** The position store of connector `name` on a broker that may write internal topics. */
export function connectorPositions(
  systemBroker: Broker,
  name: string,
): ConnectorPositions & {
  clear(): Promise<void>;
} {
  const key = encoder.encode(name);
  return {
    async load() {
      let found: string | null = null;
      const { earliest, lastStable } = await systemBroker.offsets(CONNECTOR_POSITIONS_TOPIC, 0);
      let offset = earliest;
      while (offset < lastStable) {
        const records = await systemBroker.fetch(CONNECTOR_POSITIONS_TOPIC, 0, offset, {
          maxRecords: READ_RECORDS_MAX,
          isolation: 'committed',
        });
        const last = records.at(-1);
        if (last === undefined) break;
        for (const record of records) {
          if (record.key === null || decoder.decode(record.key) !== name) continue;
          found = record.value === null ? null : decoder.decode(record.value);
        }
        offset = last.offset + 1;
      }
      return found;
    },
    append(position) {
      return {
        topic: CONNECTOR_POSITIONS_TOPIC,
        partition: 0,
        records: [{ key, value: encoder.encode(position) }],
      };
    },
    async save(position) {
      await systemBroker.produce(CONNECTOR_POSITIONS_TOPIC, [
        { key, value: encoder.encode(position), partition: 0 },
      ]);
    },
    async clear() {
      await systemBroker.produce(CONNECTOR_POSITIONS_TOPIC, [{ key, value: null, partition: 0 }]);
    },
  };
}

/** The `AtomicAppend` type, re-exported for connectors that build commits. */
export type { AtomicAppend };
