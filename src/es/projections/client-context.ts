/**
 * @module es/projections/client-context
 * Projections in a worker process over the client SDK: events from `client.streams` (the same
 * calls as the `EventStore`), read models through `client.admin` and `client.collection(…)`.
 * Reads are linearizable, so a worker sees its own acknowledged writes whichever server answers.
 *
 * @example
 * const client = await connect({ url: 'ws://127.0.0.1:7700/v1/ws' });
 * const projection = await startProjection(definition, clientProjectionContext(client.streams, client));
 */
import type { TributaryClient } from '../../client/client.js';
import { isTributaryError, TributaryError } from '../../errors.js';
import type { CollectionInfo } from '../../model/index.js';
import type { ProjectionContext, ProjectionEvents, ReadModelStore } from './types.js';

/** The parts of the SDK client a worker's read models use. */
export type ReadModelClient = Pick<TributaryClient, 'admin' | 'collection'>;

export function clientProjectionContext(
  events: ProjectionEvents,
  client: ReadModelClient,
): ProjectionContext {
  return { events, readModels: clientReadModels(client) };
}

function clientReadModels(client: ReadModelClient): ReadModelStore {
  return {
    async ensureCollection(name, partitions) {
      let info: CollectionInfo;
      try {
        info = await client.admin.describeCollection(name);
      } catch (error) {
        if (!isTributaryError(error, 'COLLECTION_NOT_FOUND')) throw error;
        try {
          info = await client.admin.createCollection(name, { mode: 'strong', partitions });
        } catch (createError) {
          if (!isTributaryError(createError, 'COLLECTION_EXISTS')) throw createError;
          info = await client.admin.describeCollection(name);
        }
      }
      if (info.mode !== 'strong') {
        throw new TributaryError('INVALID_ARGUMENT', {
          reason: `read model collection "${name}" exists and is ${info.mode}; projections need a strong collection`,
        });
      }
      return info.partitions;
    },
    async deleteCollection(name) {
      try {
        await client.admin.deleteCollection(name);
      } catch (error) {
        if (!isTributaryError(error, 'COLLECTION_NOT_FOUND')) throw error;
      }
    },
    async get(collection, key) {
      const { value, version } = await client
        .collection(collection)
        .get(key, { consistency: 'linearizable' });
      return { value, version };
    },
    async transact(collection, ops) {
      const result = await client.collection(collection).transact(ops);
      return result.writes.map((write) => write.version);
    },
  };
}
