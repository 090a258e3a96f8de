/**
 * @module server/auth/stream-guard
 * The event store as a session may use it (the `stream` ACL resource, docs/security.md): every
 * call checked before it reaches the store, subscriptions ended with the session's error when it
 * ends. Appends, metadata changes, deletes and snapshot saves need `write` on each stream; reads,
 * revisions, metadata, snapshot loads and subscriptions need `read` on the stream, on `<category>-*` for a category, on `*` for every stream.
 */
import type { ConsumerGroups } from '../../es/streams/groups.js';
import type {
  EventStore,
  EventSubscription,
  SubscribeOptions,
  SubscriptionTarget,
} from '../../es/streams/types.js';
import type { Session } from './types.js';

/** The name a read of `target` is authorized on. */
export function streamResourceName(target: SubscriptionTarget): string {
  if ('stream' in target) return target.stream;
  if ('category' in target) return `${target.category}-*`;
  return '*';
}

function live(session: Session): void {
  if (session.ended !== null) throw session.ended;
}

export function guardEventStore(store: EventStore, session: Session): EventStore {
  return {
    append(stream, events, expectedRevision) {
      session.authorize('stream', stream, 'write');
      return store.append(stream, events, expectedRevision);
    },
    appendMany(appends) {
      for (const append of appends) session.authorize('stream', append.stream, 'write');
      return store.appendMany(appends);
    },
    readStream(stream, options) {
      session.authorize('stream', stream, 'read');
      return store.readStream(stream, options);
    },
    readAll(options = {}) {
      const name = options.category === undefined ? '*' : `${options.category}-*`;
      session.authorize('stream', name, 'read');
      return store.readAll(options);
    },
    streamRevision(stream) {
      session.authorize('stream', stream, 'read');
      return store.streamRevision(stream);
    },
    setStreamMetadata(stream, metadata, expectedRevision) {
      session.authorize('stream', stream, 'write');
      return store.setStreamMetadata(stream, metadata, expectedRevision);
    },
    getStreamMetadata(stream) {
      session.authorize('stream', stream, 'read');
      return store.getStreamMetadata(stream);
    },
    deleteStream(stream, expectedRevision) {
      session.authorize('stream', stream, 'write');
      return store.deleteStream(stream, expectedRevision);
    },
    saveSnapshot(stream, revision, state) {
      session.authorize('stream', stream, 'write');
      return store.saveSnapshot(stream, revision, state);
    },
    loadSnapshot(stream) {
      session.authorize('stream', stream, 'read');
      return store.loadSnapshot(stream);
    },
    headPosition() {
      live(session);
      return store.headPosition();
    },
    async subscribe(options: SubscribeOptions): Promise<EventSubscription> {
      session.authorize('stream', streamResourceName(options.target), 'read');
      let ended: Error | undefined;
      let subscription: EventSubscription | undefined;
      const stop = session.onEnd((error) => {
        ended = error;
        if (subscription === undefined) return;
        void subscription.close().then(() => options.onError?.(error));
      });
      try {
        subscription = await store.subscribe(options);
      } catch (error) {
        stop();
        throw error;
      }
      if (ended !== undefined) {
        await subscription.close();
        throw ended;
      }
      const inner = subscription;
      return {
        get position() {
          return inner.position;
        },
        close: async () => {
          stop();
          await inner.close();
        },
      };
    },
  };
}

/**
 * Competing-consumer groups as a session may use them: every call needs `read` on the group's
 * target (the stream, `<category>-*`, or `*`), as a subscription to it would.
 */
export function guardConsumerGroups(groups: ConsumerGroups, session: Session): ConsumerGroups {
  const check = async (name: string): Promise<void> => {
    live(session);
    const { target } = await groups.groupInfo(name);
    session.authorize('stream', streamResourceName(target), 'read');
  };
  return {
    async createGroup(name, settings) {
      if (typeof settings?.target === 'object' && settings.target !== null) {
        session.authorize('stream', streamResourceName(settings.target), 'read');
      }
      return groups.createGroup(name, settings);
    },
    async deleteGroup(name) {
      await check(name);
      return groups.deleteGroup(name);
    },
    async groupInfo(name) {
      await check(name);
      return groups.groupInfo(name);
    },
    async readGroup(name, member, options) {
      await check(name);
      return groups.readGroup(name, member, options);
    },
    async ack(name, member, positions) {
      await check(name);
      return groups.ack(name, member, positions);
    },
    async nack(name, member, positions, action, reason) {
      await check(name);
      return groups.nack(name, member, positions, action, reason);
    },
    async readParked(name, options) {
      await check(name);
      return groups.readParked(name, options);
    },
  };
}
