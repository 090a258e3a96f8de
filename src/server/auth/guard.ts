/**
 * @module server/auth/guard
 * The broker and the live collections as one session may use them. A front end with security
 * on hands its handlers `guardBroker(broker, session)` and `guardCollections(service, session)`
 * instead of the real ones; every call is checked by `session.authorize` (one cached decision of
 * the one policy, `acl.ts`) before it reaches the broker, so no front end evaluates a rule and
 * all of them answer the same call the same way. With security off, front ends use the plain
 * broker and service: nothing here runs and the hot path is unchanged.
 *
 * What each call needs is the table {@link ACCESS} below (Kafka's semantics where Kafka has the
 * call; docs/security.md, "Authorization", shows it by API, and test/acl-matrix.test.ts attempts it).
 *
 * What a guarded view opens ends with the session: when it ends (token expired, principal
 * revoked) topic subscriptions end through their `onError`, collection subscriptions through
 * their sink's `closed`, both with the session's error (`TOKEN_EXPIRED` / `ACCESS_REVOKED`), and
 * group members leave their groups. A live subscription is also re-checked on every delivery, so
 * an auth-file reload that takes `read` away ends it with `…_ACCESS_DENIED` before anything more
 * is sent (a cached decision while the policy is unchanged: one map lookup per delivery).
 *
 * @example
 * const broker = security.enabled ? guardBroker(plainBroker, session) : plainBroker;
 * await broker.produce('orders', records); // TOPIC_ACCESS_DENIED unless the session may write
 */
import type {
  BatchDelivery,
  Broker,
  CommittedOffset,
  GroupMembership,
  JoinGroupOptions,
  SubscribeOptions,
  Subscription,
  TopicPartition,
} from '../../broker/types.js';
import { TributaryError } from '../../errors.js';
import type {
  CollectionInfo,
  CollectionOptions,
  CrdtOperation,
  DocumentHistory,
  PartitionOffset,
  Query,
  QueryResult,
  ReadConsistency,
  ReadResult,
  SubscriptionSink,
  TransactRequest,
  TransactResult,
  WriteOp,
  WriteResult,
} from '../../sync/index.js';
import type { ServerOverview } from '../overview.js';
import { CLUSTER_RESOURCE, type Operation, type ResourceType, type Session } from './types.js';

/** One permission a call needs: an operation on a resource of a type (the name comes from the call). */
type Need = readonly [ResourceType, Operation];

/**
 * What each call needs. `topics` in a need list means "on each topic the call names";
 * `filtered` calls return only what the session may describe instead of refusing.
 */
