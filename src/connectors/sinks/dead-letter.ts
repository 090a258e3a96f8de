/**
 * @module connectors/sinks/dead-letter
 * The dead-letter topic of a sink: a record the target cannot take is appended there with its
 * key, value and headers, plus why (`tributary.error`), where it came from (`tributary.source`,
 * `topic/partition/offset`) and which connector sent it (`tributary.connector`), so the sink can
 * go on and someone can look at, fix and replay the record later.
 */
import { ensureTopic } from '../../broker/ensure-topic.js';
import type { Broker, LogRecord, RecordHeader, TopicPartition } from '../../broker/types.js';

const encoder = new TextEncoder();

export interface DeadLetters {
  readonly topic: string;
  /** Creates the topic if missing (at the sink's start). */
  open(): Promise<void>;
  /** Appends `record` with the reason; resolves once durable. */
  send(source: TopicPartition, record: LogRecord, reason: string): Promise<void>;
}

export function deadLetters(broker: Broker, topic: string, connector: string): DeadLetters {
  return {
    topic,
    open: async () => {
      await ensureTopic(broker, topic);
    },
    send: async (source, record, reason) => {
      const headers: RecordHeader[] = [
        ...record.headers,
        { key: 'tributary.error', value: encoder.encode(reason) },
        {
          key: 'tributary.source',
          value: encoder.encode(`${source.topic}/${source.partition}/${record.offset}`),
        },
        { key: 'tributary.connector', value: encoder.encode(connector) },
      ];
      await broker.produce(topic, [{ key: record.key, value: record.value, headers }]);
    },
  };
}
