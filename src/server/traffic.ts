/**
 * @module server/traffic
 * Records in and out per user topic since the server started, for `GET /v1/stats` and the
 * dashboard's live rates (a rate is the difference of two readings). Fed by the broker's
 * observer: "in" is what the broker made durable, "out" what it handed to subscribers or
 * returned to fetches (WebSocket, SSE, Socket.IO, MQTT, HTTP and Kafka consumers alike).
 * Internal `__` topics are not counted. One map lookup per produce, delivery or fetch.
 *
 * @example
 * traffic.produced('orders', 3, 120);
 * traffic.topics(); // [{ topic: 'orders', recordsIn: 3, bytesIn: 120, recordsOut: 0 }]
 */
import { isInternalTopic } from '../broker/internal-topics.js';

export interface TopicTrafficEntry {
  readonly topic: string;
  readonly recordsIn: number;
  /** Key and value bytes made durable. */
  readonly bytesIn: number;
  readonly recordsOut: number;
}

interface Counts {
  recordsIn: number;
  bytesIn: number;
  recordsOut: number;
}

export class TopicTraffic {
  readonly #topics = new Map<string, Counts>();

  produced(topic: string, records: number, bytes: number): void {
    const counts = this.#counts(topic);
    if (counts === undefined) return;
    counts.recordsIn += records;
    counts.bytesIn += bytes;
  }

  consumed(topic: string, records: number): void {
    const counts = this.#counts(topic);
    if (counts !== undefined) counts.recordsOut += records;
  }

  /** The counts of every topic seen, sorted by name. */
  topics(): TopicTrafficEntry[] {
    return [...this.#topics]
      .map(([topic, counts]) => ({ topic, ...counts }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  /** Forgets a deleted topic, so one created later under its name starts from zero. */
  forget(topic: string): void {
    this.#topics.delete(topic);
  }

  #counts(topic: string): Counts | undefined {
    let counts = this.#topics.get(topic);
    if (counts === undefined) {
      if (isInternalTopic(topic)) return undefined;
      counts = { recordsIn: 0, bytesIn: 0, recordsOut: 0 };
      this.#topics.set(topic, counts);
    }
    return counts;
  }
}
