/**
 * @module server/front/mqtt/inbound-qos2
 * QoS 2 PUBLISHes from a client, appended to the log exactly once, across reconnects and server
 * crashes, through the broker's idempotent producer.
 *
 * The session owns a producer id (`broker.initProducer`, made on its first QoS 2 message) and, per
 * partition, the next producer sequence. A new QoS 2 PUBLISH takes the next sequence, and the
 * intent "packet id → (topic, partition, sequence)" is written to the session (durably, with
 * other sessions' changes: `persist`) BEFORE the record is appended with
 * `appendBatch(topic, partition, [record], { producer: { producerId, producerEpoch, baseSequence } })`.
 * PUBREC follows the append. Whatever happened in between:
 *
 * - the client resends the PUBLISH with the same packet id (it must, until it has a PUBREC): the
 *   same sequence is used again, and the log drops the duplicate if the first append had made it;
 * - a resend of a record appended long ago (the log remembers a producer's last 5 batches per
 *   partition) is refused as `OUT_OF_ORDER_SEQUENCE` with `sequence < expected`: it is in the log;
 * - `sequence > expected` means intents were written but never appended, and their client did not
 *   resend them (it lost its own state): those intents are dropped and the unappended intents of
 *   this connection renumbered from `expected`, so the producer's sequences stay gapless;
 * - PUBREL removes the intent, durably, before PUBCOMP: a packet id the client reuses afterwards
 *   is a new message.
 *
 * Appends of one partition are issued in sequence order (one chain per partition).
 *
 * @example
 * const inbound = new ExactlyOnceInbound({ broker, session, persist: (s) => store.save(s) });
 * await inbound.receive(packetId, 'plant', partition, record); // then PUBREC
 * await inbound.release(packetId); // then PUBCOMP
 */

import type { Broker, RecordInput } from '../../../broker/types.js';
import { isTributaryError } from '../../../errors.js';
import type { InboundQos2, ProducerSequence, SessionState } from './session-state.js';

/** Largest producer sequence (Kafka's int32); QoS 2 sessions do not wrap it (2^31 messages per partition). */
const SEQUENCE_MAX = 2 ** 31 - 1;

export interface ExactlyOnceInboundOptions {
  /** A broker (or a guarded view of one) for appends and the producer id. */
  readonly broker: Broker;
  readonly session: SessionState;
  /** Makes the session's current state durable (the session store's `save`); a no-op for sessions that end with their connection. */
  readonly persist: (session: SessionState) => Promise<void>;
}

export interface InboundResult {
  /** True when nothing new was appended: a resend of a packet id whose record is in the log. */
  readonly duplicate: boolean;
  /** The record's offset, when this call appended it. */
  readonly offset?: number;
}

export class ExactlyOnceInbound {
  private broker: Broker;
  private readonly session: SessionState;
  private readonly persist: (session: SessionState) => Promise<void>;
  /** Per partition: the end of the chain of appends issued in sequence order. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Intents whose append has not finished, per partition, in sequence order. */
  private readonly unfinished = new Map<string, InboundQos2[]>();
  /** Receives in progress per packet id, so a resend during the first attempt joins it. */
  private readonly receiving = new Map<number, Promise<InboundResult>>();
  private producing: Promise<void> | undefined;

  constructor(options: ExactlyOnceInboundOptions) {
    this.broker = options.broker;
    this.session = options.session;
    this.persist = options.persist;
  }

  /** The broker later appends go through: the session's current connection's (guarded) view. */
  bindBroker(broker: Broker): void {
    this.broker = broker;
  }

  /** True while `packetId` is received and not released: a PUBLISH with it is a resend. */
  has(packetId: number): boolean {
    return this.session.inbound.some((entry) => entry.packetId === packetId);
  }

  /**
   * Appends `record` (key = the MQTT topic name) to `topic`/`partition` unless `packetId` was
   * already received; resolves once it is in the log (then PUBREC). A rejection leaves no intent
   * behind: the client may send the message again as new.
   */
  receive(packetId: number, topic: string, partition: number, record: RecordInput): Promise<InboundResult> {
    const running = this.receiving.get(packetId);
    if (running !== undefined) return running.then((): InboundResult => ({ duplicate: true }));
    const done = this.receiveOnce(packetId, topic, partition, record);
    this.receiving.set(packetId, done);
    const forget = (): void => {
      if (this.receiving.get(packetId) === done) this.receiving.delete(packetId);
    };
    done.then(forget, forget);
    return done;
  }

  /**
   * PUBREL: forgets `packetId` durably; resolves true once stored (then PUBCOMP), false when the
   * packet id was not pending (MQTT 5: PUBCOMP with 0x92, Packet Identifier not found).
   */
  async release(packetId: number): Promise<boolean> {
    await this.receiving.get(packetId)?.catch(() => undefined);
    const index = this.session.inbound.findIndex((entry) => entry.packetId === packetId);
    if (index < 0) return false;
    this.session.inbound.splice(index, 1);
    await this.persist(this.session);
    return true;
  }

