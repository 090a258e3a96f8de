/**
 * @module log/jetstream/partition-replica
 * One topic-partition as a gateway sees it: the partition's JetStream stream (its command log,
 * see `command.ts`) applied in order to a `MemoryPartition`, the deterministic state machine the
 * memory engine uses too.
 *
 * Reading: an ordered push consumer delivers every stored command from sequence 1, then each new
 * one as JetStream stores it (written by this gateway or any other); `open()` resolves once the
 * state has caught up with the stream's last sequence as of the call. `waitForAppend` waits on
 * the state's own waiters, woken when a command is applied: no polling.
 *
 * Writing: every command is decided where it is applied, in stream order, by every gateway alike
 * (`command.ts`): an append carries its `expectedLastOffset`, producer id, epoch and sequence, and
 * is checked against the state the commands before it left. So a gateway publishes without
 * deciding first and without compare-and-set on the stream sequence; two gateways writing the
 * same partition never race, and the answer to a write is the outcome of applying its command.
 *
 * Writes are pipelined: the commands of one partition queued while a message is in flight go out
 * together as the next message (up to the NATS `max_payload`), so under load one JetStream round
 * trip carries many writes. One message per partition is in flight at a time, so a gateway's
 * writes land in the order they were made. Each message has a `Nats-Msg-Id`, so a publish retried
 * after a lost acknowledgement (a leader election, a reconnect) is stored once (within the
 * stream's duplicate window, two minutes by default). The gateway learns its outcomes by applying
 * its message at the sequence JetStream acknowledged: directly when it is next, or once the
 * consumer has delivered every command before it.
 *
 * Idempotent producers need no deduplication window: their state is part of the replicated
 * state (rebuilt from the commands), so a retry through any gateway, at any later time, finds
 * its batch.
 *
 * Diverged copies: nats-server 2.9 can leave a node that was cut off from the cluster with a
 * copy of the stream holding other messages at the same sequences, and serve it to consumers
 * placed on that node. So a consumer's deliveries are applied only once the consumer is known to
 * be served by the node leading the stream (the one that acknowledges writes), and every message
 * is checked against what this gateway knows for sure: the sequence JetStream acknowledged for
 * each of its own messages, and the sequence and `Nats-Msg-Id` of the last acknowledged message
 * of every writer, which each message names in its `Tributary-Prev` header. A delivery that
 * contradicts them is not applied: the partition is rebuilt from sequence 1 through a consumer
 * on the stream leader, and readers waiting on the old state get a retriable `STORAGE_ERROR`.
 */
import type {
  JetStreamClient,
  JetStreamManager,
  JetStreamSubscription,
  JsMsg,
  MsgHdrs,
  NatsError,
} from 'nats';
import { consumerOpts, ErrorCode } from 'nats';
import { TributaryError } from '../../errors.js';
import { MemoryPartition } from '../memory/memory-partition.js';
import { checkEncodedBatch } from '../stored-batch.js';
import { checkMarkerEpoch } from '../transactions.js';
import type { AppendOptions, AppendResult, RetentionReport, TopicConfig } from '../types.js';
import { recordSizeBytes, validateRecords } from '../validation.js';
import { isElectionSymptom, retryWhileElecting } from './api-retry.js';
import {
  type Command,
  type CommandParts,
  commandMessage,
  decodeCommands,
  encodeCommandParts,
  framedSize,
} from './command.js';

/** What applying a command produced, per kind. */
export type Outcome =
  | { readonly op: 'append'; readonly result: AppendResult }
  | { readonly op: 'marker'; readonly offset: number | null }
  | { readonly op: 'delete-records'; readonly earliest: number }
  | { readonly op: 'retention'; readonly report: RetentionReport }
  | {
      readonly op: 'compact';
      readonly counts: {
        recordsBefore: number;
        recordsAfter: number;
        bytesBefore: number;
        bytesAfter: number;
      };
    };

/** What applying one command gave: its outcome, or the error that refused it (nothing changed). */
type Applied = { readonly outcome: Outcome } | { readonly error: unknown };

interface QueuedWrite {
  readonly command: Command;
  readonly parts: CommandParts;
  readonly size: number;
  readonly resolve: (outcome: Outcome) => void;
  readonly reject: (error: unknown) => void;
}

