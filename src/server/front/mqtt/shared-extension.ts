/**
 * @module server/front/mqtt/shared-extension
 * `$share/<name>/<filter>` subscriptions for the MQTT front end (the `shared` extension of
 * `context.ts`): each one a consumer-group membership of the client (`shared-subscription.ts`).
 *
 * A record a member receives goes to its client at min(published QoS, granted QoS). QoS 1 and 2
 * PUBLISHes take a packet id from the session and sit in `session.outbound` marked `shared`, so
 * ids never collide with the session's own deliveries and PUBREC → PUBREL works the same way; the
 * group's offset is committed after PUBACK / PUBCOMP (QoS 0: once written). Shared in-flight
 * messages are not part of the stored session: when the connection ends, the memberships end and
 * what was unacknowledged is delivered to another member (docs/mqtt.md, "Shared subscriptions").
 * A persistent session's shared subscriptions are joined again when its client reconnects.
 *
 * @example
 * attachMqttFrontEnd({ ..., extensions: { shared: new SharedSubscriptions({ logger }) } });
 */
import type { QoS } from 'mqtt-packet';
import { type Logger, pino } from 'pino';
import type { LogRecord, TopicPartition } from '../../../broker/types.js';
import type { MqttClient, SharedExtension } from './context.js';
import { messageOfRecord } from './record-shape.js';
import type { SessionSubscription } from './session.js';
import { SharedSubscriptionMember } from './shared-subscription.js';

export interface SharedSubscriptionsOptions {
  readonly logger?: Logger;
  /** Unacknowledged records per member and partition. Default 16. */
  readonly creditRecords?: number;
  /** Default `Date.now` (message expiry). */
  readonly now?: () => number;
}

interface ClientShares {
  readonly members: Map<string, SharedSubscriptionMember>;
  /** Packet id → settles the delivery (ack) or fails it (connection ended). */
  readonly pending: Map<number, { resolve: () => void; reject: (error: Error) => void }>;
  /** Deliveries waiting for a free packet id. */
  readonly waiting: (() => void)[];
  ended: boolean;
}

export class SharedSubscriptions implements SharedExtension {
  private readonly clients = new WeakMap<MqttClient, ClientShares>();
  /** The members of each group on this server, so a SUBACK waits until they all took the rebalance. */
  private readonly groups = new Map<string, Set<SharedSubscriptionMember>>();
  private readonly logger: Logger;
  private readonly creditRecords: number;
  private readonly now: () => number;

  constructor(options: SharedSubscriptionsOptions = {}) {
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.creditRecords = options.creditRecords ?? 16;
    this.now = options.now ?? Date.now;
  }

  async subscribe(client: MqttClient, subscription: SessionSubscription): Promise<void> {
    const shares = this.sharesOf(client);
    const text = subscriptionText(subscription);
    const previous = shares.members.get(text);
    if (previous !== undefined) {
      this.forget(text, previous);
      await previous.leave();
    }
    shares.members.delete(text);
    const { filter } = subscription;
    const topics =
      filter.topic !== null
        ? [filter.topic]
        : (await client.broker.listTopics())
            .map((t) => t.name)
            .filter((name) => client.auth.allowed('topic', name, 'read'));
    // A topic that does not exist yet counts as no partitions; the group rebalances once it is
    // created. A wildcard filter reads the topics that exist when it is subscribed.
    if (topics.length === 0) return;
    const member = await SharedSubscriptionMember.join({
      broker: client.broker,
      subscription: text,
      filter,
      topics,
      creditRecords: this.creditRecords,
      logger: this.logger,
      deliver: (record, mqttTopic, tp) => this.deliver(client, shares, subscription, record, mqttTopic, tp),
    });
    if (shares.ended) {
      await member.leave();
      return;
    }
    shares.members.set(text, member);
    let group = this.groups.get(text);
    if (group === undefined) {
      group = new Set();
      this.groups.set(text, group);
    }
    group.add(member);
    // Every member has applied the rebalance this join caused (partitions moved off the others)
    // before SUBACK, so what is published afterwards goes to one member only.
    await Promise.all([...group].map((m) => m.settled()));
  }

