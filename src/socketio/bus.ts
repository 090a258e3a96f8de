/**
 * @module socketio/bus
 * The Tributary side of one `createAdapter()`: one SDK connection shared by every namespace of a
 * Socket.IO server, two producers and two consumers.
 *
 * - The broadcast topic (default `socket.io`) holds what must be delivered in one order and
 *   kept for recovery: broadcasts without acknowledgement, room joins/leaves and disconnects
 *   of remote sockets. Records are keyed by namespace (one partition per namespace).
 * - The control topic (default `socket.io.control`) carries what only matters now: heartbeats,
 *   `fetchSockets`, `serverSideEmit`, broadcasts expecting acknowledgements, and every response
 *   (addressed by the `sio.to` header, so other servers skip them without decoding).
 *
 * Both are consumed from where this process joined (`from: 'latest'`). Records of the broadcast
 * topic are handed to the namespaces strictly in log order, the server's own broadcasts
 * included, and the bus remembers how far it delivered each partition: a recovering client is
 * given exactly the records between its offset and that point ({@link SocketIoBus.holdDeliveries}
 * keeps the point still while the missed packets are read).
 *
 * The server's own broadcast is handed over when its append is acknowledged if that keeps the
 * order: every record before it was delivered already and deliveries are not held. Its copy
 * coming back from the consumer is then skipped (its offset is below the delivered point).
 * Otherwise, it waits for the consumer like any other record. Either way, a record is delivered
 * once, in offset order, only once durable. (Tributary writes the delivery of a record to the
 * connection that appended it together with the acknowledgement, the delivery first, so the
 * consumer usually hands the record over first and the acknowledgement finds it delivered.)
 */

import type { Collection, Consumer, NodeConnectOptions, Producer } from '../client/node/index.js';
import { type ConsumerRecord, connect, type TributaryClient } from '../client/node/index.js';
import { isTributaryError } from '../errors.js';
import {
  BROADCAST,
  type ClusterMessageLike,
  type ConsumedRecord,
  decodeClusterMessage,
  encodeClusterMessage,
  offsetId,
  type PacketRecord,
  SIO_HEADERS,
} from './packet-record.js';

/** A namespace's adapter as the bus sees it. */
export interface BusMember {
  /** The id this server's adapter of the namespace sends as `sio.uid`. */
  readonly serverUid: string;
  /** A record of the broadcast topic, in log order; `offset` is its offset id. */
  onLogMessage(message: ClusterMessageLike, offset: string, partition: number, position: number): void;
  /** A record of the control topic that is not a response to another server. */
  onControlMessage(message: ClusterMessageLike): void;
}

export interface BusOptions {
  readonly connect: NodeConnectOptions;
  readonly client?: TributaryClient;
  readonly topic: string;
  readonly controlTopic: string;
  readonly partitions: number;
  readonly controlRetentionMs: number;
  readonly sessionsCollection: string;
  readonly onError: (error: unknown) => void;
}

/** Message types that go to the broadcast topic (socket.io-adapter's `MessageType`). */
const LOGGED_TYPES = new Set([3, 4, 5, 6]); // BROADCAST, SOCKETS_JOIN, SOCKETS_LEAVE, DISCONNECT_SOCKETS

/** How often a topic another server is creating is looked for again. */
const TOPIC_WAIT_ATTEMPTS = 250;

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes);

export class SocketIoBus {
  readonly options: BusOptions;
  /** Resolves once both topics are subscribed (and created when missing). */
  readonly ready: Promise<void>;
  readonly #members = new Map<string, BusMember>();
  readonly #deliveredNext = new Map<number, number>();
  #client: TributaryClient | undefined;
  #logProducer: Producer | undefined;
  #controlProducer: Producer | undefined;
  #consumers: Consumer[] = [];
  #holds = 0;
  #gate: Promise<void> | null = null;
  #openGate: (() => void) | null = null;
  #closed = false;
  #sessions: Promise<Collection> | undefined;
  readonly #onClose: (() => void)[] = [];

  constructor(options: BusOptions) {
    this.options = options;
    this.ready = this.#start();
    this.ready.catch(options.onError);
  }

