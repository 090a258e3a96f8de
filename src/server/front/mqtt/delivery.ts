/**
 * @module server/front/mqtt/delivery
 * Records of the log to an MQTT client: one broker subscription per (topic, partition) that a
 * session's filters can match, each record matched against the filters when it is its turn to
 * be sent, and sent once at the highest QoS of the matching subscriptions (docs/mqtt.md,
 * "Delivery").
 *
 * Flow control, so that a client that stops reading pins a bounded amount of memory:
 * - each partition subscription is given `creditRecords` of broker credit at a time, and more
 *   only once all it delivered has been sent and the socket's send buffer is under
 *   `sendBufferedBytesMax`: at most partitions × credit records wait here;
 * - QoS 1 and 2 messages need a slot of the in-flight window (the client's Receive Maximum,
 *   capped by `mqttOutboundInFlightMax`); when it is full, sending stops (in order: nothing
 *   overtakes a message waiting for a slot) until an acknowledgement frees one.
 *
 * Positions: `session.positions` holds, per partition, the offset after the last record sent
 * (or skipped as not matching, expired or too large for the client), so a session taken up
 * again resumes there; messages in flight are resent from `session.outbound` first.
 *
 * A session kept on the log (`session.durability`, `persistent-sessions.ts`) is stored before a
 * QoS 2 PUBLISH and before a PUBREL are written (every later packet waits behind that store, so
 * order holds), and soon after positions move; records that a session read back after a restart
 * already resent or completed are passed over (`replayed`).
 *
 * A partition subscription that fails to open or ends by itself (`onPartitionEnded`): a deleted
 * topic stops that topic's delivery and the filter waits for the topic again (a topic created
 * anew is read from its beginning); access taken away by a policy reload stops that topic's
 * delivery; an ended security session is the connection's to handle (it closes); anything else
 * (a storage error, data deleted under the position) is retried with backoff from the position
 * after the last record sent. Each is logged and counted in `errors{frontend="mqtt"}`.
 *
 * @example
 * const delivery = new Delivery({ broker, session, sink, ... });
 * await delivery.start();               // resend in-flight, open the partition subscriptions
 * await delivery.subscriptionsChanged(); // after SUBSCRIBE / UNSUBSCRIBE
 */
import type { IPublishPacket, Packet, QoS } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Broker, Delivery as BrokerDelivery, LogRecord, Subscription } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import type { ServerMetrics } from '../../metrics.js';
import { encodePacket, type MqttVersion } from './codec.js';
import { messageOfRecord } from './record-shape.js';
import { MQTT_RETAINED_TOPIC, type RetainedMessage } from './retained.js';
import { RetainedQueue } from './retained-queue.js';
import { type MqttSession, partitionKey, type SessionSubscription } from './session.js';
import { filterMatches, logToMqttTopic } from './topics.js';

/** Where delivered packets go: the connection's socket. */
export interface PacketSink {
  readonly version: MqttVersion;
  /** The client's Maximum Packet Size (MQTT 5); Infinity when it set none. */
  readonly packetBytesMax: number;
  /** The client's Topic Alias Maximum (MQTT 5): aliases the server may set on this connection; 0: none. */
  readonly topicAliasMax: number;
  /** Bytes written and not yet taken by the network. */
  readonly bufferedBytes: number;
  /** Writes one encoded packet. */
  write(bytes: Buffer): void;
}

export interface DeliveryOptions {
  /** The broker as the session may use it (guarded with security on). */
  readonly broker: Broker;
  readonly session: MqttSession;
  readonly sink: PacketSink;
  /** QoS 1/2 messages sent and not acknowledged at once. */
  readonly inFlightMax: number;
  /** Broker credit per partition subscription at a time. */
  readonly creditRecords: number;
  /** Deliveries stop while the socket holds this many bytes. */
  readonly sendBufferedBytesMax: number;
  /** Whether the session may read `topic` (topics found by a wildcard filter are skipped otherwise). */
  readonly canRead: (topic: string) => boolean;
  /**
   * Whether the record at this position was published by this client (MQTT 5 No Local);
   * undefined while an append of this client to `topic` has not resolved yet (its offset is not
   * known: the record may be it). The connection calls `pump()` when that changes.
   */
  readonly publishedHere: (topic: string, partition: number, offset: number) => boolean | undefined;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** Default `Date.now`. */
  readonly now?: () => number;
  /** Default 1000 ms: how often topics are listed again for wildcard filters and missing topics. */
  readonly relistIntervalMs?: number;
  /** Default 100 ms: first wait before a failed partition subscription is opened again; doubles up to 30 s. */
  readonly retryDelayMs?: number;
  /** Most retained messages waiting to be sent after SUBSCRIBEs. Default 100 000. */
  readonly retainedQueuedMax?: number;
  /** A retained message sent and not acknowledged, for resending: `__mqtt.retained` is no topic the session reads. */
  readonly retainedRecordAt?: (offset: number) => Promise<LogRecord | undefined>;
}