  async unsubscribe(client: MqttClient, filter: string): Promise<void> {
    const shares = this.clients.get(client);
    const member = shares?.members.get(filter);
    if (shares === undefined || member === undefined) return;
    shares.members.delete(filter);
    this.forget(filter, member);
    await member.leave();
  }

  private forget(text: string, member: SharedSubscriptionMember): void {
    const group = this.groups.get(text);
    group?.delete(member);
    if (group?.size === 0) this.groups.delete(text);
  }

  acknowledged(client: MqttClient, packetId: number): boolean {
    const shares = this.clients.get(client);
    const pending = shares?.pending.get(packetId);
    if (shares === undefined || pending === undefined) return false;
    shares.pending.delete(packetId);
    client.session.outbound.delete(packetId);
    pending.resolve();
    shares.waiting.shift()?.();
    return true;
  }

  ended(client: MqttClient): void {
    const shares = this.clients.get(client);
    if (shares === undefined) return;
    shares.ended = true;
    this.clients.delete(client);
    const gone = new Error('connection ended');
    for (const [packetId, pending] of shares.pending) {
      client.session.outbound.delete(packetId);
      pending.reject(gone);
    }
    shares.pending.clear();
    for (const [text, member] of shares.members) {
      this.forget(text, member);
      member
        .leave()
        .catch((error: unknown) => this.logger.debug({ err: error }, 'leaving a shared group failed'));
    }
    shares.members.clear();
  }

  /** Joins again the shared subscriptions a persistent session brought back. */
  async resumed(client: MqttClient): Promise<void> {
    for (const subscription of client.session.subscriptions.values()) {
      if (subscription.filter.shareName === null) continue;
      await this.subscribe(client, subscription).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'MQTT shared subscription not resumed');
      });
    }
  }

  private sharesOf(client: MqttClient): ClientShares {
    let shares = this.clients.get(client);
    if (shares === undefined) {
      shares = { members: new Map(), pending: new Map(), waiting: [], ended: false };
      this.clients.set(client, shares);
    }
    return shares;
  }

  private async deliver(
    client: MqttClient,
    shares: ClientShares,
    subscription: SessionSubscription,
    record: LogRecord,
    mqttTopic: string,
    tp: TopicPartition,
  ): Promise<void> {
    // Gone: the record stays owed to the group (never counted as delivered).
    if (shares.ended) throw new Error('connection ended');
    const message = messageOfRecord(record, this.now());
    if (message === null) return; // expired: passed over
    const qos = Math.min(message.publishedQos ?? subscription.qos, subscription.qos) as QoS;
    const properties =
      client.version === 5
        ? {
            ...message.properties,
            ...(subscription.identifier === null ? {} : { subscriptionIdentifier: subscription.identifier }),
          }
        : undefined;
    const publish = {
      cmd: 'publish' as const,
      topic: mqttTopic,
      payload: message.payload,
      qos,
      dup: false,
      retain: false,
      ...(properties === undefined ? {} : { properties }),
    };
    if (qos === 0) {
      client.send(publish);
      return;
    }
    let packetId = client.session.allocatePacketId();
    while (packetId === null) {
      await new Promise<void>((resolve) => shares.waiting.push(resolve));
      if (shares.ended) throw new Error('connection ended');
      packetId = client.session.allocatePacketId();
    }
    const id = packetId;
    const acked = new Promise<void>((resolve, reject) => shares.pending.set(id, { resolve, reject }));
    client.session.outbound.set(id, {
      packetId: id,
      qos: qos as 1 | 2,
      topic: tp.topic,
      partition: tp.partition,
      offset: record.offset,
      phase: 'publish',
      shared: true,
    });
    client.send({ ...publish, messageId: id });
    return acked;
  }
}

/** The subscription as the client wrote it: the group id. */
function subscriptionText(subscription: SessionSubscription): string {
  return `$share/${subscription.filter.shareName}/${subscription.filter.filter}`;
}
