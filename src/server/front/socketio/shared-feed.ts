/**
 * @module server/front/socketio/shared-feed
 * One broker subscription per partition of the `socket.io` topic, shared by every socket of the
 * endpoint that is caught up with it: each batch is read once and handed to those sockets in
 * turn. With a subscription per socket, a thousand sockets meant a thousand wake-ups, reads,
 * deliveries and credit grants per append.
 *
 * A socket reads on its own subscription while it is behind the shared one (it recovered from an
 * older offset, its client reads slowly, or a room change of its is being saved) and joins once
 * its next offset is at least the shared one's ({@link SharedFeed.canJoin}); it skips the
 * records of a batch it already has. A member that cannot take a batch at once (congested,
 * suspended) leaves and goes back to its own subscription, so nobody waits for the slowest
 * client. The shared subscription's credit is given back as soon as a batch was handed out.
 *
 * The subscription is the endpoint's own (not a session's guarded broker): each member checks its
 * session's `read` permission on every batch it takes, as a guarded subscription does.
 *
 * @example
 * const feeds = new SharedFeeds(broker, 'socket.io');
 * const feed = await feeds.acquire(0);
 * if (feed.canJoin(next)) feed.join(member);
 */
import type { Broker, Delivery, Subscription } from '../../../broker/types.js';
import { DELIVERY_CREDIT_RECORDS } from './limits.js';

/** A socket as the shared subscription sees it. */
export interface SharedFeedMember {
  /**
   * Takes a batch (skipping records below its own next offset); returns false when it left the
   * feed meanwhile (it reads on its own from then on).
   */
  onShared(delivery: Delivery): boolean;
  /** The shared subscription ended (topic deleted, broker closing): the member is no longer in it. */
  onSharedError(error: unknown): void;
}

export class SharedFeed {
  readonly partition: number;
  readonly #subscription: Subscription;
  /** An array, not a Set: members come and go with every client (see "Hash tables" in broker/partition-feed.ts). */
  #members: SharedFeedMember[] = [];
  #fanning = false;
  #next: number;
  #ended = false;
  readonly #onEmpty: (feed: SharedFeed) => void;

  private constructor(partition: number, subscription: Subscription, onEmpty: (feed: SharedFeed) => void) {
    this.partition = partition;
    this.#subscription = subscription;
    this.#next = subscription.position;
    this.#onEmpty = onEmpty;
  }

  /** Subscribes at the tail of the partition. */
  static async open(
    broker: Broker,
    topic: string,
    partition: number,
    onEmpty: (feed: SharedFeed) => void,
  ): Promise<SharedFeed> {
    let feed: SharedFeed | undefined;
    const pending: Delivery[] = [];
    let failure: { error: unknown } | undefined;
    const subscription = await broker.subscribe({
      topic,
      partition,
      from: 'latest',
      credit: DELIVERY_CREDIT_RECORDS,
      onRecords: (delivery) => {
        if (feed === undefined) pending.push(delivery);
        else feed.#fanOut(delivery);
      },
      onError: (error) => {
        if (feed === undefined) failure = { error };
        else feed.#fail(error);
      },
    });
    feed = new SharedFeed(partition, subscription, onEmpty);
    // Deliveries start on a later turn (broker/subscription.ts), but be safe either way.
    for (const delivery of pending) feed.#fanOut(delivery);
    if (failure !== undefined) feed.#fail(failure.error);
    return feed;
  }

  /** The next offset the shared subscription hands out. */
  get next(): number {
    return this.#next;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get size(): number {
    return this.#members.length;
  }

  /** Whether a socket whose next offset is `next` misses nothing by joining now. */
  canJoin(next: number): boolean {
    return !this.#ended && next >= this.#next;
  }

  join(member: SharedFeedMember): void {
    if (this.#ended) throw new Error('the shared feed ended');
    if (!this.#members.includes(member)) this.#members.push(member);
  }

  leave(member: SharedFeedMember): void {
    const index = this.#members.indexOf(member);
    if (index === -1) return;
    this.#members.splice(index, 1);
    if (this.#members.length === 0 && !this.#fanning) this.close();
  }

  /** Ends the shared subscription (its last member left, or the endpoint closes). */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#members = [];
    this.#subscription.close();
    this.#onEmpty(this);
  }

  #fanOut(delivery: Delivery): void {
    if (this.#ended) return;
    const records = delivery.records;
    if (records.length === 0) return;
    this.#next = records[records.length - 1]!.offset + 1;
    // A copy: members may leave (their socket disconnected) while the batch is handed out.
    const members = this.#members.slice();
    const leavers: SharedFeedMember[] = [];
    this.#fanning = true;
    try {
      for (const member of members) {
        if (this.#ended) return;
        if (!member.onShared(delivery)) leavers.push(member);
      }
    } finally {
      this.#fanning = false;
    }
    if (leavers.length > 0) {
      const gone = new Set(leavers);
      this.#members = this.#members.filter((member) => !gone.has(member));
    }
    if (this.#members.length === 0) this.close();
    else this.#subscription.grant(records.length);
  }

  #fail(error: unknown): void {
    if (this.#ended) return;
    const members = this.#members;
    this.close();
    for (const member of members) member.onSharedError(error);
  }
}

/** The shared feeds of a topic, one per partition, opened on first use and closed when empty. */
export class SharedFeeds {
  readonly #broker: Broker;
  readonly #topic: string;
  readonly #feeds = new Map<number, Promise<SharedFeed>>();

  constructor(broker: Broker, topic: string) {
    this.#broker = broker;
    this.#topic = topic;
  }

  /** The partition's feed, opened if there is none (or the last one ended). */
  async acquire(partition: number): Promise<SharedFeed> {
    const known = this.#feeds.get(partition);
    if (known !== undefined) {
      const feed = await known.catch(() => undefined);
      if (feed !== undefined && !feed.ended) return feed;
      if (this.#feeds.get(partition) !== known) return this.acquire(partition);
      this.#feeds.delete(partition);
    }
    const opening = SharedFeed.open(this.#broker, this.#topic, partition, (feed) => {
      if (this.#feeds.get(feed.partition) === opening) this.#feeds.delete(feed.partition);
    });
    this.#feeds.set(partition, opening);
    opening.catch(() => {
      if (this.#feeds.get(partition) === opening) this.#feeds.delete(partition);
    });
    return opening;
  }

  /** Ends every shared subscription. */
  async close(): Promise<void> {
    const feeds = await Promise.allSettled(this.#feeds.values());
    this.#feeds.clear();
    for (const result of feeds) if (result.status === 'fulfilled') result.value.close();
  }
}
