/**
 * @module broker/producer-ids
 * Allocates idempotent producer ids that are unique for the life of the data directory: each id
 * is one record appended to the internal `__producer_ids` topic, and the id is that record's
 * offset + 1 (ids start at 1). Offsets are never reused, even after compaction or a restart, so
 * neither are ids. The topic has a single key, so compaction keeps it one record long.
 */
import type { Log } from '../log/types.js';
import { PRODUCER_IDS_TOPIC } from './internal-topics.js';
import type { ProducerIdentity } from './types.js';

const KEY = new TextEncoder().encode('producer-id');

export async function allocateProducerId(log: Log): Promise<ProducerIdentity> {
  const value = new TextEncoder().encode(JSON.stringify({ allocatedAt: Date.now() }));
  const { baseOffset } = await log.append(PRODUCER_IDS_TOPIC, 0, [{ key: KEY, value }]);
  return { producerId: baseOffset + 1, producerEpoch: 0 };
}
