/**
 * @module server/front/ws/handlers
 * One handler per request type of the native protocol: each checks what the codec could not
 * (per-connection limits, ownership of subscription and member ids), calls the Broker API and
 * returns the result that goes into the response. Handlers throw `TributaryError`s; the
 * connection turns them into error responses.
 */

import type { Broker, GroupAssignment, GroupMembership } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import type {
  AssignmentFrame,
  RequestFrame,
  RequestResult,
  RequestType,
  WireAuth,
} from '../../../protocol/native/types.js';
import type { QuotaAccount } from '../../auth/quotas.js';
import type { ServerMetrics } from '../../metrics.js';
import { ATOMIC_HANDLERS, type AtomicContext } from './atomic-handlers.js';
import { COLLECTION_HANDLERS, type CollectionContext } from './collection-handlers.js';
import { recordBytes, toProduceRecord, toRecordInput, toWireRecord, toWireTopic } from './convert.js';
import type { WsFrontEndLimits } from './limits.js';
import { STREAM_HANDLERS, type StreamContext } from './stream-handlers.js';
import { type BridgePort, SubscriptionBridge } from './subscription-bridge.js';
import { SYNC_GROUP_HANDLERS, type SyncGroupContext } from './sync-group-handlers.js';

export interface Membership {
  readonly groupId: string;
  readonly membership: GroupMembership;
}

/** What handlers need from the connection they serve. */
export interface RequestContext extends CollectionContext, SyncGroupContext, AtomicContext, StreamContext {
  readonly broker: Broker;
  readonly limits: WsFrontEndLimits;
  readonly metrics: ServerMetrics;
  readonly subscriptions: Map<number, SubscriptionBridge>;
  readonly memberships: Map<string, Membership>;
  readonly bridgePort: BridgePort;
  nextSubscriptionId(): number;
  sendAssignment(frame: AssignmentFrame): void;
  /** False once the connection is closing: resources acquired late must be released at once. */
  isOpen(): boolean;
  /** Runs `fn` right after this request's response has been sent. */
  afterResponse(fn: () => void): void;
  /** The quota account of the connection's principal; undefined: no quotas. */
  readonly quota: QuotaAccount | undefined;
  /**
   * Holds the connection's requests back for `ms` (the principal is over a rate); resolves when
   * the time is up, so an answer that awaits it goes out then.
   */
  throttle(ms: number): Promise<void>;
  /** Replaces the connection's credential (`authenticate`). */
  authenticate(auth: WireAuth): Promise<RequestResult<'authenticate'>>;
}

type Handler<T extends RequestType> = (
  ctx: RequestContext,
  request: RequestFrame<T>,
) => Promise<RequestResult<T>>;

const FRONTEND = { frontend: 'ws' } as const;

export const HANDLERS: { readonly [T in RequestType]: Handler<T> } = {
  createTopic: async (ctx, r) => ({ topic: toWireTopic(await ctx.broker.createTopic(r.name, r.config)) }),
  deleteTopic: async (ctx, r) => {
    await ctx.broker.deleteTopic(r.name);
    return {};
  },
  listTopics: async (ctx) => ({ topics: (await ctx.broker.listTopics()).map(toWireTopic) }),
  describeTopic: async (ctx, r) => ({ topic: toWireTopic(await ctx.broker.describeTopic(r.name)) }),

  produce: async (ctx, r) => {
    const started = performance.now();
    const throttled = ctx.quota === undefined ? undefined : throttleProduce(ctx, r.records);
    const offsets = await ctx.broker.produce(r.topic, r.records.map(toProduceRecord));
    countProduced(ctx, r.records, started);
    if (throttled !== undefined) await throttled;
    return { offsets: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) };
  },
  appendBatch: async (ctx, r) => {
    const started = performance.now();
    const throttled = ctx.quota === undefined ? undefined : throttleProduce(ctx, r.records);
    const producer =
      r.producerId === undefined
        ? undefined
        : { producerId: r.producerId, producerEpoch: r.producerEpoch!, baseSequence: r.baseSequence! };
    const result = await ctx.broker.appendBatch(r.topic, r.partition, r.records.map(toRecordInput), {
      ...(producer === undefined ? {} : { producer }),
      ...(r.expectedLastOffset === undefined ? {} : { expectedLastOffset: r.expectedLastOffset }),
    });
    if (!result.duplicate) countProduced(ctx, r.records, started);
    if (throttled !== undefined) await throttled;
    return {
      baseOffset: result.baseOffset,
      lastOffset: result.lastOffset,
      timestamp: result.timestamp,
      duplicate: result.duplicate,
    };
  },
  initProducer: async (ctx) => {
    const { producerId, producerEpoch } = await ctx.broker.initProducer();
    return { producerId, producerEpoch };
  },

  fetch: async (ctx, r) => {
    let maxBytes = Math.min(r.maxBytes ?? ctx.limits.wsFrameBytesMax, ctx.limits.wsFrameBytesMax);
    const quota = ctx.quota;
    if (quota !== undefined) {
      // Over the fetch rate: read once back under it (a read now would only add to the debt).
      await ctx.throttle(quota.fetchThrottleMs());
      maxBytes = Math.min(maxBytes, quota.fetchBytesMax());
    }
    const records = await ctx.broker.fetch(r.topic, r.partition, r.offset, {
      ...(r.maxRecords === undefined ? {} : { maxRecords: r.maxRecords }),
      maxBytes,
      ...(r.isolation === undefined ? {} : { isolation: r.isolation }),
    });
    ctx.metrics.recordsOut.inc(FRONTEND, records.length);
    if (quota !== undefined) {
      let bytes = 0;
      for (const record of records) bytes += recordBytes(record);
      await ctx.throttle(quota.recordFetch(bytes));
    }
    return { records: records.map(toWireRecord) };
  },
  offsets: async (ctx, r) => {
    const { earliest, next, lastStable } = await ctx.broker.offsets(r.topic, r.partition);
    return { earliest, next, lastStable };
  },

  subscribe: async (ctx, r) => {
    if (ctx.subscriptions.size >= ctx.limits.wsSubscriptionsPerConnectionMax) {
      throw limitError(
        'subscriptions',
        ctx.limits.wsSubscriptionsPerConnectionMax,
        'wsSubscriptionsPerConnectionMax',
      );
    }
    if (r.credit > ctx.limits.wsCreditMax) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `credit ${r.credit} exceeds ${ctx.limits.wsCreditMax} records (wsCreditMax)`,
      });
    }
    const sub = ctx.nextSubscriptionId();
    const bridge = new SubscriptionBridge(sub, r.topic, r.partition, ctx.bridgePort);
    ctx.subscriptions.set(sub, bridge);
    try {
      const position = await bridge.open(ctx.broker, r.from, r.credit, r.isolation ?? 'uncommitted');
      if (!ctx.isOpen()) bridge.close();
      ctx.afterResponse(() => bridge.markReady());
      return { sub, position };
    } catch (error) {
      bridge.close();
      ctx.subscriptions.delete(sub);
      throw error;
    }
  },
  credit: async (ctx, r) => {
    subscription(ctx, r.sub).grant(r.n);
    return {};
  },
  unsubscribe: async (ctx, r) => {
    subscription(ctx, r.sub).close();
    ctx.subscriptions.delete(r.sub);
    return {};
  },

  joinGroup: async (ctx, r) => joinGroup(ctx, r),
  heartbeat: async (ctx, r) => {
    member(ctx, r.groupId, r.memberId).membership.heartbeat();
    return {};
  },
  commit: async (ctx, r) => {
    const { membership } = member(ctx, r.groupId, r.memberId);
    await ctx.broker.commitOffsets(r.groupId, r.memberId, r.generation, r.offsets);
    membership.heartbeat();
    return {};
  },
  fetchOffsets: async (ctx, r) => {
    const offsets = await ctx.broker.fetchOffsets(r.groupId, r.partitions);
    // A Kafka client's negative commit ("earliest"/"latest" marker) names no position: as none.
    return {
      offsets: offsets
        .filter((o) => o.offset >= 0)
        .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
    };
  },
  leaveGroup: async (ctx, r) => {
    const { membership } = member(ctx, r.groupId, r.memberId);
    ctx.memberships.delete(r.memberId);
    await membership.leave();
    return {};
  },
  authenticate: async (ctx, r) => ctx.authenticate(r.auth),
  ...COLLECTION_HANDLERS,
  ...SYNC_GROUP_HANDLERS,
  ...ATOMIC_HANDLERS,
  ...STREAM_HANDLERS,
};

