/**
 * @module processing/tables
 * The collections a pipeline's `lookup` steps read, mirrored in the worker by one live query
 * each (the whole collection): a lookup is a synchronous read of the mirror, which the server
 * keeps current by pushing every change. Opened before the worker joins its group, so the first
 * record already sees the collection's snapshot.
 */
import type { TributaryClient } from '../client/client.js';
import type { LiveQuery } from '../client/collections/live-query.js';
import type { TableReader } from './joins.js';
import type { PipelineDefinition } from './pipeline.js';

export interface TableMirrors {
  readonly read: TableReader;
  close(): Promise<void>;
}

export async function mirrorTables(
  client: TributaryClient,
  definition: PipelineDefinition,
): Promise<TableMirrors> {
  const names = [...new Set(definition.steps.flatMap((s) => (s.table === undefined ? [] : [s.table])))];
  const mirrors = new Map<string, LiveQuery>();
  try {
    for (const name of names) {
      const live = client.collection(name).subscribe({});
      mirrors.set(name, live);
      await live.ready;
    }
  } catch (error) {
    await Promise.all([...mirrors.values()].map((m) => m.close().catch(() => undefined)));
    throw error;
  }
  return {
    read: (collection, key) => mirrors.get(collection)?.get(key)?.value,
    close: async () => {
      await Promise.all([...mirrors.values()].map((m) => m.close()));
    },
  };
}
