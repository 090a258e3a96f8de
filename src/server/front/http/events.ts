/**
 * @module server/front/http/events
 * `GET /v1/topics/{topic}/events?from=earliest|latest|OFFSET&partition=P`: records as
 * Server-Sent Events, live, one broker subscription per partition.
 *
 * Events:
 * - `ready` (first): `{ topic, partitions: [{ partition, offset }] }`, the next offset of each
 *   partition; it carries an `id` so a reconnect before any record resumes at the same place.
 * - `record`: one record (JSON as in `codec.ts`, with `topic` and `partition`).
 * - `reset`: history needed to continue was removed (retention): `{ partition, requested, offset,
 *   reason }`; the stream goes on from `offset`, the partition's earliest. Never a silent gap.
 *   A start past the partition's next offset (`from=N` or a resume id) is no reset: the request
 *   is refused with 416 `OFFSET_OUT_OF_RANGE` before the stream opens.
 * - `error`: the stream ends (topic deleted, storage failure): `{ error: { code, message } }`.
 * - `: heartbeat` comments every `sseHeartbeatMs`.
 *
 * Event ids name the position after which a resume continues: `<offset>` on a stream of one
 * partition (`partition=P`), else `<p>:<offset>` for every partition, e.g. `0:12,1:7` (`-1`: nothing
 * delivered from a partition yet, i.e. `start - 1`). Sent back as `Last-Event-ID` (EventSource does
 * this by itself on reconnect) or as `?lastEventId=`, each partition resumes right after its
 * offset: no gap, no duplicate.
 *
 * Flow control: each subscription holds at most `sseCreditRecords` of credit, and at most as many
 * records as fit in `sseBufferedBytesMax` at the size of the events written last (one record
 * until then); credit is granted back only once `res.write` accepted the events (returned
 * true) or on `'drain'`, so a slow reader holds about `sseBufferedBytesMax` per partition in this
 * process, however fast producers write and however large the records.
 *
 * Quotas (`quota.ts`): a stream counts as one connection of its principal (past the
 * `connections` quota the request is refused, 429 `QUOTA_EXCEEDED`), and while the principal is
 * over its fetch rate no credit is granted back, so events slow to the rate; none is dropped.
 */
import type { ServerResponse } from 'node:http';
import { assert } from '../../../assert.js';
import type { Delivery, Subscription, TopicDescription } from '../../../broker/types.js';
import { isTributaryError, TributaryError } from '../../../errors.js';
import { authorizeCall } from '../../auth/guard.js';
import type { QuotaLease } from '../../auth/quotas.js';
import { recordBytes, recordToJson } from './codec.js';
import { type Handler, type HttpContext, type HttpRequest, param, parseNonNegativeInt } from './context.js';
import { principalOf } from './quota.js';
import { parseIsolation } from './records.js';
import { errorResponse } from './respond.js';
import type { SseStreams } from './sse-streams.js';

const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** Consecutive resets of one partition (retention racing the reader) after which the stream ends. */
const RESETS_IN_A_ROW_MAX = 10;