  /** True once the last namespace left: a new one opens a new bus. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The sessions collection (created in strong mode when missing), once connected. */
  sessions(): Promise<Collection> {
    this.#sessions ??= this.ready.then(async () => {
      const name = this.options.sessionsCollection;
      const admin = this.client.admin;
      for (let attempt = 0; ; attempt += 1) {
        try {
          await admin.describeCollection(name);
          break;
        } catch (error) {
          if (!isTributaryError(error, 'COLLECTION_NOT_FOUND') || attempt >= TOPIC_WAIT_ATTEMPTS) throw error;
        }
        try {
          await admin.createCollection(name, { mode: 'strong', partitions: 1 });
          break;
        } catch (error) {
          // Another server is creating it: look again shortly.
          if (!isTributaryError(error, 'COLLECTION_EXISTS')) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      return this.client.collection(name, { pendingWritesMax: 100_000 });
    });
    return this.#sessions;
  }

  /** Runs `hook` when the bus closes (the last namespace left). */
  onClose(hook: () => void): void {
    if (this.#closed) hook();
    else this.#onClose.push(hook);
  }

  get client(): TributaryClient {
    if (this.#client === undefined) throw new Error('the Tributary connection is not ready yet');
    return this.#client;
  }

  join(nsp: string, member: BusMember): void {
    this.#members.set(nsp, member);
  }

  /** Removes a namespace; the last one closes the connection. */
  async leave(nsp: string): Promise<void> {
    this.#members.delete(nsp);
    if (this.#members.size > 0 || this.#closed) return;
    this.#closed = true;
    for (const hook of this.#onClose.splice(0)) hook();
    await this.ready.catch(() => undefined);
    await Promise.allSettled([
      this.#logProducer?.close({ timeoutMs: 5_000 }),
      this.#controlProducer?.close({ timeoutMs: 5_000 }),
      ...this.#consumers.map((consumer) => consumer.close()),
    ]);
    if (this.options.client === undefined) await this.#client?.close({ timeoutMs: 5_000 });
  }

  /** Appends a cluster message; resolves with its offset id (broadcast topic) or `''`. */
  async publish(message: ClusterMessageLike): Promise<string> {
    await this.ready;
    const record = encodeClusterMessage(message);
    const logged =
      LOGGED_TYPES.has(message.type) &&
      !(message.type === 3 && (message.data as { requestId?: string }).requestId !== undefined);
    if (!logged) {
      await this.#controlProducer!.send(record);
      return '';
    }
    const stored = await this.#logProducer!.send(record);
    if (message.type === BROADCAST) this.#deliverAcknowledged(record, stored.partition, stored.offset);
    return offsetId(stored.partition, stored.offset);
  }

  /**
   * Hands this server's own broadcast to its namespace now that it is durable, when nothing
   * before it is still to be delivered and deliveries are not held; else the consumer brings it
   * in turn. The record's own decoding is delivered: what this server's clients get is what every
   * other server decodes from the log.
   */
  #deliverAcknowledged(record: PacketRecord, partition: number, offset: number): void {
    if (this.#gate !== null || this.#deliveredNext.get(partition) !== offset) return;
    this.#deliveredNext.set(partition, offset + 1);
    this.#hand({ value: record.value, headers: record.headers }, partition, offset);
  }

  /** Appends a response for server `to` on the control topic. */
  async publishResponse(to: string, response: ClusterMessageLike): Promise<void> {
    await this.ready;
    const record = encodeClusterMessage(response);
    record.headers.push({ key: SIO_HEADERS.to, value: new TextEncoder().encode(to) });
    await this.#controlProducer!.send(record);
  }

  /** The next offset of `partition` not yet handed to the namespaces. */
  deliveredNext(partition: number): number | undefined {
    return this.#deliveredNext.get(partition);
  }

  /**
   * Stops handing records of the broadcast topic to the namespaces until the returned function
   * is called (records wait in the consumer, whose credit bounds them).
   */
  holdDeliveries(): () => void {
    this.#holds += 1;
    if (this.#gate === null) {
      this.#gate = new Promise((resolve) => {
        this.#openGate = resolve;
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds -= 1;
      if (this.#holds === 0) {
        this.#gate = null;
        this.#openGate?.();
        this.#openGate = null;
      }
    };
  }

  async #start(): Promise<void> {
    const client = this.options.client ?? (await connect(this.options.connect));
    this.#client = client;
    await this.#ensureTopic(this.options.topic, { partitions: this.options.partitions });
    await this.#ensureTopic(this.options.controlTopic, {
      partitions: 1,
      retentionMs: this.options.controlRetentionMs,
    });
    this.#logProducer = client.producer({ topic: this.options.topic, lingerMs: 0 });
    this.#controlProducer = client.producer({ topic: this.options.controlTopic, lingerMs: 0 });
    const log = client.consumer({ topic: this.options.topic, from: 'latest' });
    const control = client.consumer({ topic: this.options.controlTopic, from: 'latest' });
    this.#consumers = [log, control];
    log.on('records', (records) => this.#onLogRecords(records));
    control.on('records', (records) => this.#onControlRecords(records));
    log.on('error', this.options.onError);
    control.on('error', this.options.onError);
    await Promise.all([log.ready, control.ready]);
    for (const [partition, next] of log.positions()) {
      if (!this.#deliveredNext.has(partition)) this.#deliveredNext.set(partition, next);
    }
  }

  /** Creates the topic when missing; several servers may race, so it waits until it is there. */
  async #ensureTopic(name: string, config: { partitions: number; retentionMs?: number }): Promise<void> {
    const admin = this.#client!.admin;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await admin.describeTopic(name);
        return;
      } catch (error) {
        if (!isTributaryError(error, 'TOPIC_NOT_FOUND') || attempt >= TOPIC_WAIT_ATTEMPTS) throw error;
      }
      try {
        await admin.createTopic(name, config);
        return;
      } catch (error) {
        // Another server is creating it: look again shortly.
        if (!isTributaryError(error, 'TOPIC_EXISTS')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  #onLogRecords(records: ConsumerRecord[]): Promise<void> | undefined {
    const next = this.#deliverLog(records, 0);
    return next === records.length ? undefined : this.#deliverHeld(records, next);
  }

  /** Delivers the rest of a batch, waiting whenever deliveries are held. */
  async #deliverHeld(records: ConsumerRecord[], from: number): Promise<void> {
    let next = from;
    while (next < records.length) {
      while (this.#gate !== null) await this.#gate;
      next = this.#deliverLog(records, next);
    }
  }

  /**
   * Delivers records from `from` on until the batch ends or deliveries become held (a record
   * made a session change that must be saved first); returns the index of the next record.
   * Synchronous on purpose: no recovery read can start in the middle of a record.
   */
  #deliverLog(records: ConsumerRecord[], from: number): number {
    for (let i = from; i < records.length; i++) {
      if (this.#gate !== null) return i;
      const record = records[i]!;
      // Already handed over when its append was acknowledged (#deliverAcknowledged).
      if (record.offset < (this.#deliveredNext.get(record.partition) ?? 0)) continue;
      this.#deliveredNext.set(record.partition, record.offset + 1);
      this.#hand(record, record.partition, record.offset);
    }
    return records.length;
  }

  #hand(record: ConsumedRecord, partition: number, offset: number): void {
    const message = decodeClusterMessage(record, toBuffer);
    if (message === null) return;
    const member = this.#members.get(message.nsp);
    if (member === undefined) return;
    try {
      member.onLogMessage(message, offsetId(partition, offset), partition, offset);
    } catch (error) {
      this.options.onError(error);
    }
  }

  #onControlRecords(records: ConsumerRecord[]): void {
    for (const record of records) {
      const to = record.headers.find((header) => header.key === SIO_HEADERS.to);
      if (to !== undefined && !this.#isLocalUid(new TextDecoder().decode(to.value))) continue;
      const message = decodeClusterMessage(record, toBuffer);
      if (message === null) continue;
      const member = this.#members.get(message.nsp);
      if (member === undefined) continue;
      try {
        member.onControlMessage(message);
      } catch (error) {
        this.options.onError(error);
      }
    }
  }

  #isLocalUid(uid: string): boolean {
    for (const member of this.#members.values()) if (member.serverUid === uid) return true;
    return false;
  }
}