export const ACCESS = {
  // Broker: topics
  createTopic: { needs: [['topic', 'create']] },
  deleteTopic: { needs: [['topic', 'delete']] },
  listTopics: { needs: [['topic', 'describe']], filtered: true },
  describeTopic: { needs: [['topic', 'describe']] },
  /** Kafka's CreatePartitions needs `alter` on the topic. */
  addPartitions: { needs: [['topic', 'alter']] },
  /** Kafka's DeleteRecords needs `delete` on the topic. */
  deleteRecords: { needs: [['topic', 'delete']] },
  offsets: { needs: [['topic', 'describe']] },
  resolvePosition: { needs: [['topic', 'describe']] },
  // Broker: records
  produce: { needs: [['topic', 'write']] },
  appendBatch: { needs: [['topic', 'write']] },
  appendEncoded: { needs: [['topic', 'write']] },
  /** A producer id writes nothing by itself; every append with it needs `write` on its topic. */
  initProducer: { needs: [] },
  /** `write` on each topic appended to; with offsets, as `commitOffsets` on the group and their topics. */
  commitAtomically: {
    needs: [
      ['topic', 'write'],
      ['group', 'read'],
    ],
  },
  fetch: { needs: [['topic', 'read']] },
  readBatches: { needs: [['topic', 'read']] },
  abortedTransactions: { needs: [['topic', 'read']] },
  subscribe: { needs: [['topic', 'read']] },
  // Broker: consumer groups (the group's name, then each topic of the call)
  joinGroup: {
    needs: [
      ['group', 'read'],
      ['topic', 'read'],
    ],
  },
  commitOffsets: {
    needs: [
      ['group', 'read'],
      ['topic', 'read'],
    ],
  },
  fetchOffsets: {
    needs: [
      ['group', 'describe'],
      ['topic', 'describe'],
    ],
  },
  // Live collections
  createCollection: { needs: [['collection', 'create']] },
  deleteCollection: { needs: [['collection', 'delete']] },
  listCollections: { needs: [['collection', 'describe']], filtered: true },
  describeCollection: { needs: [['collection', 'describe']] },
  get: { needs: [['collection', 'read']] },
  query: { needs: [['collection', 'read']] },
  subscribeCollection: { needs: [['collection', 'read']] },
  /** A document's versions still in the log (`GET …/items/{k}/history`). */
  history: { needs: [['collection', 'read']] },
  /** A patch or an increment also needs `read`: its answer is the stored document. */
  write: { needs: [['collection', 'write']] },
  /** Also `read` with conditions, or with a patch or an increment among its ops. */
  transact: { needs: [['collection', 'write']] },
  /** Also `read`: each answer is the document as merged. */
  applyOperations: { needs: [['collection', 'write']] },
  // Server
  metrics: { needs: [['cluster', 'describe']] },
  /** `GET /v1/stats`; its per-topic traffic lists only topics the session may describe. */
  serverStats: { needs: [['cluster', 'describe']] },
  /**
   * `GET /v1/groups`: lists only groups the session may describe, and in each only the topics
   * (members' subscriptions and assignments, partitions) it may describe.
   */
  describeGroups: {
    needs: [
      ['group', 'describe'],
      ['topic', 'describe'],
    ],
    filtered: true,
  },
} as const satisfies Record<string, { readonly needs: readonly Need[]; readonly filtered?: boolean }>;

export type GuardedCall = keyof typeof ACCESS;

/** The operation `call` needs on a resource of type `resource` (the table's entry). */
function need(call: GuardedCall, resource: ResourceType): Operation {
  for (const [type, operation] of ACCESS[call].needs as readonly Need[]) {
    if (type === resource) return operation;
  }
  throw new Error(`ACCESS.${call} names no ${resource} operation`);
}

/**
 * Checks `call` on the named resource for `session`, as the guarded views do (for a front end
 * that must refuse before it starts answering, e.g. an SSE stream before its headers go out).
 */
export function authorizeCall(
  session: Session,
  call: GuardedCall,
  resource: ResourceType,
  name: string,
): void {
  session.authorize(resource, name, need(call, resource));
}

/** A live query of a collection, as front ends hold it (`CollectionSubscription` is one). */
export interface LiveQuery {
  /** Sends the snapshot (or the changes since `from`) and goes live. */
  start(from?: readonly PartitionOffset[]): { resumed: boolean };
  /** Sends a fresh snapshot (`reset`) in place of changes the subscriber could not take. */
  resync(): void;
  /** Ends it; with an `error`, the sink's `closed` is told. */
  close(error?: unknown): void;
}

/** One collection, as front ends use it (`Collection` is one). */
export interface CollectionAccess {
  readonly info: CollectionInfo;
  get(key: string, consistency?: ReadConsistency): Promise<ReadResult>;
  query(query: Query, consistency?: ReadConsistency): Promise<QueryResult>;
  /** The versions of `key` still in the log, newest first, at most `limit`. */
  history(key: string, limit: number): Promise<DocumentHistory>;
  write(op: WriteOp): Promise<WriteResult>;
  transact(request: TransactRequest): Promise<TransactResult>;
  applyOperations(ops: readonly CrdtOperation[]): Promise<WriteResult[]>;
  subscribe(query: Query, sink: SubscriptionSink): LiveQuery;
}

/** The live collections, as front ends use them (`CollectionService` is one). */
export interface CollectionsAccess {
  create(name: string, options: CollectionOptions): Promise<CollectionInfo>;
  delete(name: string): Promise<void>;
  list(): CollectionInfo[];
  describe(name: string): CollectionInfo;
  /** The collection `name`; with a guard, access is checked per call, before its existence. */
  collection(name: string): CollectionAccess;
}