export function eventsHandler(streams: SseStreams): Handler {
  return async (ctx, request) => {
    streams.checkRoom(ctx.limits.sseStreamsMax);
    const topic = param(request, 'topic');
    // Refused before the stream opens (403), not by an error event after a 200.
    if (request.session !== undefined) authorizeCall(request.session, 'subscribe', 'topic', topic);
    const query = parseEventsQuery(request);
    if (request.req.method === 'HEAD') {
      await ctx.broker.describeTopic(topic); // 404 for an unknown topic, as GET
      request.res.writeHead(200, { 'content-type': SSE_CONTENT_TYPE, 'cache-control': 'no-cache' });
      request.res.end();
      return;
    }
    const description = await ctx.broker.describeTopic(topic);
    const count = description.partitions.length;
    if (query.partition !== undefined && query.partition >= count) {
      throw new TributaryError('PARTITION_NOT_FOUND', { topic, partition: query.partition });
    }
    const partitions = query.partition === undefined ? range(count) : [query.partition];
    const lastEventId = headerValue(request.req.headers['last-event-id']) ?? query.lastEventId;
    const resumeAfter =
      lastEventId === undefined ? new Map<number, number>() : parseEventId(lastEventId, partitions, count);
    const starts = new Map<number, number>();
    for (const partition of partitions) {
      const after = resumeAfter.get(partition);
      let start: number;
      if (after !== undefined || typeof query.from === 'object') {
        // Resume right after the last delivered offset, or at an explicit offset. Below the
        // earliest the stream opens with a `reset`; past the next offset (the tail) is refused.
        start = after !== undefined ? after + 1 : (query.from as { readonly offset: number }).offset;
        const { earliest, next } = await ctx.broker.offsets(topic, partition);
        if (start > next) {
          throw new TributaryError('OFFSET_OUT_OF_RANGE', {
            offset: start,
            topic,
            partition,
            earliest,
            next,
          });
        }
      } else start = await ctx.broker.resolvePosition(topic, partition, query.from, query.isolation);
      starts.set(partition, start);
    }
    if (request.res.destroyed || request.req.socket.destroyed) return; // the client already left
    const quota = ctx.quotas?.connect(principalOf(request));
    const stream = new EventStream(
      ctx,
      request.res,
      description,
      query.partition !== undefined,
      starts,
      quota,
      query.isolation,
    );
    streams.add(stream, () => stream.end({ closeConnection: true }));
    request.res.once('close', () => {
      stream.end();
      streams.delete(stream);
    });
    await stream.start();
  };
}

interface EventsQuery {
  readonly from: 'earliest' | 'latest' | { readonly offset: number };
  readonly isolation: 'uncommitted' | 'committed';
  readonly partition?: number;
  readonly lastEventId?: string;
}

function parseEventsQuery({ query }: HttpRequest): EventsQuery {
  for (const name of query.keys()) {
    if (name !== 'from' && name !== 'partition' && name !== 'lastEventId' && name !== 'isolation') {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `unknown query parameter "${name}" (allowed: from, partition, lastEventId, isolation)`,
      });
    }
  }
  const fromText = query.get('from') ?? 'latest';
  const from =
    fromText === 'earliest' || fromText === 'latest'
      ? fromText
      : { offset: parseNonNegativeInt(fromText, 'from (earliest, latest or an offset)') };
  const partitionText = query.get('partition');
  const lastEventId = query.get('lastEventId');
  return {
    from,
    isolation: parseIsolation(query.get('isolation')),
    ...(partitionText === null ? {} : { partition: parseNonNegativeInt(partitionText, 'partition') }),
    ...(lastEventId === null ? {} : { lastEventId }),
  };
}

/**
 * Parses an event id into "last delivered offset" per partition. `<offset>` is accepted when the
 * stream has one partition; `<p>:<offset>,…` always (entries for partitions outside the stream
 * are ignored, partitions it does not name start at `from`).
 */
export function parseEventId(
  id: string,
  partitions: readonly number[],
  partitionCount: number,
): Map<number, number> {
  const fail = (reason: string): never => {
    throw new TributaryError('INVALID_ARGUMENT', { reason: `Bad Last-Event-ID "${id}": ${reason}` });
  };
  const result = new Map<number, number>();
  const text = id.trim();
  if (/^-?\d+$/.test(text)) {
    if (partitions.length !== 1) fail('a bare offset only resumes a stream of one partition');
    result.set(partitions[0]!, checkOffset(Number(text), fail));
    return result;
  }
  for (const entry of text.split(',')) {
    const match = /^(\d+):(-?\d+)$/.exec(entry.trim());
    if (match === null) fail('expected <offset> or <partition>:<offset>[,<partition>:<offset>…]');
    const partition = Number(match![1]);
    if (partition >= partitionCount) fail(`the topic has no partition ${partition}`);
    if (result.has(partition)) fail(`partition ${partition} is named twice`);
    if (partitions.includes(partition)) result.set(partition, checkOffset(Number(match![2]), fail));
  }
  return result;
}

