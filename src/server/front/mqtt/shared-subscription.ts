/**
 * @module server/front/mqtt/shared-subscription
 * A client's membership in an MQTT shared subscription `$share/<name>/<filter>`, served as a
 * broker consumer group whose id is the whole subscription text (`$share/<name>/<filter>`).
 *
 * - The group balances the partitions of the filter's topic(s) over its members (the broker's
 *   assignor), so each record goes to one member, and a topic with N partitions spreads over up
 *   to N members. Within a partition, order is kept.
 * - A member reads each assigned partition from the group's committed offset and commits, after
 *   the client acknowledged (QoS 1 PUBACK, QoS 2 PUBREC, QoS 0 once written), the first offset
 *   not yet acknowledged. Commits of one member are coalesced: one in flight, the next carries
 *   everything acknowledged meanwhile.
 * - A partition assigned for the first time with no committed offset starts at its end, and that
 *   position is committed at once, so a record published afterwards is owed to the group even if
 *   the partition moves to another member before anything was delivered.
 * - A member that leaves (disconnect) or stops heartbeating loses its partitions to the others,
 *   which start from the committed offsets: what it had not acknowledged is delivered again, to
 *   another member.
 *
 * Memory per member is bounded by `creditRecords` unacknowledged records per partition (the
 * broker subscription's credit is given back one record at a time, as they are acknowledged).
 *
 * @example
 * const member = await SharedSubscriptionMember.join({
 *   broker, subscription: '$share/workers/plant/#', filter: parseTopicFilter('$share/workers/plant/#'),
 *   topics: ['plant'], deliver: (record, topic, partition) => sendAndAwaitAck(record),
 * });
 * await member.leave();
 */
import { type Logger, pino } from 'pino';
import type {
  Broker,
  Delivery,
  GroupAssignment,
  GroupMembership,
  LogRecord,
  Subscription,
  TopicPartition,
} from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import { filterMatches, logToMqttTopic, type TopicFilter } from './topics.js';

export interface SharedSubscriptionOptions {
  /** A broker, or the connection's guarded view of it (ACL: `group` read on the subscription text). */
  readonly broker: Broker;
  /** The subscription as the client sent it: `$share/<name>/<filter>`; the group id. */
  readonly subscription: string;
  readonly filter: TopicFilter;
  /** The Tributary topics the filter reads (its first level, or every readable topic). */
  readonly topics: readonly string[];
  /**
   * Sends `record` to the client; resolves once the client acknowledged it, rejects when the
   * connection ended first. `mqttTopic` is the name the record is delivered under.
   */
  readonly deliver: (record: LogRecord, mqttTopic: string, tp: TopicPartition) => Promise<void>;
  /** Unacknowledged records per partition at most. Default 100. */
  readonly creditRecords?: number;
  /** The member is removed after this long without a heartbeat (sent every third of it). Default 10 000 ms. */
  readonly sessionTimeoutMs?: number;
  readonly logger?: Logger;
}

interface PartitionReader {
  readonly tp: TopicPartition;
  subscription: Subscription | undefined;
  /** Offsets delivered and not acknowledged yet, ascending. */
  readonly pending: number[];
  /** The offset after the last record seen. */
  nextUnseen: number;
  /** Last offset committed (or being committed). */
  committed: number;
  closed: boolean;
}

export class SharedSubscriptionMember {
  private membership: GroupMembership | undefined;
  private generation = -1;
  private readonly readers = new Map<string, PartitionReader>();
  /** Assignments are applied one after the other. */
  private applying: Promise<void> = Promise.resolve();
  /** The commit loop running now; acknowledgements meanwhile set `commitAgain`. */
  private commitRun: Promise<void> | undefined;
  private commitAgain = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private left = false;
  private readonly broker: Broker;
  private readonly groupId: string;
  private readonly credit: number;
  private readonly logger: Logger;