async function joinGroup(
  ctx: RequestContext,
  r: RequestFrame<'joinGroup'>,
): Promise<RequestResult<'joinGroup'>> {
  if (ctx.memberships.size >= ctx.limits.wsMembershipsPerConnectionMax) {
    throw limitError(
      'group memberships',
      ctx.limits.wsMembershipsPerConnectionMax,
      'wsMembershipsPerConnectionMax',
    );
  }
  // Assignments the broker makes before the response went out wait, so the client learns its
  // member id first.
  let held: GroupAssignment[] | undefined = [];
  const push = (a: GroupAssignment): void => {
    ctx.sendAssignment({
      type: 'assignment',
      groupId: a.groupId,
      memberId: a.memberId,
      generation: a.generation,
      partitions: a.partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
    });
  };
  const membership = await ctx.broker.joinGroup({
    groupId: r.groupId,
    topics: r.topics,
    ...(r.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: r.sessionTimeoutMs }),
    onAssignment: (assignment) => {
      if (held === undefined) push(assignment);
      else held.push(assignment);
    },
  });
  if (!ctx.isOpen()) {
    await membership.leave();
    throw new TributaryError('CONNECTION_LOST', { reason: 'the connection closed during joinGroup' });
  }
  ctx.memberships.set(membership.memberId, { groupId: r.groupId, membership });
  ctx.afterResponse(() => {
    const pending = held ?? [];
    held = undefined;
    for (const assignment of pending) push(assignment);
  });
  return { memberId: membership.memberId };
}

/** Counts a produce's record bytes against the principal's rate; resolves when it may be answered. */
function throttleProduce(
  ctx: RequestContext,
  records: readonly Parameters<typeof recordBytes>[0][],
): Promise<void> {
  let bytes = 0;
  for (const record of records) bytes += recordBytes(record);
  return ctx.throttle((ctx.quota as QuotaAccount).recordProduce(bytes));
}

function countProduced(
  ctx: RequestContext,
  records: readonly Parameters<typeof recordBytes>[0][],
  startedMs: number,
): void {
  const tally = ctx.metrics.appendTally('ws');
  tally.records.inc(records.length);
  tally.latency.observe((performance.now() - startedMs) / 1000);
}

function subscription(ctx: RequestContext, sub: number): SubscriptionBridge {
  const bridge = ctx.subscriptions.get(sub);
  if (bridge === undefined) {
    throw new TributaryError('NOT_FOUND', { what: `subscription ${sub} on this connection` });
  }
  return bridge;
}

function member(ctx: RequestContext, groupId: string, memberId: string): Membership {
  const entry = ctx.memberships.get(memberId);
  if (entry === undefined || entry.groupId !== groupId) {
    throw new TributaryError('UNKNOWN_MEMBER', { groupId, memberId });
  }
  return entry;
}

function limitError(what: string, limit: number, name: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', {
    reason: `too many ${what} on this connection (limit ${limit}, ${name})`,
  });
}