function checkOffset(offset: number, fail: (reason: string) => never): number {
  if (!Number.isSafeInteger(offset) || offset < -1) fail('offsets are integers ≥ -1');
  return offset;
}

interface PartitionState {
  readonly partition: number;
  /** Offset of the last record written to the client (start - 1 before any). */
  last: number;
  subscription: Subscription | undefined;
  /** Credit the subscription holds: granted and not yet used by a delivery. */
  credit: number;
  /** Bytes per record of the events written last; 0 until some were. */
  eventBytes: number;
  resetsInARow: number;
}

class EventStream {
  private readonly states = new Map<number, PartitionState>();
  private readonly topic: string;
  private heartbeat: NodeJS.Timeout | undefined;
  private ended = false;
  /** Set while credit waits for the principal to be back under its fetch rate. */
  private pacing: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: HttpContext,
    private readonly res: ServerResponse,
    description: TopicDescription,
    private readonly singlePartition: boolean,
    starts: ReadonlyMap<number, number>,
    private readonly quota: QuotaLease | undefined = undefined,
    private readonly isolation: 'uncommitted' | 'committed' = 'uncommitted',
  ) {
    this.topic = description.name;
    for (const [partition, start] of starts) {
      this.states.set(partition, {
        partition,
        last: start - 1,
        subscription: undefined,
        credit: 0,
        eventBytes: 0,
        resetsInARow: 0,
      });
    }
  }

  async start(): Promise<void> {
    const { res, ctx } = this;
    res.writeHead(200, {
      'content-type': SSE_CONTENT_TYPE,
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    ctx.metrics.connections.inc({ frontend: 'sse' });
    res.on('drain', () => this.payDebts());
    const partitions = [...this.states.values()].map((s) => ({ partition: s.partition, offset: s.last + 1 }));
    this.write(event('ready', this.eventId(), { topic: this.topic, partitions }));
    if (ctx.limits.sseHeartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), ctx.limits.sseHeartbeatMs);
      this.heartbeat.unref();
    }
    await Promise.all([...this.states.values()].map((state) => this.subscribe(state)));
  }

  /** Ends the stream: closes the subscriptions and the response. Idempotent. */
  end({ closeConnection = false } = {}): void {
    if (closeConnection) {
      const socket = this.res.socket;
      if (socket !== null) this.res.once('finish', () => socket.destroySoon());
    }
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    clearTimeout(this.pacing);
    this.quota?.release();
    for (const state of this.states.values()) {
      state.subscription?.close();
      state.subscription = undefined;
    }
    this.ctx.metrics.connections.dec({ frontend: 'sse' });
    if (!this.res.writableEnded) this.res.end();
  }

  private async subscribe(state: PartitionState): Promise<void> {
    const from = state.last + 1;
    let subscription: Subscription;
    state.credit = this.creditTarget(state);
    try {
      subscription = await this.ctx.broker.subscribe({
        topic: this.topic,
        partition: state.partition,
        from: { offset: from },
        credit: state.credit,
        isolation: this.isolation,
        onRecords: (delivery) => this.onRecords(state, delivery),
        onError: (error) => void this.onSubscriptionError(state, error),
      });
    } catch (error) {
      await this.onSubscriptionError(state, error);
      return;
    }
    if (this.ended) {
      subscription.close();
      return;
    }
    state.subscription = subscription;
    this.payDebts();
  }

  private onRecords(state: PartitionState, delivery: Delivery): void {
    if (this.ended) return;
    let chunk = '';
    let bytes = 0;
    let written = 0;
    for (const record of delivery.records) {
      // Never deliver twice (a resubscription after a reset may overlap what was sent).
      if (record.offset <= state.last) continue;
      state.last = record.offset;
      bytes += recordBytes(record);
      written++;
      chunk += event(
        'record',
        this.eventId(),
        recordToJson(record, state.partition, this.topic, this.ctx.limits.httpJsonDepthMax),
      );
    }
    state.resetsInARow = 0;
    // The broker never delivers more than the credit it was given.
    state.credit -= delivery.records.length;
    assert(state.credit >= 0, "an SSE stream's credit never goes negative");
    if (written > 0) {
      state.eventBytes = Math.ceil(chunk.length / written);
      this.ctx.metrics.recordsOut.inc({ frontend: 'sse' }, written);
      this.ctx.metrics.bytesOut.inc({ frontend: 'sse' }, bytes);
      this.quota?.recordFetch(bytes);
      this.write(chunk);
    }
    if (!this.res.writableNeedDrain) this.payDebts();
  }

  /** Tops every subscription's credit up to its target once the socket has accepted what was written. */
  private payDebts(): void {
    if (this.ended || this.res.writableNeedDrain || this.pacing !== undefined) return;
    const throttleMs = this.quota === undefined ? 0 : this.quota.fetchThrottleMs();
    if (throttleMs > 0) {
      this.pacing = setTimeout(() => {
        this.pacing = undefined;
        this.payDebts();
      }, throttleMs);
      return;
    }
    for (const state of this.states.values()) {
      const grant = this.creditTarget(state) - state.credit;
      if (grant > 0 && state.subscription !== undefined) {
        state.credit += grant;
        state.subscription.grant(grant);
      }
    }
  }

  /** Credit a partition's subscription may hold: `sseCreditRecords`, fewer when records are large. */
  private creditTarget(state: PartitionState): number {
    // One record until events show their size: a stream that never reads then pins one record.
    if (state.eventBytes === 0) return 1;
    const { sseBufferedBytesMax, sseCreditRecords } = this.ctx.limits;
    // Under a fetch quota, at most one burst of the rate at a time, so events come at the rate.
    const bytesMax = Math.min(sseBufferedBytesMax, this.quota?.fetchBytesMax() ?? sseBufferedBytesMax);
    return Math.max(1, Math.min(sseCreditRecords, Math.floor(bytesMax / state.eventBytes)));
  }

  private async onSubscriptionError(state: PartitionState, cause: unknown): Promise<void> {
    if (this.ended) return;
    state.subscription?.close();
    state.subscription = undefined;
    state.credit = 0;
    let error = cause;
    if (isTributaryError(error, 'OFFSET_OUT_OF_RANGE') && state.resetsInARow < RESETS_IN_A_ROW_MAX) {
      state.resetsInARow++;
      try {
        await this.reset(state, error);
        return;
      } catch (resetError) {
        error = resetError;
      }
    }
    if (isTributaryError(error, 'LOG_CLOSED') || isTributaryError(error, 'SHUTTING_DOWN')) {
      this.end();
      return;
    }
    if (!isTributaryError(error)) {
      this.ctx.logger.error(
        { err: error, topic: this.topic, partition: state.partition },
        'SSE stream failed',
      );
    }
    const { body } = errorResponse(error);
    this.ctx.metrics.errors.inc({ frontend: 'sse', code: body.error.code });
    this.write(event('error', undefined, body));
    this.end();
  }

  /** History before the requested offset is gone: tell the client, continue from the earliest. */
  private async reset(state: PartitionState, error: TributaryError): Promise<void> {
    const requested = state.last + 1;
    const { earliest, next } = await this.ctx.broker.offsets(this.topic, state.partition);
    if (requested > next) throw error; // past the end: an error, never a reset that skips
    if (this.ended) return;
    const offset = Math.max(earliest, 0);
    state.last = offset - 1;
    this.write(
      event('reset', this.eventId(), {
        topic: this.topic,
        partition: state.partition,
        requested,
        offset,
        reason: error.message,
      }),
    );
    await this.subscribe(state);
  }

  private eventId(): string {
    if (this.singlePartition) {
      const [state] = this.states.values();
      return String(state!.last);
    }
    return [...this.states.values()].map((s) => `${s.partition}:${s.last}`).join(',');
  }

  private write(text: string): void {
    if (!this.ended && !this.res.writableEnded) this.res.write(text);
  }
}

/** One SSE event; `data` is JSON on one line (JSON.stringify never emits a raw newline). */
function event(name: string, id: string | undefined, data: unknown): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
