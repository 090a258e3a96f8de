import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, type TributaryBroker } from '../src/broker/broker.js';
import { countingLog, eventually, values } from '../src/broker/testing/helpers.js';
import type { Delivery } from '../src/broker/types.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import {
  type SharedFeed,
  type SharedFeedMember,
  SharedFeeds,
} from '../src/server/front/socketio/shared-feed.js';

/** A member that records the offsets it is handed and stays until told to leave. */
class Member implements SharedFeedMember {
  readonly offsets: number[] = [];
  readonly errors: unknown[] = [];
  stay = true;
  constructor(public next: number) {}
  onShared(delivery: Delivery): boolean {
    for (const record of delivery.records) {
      if (record.offset < this.next) continue;
      this.offsets.push(record.offset);
      this.next = record.offset + 1;
    }
    return this.stay;
  }
  onSharedError(error: unknown): void {
    this.errors.push(error);
  }
}

describe('SharedFeeds', () => {
  let broker: TributaryBroker;
  let counts: ReturnType<typeof countingLog>['counts'];
  let feeds: SharedFeeds;

  beforeEach(async () => {
    const counted = countingLog(createMemoryLog());
    counts = counted.counts;
    broker = await createBroker(counted.log);
    await broker.createTopic('socket.io', { partitions: 2 });
    feeds = new SharedFeeds(broker, 'socket.io');
  });

  const produce = (partition: number, records: ReturnType<typeof values>) =>
    broker.produce(
      'socket.io',
      records.map((record) => ({ ...record, partition })),
    );

  afterEach(async () => {
    await feeds.close();
    await broker.close();
  });

  it('hands every batch to all its members with one read per batch, not one per member', async () => {
    const feed = await feeds.acquire(0);
    expect(await feeds.acquire(0)).toBe(feed);
    expect(feed.next).toBe(0);
    const members = Array.from({ length: 200 }, () => new Member(0));
    for (const member of members) feed.join(member);
    const readsBefore = counts.read;
    for (let i = 0; i < 5; i++) await produce(0, values(3, `b${i}-`));
    await eventually(() => {
      for (const member of members) expect(member.offsets).toEqual([...Array(15).keys()]);
    });
    expect(counts.read - readsBefore).toBeLessThanOrEqual(5);
    expect(feed.next).toBe(15);
  });

  it('lets a member join ahead of it without a duplicate, and only when nothing would be missed', async () => {
    await produce(1, values(4));
    const feed = await feeds.acquire(1);
    expect(feed.next).toBe(4);
    expect(feed.canJoin(3)).toBe(false);
    expect(feed.canJoin(4)).toBe(true);
    const atTail = new Member(4);
    feed.join(atTail);
    // Records 4 and 5 appended; a member that read them on its own joins at 6, before the feed
    // hands them out.
    await produce(1, values(2));
    const ahead = new Member(6);
    expect(feed.canJoin(6)).toBe(true);
    feed.join(ahead);
    await produce(1, values(1));
    await eventually(() => {
      expect(atTail.offsets).toEqual([4, 5, 6]);
      expect(ahead.offsets).toEqual([6]);
    });
  });

  it('drops a member that declines a batch, ends when its last member leaves, and opens anew', async () => {
    const feed: SharedFeed = await feeds.acquire(0);
    const staying = new Member(0);
    const leaving = new Member(0);
    feed.join(staying);
    feed.join(leaving);
    leaving.stay = false;
    await produce(0, values(1));
    await eventually(() => expect(staying.offsets).toEqual([0]));
    expect(feed.size).toBe(1);
    await produce(0, values(1));
    await eventually(() => expect(staying.offsets).toEqual([0, 1]));
    expect(leaving.offsets).toEqual([0]);
    feed.leave(staying);
    expect(feed.ended).toBe(true);
    expect(feed.canJoin(2)).toBe(false);
    const again = await feeds.acquire(0);
    expect(again).not.toBe(feed);
    expect(again.next).toBe(2);
  });

  it('tells its members when the subscription ends by itself (topic deleted)', async () => {
    const feed = await feeds.acquire(0);
    const member = new Member(0);
    feed.join(member);
    await broker.deleteTopic('socket.io');
    await eventually(() => expect(member.errors).toHaveLength(1));
    expect(feed.ended).toBe(true);
  });
});
