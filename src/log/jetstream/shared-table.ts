/**
 * @module log/jetstream/shared-table
 * A `SharedTable` (`broker/cluster.ts`) over a JetStream KV bucket: every write names the
 * revision it replaces (JetStream's expected last subject sequence), so of two gateways writing
 * over the same revision exactly one succeeds. Keys are any strings (stored base64url-encoded).
 *
 * @example
 * const table = await KvSharedTable.open(nc, 'tributary_mqtt_clients', 1);
 * const { revision } = await table.get('sensor-1');
 * const written = await table.swap('sensor-1', bytes, revision); // null: another write came first
 */
import { type KV, type NatsConnection, StorageType } from 'nats';
import type { SharedEntry, SharedTable } from '../../broker/cluster.js';
import { isWrongLastSequence } from './jetstream-log.js';

export class KvSharedTable implements SharedTable {
  private constructor(private readonly kv: KV) {}

  static async open(connection: NatsConnection, bucket: string, replicas: number): Promise<KvSharedTable> {
    const kv = await connection
      .jetstream()
      .views.kv(bucket, { history: 1, replicas, storage: StorageType.File });
    return new KvSharedTable(kv);
  }

  async get(key: string): Promise<SharedEntry | { readonly value: null; readonly revision: number }> {
    const entry = await this.kv.get(encodeKey(key));
    if (entry === null) return { value: null, revision: 0 };
    if (entry.operation !== 'PUT') return { value: null, revision: entry.revision };
    return { value: entry.value, revision: entry.revision };
  }

  async swap(key: string, value: Uint8Array, revision: number): Promise<number | null> {
    try {
      return await this.kv.put(encodeKey(key), value, { previousSeq: revision });
    } catch (error) {
      if (isWrongLastSequence(error)) return null;
      throw error;
    }
  }

  async remove(key: string, revision: number): Promise<boolean> {
    try {
      await this.kv.delete(encodeKey(key), { previousSeq: revision });
      return true;
    } catch (error) {
      if (isWrongLastSequence(error)) return false;
      throw error;
    }
  }

  async watch(listener: (key: string, entry: SharedEntry | null) => void): Promise<() => void> {
    const watcher = await this.kv.watch();
    void (async () => {
      for await (const entry of watcher) {
        const key = decodeKey(entry.key);
        listener(key, entry.operation === 'PUT' ? { value: entry.value, revision: entry.revision } : null);
      }
    })().catch(() => undefined); // stopped, or the connection closed
    return () => watcher.stop();
  }
}

/** KV keys allow letters, digits, `-`, `_`, `=`, `/` and `.`: keys are base64url-encoded. */
function encodeKey(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url') || '=';
}

function decodeKey(key: string): string {
  return key === '=' ? '' : Buffer.from(key, 'base64url').toString('utf8');
}
