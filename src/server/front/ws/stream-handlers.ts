/**
 * @module server/front/ws/stream-handlers
 * Handlers of the event-stream requests of the native protocol (docs/event-sourcing.md,
 * docs/protocol.md), on the server's event store as the connection's session may use it (the
 * `stream` ACL resource, `auth/stream-guard.ts`). `streamReadAll` with `waitMs` is a long poll:
 * with nothing after `after` it waits for the store's next append (or the wait) before it
 * answers, which is how the SDK follows streams live without pushed frames; positions make the
 * SDK's next request start exactly after the last event it got.
 *
 * A read answers at most what fits in a frame (`wsFrameBytesMax`, at least one event): the
 * caller asks again after the last position it got.
 */

import { TributaryError } from '../../../errors.js';
import type { ConsumerGroups } from '../../../es/streams/groups.js';
import type { ClosableEventStore, EventStore, RecordedEvent } from '../../../es/streams/index.js';
import type {
  RequestFrame,
  RequestResult,
  StreamRequestMap,
  WireRecordedEvent,
} from '../../../protocol/native/types.js';
import { guardConsumerGroups, guardEventStore } from '../../auth/stream-guard.js';
import type { Session } from '../../auth/types.js';

/** What stream handlers need from the connection. */
export interface StreamContext {
  /** The server's event store; without it, stream requests answer `NOT_FOUND`. */
  readonly eventStore: ClosableEventStore | undefined;
  readonly session: Session;
  readonly limits: { readonly wsFrameBytesMax: number };
  isOpen(): boolean;
}

type StreamType = keyof StreamRequestMap;
type Handler<T extends StreamType> = (
  ctx: StreamContext,
  request: RequestFrame<T>,
) => Promise<RequestResult<T>>;

/** Longest single wait of a long poll before it checks that its connection is still open. */
const WAIT_SLICE_MS = 500;
/** Bytes of a response beside its events. */
const FRAME_OVERHEAD_BYTES = 1024;

function store(ctx: StreamContext): EventStore {
  if (ctx.eventStore === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'event streams (not enabled on this server)' });
  }
  return guardEventStore(ctx.eventStore, ctx.session);
}

function groups(ctx: StreamContext): ConsumerGroups {
  if (ctx.eventStore === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'event streams (not enabled on this server)' });
  }
  return guardConsumerGroups(ctx.eventStore.groups, ctx.session);
}

/** The events that fit in one frame (at least one), as they travel. */
function fitting(events: readonly RecordedEvent[], ctx: StreamContext): WireRecordedEvent[] {
  const budget = ctx.limits.wsFrameBytesMax - FRAME_OVERHEAD_BYTES;
  const out: WireRecordedEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    bytes += JSON.stringify(event.data).length + JSON.stringify(event.metadata).length + 200;
    if (out.length > 0 && bytes > budget) break;
    out.push(event as WireRecordedEvent);
  }
  return out;
}

export const STREAM_HANDLERS: { readonly [T in StreamType]: Handler<T> } = {
  streamAppend: async (ctx, r) => store(ctx).append(r.stream, r.events, r.expectedRevision),
  streamAppendMany: async (ctx, r) => ({ results: await store(ctx).appendMany(r.appends) }),
  streamRead: async (ctx, r) => {
    const { stream, type: _type, id: _id, ...options } = r;
    return { events: fitting(await store(ctx).readStream(stream, options), ctx) };
  },
  streamReadAll: async (ctx, r) => {
    const { waitMs = 0, type: _type, id: _id, ...options } = r;
    const events = store(ctx);
    const raw = ctx.eventStore as ClosableEventStore;
    const deadline = Date.now() + waitMs;
    for (;;) {
      // The head before the read: an append after it wakes the wait below, none is missed.
      const head = await raw.headPosition();
      const found = await events.readAll(options);
      const left = deadline - Date.now();
      if (found.length > 0 || left <= 0 || !ctx.isOpen()) {
        const answered = fitting(found, ctx);
        return { events: answered, head: Math.max(head, answered.at(-1)?.position ?? -1) };
      }
      // In slices, so a connection that closes (a server shutting down) stops waiting soon.
      await raw.waitForEvents(head, Math.min(left, WAIT_SLICE_MS));
    }
  },
  streamRevision: async (ctx, r) => ({ revision: await store(ctx).streamRevision(r.stream) }),
  streamMetadataSet: async (ctx, r) => store(ctx).setStreamMetadata(r.stream, r.metadata, r.expectedRevision),
  streamMetadataGet: async (ctx, r) => store(ctx).getStreamMetadata(r.stream),
  streamDelete: async (ctx, r) => store(ctx).deleteStream(r.stream, r.expectedRevision),
  streamSnapshotSave: async (ctx, r) => store(ctx).saveSnapshot(r.stream, r.revision, r.state),
  streamGroupCreate: async (ctx, r) => {
    const { group, type: _type, id: _id, ...settings } = r;
    return groups(ctx).createGroup(group, settings);
  },
  streamGroupDelete: async (ctx, r) => {
    await groups(ctx).deleteGroup(r.group);
    return {};
  },
  streamGroupInfo: async (ctx, r) => groups(ctx).groupInfo(r.group),
  streamGroupRead: async (ctx, r) => {
    const g = groups(ctx);
    const waitMs = r.waitMs ?? 0;
    // In slices, so a read whose connection closed does not take events it cannot deliver.
    const deadline = Date.now() + waitMs;
    for (;;) {
      const left = Math.max(0, deadline - Date.now());
      const dealt = await g.readGroup(r.group, r.member, {
        ...(r.max === undefined ? {} : { max: r.max }),
        waitMs: Math.min(left, WAIT_SLICE_MS),
      });
      if (!ctx.isOpen() && dealt.length > 0) {
        await g.nack(
          r.group,
          r.member,
          dealt.map((d) => d.event.position),
          'retry',
          'the member was gone',
        );
        return { deliveries: [] };
      }
      if (dealt.length > 0 || left <= WAIT_SLICE_MS || !ctx.isOpen()) {
        return { deliveries: dealt as { event: WireRecordedEvent; retries: number }[] };
      }
    }
  },
  streamGroupAck: async (ctx, r) => {
    await groups(ctx).ack(r.group, r.member, r.positions);
    return {};
  },
  streamGroupNack: async (ctx, r) => {
    await groups(ctx).nack(r.group, r.member, r.positions, r.action, r.reason);
    return {};
  },
  streamGroupParked: async (ctx, r) => {
    const { group, type: _type, id: _id, ...options } = r;
    return {
      parked: (await groups(ctx).readParked(group, options)) as RequestResult<'streamGroupParked'>['parked'],
    };
  },
  streamSnapshotLoad: async (ctx, r) => ({
    snapshot: (await store(ctx).loadSnapshot(r.stream)) as RequestResult<'streamSnapshotLoad'>['snapshot'],
  }),
};