export interface ReplicaOptions {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly subject: string;
  /** The topic's config as of the latest catalog entry (partition count aside, it never changes). */
  readonly config: () => TopicConfig;
  /** Largest message the NATS servers accept. */
  readonly maxPayload: number;
  /** Called when JetStream says the stream is gone: the topic was deleted. */
  readonly onStreamLost: () => void;
}

/**
 * How long a message is published again when nobody answered (a stream electing its leader after
 * a node loss) or its acknowledgement did not come (the same `Nats-Msg-Id`, so stored once).
 */
const PUBLISH_DEADLINE_MS = 30_000;
const PUBLISH_RETRY_MS = 100;
/** Wait for one PubAck. */
const PUBLISH_TIMEOUT_MS = 5_000;
/** Header naming the writer's last acknowledged message: `<sequence> <Nats-Msg-Id>`. */
const PREV_HEADER = 'Tributary-Prev';
/** How many applied messages (sequence → `Nats-Msg-Id`) are kept to check deliveries against. */
const RECENT_IDS = 10_000;
/**
 * A consumer silent for this long has its placement checked again before its next delivery is
 * applied: a node cut off from the others delivers nothing new while the cut lasts, and may
 * rejoin with a diverged copy while the stream is led elsewhere.
 */
const SILENCE_RECHECK_MS = 3_000;
/** Consumers placed elsewhere than the stream leader, replaced at once before backing off. */
const PLACEMENT_QUICK_TRIES = 5;
/** Wait before replaying a partition, doubled for each rebuild of the last minute (at most 32×). */
const REBUILD_DELAY_MS = 500;
const REBUILD_WINDOW_MS = 60_000;
/** A consumer that delivered nothing for this long while commands are awaited is replaced. */
const STALL_CHECK_MS = 5_000;
const RESUBSCRIBE_RETRY_MS = 500;
/** Commands one message carries at most. */
const COMMANDS_PER_MESSAGE_MAX = 1000;
/** Room left in a message for its headers (NATS counts them in `max_payload`). */
const HEADER_ROOM_BYTES = 1024;

