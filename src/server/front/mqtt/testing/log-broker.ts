/**
 * @module server/front/mqtt/testing/log-broker
 * A broker on the in-memory log or on the file log in a directory, for the MQTT session modules'
 * tests, with `restart()`: a new broker on the same log (memory) or on the log reopened from disk
 * (file), which is what a server restart leaves the session store to recover from. Test-only.
 */
import { createBroker, type TributaryBroker } from '../../../../broker/broker.js';
// biome-ignore lint/style/noRestrictedImports: a composition root for tests, like server.ts: it builds the broker on a log.
import { openFileLog } from '../../../../log/file/file-log.js';
// biome-ignore lint/style/noRestrictedImports: as above.
import { createMemoryLog } from '../../../../log/memory/memory-log.js';
// biome-ignore lint/style/noRestrictedImports: as above.
import type { Log } from '../../../../log/types.js';

export interface LogBroker {
  readonly broker: TributaryBroker;
  /** Closes the broker (and, for the file log, the log) and opens them again on the same data. */
  restart(): Promise<TributaryBroker>;
  /** Compacts a topic of the log (the file engine's maintenance does it on its own schedule). */
  compact(topic: string): Promise<void>;
  close(): Promise<void>;
}

/** `dir`: a file log there; none: the in-memory log. */
export async function openLogBroker(dir?: string): Promise<LogBroker> {
  const open = (): Promise<Log> =>
    dir === undefined ? Promise.resolve(createMemoryLog()) : openFileLog({ dir, maintenanceIntervalMs: 0 });
  let log = await open();
  let broker = await createBroker(log);
  return {
    get broker() {
      return broker;
    },
    async restart() {
      await broker.close();
      if (dir !== undefined) {
        await log.close();
        log = await open();
      }
      broker = await createBroker(log);
      return broker;
    },
    async compact(topic) {
      await log.compact(topic);
    },
    async close() {
      await broker.close();
      await log.close();
    },
  };
}
