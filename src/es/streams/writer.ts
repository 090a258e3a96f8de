/**
 * @module es/streams/writer
 * The single writer of the event store's log, the event-stream twin of the collections'
 * sequencer (src/sync/sequencer.ts). Appends queue up; one batch at a time is planned against
 * the stream index and appended with `expectedLastOffset = index.next - 1`, so a batch is only
 * written on top of exactly the state it was checked against.
 *
 * - Every append of the queue (up to `appendsPerBatchMax`) goes into one log batch: one durable
 *   write (one fdatasync) per round trip, whatever the number of writers.
 * - Each append is checked in order against the index and the appends planned before it in the
 *   batch: event ids first (all present: a retry, answered with the original result; some: an
 *   `EVENT_ID_CONFLICT`), then the expected revision (`WRONG_EXPECTED_REVISION`). A
 *   multi-stream append is checked whole: one refusal refuses all of its streams.
 * - One log batch is atomic, so a multi-stream append is all or nothing, and its events take
 *   consecutive positions.
 * - Answers (results and refusals) wait until the batch is durable and applied to the index: a
 *   refusal may rest on an earlier append of the same batch, which must be acknowledged first.
 * - Another writer appended first (`EXPECTED_OFFSET_MISMATCH`): the index reads the log up to
 *   its end, every append is checked again, the batch is retried.
 */
import type { Logger } from 'pino';
import type { Broker, RecordInput } from '../../broker/types.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import type { CheckedAppend, CheckedEvent, IndexView } from './checks.js';
import type { EventCache } from './event-cache.js';
import { decodeEvent, encodeEvent } from './event-codec.js';
import { STREAM_LIMITS } from './limits.js';
import type { StreamIndex } from './stream-index.js';
import type { AppendResult } from './types.js';
import { metadataTarget, parseStoredMeta, type StoredMeta, visibleRevision } from './visibility.js';

interface Command {
  readonly appends: readonly CheckedAppend[];
  readonly bytes: number;
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

interface PlannedEvent {
  readonly stream: string;
  readonly revision: number;
  readonly id: string;
  readonly position: number;
  /** The metadata an event of a metadata stream sets. */
  readonly meta?: StoredMeta;
}

interface Outcome {
  readonly command: Command;
  readonly results?: AppendResult[];
  readonly error?: unknown;
}

export interface StreamWriterOptions {
  readonly broker: Broker;
  readonly topic: string;
  readonly index: StreamIndex;
  /** Written events are added to it once durable. */
  readonly cache: EventCache;
  readonly logger: Logger;
  /** Called after a batch was applied to the index (before its writers hear back). */
  readonly onApplied?: () => void;
}

export class StreamWriter {
  readonly #broker: Broker;
  readonly #topic: string;
  readonly #index: StreamIndex;
  readonly #cache: EventCache;
  readonly #logger: Logger;
  readonly #onApplied: (() => void) | undefined;
  #queue: Command[] = [];
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: StreamWriterOptions) {
    this.#broker = options.broker;
    this.#topic = options.topic;
    this.#index = options.index;
    this.#cache = options.cache;
    this.#logger = options.logger;
    this.#onApplied = options.onApplied;
  }

  /** Queues checked appends (one stream, or several all or nothing); resolves once durable and indexed. */
  submit(appends: readonly CheckedAppend[]): Promise<AppendResult[]> {
    if (this.#closed) return Promise.reject(new TributaryError('SHUTTING_DOWN'));
    let bytes = 0;
    for (const append of appends) bytes += append.bytes;
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.#queue.push({ appends, bytes, resolve, reject });
      if (this.#running === undefined) this.#running = this.#run();
    });
  }

