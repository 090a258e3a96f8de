/**
 * @module connectors/store
 * Connector specs kept in the log, so a restarted server brings its connectors back as they
 * were (paused ones stay paused): the compacted internal topic `__connectors`, key = connector
 * name, value = UTF-8 JSON `{"v":1,"spec":{name,type,config},"paused":bool,"declared":bool}`
 * (`declared`: the server's config file declares it; absent in older records), a tombstone when
 * the connector is deleted. Writes are appended in call order and resolve once durable (fsync
 * always). Loading is hostile-input safe: a record that does not parse is logged and skipped.
 */

import type { Logger } from 'pino';
import { ensureTopic } from '../broker/ensure-topic.js';
import { readToEnd } from '../broker/read-to-end.js';
import type { Broker } from '../broker/types.js';
import { isDamageError } from '../errors.js';
import type { ConnectorSpec } from './types.js';

export const CONNECTORS_TOPIC = '__connectors';

/** A connector as stored: its spec, whether a user paused it, and whether the config file declares it. */
export interface StoredConnector {
  readonly spec: ConnectorSpec;
  readonly paused: boolean;
  readonly declared: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ConnectorStore {
  readonly #broker: Broker;
  readonly #connectors = new Map<string, StoredConnector>();
  #tail: Promise<void> = Promise.resolve();

  private constructor(broker: Broker) {
    this.#broker = broker;
  }

  /** Creates `__connectors` if needed and reads every connector's latest record. */
  static async open(systemBroker: Broker, logger: Logger): Promise<ConnectorStore> {
    await ensureTopic(systemBroker, CONNECTORS_TOPIC, { partitions: 1, compact: true, fsync: 'always' });
    const store = new ConnectorStore(systemBroker);
    try {
      await store.#load(logger);
    } catch (error) {
      // Damaged specs keep connectors offline, not the server: none start, and writes to the
      // damaged partition fail with the same error (/healthz reports it).
      if (!isDamageError(error)) throw error;
      logger.error({ err: error }, 'connectors are offline: their stored specs are damaged');
    }
    return store;
  }

  /** Reads every connector's latest record from `__connectors`. */
  async #load(logger: Logger): Promise<void> {
    await readToEnd(this.#broker, CONNECTORS_TOPIC, 0, (records) => {
      for (const record of records) {
        const name = record.key === null ? undefined : decodeText(record.key);
        if (name === undefined || name === '') {
          logger.warn({ offset: record.offset }, 'skipping a __connectors record with a malformed key');
          continue;
        }
        if (record.value === null) {
          this.#connectors.delete(name);
          continue;
        }
        const stored = parseStoredConnector(name, record.value);
        if (stored === undefined) {
          logger.warn(
            { offset: record.offset, name },
            'skipping a __connectors record with a malformed value',
          );
          continue;
        }
        this.#connectors.set(name, stored);
      }
    });
  }

  /**
   * Reads `__connectors` again (another gateway may have paused or deleted a connector since this
   * one started): the latest record of `name`, or undefined when it was deleted.
   */
  async reload(name: string, logger: Logger): Promise<StoredConnector | undefined> {
    await this.#tail;
    this.#connectors.clear();
    await this.#load(logger);
    return this.#connectors.get(name);
  }

  /** Every stored connector, in the order they were first stored. */
  all(): StoredConnector[] {
    return [...this.#connectors.values()];
  }

  /** Stores a connector's spec and paused flag; resolves once durable. */
  save(stored: StoredConnector): Promise<void> {
    const value = encoder.encode(
      JSON.stringify({ v: 1, spec: stored.spec, paused: stored.paused, declared: stored.declared }),
    );
    return this.#write(stored.spec.name, value, () => this.#connectors.set(stored.spec.name, stored));
  }

  /** Removes a connector (a tombstone); resolves once durable. */
  remove(name: string): Promise<void> {
    return this.#write(name, null, () => this.#connectors.delete(name));
  }

  #write(name: string, value: Uint8Array | null, applied: () => void): Promise<void> {
    const write = this.#tail.then(async () => {
      await this.#broker.produce(CONNECTORS_TOPIC, [{ key: encoder.encode(name), value, partition: 0 }]);
      applied();
    });
    this.#tail = write.catch(() => undefined);
    return write;
  }
}

function decodeText(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Parses one stored value; undefined for anything malformed. */
export function parseStoredConnector(name: string, bytes: Uint8Array): StoredConnector | undefined {
  const text = decodeText(bytes);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed.v !== 1 || typeof parsed.paused !== 'boolean') return undefined;
  const spec = parsed.spec;
  if (!isObject(spec) || spec.name !== name || typeof spec.type !== 'string' || !isObject(spec.config)) {
    return undefined;
  }
  return {
    spec: { name, type: spec.type, config: spec.config },
    paused: parsed.paused,
    declared: parsed.declared === true,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
