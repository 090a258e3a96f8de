/**
 * @module server/front/kafka/topic-ids
 * Kafka topic ids (KIP-516) are the log's topic ids (`TopicDescription.id`, random at creation
 * and kept in topic.json, so a topic created again under the same name gets a new id). Requests
 * that name topics by id (Fetch v13+, Metadata v12, DeleteTopics v6) are resolved here: a
 * remembered id → name pair is checked against the topic as it is now, and a miss lists the
 * topics once to learn them all again.
 */
import type { Broker, TopicDescription } from '../../../broker/types.js';

/** id → name, per broker view (a session's guarded view lists only what it may see). */
const known = new WeakMap<Broker, Map<string, string>>();

/** The topic with `id` as the broker shows it now, or undefined when there is none. */
export async function topicById(broker: Broker, id: string): Promise<TopicDescription | undefined> {
  const name = known.get(broker)?.get(id);
  if (name !== undefined) {
    const found = await broker.describeTopic(name).catch(() => undefined);
    if (found?.id === id) return found;
  }
  const all = await broker.listTopics();
  known.set(broker, new Map(all.map((t) => [t.id, t.name])));
  return all.find((t) => t.id === id);
}