  private constructor(private readonly options: SharedSubscriptionOptions) {
    this.broker = options.broker;
    this.groupId = options.subscription;
    this.credit = options.creditRecords ?? 100;
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  /** Joins the group; records start flowing to `deliver` once partitions are assigned. */
  static async join(options: SharedSubscriptionOptions): Promise<SharedSubscriptionMember> {
    const member = new SharedSubscriptionMember(options);
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    member.membership = await options.broker.joinGroup({
      groupId: member.groupId,
      topics: options.topics,
      sessionTimeoutMs,
      onAssignment: (assignment) => member.assigned(assignment),
    });
    member.heartbeatTimer = setInterval(
      () => member.membership?.heartbeat(),
      Math.max(1, sessionTimeoutMs / 3),
    );
    member.heartbeatTimer.unref();
    return member;
  }

  /** Partitions this member reads now. */
  get partitions(): TopicPartition[] {
    return [...this.readers.values()].map((reader) => reader.tp);
  }

  /** Settles once the assignments received so far are applied (subscriptions open). */
  settled(): Promise<void> {
    return this.applying;
  }

  /** Leaves the group: its partitions, and what it left unacknowledged, go to the other members. */
  async leave(): Promise<void> {
    if (this.left) return;
    clearInterval(this.heartbeatTimer);
    await this.applying;
    // What was acknowledged is committed before the partitions move on.
    await this.commitRun;
    await this.commitLoop();
    this.left = true;
    for (const reader of this.readers.values()) this.closeReader(reader);
    this.readers.clear();
    await this.membership?.leave().catch(() => undefined);
  }

  private assigned(assignment: GroupAssignment): void {
    this.applying = this.applying
      .then(() => this.apply(assignment))
      .catch((error: unknown) => {
        this.logger.warn(
          { err: error, group: this.groupId },
          'could not apply a shared subscription assignment',
        );
      });
  }

  private async apply(assignment: GroupAssignment): Promise<void> {
    if (this.left) return;
    this.generation = assignment.generation;
    const wanted = new Map(assignment.partitions.map((tp) => [tpKey(tp), tp]));
    for (const [key, reader] of this.readers) {
      if (wanted.has(key)) continue;
      this.closeReader(reader);
      this.readers.delete(key);
    }
    const added = [...wanted].filter(([key]) => !this.readers.has(key)).map(([, tp]) => tp);
    if (added.length === 0) return;
    const committed = new Map(
      (await this.broker.fetchOffsets(this.groupId, added)).map((c) => [tpKey(c), c.offset] as const),
    );
    const fresh: { topic: string; partition: number; offset: number }[] = [];
    for (const tp of added) {
      if (this.left || assignment.generation !== this.generation) return;
      let offset = committed.get(tpKey(tp));
      if (offset === undefined || offset < 0) {
        offset = await this.broker.resolvePosition(tp.topic, tp.partition, 'latest');
        fresh.push({ ...tp, offset });
      }
      await this.open(tp, offset);
    }
    if (fresh.length > 0) await this.commit(fresh);
  }

  private async open(tp: TopicPartition, offset: number): Promise<void> {
    const reader: PartitionReader = {
      tp,
      subscription: undefined,
      pending: [],
      nextUnseen: offset,
      committed: offset,
      closed: false,
    };
    this.readers.set(tpKey(tp), reader);
    const subscribe = (from: number | 'earliest') =>
      this.broker.subscribe({
        topic: tp.topic,
        partition: tp.partition,
        from: from === 'earliest' ? from : { offset: from },
        credit: this.credit,
        onRecords: (delivery) => this.received(reader, delivery),
        onError: (error) => {
          if (!reader.closed) this.logger.debug({ err: error, ...tp }, 'shared subscription reader ended');
        },
      });
    let subscription: Subscription;
    try {
      subscription = await subscribe(offset);
    } catch (error) {
      if (!isTributaryError(error, 'OFFSET_OUT_OF_RANGE')) throw error;
      // Retention deleted the committed position: what is left starts at the earliest offset.
      this.logger.warn(
        { group: this.groupId, ...tp, offset },
        'shared subscription position deleted; reading from the earliest',
      );
      subscription = await subscribe('earliest');
      reader.nextUnseen = subscription.position;
    }
    if (reader.closed) subscription.close();
    else reader.subscription = subscription;
  }

  private received(reader: PartitionReader, delivery: Delivery): void {
    if (reader.closed) return;
    let passed = 0;
    for (const record of delivery.records) {
      reader.nextUnseen = record.offset + 1;
      const mqttTopic = logToMqttTopic(delivery.topic, record.key);
      if (!filterMatches(this.options.filter, mqttTopic)) {
        passed++;
        continue;
      }
      reader.pending.push(record.offset);
      this.options.deliver(record, mqttTopic, reader.tp).then(
        () => this.acknowledged(reader, record.offset),
        () => undefined, // the connection ended: the record stays owed to the group
      );
    }
    if (passed > 0) {
      reader.subscription?.grant(passed);
      this.positionMoved(reader);
    }
  }

  private acknowledged(reader: PartitionReader, offset: number): void {
    if (reader.closed) return;
    const index = reader.pending.indexOf(offset);
    if (index < 0) return;
    reader.pending.splice(index, 1);
    reader.subscription?.grant(1);
    this.positionMoved(reader);
  }

  private positionMoved(reader: PartitionReader): void {
    const position = reader.pending[0] ?? reader.nextUnseen;
    if (position > reader.committed) this.scheduleCommit();
  }

  private scheduleCommit(): void {
    if (this.commitRun !== undefined) {
      this.commitAgain = true;
      return;
    }
    // A microtask later, so the acknowledgements of one moment share a commit.
    this.commitRun = Promise.resolve()
      .then(() => this.commitLoop())
      .finally(() => {
        this.commitRun = undefined;
      });
  }

  private async commitLoop(): Promise<void> {
    do {
      this.commitAgain = false;
      const offsets: { topic: string; partition: number; offset: number }[] = [];
      for (const reader of this.readers.values()) {
        const position = reader.pending[0] ?? reader.nextUnseen;
        if (position <= reader.committed) continue;
        reader.committed = position;
        offsets.push({ ...reader.tp, offset: position });
      }
      if (offsets.length > 0) await this.commit(offsets);
    } while (this.commitAgain && !this.left);
  }

  private async commit(
    offsets: readonly { topic: string; partition: number; offset: number }[],
  ): Promise<void> {
    const memberId = this.membership?.memberId;
    if (memberId === undefined || this.left) return;
    try {
      await this.broker.commitOffsets(this.groupId, memberId, this.generation, offsets);
    } catch (error) {
      // A rebalance moved the partitions on: their new owner reads from the last good commit.
      this.logger.debug({ err: error, group: this.groupId }, 'shared subscription commit refused');
    }
  }

  private closeReader(reader: PartitionReader): void {
    reader.closed = true;
    reader.subscription?.close();
  }
}

function tpKey(tp: TopicPartition): string {
  return `${tp.topic}\0${tp.partition}`;
}