  private async receiveOnce(
    packetId: number,
    topic: string,
    partition: number,
    record: RecordInput,
  ): Promise<InboundResult> {
    let intent = this.session.inbound.find((entry) => entry.packetId === packetId);
    if (intent?.appended === true) return { duplicate: true };
    let persisted = Promise.resolve();
    if (intent === undefined) {
      await this.ensureProducer();
      const sequences = this.sequencesOf(topic, partition);
      if (sequences.next > SEQUENCE_MAX) throw new RangeError('producer sequence exhausted for this session');
      intent = { packetId, topic, partition, sequence: sequences.next++ };
      this.session.inbound.push(intent);
      persisted = this.persist(this.session); // the intent is durable before the append
    }
    const entry = intent;
    const queue = this.queueOf(entry.topic, entry.partition);
    queue.push(entry);
    sortBySequence(queue);
    let offset: number | undefined;
    try {
      // Chained now, synchronously with taking the sequence, so appends go in sequence order.
      await this.chained(entry.topic, entry.partition, async () => {
        await persisted;
        offset = await this.append(entry, record);
      });
    } catch (error) {
      this.drop(entry);
      throw error;
    } finally {
      removeFrom(queue, entry);
    }
    return offset === undefined ? { duplicate: true } : { duplicate: false, offset };
  }

  /**
   * Appends with the intent's sequence (read now: a gap repair may have renumbered it); the
   * record's offset when this append wrote it, undefined when the log had it already.
   */
  private async append(intent: InboundQos2, record: RecordInput): Promise<number | undefined> {
    for (let attempt = 0; ; attempt++) {
      const producer = this.session.producer!;
      try {
        const result = await this.broker.appendBatch(intent.topic, intent.partition, [record], {
          producer: { ...producer, baseSequence: intent.sequence },
        });
        intent.appended = true;
        return result.duplicate ? undefined : result.baseOffset;
      } catch (error) {
        if (!isTributaryError(error, 'OUT_OF_ORDER_SEQUENCE') || attempt > 0) throw error;
        const expected = Number(error.details.expected);
        if (!Number.isSafeInteger(expected)) throw error;
        if (intent.sequence < expected) {
          // Appended before, and older than the batches the log remembers for duplicates.
          intent.appended = true;
          return undefined;
        }
        await this.repairGap(intent.topic, intent.partition, expected);
      }
    }
  }

  /**
   * Sequences from `expected` on were given to intents that never reached the log: intents left
   * from an earlier connection or process are dropped (their client did not resend them), and
   * this connection's unfinished ones take the sequences from `expected`, in their order.
   */
  private async repairGap(topic: string, partition: number, expected: number): Promise<void> {
    const unfinished = this.queueOf(topic, partition);
    this.session.inbound = this.session.inbound.filter(
      (entry) =>
        entry.topic !== topic ||
        entry.partition !== partition ||
        entry.appended === true ||
        entry.sequence < expected ||
        unfinished.includes(entry),
    );
    let next = expected;
    for (const entry of unfinished) entry.sequence = next++;
    this.sequencesOf(topic, partition).next = next;
    await this.persist(this.session);
  }

  private drop(intent: InboundQos2): void {
    const index = this.session.inbound.indexOf(intent);
    if (index >= 0) this.session.inbound.splice(index, 1);
  }

  private ensureProducer(): Promise<void> {
    if (this.session.producer !== null) return Promise.resolve();
    this.producing ??= this.broker.initProducer().then(
      ({ producerId, producerEpoch }) => {
        this.session.producer = { producerId, producerEpoch };
      },
      (error: unknown) => {
        this.producing = undefined;
        throw error;
      },
    );
    return this.producing;
  }

  private sequencesOf(topic: string, partition: number): ProducerSequence {
    let entry = this.session.sequences.find((s) => s.topic === topic && s.partition === partition);
    if (entry === undefined) {
      entry = { topic, partition, next: 0 };
      this.session.sequences.push(entry);
    }
    return entry;
  }

  private queueOf(topic: string, partition: number): InboundQos2[] {
    const key = `${topic}\0${partition}`;
    let queue = this.unfinished.get(key);
    if (queue === undefined) {
      queue = [];
      this.unfinished.set(key, queue);
    }
    return queue;
  }

  private chained(topic: string, partition: number, step: () => Promise<void>): Promise<void> {
    const key = `${topic}\0${partition}`;
    const run = (this.chains.get(key) ?? Promise.resolve()).then(step);
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }
}

function sortBySequence(intents: InboundQos2[]): void {
  intents.sort((a, b) => a.sequence - b.sequence);
}

function removeFrom(intents: InboundQos2[], intent: InboundQos2): void {
  const index = intents.indexOf(intent);
  if (index >= 0) intents.splice(index, 1);
}