  /** Reads the log from the index's next offset to its end into the index (at start, after a mismatch). */
  async catchUp(): Promise<void> {
    for (;;) {
      const { next } = await this.#broker.offsets(this.#topic, 0);
      if (this.#index.next >= next) return;
      const records = await this.#broker.fetch(this.#topic, 0, this.#index.next, {
        maxRecords: 10_000,
        maxBytes: 16 * 1024 * 1024,
      });
      if (records.length === 0) return;
      for (const record of records) {
        let event: ReturnType<typeof decodeEvent>;
        try {
          event = decodeEvent(record);
        } catch (error) {
          this.#logger.warn({ err: error, position: record.offset }, 'skipping a record that holds no event');
          this.#index.skipTo(record.offset + 1);
          continue;
        }
        const meta = metadataTarget(event.stream) === undefined ? undefined : parseStoredMeta(event.data);
        this.#index.apply(event.stream, event.revision, event.id, event.position, meta);
      }
    }
  }

  /** Refuses queued appends; the batch in flight finishes. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const command of this.#queue.splice(0)) command.reject(new TributaryError('SHUTTING_DOWN'));
    await this.#running;
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        await this.#commit(this.#takeBatch());
        // Writers answered by that batch append again from their continuations (a few
        // microtasks away): let them queue, so they share the next batch instead of waiting
        // one more durable write each.
        if (this.#queue.length < STREAM_LIMITS.appendsPerBatchMax) await new Promise(setImmediate);
      }
    } catch (error) {
      this.#logger.error({ err: error, topic: this.#topic }, 'event store writer failed');
      for (const command of this.#queue.splice(0)) command.reject(error);
    } finally {
      this.#running = undefined;
    }
  }

  #takeBatch(): Command[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#queue.length && count < STREAM_LIMITS.appendsPerBatchMax) {
      const next = this.#queue[count] as Command;
      if (count > 0 && bytes + next.bytes > STREAM_LIMITS.batchBytesMax) break;
      bytes += next.bytes;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #commit(batch: readonly Command[]): Promise<void> {
    // Every stream the batch touches is in the index (loaded if it was evicted) until it is applied.
    const streams: string[] = [];
    for (const command of batch) {
      for (const append of command.appends) streams.push(append.stream, ...(append.also ?? []));
    }
    let release: () => void;
    try {
      release = await this.#index.hold(streams);
    } catch (error) {
      for (const command of batch) command.reject(error);
      return;
    }
    try {
      await this.#commitHeld(batch);
    } finally {
      release();
    }
  }

  async #commitHeld(batch: readonly Command[]): Promise<void> {
    let needsCatchUp = false;
    for (let attempt = 1; ; attempt++) {
      if (needsCatchUp) {
        try {
          await this.catchUp();
          await this.#index.loadMetadataTargets();
        } catch (error) {
          for (const command of batch) command.reject(error);
          return;
        }
      }
      const firstOffset = this.#index.next;
      const { outcomes, records, events } = this.#plan(batch, firstOffset);
      if (records.length > 0) {
        let timestamp: number;
        try {
          const appended = await this.#broker.appendBatch(this.#topic, 0, records, {
            expectedLastOffset: firstOffset - 1,
          });
          timestamp = appended.timestamp;
          if (appended.baseOffset !== firstOffset) {
            throw new TributaryError('EXPECTED_OFFSET_MISMATCH', {
              topic: this.#topic,
              partition: 0,
              expected: firstOffset - 1,
              actual: appended.baseOffset - 1,
            });
          }
        } catch (error) {
          needsCatchUp = true;
          if (
            isTributaryError(error, 'EXPECTED_OFFSET_MISMATCH') &&
            attempt < STREAM_LIMITS.appendAttemptsMax
          ) {
            continue;
          }
          for (const command of batch) command.reject(error);
          return;
        }
        for (const [i, event] of events.entries()) {
          this.#index.apply(event.stream, event.revision, event.id, event.position, event.meta);
          this.#cacheWritten(event, records[i] as RecordInput, timestamp);
        }
        this.#onApplied?.();
      }
      for (const outcome of outcomes) {
        if (outcome.results !== undefined) outcome.command.resolve(outcome.results);
        else outcome.command.reject(outcome.error);
      }
      return;
    }
  }

  /** Adds a written event to the read cache, parsed from the JSON it was stored as. */
  #cacheWritten(event: PlannedEvent, record: RecordInput, timestamp: number): void {
    const value = record.value as Uint8Array;
    this.#cache.add(
      decodeEvent({ offset: event.position, timestamp, key: record.key, value, headers: [] }),
      value.length,
    );
  }

  /** Plans every command in order against the index and the commands planned before it. */
  #plan(
    batch: readonly Command[],
    firstOffset: number,
  ): { outcomes: Outcome[]; records: RecordInput[]; events: PlannedEvent[] } {
    const records: RecordInput[] = [];
    const events: PlannedEvent[] = [];
    const outcomes: Outcome[] = [];
    const overlay = new Overlay(this.#index);
    for (const command of batch) {
      const mark = overlay.mark();
      const recordsBefore = records.length;
      try {
        const results: AppendResult[] = [];
        for (const append of command.appends) {
          results.push(planAppend(append, overlay, firstOffset, records, events));
        }
        outcomes.push({ command, results });
      } catch (error) {
        overlay.rollback(mark);
        records.length = recordsBefore;
        events.length = recordsBefore;
        outcomes.push({ command, error });
      }
    }
    return { outcomes, records, events };
  }
}

