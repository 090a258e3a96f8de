/**
 * @module processing/stall
 * A watchdog for a group consumer that has stopped delivering while its partitions still hold
 * committed records it has not read. Every `intervalMs`, once nothing was consumed for
 * `stallMs`, it looks for a committed record at or after the consumer's position in each
 * assigned partition; if there is one, `onStall` runs (the owner counts it and starts a new
 * consumer from the committed position, which loses nothing). A defence: no stall is known;
 * the ones seen earlier were this check misreading an idle consumer whose position is a commit
 * marker's offset (see `behindPartition`).
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

/**
 * The first assigned partition with a committed record at or after the consumer's position, as
 * text, or undefined. A record, not an offset: on a topic written by atomic commits the
 * position after the last record is the commit marker's offset, one below the last stable
 * offset, and markers are never delivered, so "last stable offset > position" alone would call
 * every idle consumer of such a topic (a pipeline's results topic, for one) stalled.
 */
export async function behindPartition(
  client: TributaryClient,
  consumer: GroupConsumer,
): Promise<string | undefined> {
  for (const { topic, partition } of consumer.assignment()) {
    const position = consumer.position(topic, partition);
    if (position === undefined) continue;
    const marks = await client.admin.offsets(topic, partition);
    const readable = marks.lastStable ?? marks.next;
    if (readable <= position) continue;
    const unread = await client.admin.fetch(topic, partition, position, {
      isolation: 'committed',
      maxRecords: 1,
    });
    if (unread.length > 0) {
      return `${topic}/${partition} at ${position}, committed record at ${unread[0]!.offset}, readable to ${readable}`;
    }
  }
  return undefined;
}
