/**
 * @module server/front/ws/collection-handlers
 * Handlers of the live-collection requests of the native protocol (`docs/collections.md`): each
 * validates what the codec could not (through the sync layer's checks), calls the
 * `CollectionService` and returns the result that goes into the response.
 */

import { decodeOperation } from '../../../crdt/index.js';
import { TributaryError } from '../../../errors.js';
import type {
  CollectionRequestMap,
  RequestFrame,
  RequestResult,
  WireWriteResult,
} from '../../../protocol/native/types.js';
import {
  type CollectionInfo,
  checkDocument,
  checkKey,
  checkQuery,
  checkTransact,
  checkVersion,
  checkWriteOp,
  type Operation,
  type WriteOp,
} from '../../../sync/index.js';
import type { CollectionsAccess } from '../../auth/guard.js';
import { CollectionBridge, type CollectionPort } from './collection-bridge.js';
import type { WsFrontEndLimits } from './limits.js';

/** What collection handlers need from the connection. */
export interface CollectionContext {
  /** The collections as the connection's session may use them. */
  readonly collections: CollectionsAccess | undefined;
  readonly limits: WsFrontEndLimits;
  readonly collectionSubscriptions: Map<number, CollectionBridge>;
  readonly collectionPort: CollectionPort;
  nextSubscriptionId(): number;
  subscriptionCount(): number;
  isOpen(): boolean;
  afterResponse(fn: () => void): void;
}

type CollectionType = keyof CollectionRequestMap;
type Handler<T extends CollectionType> = (
  ctx: CollectionContext,
  request: RequestFrame<T>,
) => Promise<RequestResult<T>>;

function service(ctx: CollectionContext): CollectionsAccess {
  if (ctx.collections === undefined) {
    throw new TributaryError('NOT_FOUND', { what: 'live collections (not enabled on this server)' });
  }
  return ctx.collections;
}

const info = (c: CollectionInfo) => ({ ...c });

/** Sync-layer results are the wire shapes field for field (a DocState is plain JSON). */
function wire<T>(value: unknown): T {
  return value as T;
}

/**
 * `op` is checked already: its key, document and version each once, by the handler. Not async,
 * nor are the write handlers (the connection turns what they throw into the error response):
 * each async layer returning a promise would add promise jobs to every write.
 */
function write(ctx: CollectionContext, collection: string, op: WriteOp): Promise<WireWriteResult> {
  return wire(service(ctx).collection(collection).write(op));
}

function version(ifVersion: number | undefined): { ifVersion?: number } {
  return ifVersion === undefined ? {} : { ifVersion: checkVersion(ifVersion, 'ifVersion') };
}

export const COLLECTION_HANDLERS: { readonly [T in CollectionType]: Handler<T> } = {
  createCollection: async (ctx, r) => ({
    collection: info(
      await service(ctx).create(r.name, {
        mode: r.mode,
        ...(r.partitions === undefined ? {} : { partitions: r.partitions }),
        ...(r.fsync === undefined ? {} : { fsync: r.fsync }),
      }),
    ),
  }),
  deleteCollection: async (ctx, r) => {
    await service(ctx).delete(r.name);
    return {};
  },
  listCollections: async (ctx) => ({ collections: service(ctx).list().map(info) }),
  describeCollection: async (ctx, r) => ({ collection: info(service(ctx).describe(r.name)) }),
  collectionGet: async (ctx, r) =>
    wire(await service(ctx).collection(r.collection).get(checkKey(r.key), r.consistency)),
  collectionPut: (ctx, r) =>
    write(ctx, r.collection, {
      op: 'put',
      key: checkKey(r.key, 'request.key'),
      value: checkDocument(r.value, 'value'),
      ...version(r.ifVersion),
    }),
  collectionPatch: (ctx, r) =>
    write(ctx, r.collection, {
      op: 'patch',
      key: checkKey(r.key, 'request.key'),
      fields: checkDocument(r.fields, 'fields'),
      ...version(r.ifVersion),
    }),
  collectionDelete: (ctx, r) =>
    write(ctx, r.collection, { op: 'delete', key: checkKey(r.key, 'request.key'), ...version(r.ifVersion) }),
  collectionIncrement: (ctx, r) =>
    write(
      ctx,
      r.collection,
      checkWriteOp(
        { op: 'increment', key: r.key, field: r.field, by: r.by, ...version(r.ifVersion) },
        'request',
      ),
    ),
  collectionTransact: async (ctx, r) =>
    wire(
      await service(ctx)
        .collection(r.collection)
        .transact(
          checkTransact({ ops: r.ops, ...(r.conditions === undefined ? {} : { conditions: r.conditions }) }),
        ),
    ),
  collectionApply: async (ctx, r) => {
    const collection = service(ctx).collection(r.collection);
    if (r.ops.length === 0) throw new TributaryError('INVALID_ARGUMENT', { reason: 'ops must not be empty' });
    const ops: Operation[] = r.ops.map((op) => decodeOperation(op));
    return { writes: wire(await collection.applyOperations(ops)) };
  },
  collectionQuery: async (ctx, r) =>
    wire(
      await service(ctx)
        .collection(r.collection)
        .query(checkQuery(r.query, 'query'), r.consistency ?? 'local'),
    ),
  collectionSubscribe: async (ctx, r) => {
    const collection = service(ctx).collection(r.collection);
    const query = checkQuery(r.query, 'query', { live: true });
    if (ctx.subscriptionCount() >= ctx.limits.wsSubscriptionsPerConnectionMax) {
      throw new TributaryError('INVALID_ARGUMENT', {
        reason: `too many subscriptions on this connection (limit ${ctx.limits.wsSubscriptionsPerConnectionMax}, wsSubscriptionsPerConnectionMax)`,
      });
    }
    const sub = ctx.nextSubscriptionId();
    const bridge = new CollectionBridge(sub, ctx.collectionPort);
    const subscription = collection.subscribe(query, bridge);
    bridge.subscription = subscription;
    ctx.collectionSubscriptions.set(sub, bridge);
    const { resumed } = subscription.start(r.from);
    if (!ctx.isOpen()) bridge.close();
    ctx.afterResponse(() => bridge.markReady());
    return { sub, resumed };
  },
  collectionUnsubscribe: async (ctx, r) => {
    const bridge = ctx.collectionSubscriptions.get(r.sub);
    if (bridge === undefined)
      throw new TributaryError('NOT_FOUND', { what: `collection subscription ${r.sub} on this connection` });
    bridge.close();
    ctx.collectionSubscriptions.delete(r.sub);
    return {};
  },
};