/**
 * The broker as `session` may use it. Calls the session may not make throw the resource's
 * `…_ACCESS_DENIED` (or the session's end error) before reaching the broker, so a refusal never
 * reveals whether the resource exists. `close()` closes nothing (the server owns the broker).
 */
export function guardBroker(broker: Broker, session: Session): Broker {
  const topic = (call: GuardedCall, name: string): void => {
    session.authorize('topic', name, need(call, 'topic'));
  };
  const group = (call: GuardedCall, name: string): void => {
    session.authorize('group', name, need(call, 'group'));
  };
  return {
    async createTopic(name, config) {
      topic('createTopic', name);
      return broker.createTopic(name, config);
    },
    async deleteTopic(name) {
      topic('deleteTopic', name);
      return broker.deleteTopic(name);
    },
    async listTopics() {
      live(session);
      const operation = need('listTopics', 'topic');
      return (await broker.listTopics()).filter((t) => session.allowed('topic', t.name, operation));
    },
    async describeTopic(name) {
      topic('describeTopic', name);
      return broker.describeTopic(name);
    },
    async addPartitions(name, partitions) {
      topic('addPartitions', name);
      return broker.addPartitions(name, partitions);
    },
    async deleteRecords(name, partition, beforeOffset) {
      topic('deleteRecords', name);
      return broker.deleteRecords(name, partition, beforeOffset);
    },
    async produce(name, records) {
      topic('produce', name);
      return broker.produce(name, records);
    },
    async appendBatch(name, partition, records, options) {
      topic('appendBatch', name);
      return broker.appendBatch(name, partition, records, options);
    },
    async appendEncoded(name, partition, batch, options) {
      topic('appendEncoded', name);
      return broker.appendEncoded(name, partition, batch, options);
    },
    async initProducer() {
      live(session);
      return broker.initProducer();
    },
    async commitAtomically(request) {
      for (const append of request.appends) topic('commitAtomically', append.topic);
      if (request.offsets !== undefined) {
        group('commitAtomically', request.offsets.groupId);
        for (const name of topicsOf(request.offsets.offsets)) topic('commitOffsets', name);
      }
      return broker.commitAtomically(request);
    },
    async fetch(name, partition, offset, options) {
      topic('fetch', name);
      return broker.fetch(name, partition, offset, options);
    },
    async readBatches(name, partition, offset, options) {
      topic('readBatches', name);
      return broker.readBatches(name, partition, offset, options);
    },
    async abortedTransactions(name, partition, fromOffset, toOffset) {
      topic('abortedTransactions', name);
      return broker.abortedTransactions(name, partition, fromOffset, toOffset);
    },
    async offsets(name, partition) {
      topic('offsets', name);
      return broker.offsets(name, partition);
    },
    async resolvePosition(name, partition, from, isolation) {
      topic('resolvePosition', name);
      return broker.resolvePosition(name, partition, from, isolation);
    },
    async subscribe(options) {
      topic('subscribe', options.topic);
      return subscribeGuarded(broker, session, options);
    },
    async joinGroup(options) {
      group('joinGroup', options.groupId);
      for (const name of options.topics) topic('joinGroup', name);
      return joinGuarded(broker, session, options);
    },
    async commitOffsets(groupId, memberId, generation, offsets) {
      group('commitOffsets', groupId);
      for (const name of topicsOf(offsets)) topic('commitOffsets', name);
      return broker.commitOffsets(groupId, memberId, generation, offsets);
    },
    async fetchOffsets(groupId, partitions) {
      group('fetchOffsets', groupId);
      for (const name of topicsOf(partitions)) topic('fetchOffsets', name);
      return broker.fetchOffsets(groupId, partitions);
    },
    async close() {},
  };
}

/** The live collections as `session` may use them (see {@link guardBroker}). */
export function guardCollections(service: CollectionsAccess, session: Session): CollectionsAccess {
  return {
    async create(name, options) {
      session.authorize('collection', name, need('createCollection', 'collection'));
      return service.create(name, options);
    },
    async delete(name) {
      session.authorize('collection', name, need('deleteCollection', 'collection'));
      return service.delete(name);
    },
    list() {
      live(session);
      const operation = need('listCollections', 'collection');
      return service.list().filter((c) => session.allowed('collection', c.name, operation));
    },
    describe(name) {
      session.authorize('collection', name, need('describeCollection', 'collection'));
      return service.describe(name);
    },
    collection(name) {
      return new GuardedCollection(service, name, session);
    },
  };
}

