/**
 * @module es/streams/offline
 * The event store of a server whose `__es.events` is damaged: every call fails with the damage
 * error, so event streams are offline while collections, topics and every other front end go
 * on (damage is contained to its partition; repair is `tributary data verify | repair`).
 */
import type { TributaryError } from '../../errors.js';
import type { ClosableEventStore } from './store.js';

export function offlineEventStore(damage: TributaryError): ClosableEventStore {
  const fail = (): Promise<never> => Promise.reject(damage);
  return {
    streamCount: 0,
    indexStats: { residentStreams: 0, residentEvents: 0, eventsMax: 0, evictions: 0 },
    append: fail,
    appendMany: fail,
    readStream: fail,
    readAll: fail,
    streamRevision: fail,
    headPosition: fail,
    subscribe: fail,
    setStreamMetadata: fail,
    getStreamMetadata: fail,
    deleteStream: fail,
    saveSnapshot: fail,
    loadSnapshot: fail,
    waitForEvents: fail,
    groups: {
      createGroup: fail,
      deleteGroup: fail,
      groupInfo: fail,
      readGroup: fail,
      ack: fail,
      nack: fail,
      readParked: fail,
    },
    close: () => Promise.resolve(),
  };
}
