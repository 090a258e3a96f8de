/**
 * @module broker/read-to-end
 * Reads a partition from its earliest offset up to the end it has when the read starts (its
 * `next` offset, which it returns), a batch at a time: how the server's stores load their
 * compacted topics at start (committed offsets, Kafka groups, transactions, connectors, the
 * collections' catalog, MQTT and Socket.IO sessions). Records appended meanwhile are left to
 * whoever follows the topic afterwards.
 *
 * @example
 * await readToEnd(log, CONSUMER_OFFSETS_TOPIC, 0, (records) => { for (const r of records) apply(r); });
 */
import type { Log, LogRecord, ReadOptions } from '../log/types.js';
import type { Broker } from './types.js';

/** A log (`read`) or a broker view (`fetch`, which applies its access rules). */
export type PartitionSource = Pick<Log, 'offsets' | 'read'> | Pick<Broker, 'offsets' | 'fetch'>;

const BATCH_RECORDS = 1000;

export async function readToEnd(
  source: PartitionSource,
  topic: string,
  partition: number,
  onRecords: (records: readonly LogRecord[]) => void,
  options: ReadOptions = {},
): Promise<number> {
  const read = (offset: number) => {
    const wanted = { maxRecords: BATCH_RECORDS, ...options };
    return 'read' in source
      ? source.read(topic, partition, offset, wanted)
      : source.fetch(topic, partition, offset, wanted);
  };
  const { earliest, next } = await source.offsets(topic, partition);
  let offset = earliest;
  while (offset < next) {
    const records = await read(offset);
    const last = records.at(-1);
    if (last === undefined) break;
    // Past `next` belongs to the live tail, not to what was there at the start.
    const upToEnd = last.offset < next ? records : records.filter((r) => r.offset < next);
    onRecords(upToEnd);
    offset = last.offset + 1;
  }
  return next;
}
