/**
 * @module es/projections/server-context
 * Projections inside the server process: events from the `EventStore`, read models in the
 * `CollectionService` (local reads, which see every write this process acknowledged).
 *
 * @example
 * const projection = await startProjection(definition, serverProjectionContext(store, collections));
 */
import { isTributaryError, TributaryError } from '../../errors.js';
import type { CollectionService } from '../../sync/index.js';
import type { ProjectionContext, ProjectionEvents, ReadModelStore } from './types.js';

export function serverProjectionContext(
  events: ProjectionEvents,
  collections: CollectionService,
): ProjectionContext {
  return { events, readModels: serviceReadModels(collections) };
}

function serviceReadModels(collections: CollectionService): ReadModelStore {
  return {
    async ensureCollection(name, partitions) {
      let info = describeIfExists(collections, name);
      if (info === undefined) {
        try {
          info = await collections.create(name, { mode: 'strong', partitions });
        } catch (error) {
          if (!isTributaryError(error, 'COLLECTION_EXISTS')) throw error;
          info = collections.describe(name);
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
        await collections.delete(name);
      } catch (error) {
        if (!isTributaryError(error, 'COLLECTION_NOT_FOUND')) throw error;
      }
    },
    async get(collection, key) {
      const { value, version } = await collections.collection(collection).get(key, 'local');
      return { value, version };
    },
    async transact(collection, ops) {
      const result = await collections.collection(collection).transact({ ops });
      return result.writes.map((write) => write.version);
    },
  };
}

function describeIfExists(collections: CollectionService, name: string) {
  try {
    return collections.describe(name);
  } catch (error) {
    if (isTributaryError(error, 'COLLECTION_NOT_FOUND')) return undefined;
    throw error;
  }
}
