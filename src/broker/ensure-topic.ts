/**
 * @module broker/ensure-topic
 * Creates a topic unless it exists, for layers that keep their data in a topic of their own
 * (connectors, sync groups): a topic someone else created first, or earlier, is left as it is.
 */
import { isTributaryError } from '../errors.js';
import type { Broker, TopicConfig } from './types.js';

/** True when this call created the topic; false when it already existed (its config untouched). */
export async function ensureTopic(
  broker: Broker,
  name: string,
  config?: Partial<TopicConfig>,
): Promise<boolean> {
  try {
    await broker.createTopic(name, config);
    return true;
  } catch (error) {
    if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
    return false;
  }
}
