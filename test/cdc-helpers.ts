/**
 * Shared by the postgres-cdc tests: whether a Postgres with `wal_level = logical` is reachable,
 * one-shot SQL, and reading a change topic back as parsed change records.
 */
import pg from 'pg';
import type { Broker } from '../src/broker/types.js';
import type { ChangeValue } from '../src/connectors/postgres-cdc/records.js';
import type { Log } from '../src/log/types.js';
import { PG_URL } from './sinks-helpers.js';

const decoder = new TextDecoder();

/** True when `url` answers and runs with `wal_level = logical`. */
export async function logicalPostgres(url = PG_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return (await client.query('SHOW wal_level')).rows[0]?.wal_level === 'logical';
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs one statement on a fresh connection. */
export async function sql(text: string, values: unknown[] = [], url = PG_URL): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

export interface Change {
  readonly key: Record<string, unknown> | null;
  readonly value: ChangeValue;
  readonly partition: number;
  readonly offset: number;
}

type Reader = Pick<Broker, 'fetch'> | Pick<Log, 'read'>;

/**
 * Every change record of `topic` over `partitions` partitions, per partition in offset order,
 * from a broker or straight from a log (`isolation` defaults to committed).
 */
export async function readChanges(
  source: Reader,
  topic: string,
  partitions: number,
  isolation: 'committed' | 'uncommitted' = 'committed',
): Promise<Change[]> {
  const out: Change[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    let offset = 0;
    for (;;) {
      const options = { isolation, maxRecords: 5000 } as const;
      const records =
        'fetch' in source
          ? await source.fetch(topic, partition, offset, options)
          : await source.read(topic, partition, offset, options);
      const last = records.at(-1);
      if (last === undefined) break;
      for (const r of records) {
        out.push({
          key: r.key === null ? null : JSON.parse(decoder.decode(r.key)),
          value: JSON.parse(decoder.decode(r.value ?? new Uint8Array())) as ChangeValue,
          partition,
          offset: r.offset,
        });
      }
      offset = last.offset + 1;
    }
  }
  return out;
}

/** Every committed change record of `topic` on a broker. */
export async function changes(broker: Broker, topic: string): Promise<Change[]> {
  const { partitions } = await broker.describeTopic(topic);
  return readChanges(broker, topic, partitions.length);
}