interface PartitionReader {
  readonly topic: string;
  readonly partition: number;
  /** `partitionKey(topic, partition)`: the session's position key, made once, not per record. */
  readonly positionKey: string;
  subscription: Subscription | null;
  /** Credit given to the broker and not yet used. */
  outstanding: number;
  /** Records of this partition waiting in the queue. */
  queued: number;
  closed: boolean;
  /** Failed opens in a row: the next retry waits retryDelayMs × 2^failures (capped). */
  failures: number;
}

interface TopicReader {
  readonly topic: string;
  readonly partitions: PartitionReader[];
}

interface Queued {
  readonly reader: PartitionReader;
  readonly record: LogRecord;
}

function newPartitionReader(topic: string, partition: number, failures: number): PartitionReader {
  return {
    topic,
    partition,
    positionKey: partitionKey(topic, partition),
    subscription: null,
    outstanding: 0,
    queued: 0,
    closed: false,
    failures,
  };
}

const MIN_QOS = (a: QoS, b: QoS): QoS => (a < b ? a : b);

export class Delivery {
  readonly #o: DeliveryOptions;
  readonly #now: () => number;
  readonly #readers = new Map<string, TopicReader>();
  /** Topics being opened, so two syncs never open one twice. */
  readonly #opening = new Set<string>();
  /** Topic aliases this connection set for the client (MQTT 5), name → alias. */
  readonly #aliases = new Map<string, number>();
  #queue: Queued[] = [];
  #head = 0;
  #sync: Promise<void> = Promise.resolve();
  /** Packets wait here while a store they must follow is in progress (durable sessions). */
  #gate: Promise<void> | null = null;
  #relist: NodeJS.Timeout | undefined;
  /** Partition subscriptions waiting to be opened again after a failure. */
  readonly #retries = new Set<NodeJS.Timeout>();
  #stopped = false;
  #started = false;
  readonly #retained: RetainedQueue;