export class PartitionReplica {
  /** The state the commands applied so far built; replaced when the partition is rebuilt. */
  private current: MemoryPartition;
  /** Stream sequence of the last command applied to `state`. */
  private appliedSeq = 0;
  private subscription: JetStreamSubscription | undefined;
  private jsm: JetStreamManager | undefined;
  private readonly seqWaiters = new Set<{ seq: number; resolve: () => void; reject: (e: unknown) => void }>();
  /** Writes waiting for the message in flight to be acknowledged. */
  private queue: QueuedWrite[] = [];
  private sending = false;
  private resubscribing = false;
  private stallTimer: ReturnType<typeof setInterval> | undefined;
  /** While a message is in flight: what the consumer applied, by sequence (one of them is ours). */
  private readonly appliedWhileSending = new Map<number, Applied[]>();
  /** `Nats-Msg-Id` of this replica's messages: its own prefix and a counter. */
  private readonly writerId = globalThis.crypto.randomUUID();
  private messages = 0;
  private failure: unknown;
  private closed = false;
  /** `Nats-Msg-Id` of the last applied messages, by sequence (insertion order is sequence order). */
  private readonly recentIds = new Map<number, string>();
  /** This replica's last acknowledged message, as JetStream's acknowledgement placed it. */
  private lastAcked: { seq: number; id: string } | undefined;
  /** The consumer known to be served by the stream leader; deliveries of others are held. */
  private verifiedConsumer: string | undefined;
  private verifying: string | undefined;
  private held: JsMsg[] = [];
  private lastDeliveryAt = 0;
  private misplaced = 0;
  private rebuilding = false;
  /** When the partition was rebuilt in the last minute (rebuilds back off). */
  private rebuiltAt: number[] = [];

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly options: ReplicaOptions,
  ) {
    this.current = new MemoryPartition(topic, partition);
  }

  get state(): MemoryPartition {
    return this.current;
  }

  /** Subscribes and replays the stream; resolves once caught up with its last sequence. */
  async open(): Promise<void> {
    const jsm = await retryWhileElecting(() => this.options.js.jetstreamManager());
    this.jsm = jsm;
    const info = await retryWhileElecting(() => jsm.streams.info(this.options.stream));
    this.subscription = await retryWhileElecting(() => this.subscribeFrom(1));
    await this.caughtUpTo(info.state.last_seq);
  }

  /** An ordered push consumer delivering the stream from `seq` on. */
  private subscribeFrom(seq: number): Promise<JetStreamSubscription> {
    const opts = consumerOpts()
      .orderedConsumer()
      .callback((error, msg) => {
        if (error !== null) {
          // Whatever the consumer's error, the way back is the same (see consumerFailed).
          this.consumerFailed();
          return;
        }
        if (msg !== null) this.delivered(msg);
      });
    if (seq <= 1) opts.deliverAll();
    else opts.startSequence(seq);
    return this.options.js.subscribe(this.options.subject, opts);
  }

  /**
   * Replaces the consumer with a new one starting after the last applied command: when the
   * client could not recreate its ordered consumer (a node cut off, a leader lost) or a command
   * this gateway waits for does not come.
   */
  private async resubscribe(): Promise<void> {
    if (this.closed || this.resubscribing) return;
    this.resubscribing = true;
    try {
      this.subscription?.unsubscribe();
      this.subscription = undefined;
      this.held = [];
      while (!this.closed) {
        try {
          const subscription = await this.subscribeFrom(this.appliedSeq + 1);
          if (this.closed) subscription.unsubscribe();
          else this.subscription = subscription;
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_RETRY_MS));
        }
      }
    } finally {
      this.resubscribing = false;
    }
  }

  /** While commands are awaited, checks that they arrive; resubscribes when none did for a while. */
  private watchProgress(): void {
    if (this.stallTimer !== undefined) return;
    let seen = this.appliedSeq;
    this.stallTimer = setInterval(() => {
      if (this.closed || this.seqWaiters.size === 0) {
        clearInterval(this.stallTimer);
        this.stallTimer = undefined;
        return;
      }
      if (this.appliedSeq === seen) void this.resubscribe();
      seen = this.appliedSeq;
    }, STALL_CHECK_MS);
    this.stallTimer.unref?.();
  }

  /** Waits until every command the stream held when called is applied (asks the stream's leader). */
  async catchUp(): Promise<void> {
    this.ensureUsable();
    let last: number;
    try {
      last = (await this.jsm!.streams.info(this.options.stream)).state.last_seq;
    } catch (error) {
      throw this.mapError(error);
    }
    await this.caughtUpTo(last);
  }

  /** Waits until every command up to `seq` is applied. */
  caughtUpTo(seq: number): Promise<void> {
    if (this.appliedSeq >= seq) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = {
        seq,
        resolve: () => {
          this.seqWaiters.delete(waiter);
          resolve();
        },
        reject: (error: unknown) => {
          this.seqWaiters.delete(waiter);
          reject(error);
        },
      };
      this.seqWaiters.add(waiter);
      this.watchProgress();
    });
  }

  /**
   * Stores `command` and resolves with the outcome of applying it where it landed, or rejects
   * with the error that refused it there (`EXPECTED_OFFSET_MISMATCH`, `OUT_OF_ORDER_SEQUENCE`, …).
   * Commands of one replica land in the order `write` was called.
   */
  write(command: Command): Promise<Outcome> {
    this.ensureUsable();
    const parts = encodeCommandParts(command);
    if (parts.payload.byteLength > this.options.maxPayload) {
      throw new TributaryError('RECORD_TOO_LARGE', {
        bytes: parts.payload.byteLength,
        limit: this.options.maxPayload,
        limitName: 'the NATS max_payload',
      });
    }
    return new Promise<Outcome>((resolve, reject) => {
      this.queue.push({ command, parts, size: framedSize(parts), resolve, reject });
      this.pump();
    });
  }

  /** Sends the queued writes as one message unless one is in flight already. */
  private pump(): void {
    if (this.sending || this.queue.length === 0) return;
    const budget = this.options.maxPayload - HEADER_ROOM_BYTES;
    let count = 1;
    let size = this.queue[0]!.size;
    while (count < this.queue.length && count < COMMANDS_PER_MESSAGE_MAX) {
      const next = this.queue[count]!.size;
      if (size + next > budget) break;
      size += next;
      count++;
    }
    const batch = this.queue.splice(0, count);
    this.sending = true;
    void this.send(batch).finally(() => {
      this.sending = false;
      this.appliedWhileSending.clear();
      this.pump();
    });
  }

  private async send(batch: readonly QueuedWrite[]): Promise<void> {
    let applied: Applied[];
    try {
      this.ensureUsable();
      const message = commandMessage(batch.map((write) => write.parts));
      if (this.lastAcked !== undefined)
        message.headers.set(PREV_HEADER, `${this.lastAcked.seq} ${this.lastAcked.id}`);
      const id = `${this.writerId}.${++this.messages}`;
      const seq = await this.publish(message.payload, message.headers, id);
      if (seq === this.appliedSeq + 1 && !this.rebuilding) {
        // Next in the stream: apply it from memory (the consumer's copy is then checked against it).
        applied = this.apply(
          batch.map((write) => write.command),
          seq,
          id,
        );
      } else {
        // Applied from the consumer: it must have delivered this message at this sequence.
        // While the partition is rebuilt, that is checked again on the rebuilt state.
        for (let rebuilds = 0; ; rebuilds++) {
          await this.caughtUpTo(seq);
          const found = this.appliedWhileSending.get(seq);
          const stored = this.recentIds.get(seq);
          if (stored !== undefined && stored !== id) {
            const reason = `sequence ${seq} was acknowledged for ${id}, the consumer delivered ${stored}`;
            this.diverged(reason);
            if (rebuilds < 2) continue;
            throw storageError(`${reason} again after rebuilding the partition`);
          }
          if (found === undefined || found.length !== batch.length)
            throw storageError(`the command stored at sequence ${seq} was not this gateway's`);
          applied = found;
          break;
        }
      }
      this.lastAcked = { seq, id };
    } catch (error) {
      const mapped = this.mapError(error);
      for (const write of batch) write.reject(mapped);
      return;
    }
    batch.forEach((write, i) => {
      const result = applied[i]!;
      if ('outcome' in result) write.resolve(result.outcome);
      else write.reject(result.error);
    });
  }

  private async publish(payload: Uint8Array, headers: MsgHdrs, msgID: string): Promise<number> {
    const deadline = Date.now() + PUBLISH_DEADLINE_MS;
    for (;;) {
      try {
        const ack = await this.options.js.publish(this.options.subject, payload, {
          headers,
          msgID,
          expect: { streamName: this.options.stream },
          timeout: PUBLISH_TIMEOUT_MS,
        });
        return ack.seq;
      } catch (error) {
        // No responders (no stream, or its leader is being elected): nothing stored it. No
        // acknowledgement: maybe stored; the same Nats-Msg-Id makes a retry store it once.
        if (!isElectionSymptom(error) || Date.now() > deadline || this.closed) throw error;
        // The stream is electing a leader or this gateway's server is cut off from it: the
        // consumer's node may be too. Its next deliveries wait until its placement is checked again.
        this.verifiedConsumer = undefined;
        if ((error as NatsError).code === ErrorCode.NoResponders && (await this.streamGone())) {
          this.options.onStreamLost();
          throw new TributaryError('TOPIC_NOT_FOUND', { topic: this.topic });
        }
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_MS));
      }
    }
  }

  private delivered(msg: JsMsg): void {
    if (this.closed || this.rebuilding) return;
    const consumer = msg.info.consumer;
    const now = Date.now();
    if (now - this.lastDeliveryAt > SILENCE_RECHECK_MS) this.verifiedConsumer = undefined;
    this.lastDeliveryAt = now;
    if (consumer !== this.verifiedConsumer) {
      // A new consumer (ours, or one the client recreated): held until its placement is known.
      this.held.push(msg);
      if (this.verifying !== consumer) void this.verifyPlacement(consumer);
      return;
    }
    const seq = msg.seq;
    const id = msg.headers?.get('Nats-Msg-Id') ?? '';
    if (seq <= this.appliedSeq) {
      // Seen already (applied from memory, or delivered again): it must be the same message.
      const known = this.recentIds.get(seq);
      if (known !== undefined && known !== id)
        this.diverged(`sequence ${seq} holds ${known} here, the consumer delivered ${id}`);
      return;
    }
    if (seq !== this.appliedSeq + 1) {
      // A command missed (a consumer replaced mid-flight): start again after the last applied.
      void this.resubscribe();
      return;
    }
    const prev = /^(\d+) (\S+)$/.exec(msg.headers?.get(PREV_HEADER) ?? '');
    if (prev !== null) {
      const prevSeq = Number(prev[1]);
      const known = this.recentIds.get(prevSeq);
      if (prevSeq >= seq || (known !== undefined && known !== prev[2])) {
        this.diverged(
          `the message at sequence ${seq} names ${prev[2]} at sequence ${prevSeq}, where this copy has ${known ?? 'nothing yet'}`,
        );
        return;
      }
    }
    let commands: Command[];
    try {
      commands = decodeCommands(msg.headers, msg.data);
    } catch (error) {
      this.fail(error);
      return;
    }
    let applied: Applied[];
    try {
      applied = this.apply(commands, seq, id);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.sending) this.appliedWhileSending.set(seq, applied);
  }

  /**
   * Applies the commands of the message stored at `seq`, in order. A command refused with a
   * `TributaryError` changes nothing, and every gateway refuses it the same way; any other error
   * means the state machine is broken and is thrown.
   */
  private apply(commands: readonly Command[], seq: number, id: string): Applied[] {
    this.recentIds.set(seq, id);
    if (this.recentIds.size > RECENT_IDS) this.recentIds.delete(this.recentIds.keys().next().value!);
    try {
      return commands.map((command): Applied => {
        try {
          return { outcome: this.applyCommand(command) };
        } catch (error) {
          if (error instanceof TributaryError) return { error };
          throw error;
        }
      });
    } finally {
      this.appliedSeq = seq;
      for (const waiter of [...this.seqWaiters]) if (waiter.seq <= seq) waiter.resolve();
    }
  }

  private applyCommand(command: Command): Outcome {
    const config = this.options.config();
    const state = this.state;
    switch (command.op) {
      case 'append': {
        const bytes = validateRecords(command.records, { compact: config.compact });
        const options: AppendOptions = {
          ...(command.producer === undefined ? {} : { producer: command.producer }),
          ...(command.transactional ? { transactional: true } : {}),
          ...(command.expectedLastOffset === undefined
            ? {}
            : { expectedLastOffset: command.expectedLastOffset }),
        };
        return {
          op: 'append',
          result: state.appendChecked(command.records, bytes, options, config, command.now),
        };
      }
      case 'batch': {
        const checked = checkEncodedBatch(command.batch, { compact: config.compact });
        let bytes = 0;
        for (const record of checked.records) bytes += recordSizeBytes(record);
        const options: AppendOptions = {
          ...(checked.producer === undefined ? {} : { producer: checked.producer }),
          ...(checked.transactional ? { transactional: true } : {}),
          ...(command.expectedLastOffset === undefined
            ? {}
            : { expectedLastOffset: command.expectedLastOffset }),
        };
        const result = state.appendChecked(checked.records, bytes, options, config, command.now, checked);
        return { op: 'append', result };
      }
      case 'marker': {
        const { marker } = command;
        checkMarkerEpoch(marker, state.producers.epochOf(marker.producerId), this.topic, this.partition);
        return { op: 'marker', offset: state.appendMarker(marker, command.now, config) };
      }
      case 'delete-records':
        return { op: 'delete-records', earliest: state.deleteRecords(command.beforeOffset) };
      case 'retention':
        return { op: 'retention', report: state.enforceRetention(config, command.now) };
      case 'compact':
        return { op: 'compact', counts: state.compact(config, command.now) };
    }
  }

  /**
   * Applies the held deliveries of `consumer` once it is known to be served by the node leading
   * the stream; replaces it otherwise (ephemeral consumers are placed on any of the stream's nodes).
   */
  private async verifyPlacement(consumer: string): Promise<void> {
    this.verifying = consumer;
    let placed = false;
    try {
      const [info, stream] = await Promise.all([
        this.jsm!.consumers.info(this.options.stream, consumer),
        this.jsm!.streams.info(this.options.stream),
      ]);
      // No cluster info: a single server. A clustered stream electing its leader: not yet.
      const node = info.cluster?.leader;
      placed = node === undefined || node === stream.cluster?.leader;
    } catch {
      // Gone already, or nobody answered: replace it as below.
    } finally {
      if (this.verifying === consumer) this.verifying = undefined;
    }
    if (this.closed || this.rebuilding) return;
    const held = this.held.filter((m) => m.info.consumer === consumer);
    this.held = this.held.filter((m) => m.info.consumer !== consumer);
    if (!placed) {
      // Deleted at once (an ephemeral consumer without interest would linger for seconds).
      void this.jsm!.consumers.delete(this.options.stream, consumer).catch(() => undefined);
      if (this.misplaced++ >= PLACEMENT_QUICK_TRIES)
        await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_RETRY_MS));
      await this.resubscribe();
      return;
    }
    this.misplaced = 0;
    this.verifiedConsumer = consumer;
    for (const msg of held) this.delivered(msg);
  }

  /**
   * The consumer delivered a history that contradicts what this replica knows: nothing more of
   * it is applied, and the partition is replayed from sequence 1 through a consumer on the
   * stream leader. Readers waiting on the old state are released with a retriable error; writes
   * in flight are answered from the rebuilt state.
   */
  private diverged(reason: string): void {
    if (this.rebuilding || this.closed) return;
    this.rebuilding = true;
    const now = Date.now();
    this.rebuiltAt = [...this.rebuiltAt.filter((at) => at > now - REBUILD_WINDOW_MS), now];
    const delay = REBUILD_DELAY_MS * 2 ** Math.min(this.rebuiltAt.length - 1, 5);
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.verifiedConsumer = undefined;
    this.held = [];
    const old = this.current;
    this.current = new MemoryPartition(this.topic, this.partition);
    this.appliedSeq = 0;
    this.recentIds.clear();
    this.appliedWhileSending.clear();
    old.releaseWaiters(storageError(`${reason}; the partition is being replayed from the stream leader`));
    void (async () => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      this.rebuilding = false;
      await this.resubscribe();
    })();
  }

  private consumerFailed(): void {
    if (this.closed) return;
    void (async () => {
      // The stream deleted: the topic is gone. Anything else (the consumer lost with a node, the
      // client unable to recreate it): a new consumer after the last applied command.
      if (await this.streamGone()) this.options.onStreamLost();
      else {
        await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_RETRY_MS));
        await this.resubscribe();
      }
    })();
  }

  /** Whether JetStream says the stream no longer exists (the topic was deleted elsewhere). */
  private async streamGone(): Promise<boolean> {
    try {
      await this.jsm?.streams.info(this.options.stream);
      return false;
    } catch (error) {
      const apiError = (error as NatsError).api_error;
      return apiError?.err_code === 10059 || /stream not found/i.test((error as Error).message ?? '');
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    for (const write of this.queue.splice(0)) write.reject(error);
    for (const waiter of [...this.seqWaiters]) waiter.reject(error);
  }

  private ensureUsable(): void {
    if (this.closed) throw new TributaryError('LOG_CLOSED');
    if (this.failure !== undefined) throw this.failure;
  }

  private mapError(error: unknown): unknown {
    if (error instanceof TributaryError) return error;
    const nats = error as NatsError;
    if (nats.code === ErrorCode.NoResponders)
      return storageError(`no JetStream server answered for ${this.options.stream}`);
    return storageError(nats.message ?? String(error));
  }

  /** Stops consuming and rejects every pending wait with `error`. */
  close(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    clearInterval(this.stallTimer);
    for (const write of this.queue.splice(0)) write.reject(error);
    this.state.releaseWaiters(error);
    for (const waiter of [...this.seqWaiters]) waiter.reject(error);
  }
}

function storageError(reason: string): TributaryError {
  return new TributaryError('STORAGE_ERROR', { reason: `JetStream: ${reason}` });
}
