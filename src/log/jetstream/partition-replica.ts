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
 * Writing is compare-and-set on the stream: a command is decided against the state at applied
 * sequence S (producer checks, expected offset, epochs) and published with
 * `Nats-Expected-Last-Sequence: S`. JetStream stores it only if nothing else was stored since, so
 * the decision holds where it lands, on every gateway. If another gateway wrote first
 * (`wrong last sequence`), this one catches up to that sequence and decides again. Writes of one
 * gateway to one partition go one at a time; while one is in flight, commands the consumer
 * delivers are held back and applied after it, in sequence order.
 *
 * Idempotent producers need no deduplication window: their state is part of the replicated
 * state (rebuilt from the commands), so a retry through any gateway, at any later time, finds
 * its batch.
 */
import type { JetStreamClient, JetStreamSubscription, JsMsg, MsgHdrs, NatsError } from 'nats';
import { consumerOpts } from 'nats';
import { TributaryError } from '../../errors.js';
import { MemoryPartition } from '../memory/memory-partition.js';
import { checkEncodedBatch } from '../stored-batch.js';
import { checkMarkerEpoch } from '../transactions.js';
import type { AppendOptions, AppendResult, RetentionReport, TopicConfig } from '../types.js';
import { recordSizeBytes, validateRecords } from '../validation.js';
import { type Command, decodeCommand, encodeCommand } from './command.js';

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

/** A write, decided against the current state: an answer without writing, or a command to store. */
export type Decision<T> =
  | { readonly answer: T }
  | { readonly command: Command; readonly result: (outcome: Outcome) => T };

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

/** Attempts of one write before it gives up under contention (each lost race costs a round trip). */
const WRITE_ATTEMPTS_MAX = 1000;
/** Retries of a publish nobody answered (a stream electing its leader after a node loss). */
const NO_RESPONDER_RETRIES_MAX = 50;
const NO_RESPONDER_RETRY_MS = 100;
/** Wait for one PubAck. */
const PUBLISH_TIMEOUT_MS = 10_000;