/** Checks one append and adds its records; throws the refusal. */
function planAppend(
  append: CheckedAppend,
  overlay: Overlay,
  firstOffset: number,
  records: RecordInput[],
  events: PlannedEvent[],
): AppendResult {
  const { stream } = append;
  if (append.prepare !== undefined) {
    const prepared = append.prepare(overlay);
    if (prepared === null) return { revision: -1, position: -1 };
    return addEvents(stream, prepared, overlay, firstOffset, records, events);
  }
  const current = overlay.visibleRevision(stream);
  // Idempotence before the expectation: a retry of an append that succeeded must not fail on it.
  let known = 0;
  let knownRevision = -1;
  for (const event of append.events) {
    const revision = overlay.revisionOfId(stream, event.id);
    if (revision !== undefined) {
      known++;
      knownRevision = Math.max(knownRevision, revision);
    }
  }
  if (known > 0) {
    if (known < append.events.length) {
      const id = append.events.find((event) => overlay.revisionOfId(stream, event.id) !== undefined)?.id;
      throw new TributaryError('EVENT_ID_CONFLICT', { stream, id });
    }
    return { revision: knownRevision, position: overlay.position(stream, knownRevision) };
  }
  checkExpectation(stream, append.expectedRevision, current);
  if (append.events.length === 0) {
    return { revision: current, position: current < 0 ? -1 : overlay.position(stream, current) };
  }
  return addEvents(stream, append.events, overlay, firstOffset, records, events);
}

/** Adds `checked` to the batch after the stream's last revision (a deleted stream's revisions go on). */
function addEvents(
  stream: string,
  checked: readonly CheckedEvent[],
  overlay: Overlay,
  firstOffset: number,
  records: RecordInput[],
  events: PlannedEvent[],
): AppendResult {
  const isMeta = metadataTarget(stream) !== undefined;
  let revision = overlay.revision(stream);
  let position = -1;
  for (const event of checked) {
    revision++;
    position = firstOffset + records.length;
    const meta = isMeta ? parseStoredMeta(JSON.parse(event.dataJson)) : undefined;
    records.push(encodeEvent(stream, revision, event));
    events.push({ stream, revision, id: event.id, position, ...(meta === undefined ? {} : { meta }) });
    overlay.add(stream, revision, event.id, position, meta);
  }
  return { revision, position };
}

export function checkExpectation(
  stream: string,
  expected: CheckedAppend['expectedRevision'],
  actual: number,
): void {
  const holds =
    expected === 'any' ||
    (expected === 'no_stream' && actual === -1) ||
    (expected === 'exists' && actual >= 0) ||
    expected === actual;
  if (!holds) throw new TributaryError('WRONG_EXPECTED_REVISION', { stream, expected, actual });
}

/** The index as seen by the appends planned so far in one batch; rolled back per refused command. */
class Overlay implements IndexView {
  readonly #index: StreamIndex;
  /** Events planned in this batch, in order; per stream their positions and ids. */
  #added: {
    stream: string;
    revision: number;
    id: string;
    position: number;
    /** The metadata the event replaced (undefined: none planned before it in this batch). */
    metaBefore?: { target: string; meta: StoredMeta | undefined };
  }[] = [];
  readonly #streams = new Map<string, { positions: number[]; ids: Map<string, number> }>();
  /** Metadata set by this batch's planned events, per target stream. */
  readonly #metas = new Map<string, StoredMeta | undefined>();

  constructor(index: StreamIndex) {
    this.#index = index;
  }

  mark(): number {
    return this.#added.length;
  }

  rollback(mark: number): void {
    const undone = this.#added.splice(mark);
    for (const added of undone) {
      const entry = this.#streams.get(added.stream);
      if (entry === undefined) continue;
      entry.positions.pop();
      entry.ids.delete(added.id);
    }
    for (const added of undone.reverse()) {
      const before = added.metaBefore;
      if (before === undefined) continue;
      if (before.meta === undefined) this.#metas.delete(before.target);
      else this.#metas.set(before.target, before.meta);
    }
  }

  meta(stream: string): StoredMeta | undefined {
    return this.#metas.has(stream) ? this.#metas.get(stream) : this.#index.meta(stream);
  }

  /** The revision expectations are checked against: -1 for a soft-deleted stream. */
  visibleRevision(stream: string): number {
    return visibleRevision(this.meta(stream), this.revision(stream));
  }

  add(stream: string, revision: number, id: string, position: number, meta?: StoredMeta): void {
    let entry = this.#streams.get(stream);
    if (entry === undefined) {
      entry = { positions: [], ids: new Map() };
      this.#streams.set(stream, entry);
    }
    entry.positions.push(position);
    entry.ids.set(id, revision);
    const target = metadataTarget(stream);
    if (target !== undefined && meta !== undefined) {
      const metaBefore = { target, meta: this.#metas.has(target) ? this.#metas.get(target) : undefined };
      this.#metas.set(target, meta);
      this.#added.push({ stream, revision, id, position, metaBefore });
    } else {
      this.#added.push({ stream, revision, id, position });
    }
  }

  revision(stream: string): number {
    return this.#index.revision(stream) + (this.#streams.get(stream)?.positions.length ?? 0);
  }

  revisionOfId(stream: string, id: string): number | undefined {
    return this.#index.entry(stream)?.ids.get(id) ?? this.#streams.get(stream)?.ids.get(id);
  }

  position(stream: string, revision: number): number {
    const stored = this.#index.entry(stream)?.positions;
    const storedCount = stored?.length ?? 0;
    if (revision < storedCount) return stored?.[revision] as number;
    return this.#streams.get(stream)?.positions[revision - storedCount] as number;
  }
}
