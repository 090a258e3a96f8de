/**
 * @module connectors/postgres-cdc/catalog
 * What the connector asks Postgres's catalog: a table's columns and key columns, the slot's
 * state and lag, and the publication and slot it creates and drops.
 */
import type { Client } from 'pg';
import type { PostgresCdcConfig } from './config.js';

export interface TableShape {
  /** `schema.table` */
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly type: string; readonly key: boolean }[];
  /** Primary key columns in key order (else the replica identity index's); empty: none. */
  readonly keyColumns: readonly string[];
}

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
export const qualified = (t: { schema: string; name: string }): string =>
  `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

export async function tableShape(client: Client, t: { schema: string; name: string }): Promise<TableShape> {
  const relation = qualified(t);
  const keys = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
      WHERE i.indrelid = $1::regclass AND (i.indisprimary OR i.indisreplident)
      ORDER BY i.indisprimary DESC, array_position(i.indkey::int2[], a.attnum)`,
    [relation],
  );
  const keyColumns = [...new Set(keys.rows.map((r) => r.attname))];
  const columns = await client.query<{ attname: string; type: string }>(
    `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [relation],
  );
  return {
    table: `${t.schema}.${t.name}`,
    keyColumns,
    columns: columns.rows.map((c) => ({
      name: c.attname,
      type: c.type,
      key: keyColumns.includes(c.attname),
    })),
  };
}

export interface SlotState {
  /** `reserved`, `extended`, `unreserved` or `lost` (Postgres 13+). */
  readonly walStatus: string | null;
  readonly confirmedFlush: string | null;
  /** Bytes of WAL from the slot's confirmed position to the current one. */
  readonly lagBytes: number | null;
}

export async function slotState(client: Client, slot: string): Promise<SlotState | null> {
  const result = await client.query<{
    wal_status: string | null;
    confirmed: string | null;
    lag: string | null;
  }>(
    `SELECT wal_status, confirmed_flush_lsn::text AS confirmed,
            (pg_current_wal_lsn() - confirmed_flush_lsn)::text AS lag
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = result.rows[0];
  if (row === undefined) return null;
  return {
    walStatus: row.wal_status,
    confirmedFlush: row.confirmed,
    lagBytes: row.lag === null ? null : Number(row.lag),
  };
}

/** Drops the slot if it exists, ending the session that holds it first. */
export async function dropSlot(client: Client, slot: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    await client.query(
      'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL',
      [slot],
    );
    try {
      await client.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      return;
    } catch (error) {
      // Still active for a moment after its session was ended: try again.
      if (!/is active/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Creates the publication of the configured tables, or sets its tables when it exists. */
export async function ensurePublication(client: Client, config: PostgresCdcConfig): Promise<void> {
  const tables = config.tables.map(qualified).join(', ');
  const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [config.publication]);
  if (exists.rowCount === 0) {
    await client.query(`CREATE PUBLICATION ${quoteIdent(config.publication)} FOR TABLE ${tables}`);
  } else {
    await client.query(`ALTER PUBLICATION ${quoteIdent(config.publication)} SET TABLE ${tables}`);
  }
}

export async function dropPublication(client: Client, publication: string): Promise<void> {
  await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
}