  constructor(options: DeliveryOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#retained = new RetainedQueue({
      session: options.session,
      sink: options.sink,
      inFlightMax: options.inFlightMax,
      sendBufferedBytesMax: options.sendBufferedBytesMax,
      queuedMax: options.retainedQueuedMax ?? 100_000,
      metrics: options.metrics,
    });
  }

  /** Retained messages a SUBSCRIBE matched: sent before any live record (`retained-queue.ts`). */
  queueRetained(messages: readonly RetainedMessage[], subscription: SessionSubscription): void {
    if (this.#stopped) return;
    this.#retained.add(messages, subscription);
    this.pump();
  }

  /** Whether new topics matter (a wildcard filter, or a filter's topic missing): see `subscriptionsChanged`. */
  get watchesNewTopics(): boolean {
    return this.#relist !== undefined;
  }

  /** Records waiting to be sent (bounded by partitions × credit). */
  get queuedRecords(): number {
    return this.#queue.length - this.#head;
  }

  /** Resends what was in flight (DUP, same packet ids), then opens the partition subscriptions. */
  async start(): Promise<void> {
    this.#started = true;
    await this.#resendInFlight();
    await this.subscriptionsChanged();
  }

  /**
   * Opens subscriptions for topics that filters now need (at the tail, or at the session's
   * stored position) and closes those no filter needs any more. Calls are serialized.
   */
  subscriptionsChanged(): Promise<void> {
    const run = this.#sync.then(() => this.#syncReaders());
    this.#sync = run.catch((error: unknown) => {
      this.#o.logger.warn({ err: error }, 'MQTT delivery: opening subscriptions failed');
    });
    return this.#sync;
  }

  /** PUBACK. */
  acknowledged(packetId: number): void {
    const entry = this.#o.session.outbound.get(packetId);
    if (entry === undefined || entry.qos !== 1) return;
    this.#o.session.outbound.delete(packetId);
    this.#o.session.durability?.saveSoon();
    this.pump();
  }

  /** PUBREC: the client has the message; answer PUBREL (or end it on an error reason code). */
  received(packetId: number, reasonCode: number): void {
    const session = this.#o.session;
    const entry = session.outbound.get(packetId);
    if (entry === undefined || entry.qos !== 2) {
      this.#send({
        cmd: 'pubrel',
        messageId: packetId,
        ...(this.#o.sink.version === 5 ? { reasonCode: 0x92 } : {}),
      });
      return;
    }
    if (reasonCode >= 0x80) {
      session.outbound.delete(packetId);
      session.durability?.completed(entry.topic, entry.partition, entry.offset);
      session.durability?.saveSoon();
      this.pump();
      return;
    }
    entry.phase = 'pubrel';
    // Stored as released before the PUBREL leaves: after a crash only the PUBREL is sent again.
    this.#send({ cmd: 'pubrel', messageId: packetId }, true);
  }

  /** PUBCOMP. */
  completed(packetId: number): void {
    const { session } = this.#o;
    const entry = session.outbound.get(packetId);
    if (entry === undefined || entry.qos !== 2) return;
    session.outbound.delete(packetId);
    session.durability?.completed(entry.topic, entry.partition, entry.offset);
    session.durability?.saveSoon();
    this.pump();
  }

  /** The socket drained: go on sending and asking the broker for more. */
  writable(): void {
    this.pump();
  }

  /** Stops every subscription; what was not sent will be delivered from the stored positions. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#relist);
    for (const timer of this.#retries) clearTimeout(timer);
    this.#retries.clear();
    for (const reader of this.#readers.values()) this.#closeTopic(reader);
    this.#readers.clear();
    this.#queue = [];
    this.#head = 0;
    this.#retained.clear();
  }

  /** Sends what may be sent now, then tops up broker credit where everything was sent. */
  pump(): void {
    if (this.#stopped || !this.#started) return;
    if (!this.#retained.drain(this.#now())) return;
    const { sink, sendBufferedBytesMax } = this.#o;
    while (this.#head < this.#queue.length) {
      if (sink.bufferedBytes >= sendBufferedBytesMax) break;
      const next = this.#queue[this.#head] as Queued;
      if (!this.#deliver(next)) break;
      this.#head++;
      next.reader.queued--;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (sink.bufferedBytes < sendBufferedBytesMax) this.#grantCredit();
  }

  /**
   * Sends one record (or skips it); false when it must wait: the in-flight window is full, or no
   * packet id is free.
   */
  #deliver({ reader, record }: Queued): boolean {
    const { session, sink } = this.#o;
    const key = reader.positionKey;
    const advance = (): true => {
      session.positions.set(key, record.offset + 1);
      session.durability?.saveSoon();
      return true;
    };
    if (reader.closed) return true;
    if (session.durability?.replayed(reader.topic, reader.partition, record.offset) === true)
      return advance();
    const name = logToMqttTopic(reader.topic, record.key);
    const matching = this.#matching(name, reader, record.offset);
    if (matching === null) return false; // No Local cannot tell yet: wait for the append
    if (matching.length === 0) return advance();
    const message = messageOfRecord(record, this.#now());
    if (message === null) return advance(); // expired
    let granted: QoS = 0;
    for (const subscription of matching) if (subscription.qos > granted) granted = subscription.qos;
    const qos = MIN_QOS(message.publishedQos ?? granted, granted);
    if (qos > 0 && session.outbound.size >= this.#o.inFlightMax) return false;
    const packetId = qos > 0 ? session.allocatePacketId() : null;
    if (qos > 0 && packetId === null) return false;
    const identifiers = matching.flatMap((s) => (s.identifier === null ? [] : [s.identifier]));
    const properties =
      sink.version === 5
        ? {
            ...message.properties,
            ...(identifiers.length === 0 ? {} : { subscriptionIdentifier: identifiers }),
          }
        : undefined;
    // MQTT 5 topic alias: a name sent before goes as its alias alone; a new one sets the next free alias.
    const knownAlias = this.#aliases.get(name);
    const newAlias =
      knownAlias === undefined && this.#aliases.size < sink.topicAliasMax
        ? this.#aliases.size + 1
        : undefined;
    const alias = knownAlias ?? newAlias;
    if (alias !== undefined && properties !== undefined) properties.topicAlias = alias;
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: knownAlias === undefined ? name : '',
      payload: message.payload,
      qos,
      dup: false,
      retain: sink.version === 5 && message.publishedRetained && matching.some((m) => m.retainAsPublished),
      ...(packetId === null ? {} : { messageId: packetId }),
      ...(properties === undefined ? {} : { properties }),
    };
    const bytes = encodePacket(packet, sink.version);
    // MQTT 5 §3.1.2.11.4: a packet larger than the client's maximum is not sent, as if it had been.
    if (bytes.length > sink.packetBytesMax) return advance();
    // Only an alias the client has been sent exists for it.
    if (newAlias !== undefined) this.#aliases.set(name, newAlias);
    if (packetId !== null && qos === 2) {
      // Recorded before the PUBLISH leaves: a durable session stores it first (see #write).
      session.outbound.set(packetId, {
        packetId,
        qos: 2,
        topic: reader.topic,
        partition: reader.partition,
        offset: record.offset,
        phase: 'publish',
      });
    }
    this.#write(bytes, qos === 2);
    this.#o.metrics.recordsOut.inc({ frontend: 'mqtt' });
    this.#o.metrics.bytesOut.inc({ frontend: 'mqtt' }, message.payload.length);
    if (packetId !== null && qos === 1) {
      session.outbound.set(packetId, {
        packetId,
        qos: qos as 1 | 2,
        topic: reader.topic,
        partition: reader.partition,
        offset: record.offset,
        phase: 'publish',
      });
    }
    return advance();
  }

  /**
   * The session's non-shared subscriptions that match `name`, No Local applied; null when a No
   * Local subscription matches and whether the record is the client's own is not known yet.
   */
  #matching(name: string, reader: PartitionReader, offset: number): SessionSubscription[] | null {
    const result: SessionSubscription[] = [];
    let ownChecked: boolean | undefined | null = null;
    for (const subscription of this.#o.session.subscriptions.values()) {
      const filter = subscription.filter;
      if (filter.shareName !== null) continue;
      if (filter.topic !== null && filter.topic !== reader.topic) continue;
      if (!filterMatches(filter, name)) continue;
      if (subscription.noLocal) {
        if (ownChecked === null) ownChecked = this.#o.publishedHere(reader.topic, reader.partition, offset);
        if (ownChecked === undefined) return null;
        if (ownChecked) continue;
      }
      result.push(subscription);
    }
    return result;
  }

  #grantCredit(): void {
    const credit = this.#o.creditRecords;
    for (const topic of this.#readers.values()) {
      for (const reader of topic.partitions) {
        if (reader.closed || reader.subscription === null) continue;
        if (reader.queued > 0 || reader.outstanding > 0) continue;
        reader.outstanding = credit;
        reader.subscription.grant(credit);
      }
    }
  }

  #onRecords(reader: PartitionReader, delivery: BrokerDelivery): void {
    if (reader.closed || this.#stopped) return;
    const records = delivery.records;
    if (records.length === 0) return;
    const key = reader.positionKey;
    if (!this.#o.session.positions.has(key)) {
      this.#o.session.positions.set(key, (records[0] as LogRecord).offset);
    }
    reader.failures = 0;
    reader.outstanding = Math.max(0, reader.outstanding - records.length);
    reader.queued += records.length;
    for (const record of records) this.#queue.push({ reader, record });
    this.pump();
  }

  async #resendInFlight(): Promise<void> {
    const { session, broker } = this.#o;
    for (const entry of [...session.outbound.values()]) {
      if (this.#stopped) return;
      if (entry.phase === 'pubrel') {
        this.#send({ cmd: 'pubrel', messageId: entry.packetId });
        continue;
      }
      const retained = entry.topic === MQTT_RETAINED_TOPIC;
      let record: LogRecord | undefined;
      try {
        if (retained) record = await this.#o.retainedRecordAt?.(entry.offset);
        else [record] = await broker.fetch(entry.topic, entry.partition, entry.offset, { maxRecords: 1 });
      } catch (error) {
        this.#o.logger.debug(
          { err: error, topic: entry.topic },
          'MQTT: in-flight message no longer readable',
        );
      }
      const message = record === undefined ? null : messageOfRecord(record, this.#now());
      if (record === undefined || record.offset !== entry.offset || message === null) {
        session.outbound.delete(entry.packetId);
        continue;
      }
      // A retained record's key is its MQTT topic name.
      const name = retained ? textOf(record.key) : logToMqttTopic(entry.topic, record.key);
      this.#send({
        cmd: 'publish',
        topic: name,
        payload: message.payload,
        qos: entry.qos,
        dup: true,
        retain: retained,
        messageId: entry.packetId,
        ...(this.#o.sink.version === 5 ? { properties: message.properties } : {}),
      });
    }
  }

  /** `afterStore`: for a durable session, the packet leaves once the session is stored. */
  #send(packet: Packet, afterStore = false): void {
    if (this.#stopped) return;
    this.#write(encodePacket(packet, this.#o.sink.version), afterStore);
  }

  /**
   * Writes a packet, in order with every other: behind a store in progress, if any; when
   * `afterStore` and the session is durable, behind a store of the session as it is now.
   */
  #write(bytes: Buffer, afterStore: boolean): void {
    const durability = this.#o.session.durability;
    if (this.#gate === null && (!afterStore || durability === null)) {
      this.#o.sink.write(bytes);
      return;
    }
    const stored = afterStore && durability !== null ? durability.save() : null;
    const previous = this.#gate ?? Promise.resolve();
    const gate: Promise<void> = previous
      .then(() => stored)
      .then(
        () => {
          if (!this.#stopped) this.#o.sink.write(bytes);
        },
        (error: unknown) => {
          // Not sent: the packet stays in flight and goes out again when the session is taken up.
          this.#o.logger.warn({ err: error }, 'MQTT session not stored; packet held back');
        },
      );
    this.#gate = gate;
    void gate.then(() => {
      if (this.#gate === gate) this.#gate = null;
    });
  }

  /** The topics the filters need now: literal first levels, and every readable topic for wildcards. */
  async #neededTopics(): Promise<{ topics: Set<string>; wildcard: boolean }> {
    const topics = new Set<string>();
    let wildcard = false;
    for (const subscription of this.#o.session.subscriptions.values()) {
      if (subscription.filter.shareName !== null) continue;
      if (subscription.filter.topic === null) wildcard = true;
      else topics.add(subscription.filter.topic);
    }
    if (wildcard) {
      const listed = new Set<string>();
      for (const description of await this.#o.broker.listTopics()) {
        listed.add(description.name);
        if (!this.#o.canRead(description.name)) continue;
        topics.add(description.name);
        // Not there at the previous listing: everything in it is newer than the filter.
        const name = description.name;
        if (this.#listed !== null && !this.#listed.has(name) && !this.#readers.has(name))
          this.#o.session.awaitedTopics.add(name);
      }
      this.#listed = listed;
    } else {
      this.#listed = null;
    }
    return { topics, wildcard };
  }

  /** Every topic of the previous listing for wildcard filters; null when none was made. */
  #listed: Set<string> | null = null;

  async #syncReaders(): Promise<void> {
    if (this.#stopped) return;
    const { topics, wildcard } = await this.#neededTopics();
    for (const [topic, reader] of this.#readers) {
      if (topics.has(topic)) continue;
      this.#closeTopic(reader);
      this.#readers.delete(topic);
      for (const partition of reader.partitions) {
        this.#o.session.positions.delete(partitionKey(topic, partition.partition));
      }
    }
    for (const topic of this.#o.session.awaitedTopics) {
      if (!topics.has(topic)) this.#o.session.awaitedTopics.delete(topic);
    }
    let missing = false;
    for (const topic of topics) {
      if (this.#readers.has(topic) || this.#opening.has(topic)) continue;
      if (!(await this.#openTopic(topic))) missing = true;
    }
    this.pump();
    this.#scheduleRelist(wildcard || missing);
  }

  /** False when the topic does not exist (yet): it is looked for again at the next listing. */
  async #openTopic(topic: string): Promise<boolean> {
    const { broker } = this.#o;
    this.#opening.add(topic);
    try {
      let partitions: number;
      try {
        partitions = (await broker.describeTopic(topic)).partitions.length;
      } catch (error) {
        if (isTributaryError(error, 'TOPIC_NOT_FOUND')) {
          // Created later: everything in it is newer than the subscription, so start at its beginning.
          this.#o.session.awaitedTopics.add(topic);
          return false;
        }
        throw error;
      }
      const fromStart = this.#o.session.awaitedTopics.delete(topic);
      const reader: TopicReader = { topic, partitions: [] };
      this.#readers.set(topic, reader);
      for (let partition = 0; partition < partitions; partition++) {
        const partitionReader = newPartitionReader(topic, partition, 0);
        reader.partitions.push(partitionReader);
        try {
          await this.#openPartition(partitionReader, fromStart);
        } catch (error) {
          this.#partitionEnded(partitionReader, error);
        }
        if (this.#stopped || this.#readers.get(topic) !== reader) return true;
      }
      return true;
    } finally {
      this.#opening.delete(topic);
    }
  }

  async #openPartition(reader: PartitionReader, fromStart: boolean): Promise<void> {
    const { broker, session } = this.#o;
    const key = reader.positionKey;
    const stored = session.positions.get(key);
    const subscribe = (from: 'earliest' | 'latest' | { offset: number }): Promise<Subscription> =>
      broker.subscribe({
        topic: reader.topic,
        partition: reader.partition,
        from,
        credit: this.#o.creditRecords,
        onRecords: (delivery) => this.#onRecords(reader, delivery),
        onError: (error) => this.#partitionEnded(reader, error),
      });
    // Set before subscribing: the broker may deliver before `subscribe` resolves.
    reader.outstanding = this.#o.creditRecords;
    let subscription: Subscription;
    try {
      subscription = await subscribe(
        stored !== undefined ? { offset: stored } : fromStart ? 'earliest' : 'latest',
      );
    } catch (error) {
      // A stored position the log no longer has (retention): resume at the earliest record kept.
      if (!isTributaryError(error, 'OFFSET_OUT_OF_RANGE')) throw error;
      subscription = await subscribe('earliest');
    }
    if (this.#stopped || reader.closed) {
      subscription.close();
      return;
    }
    reader.subscription = subscription;
    if (!session.positions.has(key)) session.positions.set(key, subscription.position);
  }

  /** A partition subscription failed to open or ended by itself: see the module comment. */
  #partitionEnded(reader: PartitionReader, error: unknown): void {
    if (reader.closed || this.#stopped) return;
    const topicReader = this.#readers.get(reader.topic);
    const index = topicReader?.partitions.indexOf(reader) ?? -1;
    if (topicReader === undefined || index < 0) return;
    const code = isTributaryError(error) ? error.code : 'INTERNAL';
    const { logger, metrics, session } = this.#o;
    const where = { topic: reader.topic, partition: reader.partition, code };
    metrics.errors.inc({ frontend: 'mqtt', code });
    if (code === 'SHUTTING_DOWN' || code === 'TOKEN_EXPIRED' || code === 'ACCESS_REVOKED') {
      // The server or the security session ends: the connection closes with it.
      logger.debug(where, 'MQTT delivery subscription ended with the session');
      this.#closeTopic(topicReader);
      return;
    }
    if (code === 'TOPIC_NOT_FOUND') {
      // Deleted: forget its positions and wait for it as for a topic not created yet.
      logger.info(where, 'MQTT delivery: topic deleted; waiting for it to be created again');
      this.#closeTopic(topicReader);
      this.#readers.delete(reader.topic);
      for (const partition of topicReader.partitions)
        session.positions.delete(partitionKey(reader.topic, partition.partition));
      session.durability?.saveSoon();
      session.awaitedTopics.add(reader.topic);
      void this.subscriptionsChanged();
      return;
    }
    if (code.endsWith('_ACCESS_DENIED')) {
      // Kept as a closed reader so that listings do not open it again while the connection lasts.
      logger.warn(where, 'MQTT delivery: read access taken away; topic no longer delivered');
      this.#closeTopic(topicReader);
      return;
    }
    // Transient: a fresh reader (what the old one queued is passed over) opened again later from
    // the position after the last record sent.
    reader.closed = true;
    reader.subscription?.close();
    const retry = newPartitionReader(reader.topic, reader.partition, reader.failures + 1);
    topicReader.partitions[index] = retry;
    const delayMs = Math.min((this.#o.retryDelayMs ?? 100) * 2 ** reader.failures, 30_000);
    logger.warn({ ...where, err: error, delayMs }, 'MQTT delivery subscription failed; retrying');
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      if (this.#stopped || retry.closed) return;
      this.#openPartition(retry, false).then(
        () => this.pump(),
        (openError: unknown) => this.#partitionEnded(retry, openError),
      );
    }, delayMs);
    timer.unref();
    this.#retries.add(timer);
  }

  #closeTopic(reader: TopicReader): void {
    for (const partition of reader.partitions) {
      partition.closed = true;
      partition.subscription?.close();
    }
  }

  #scheduleRelist(needed: boolean): void {
    if (!needed) {
      clearInterval(this.#relist);
      this.#relist = undefined;
      return;
    }
    if (this.#relist !== undefined) return;
    this.#relist = setInterval(() => void this.subscriptionsChanged(), this.#o.relistIntervalMs ?? 1000);
    this.#relist.unref();
  }
}

function textOf(bytes: Uint8Array | null): string {
  return new TextDecoder().decode(bytes ?? new Uint8Array(0));
}