export class PartitionReplica {
  readonly state: MemoryPartition;
  /** Stream sequence of the last command applied to `state`. */
  private appliedSeq = 0;
  private subscription: JetStreamSubscription | undefined;
  /** Set while this gateway's own publish is in flight: deliveries wait in `held`. */
  private holding = false;
  private held: JsMsg[] = [];
  private readonly seqWaiters = new Set<{ seq: number; resolve: () => void; reject: (e: unknown) => void }>();
  private writes: Promise<unknown> = Promise.resolve();
  private failure: unknown;
  private closed = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly options: ReplicaOptions,
  ) {
    this.state = new MemoryPartition(topic, partition);
  }

  /** Subscribes and replays the stream; resolves once caught up with its last sequence. */
  async open(): Promise<void> {
    const jsm = await this.options.js.jetstreamManager();
    const info = await jsm.streams.info(this.options.stream);
    const opts = consumerOpts()
      .orderedConsumer()
      .deliverAll()
      .callback((error, msg) => {
        if (error !== null) {
          this.consumerFailed(error);
          return;
        }
        if (msg !== null) this.delivered(msg);
      });
    this.subscription = await this.options.js.subscribe(this.options.subject, opts);
    await this.caughtUpTo(info.state.last_seq);
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
    });
  }

  /**
   * Decides with `decide` against the caught-up state and stores the command it returns,
   * deciding again whenever another gateway stored a command first. One write at a time.
   */
  write<T>(decide: (config: TopicConfig) => Decision<T>): Promise<T> {
    const run = this.writes.then(() => this.writeNow(decide));
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async writeNow<T>(decide: (config: TopicConfig) => Decision<T>): Promise<T> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS_MAX; attempt++) {
      this.ensureUsable();
      const decision = decide(this.options.config());
      if ('answer' in decision) return decision.answer;
      const encoded = encodeCommand(decision.command);
      if (encoded.payload.byteLength > this.options.maxPayload) {
        throw new TributaryError('RECORD_TOO_LARGE', {
          bytes: encoded.payload.byteLength,
          limit: this.options.maxPayload,
          limitName: 'the NATS max_payload',
        });
      }
      const expected = this.appliedSeq;
      this.holding = true;
      let outcome: Outcome | undefined;
      let behind: number | undefined;
      try {
        const ack = await this.publish(encoded.payload, encoded.headers, expected);
        if (ack !== expected + 1) throw storageError(`stored at sequence ${ack}, expected ${expected + 1}`);
        outcome = this.apply(decision.command, ack);
      } catch (error) {
        behind = wrongLastSequence(error);
        if (behind === undefined) throw this.mapError(error);
      } finally {
        this.holding = false;
        this.drainHeld();
      }
      if (outcome !== undefined) return decision.result(outcome);
      await this.caughtUpTo(behind!);
    }
    throw storageError(`${WRITE_ATTEMPTS_MAX} attempts lost the race to other writers`);
  }

  private async publish(payload: Uint8Array, headers: MsgHdrs, expected: number): Promise<number> {
    for (let retry = 0; ; retry++) {
      try {
        const ack = await this.options.js.publish(this.options.subject, payload, {
          headers,
          expect: { lastSequence: expected, streamName: this.options.stream },
          timeout: PUBLISH_TIMEOUT_MS,
        });
        return ack.seq;
      } catch (error) {
        // No responders: nothing stored it (no stream, or its leader is being elected).
        if ((error as NatsError).code !== '503' || retry >= NO_RESPONDER_RETRIES_MAX || this.closed)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, NO_RESPONDER_RETRY_MS));
      }
    }
  }

  private delivered(msg: JsMsg): void {
    if (this.holding) {
      this.held.push(msg);
      return;
    }
    this.applyMessage(msg);
  }

  private drainHeld(): void {
    const held = this.held;
    this.held = [];
    for (const msg of held) this.applyMessage(msg);
  }

  private applyMessage(msg: JsMsg): void {
    const seq = msg.seq;
    if (seq <= this.appliedSeq || this.closed) return;
    let command: Command;
    try {
      command = decodeCommand(msg.headers, msg.data);
    } catch (error) {
      this.fail(error);
      return;
    }
    try {
      this.apply(command, seq);
    } catch (error) {
      // Every gateway refuses the same command the same way: it changes nothing anywhere.
      if (!(error instanceof TributaryError)) this.fail(error);
    }
  }

  /** Applies `command`, stored at `seq`, to the state; throws (changing nothing) where the command is refused. */
  private apply(command: Command, seq: number): Outcome {
    try {
      return this.applyCommand(command);
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

  private consumerFailed(error: NatsError): void {
    if (this.closed) return;
    // The stream (or its consumer) was deleted: the topic is gone.
    if (error.code === '409' || /deleted|not found/i.test(error.message)) {
      this.options.onStreamLost();
      return;
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    for (const waiter of [...this.seqWaiters]) waiter.reject(error);
  }

  private ensureUsable(): void {
    if (this.closed) throw new TributaryError('LOG_CLOSED');
    if (this.failure !== undefined) throw this.failure;
  }

  private mapError(error: unknown): unknown {
    if (error instanceof TributaryError) return error;
    const nats = error as NatsError;
    if (nats.code === '503') {
      this.options.onStreamLost();
      return new TributaryError('TOPIC_NOT_FOUND', { topic: this.topic });
    }
    return storageError(nats.message ?? String(error));
  }

  /** Stops consuming and rejects every pending wait with `error`. */
  close(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    this.state.releaseWaiters(error);
    for (const waiter of [...this.seqWaiters]) waiter.reject(error);
  }
}

/** The stream's actual last sequence when a compare-and-set publish lost the race, else undefined. */
function wrongLastSequence(error: unknown): number | undefined {
  const apiError = (error as NatsError | undefined)?.api_error;
  if (apiError?.err_code !== 10071) return undefined;
  const match = /wrong last sequence: (\d+)/.exec(apiError.description ?? '');
  return match === null ? undefined : Number(match[1]);
}

function storageError(reason: string): TributaryError {
  return new TributaryError('STORAGE_ERROR', { reason: `JetStream: ${reason}` });
}