/**
 * The server overview (`GET /v1/stats`, `GET /v1/groups`) as `session` may see it: stats need
 * `describe` on the cluster; groups and, in them, topics are filtered by `describe`.
 */
export function guardOverview(overview: ServerOverview, session: Session): ServerOverview {
  const topicOperation = need('describeGroups', 'topic');
  const groupOperation = need('describeGroups', 'group');
  const topicVisible = (topic: string): boolean => session.allowed('topic', topic, topicOperation);
  return {
    async stats() {
      session.authorize('cluster', CLUSTER_RESOURCE, need('serverStats', 'cluster'));
      const stats = await overview.stats();
      return { ...stats, topics: stats.topics.filter((entry) => topicVisible(entry.topic)) };
    },
    async groups() {
      live(session);
      return (await overview.groups())
        .filter((group) => session.allowed('group', group.group, groupOperation))
        .map((group) => ({
          ...group,
          members: group.members.map((member) => ({
            ...member,
            topics: member.topics.filter(topicVisible),
            assigned: member.assigned.filter((tp) => topicVisible(tp.topic)),
          })),
          partitions: group.partitions.filter((row) => topicVisible(row.topic)),
        }));
    },
  };
}

/** Checks each call before it looks the collection up, so a refusal says nothing of its existence. */
class GuardedCollection implements CollectionAccess {
  readonly #service: CollectionsAccess;
  readonly #name: string;
  readonly #session: Session;

  constructor(service: CollectionsAccess, name: string, session: Session) {
    this.#service = service;
    this.#name = name;
    this.#session = session;
  }

  get info(): CollectionInfo {
    return this.#target('describeCollection').info;
  }

  async get(key: string, consistency?: ReadConsistency): Promise<ReadResult> {
    return this.#target('get').get(key, consistency);
  }

  async query(query: Query, consistency?: ReadConsistency): Promise<QueryResult> {
    return this.#target('query').query(query, consistency);
  }

  async history(key: string, limit: number): Promise<DocumentHistory> {
    return this.#target('history').history(key, limit);
  }

  /** Not async (a refusal is still a rejected promise): one layer fewer of promise jobs per write. */
  write(op: WriteOp): Promise<WriteResult> {
    try {
      const collection = this.#target('write');
      if (revealsStored(op)) this.#alsoRead();
      return collection.write(op);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async transact(request: TransactRequest): Promise<TransactResult> {
    const collection = this.#target('transact');
    if ((request.conditions?.length ?? 0) > 0 || request.ops.some(revealsStored)) this.#alsoRead();
    return collection.transact(request);
  }

  async applyOperations(ops: readonly CrdtOperation[]): Promise<WriteResult[]> {
    const collection = this.#target('applyOperations');
    // Each answer is the document as merged with what others wrote.
    this.#alsoRead();
    return collection.applyOperations(ops);
  }

  subscribe(query: Query, sink: SubscriptionSink): LiveQuery {
    const collection = this.#target('subscribeCollection');
    const operation = need('subscribeCollection', 'collection');
    const session = this.#session;
    const name = this.#name;
    let subscription: LiveQuery | undefined;
    let stop: () => void = () => undefined;
    /** False once the session may no longer read: the subscription is ended, nothing more is sent. */
    const check = (): boolean => {
      try {
        session.authorize('collection', name, operation);
        return true;
      } catch (error) {
        subscription?.close(error);
        return false;
      }
    };
    subscription = collection.subscribe(query, {
      snapshot: (frame) => {
        if (check()) sink.snapshot(frame);
      },
      changes: (frame) => {
        if (check()) sink.changes(frame);
      },
      closed: (error) => {
        stop();
        sink.closed(error);
      },
    });
    const held = subscription;
    stop = session.onEnd((error) => held.close(error));
    return {
      start: (from) => held.start(from),
      resync: () => held.resync(),
      close: (error) => {
        stop();
        held.close(error);
      },
    };
  }

  /**
   * A write whose answer carries stored data (the document after a patch or an increment, a
   * condition's verdict on a stored value) is a read too: a write-only principal must not read
   * documents by patching them with nothing.
   */
  #alsoRead(): void {
    this.#session.authorize('collection', this.#name, 'read');
  }

  #target(call: GuardedCall): CollectionAccess {
    this.#session.authorize('collection', this.#name, need(call, 'collection'));
    return this.#service.collection(this.#name);
  }
}

