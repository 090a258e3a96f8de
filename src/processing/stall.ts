/**
 * @module processing/stall
 * A watchdog for a group consumer that has stopped delivering while its partitions still hold
 * committed records it has not read (seen in crash tests: a committed-isolation subscription
 * left idle at the end of its input after rebalances). Every `intervalMs` it compares each
 * assigned partition's last stable offset with the consumer's position; if some partition is
 * behind and nothing was consumed for `stallMs`, `onStall` runs (the owner starts a new consumer
 * from the committed position, which loses nothing).
 */
import type { TributaryClient } from '../client/client.js';
import type { GroupConsumer } from '../client/group-consumer.js';

export interface StallWatch {
  /** Call when records were consumed. */
  progressed(): void;
  stop(): void;
}

export function watchStall(
  client: TributaryClient,
  consumer: GroupConsumer,
  options: { readonly intervalMs: number; readonly stallMs: number },
  onStall: (behind: string) => void,
): StallWatch {
  let lastProgressAt = Date.now();
  let checking = false;
  const timer = setInterval(() => {
    if (checking || Date.now() - lastProgressAt < options.stallMs) return;
    checking = true;
    void behindPartition(client, consumer)
      .then((behind) => {
        if (behind !== undefined) {
          lastProgressAt = Date.now();
          onStall(behind);
        }
      })
      .catch(() => undefined)
      .finally(() => {
        checking = false;
      });
  }, options.intervalMs);
  return {
    progressed: () => {
      lastProgressAt = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}

async function behindPartition(
  client: TributaryClient,
  consumer: GroupConsumer,
): Promise<string | undefined> {
  for (const { topic, partition } of consumer.assignment()) {
    const position = consumer.position(topic, partition);
    if (position === undefined) continue;
    const marks = await client.admin.offsets(topic, partition);
    const readable = marks.lastStable ?? marks.next;
    if (readable > position) return `${topic}/${partition} at ${position}, readable to ${readable}`;
  }
  return undefined;
}