/**
 * A broker subscription that ends with the session: its `onError` gets the session's error, or
 * `TOPIC_ACCESS_DENIED` when a delivery finds `read` taken away (nothing of that delivery is sent).
 */
async function subscribeGuarded(
  broker: Broker,
  session: Session,
  options: SubscribeOptions,
): Promise<Subscription> {
  const operation = need('subscribe', 'topic');
  const name = options.topic;
  const { onBatches } = options;
  let inner: Subscription | undefined;
  let ended: TributaryError | undefined;
  let done = false;
  /** Ends the subscription with `error`, telling its owner once. */
  const finish = (error: unknown, closeInner: boolean): void => {
    if (done) return;
    done = true;
    stop();
    if (closeInner) inner?.close();
    options.onError?.(error);
  };
  const stop = session.onEnd((error) => {
    if (inner === undefined)
      ended = error; // still subscribing: refused below instead
    else finish(error, true);
  });
  // Checked again at every delivery: a grant revoked by a reload ends the subscription.
  const stillAuthorized = (): boolean => {
    if (done) return false;
    try {
      session.authorize('topic', name, operation);
      return true;
    } catch (error) {
      finish(error, true);
      return false;
    }
  };
  try {
    inner = await broker.subscribe({
      ...options,
      onRecords: (delivery) => {
        if (stillAuthorized()) options.onRecords(delivery);
      },
      // Authorized per delivery like records, or not passed on at all.
      ...(onBatches === undefined
        ? {}
        : {
            onBatches: (delivery: BatchDelivery) => {
              if (stillAuthorized()) onBatches(delivery);
            },
          }),
      onError: (error) => finish(error, false),
    });
  } catch (error) {
    stop();
    throw error;
  }
  if (ended !== undefined) {
    done = true;
    inner.close();
    throw ended;
  }
  const subscription = inner;
  return {
    grant: (records) => subscription.grant(records),
    get position() {
      return subscription.position;
    },
    close: () => {
      done = true;
      stop();
      subscription.close();
    },
  };
}

/** A group membership that leaves its group when the session ends. */
async function joinGuarded(
  broker: Broker,
  session: Session,
  options: JoinGroupOptions,
): Promise<GroupMembership> {
  let left = false;
  let membership: GroupMembership | undefined;
  const leave = async (): Promise<void> => {
    if (left || membership === undefined) return;
    left = true;
    stop();
    await membership.leave();
  };
  const stop = session.onEnd(() => {
    if (membership === undefined) left = true;
    void leave().catch(() => undefined);
  });
  try {
    membership = await broker.joinGroup(options);
  } catch (error) {
    stop();
    throw error;
  }
  if (left) {
    // The session ended while joining: leave at once and say why.
    await membership.leave().catch(() => undefined);
    throw session.ended ?? new TributaryError('ACCESS_REVOKED', { principal: session.principal.name });
  }
  const joined = membership;
  return {
    memberId: joined.memberId,
    heartbeat: () => joined.heartbeat(),
    leave,
  };
}

/** Whether the answer to `op` shows more of the stored document than the op itself says. */
function revealsStored(op: WriteOp): boolean {
  return op.op === 'patch' || op.op === 'increment';
}

/** Throws the session's end error if it has ended. */
function live(session: Session): void {
  const ended = session.ended;
  if (ended !== null) throw ended;
}

function topicsOf(partitions: readonly (TopicPartition | CommittedOffset)[]): Set<string> {
  const names = new Set<string>();
  for (const p of partitions) names.add(p.topic);
  return names;
}
