/**
 * @module connectors/postgres-cdc/snapshot
 * The initial consistent snapshot: a replication connection creates the slot and exports the
 * snapshot of the slot's consistent point; a regular connection imports it (REPEATABLE READ,
 * `SET TRANSACTION SNAPSHOT`) and reads every captured table with a cursor. The rows are
 * exactly the database as of the consistent point, and the stream that follows starts at it:
 * every change is either in the snapshot or in the stream, never both, never neither.
 *
 * The position (the consistent point) is stored only after every snapshot row is durable, so a
 * crash during the snapshot starts it over (rows written again, same keys); a finished snapshot
 * is never taken twice.
 */
import type pg from 'pg';
import type { Broker, ProduceRecord } from '../../broker/types.js';
import { loadPg } from '../drivers.js';
import type { ConnectorPositions } from '../types.js';
import { dropSlot, qualified, type TableShape, tableShape } from './catalog.js';
import type { CollectionMirror } from './collection-mirror.js';
import type { PostgresCdcConfig } from './config.js';
import { type ChangeValue, changeRecord, rowJson, rowKey } from './records.js';

const FETCH_ROWS = 2_000;

export interface SnapshotProgress {
  rowsDone: number;
  rowsTotal: number | null;
}

export interface SnapshotOptions {
  readonly client: pg.Client;
  readonly config: PostgresCdcConfig;
  readonly broker: Broker;
  readonly positions: ConnectorPositions;
  /** Set when the slot was lost: the rows are marked `reset`. */
  readonly reset: boolean;
  readonly onProgress: (progress: SnapshotProgress) => void;
  /** The live collection the rows are mirrored into, if configured. */
  readonly mirror: CollectionMirror | null;
  /** Checked between batches: a stop ends the snapshot early (it starts over next time). */
  readonly stopped: () => boolean;
}

/** Takes the snapshot; resolves with the consistent point (stored as the position) and the tables' shapes. */
export async function takeSnapshot(
  options: SnapshotOptions,
): Promise<{ lsn: string; shapes: TableShape[]; rows: number } | null> {
  const { client, config, broker } = options;
  await dropSlot(client, config.slot);
  const { Client } = await loadPg();
  const replication = new Client({
    connectionString: config.connectionString,
    replication: 'database',
  } as pg.ClientConfig);
  await replication.connect();
  let lsn: string;
  try {
    const created = await replication.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT "${config.slot}" LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = created.rows[0];
    if (row === undefined) throw new Error('CREATE_REPLICATION_SLOT returned no row');
    lsn = row.consistent_point;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${row.snapshot_name.replaceAll("'", "''")}'`);
  } finally {
    // The exported snapshot only has to live until it is imported; the slot stays.
    await replication.end().catch(() => undefined);
  }
  let rows = 0;
  try {
    const shapes: TableShape[] = [];
    let total = 0;
    for (const t of config.tables) {
      shapes.push(await tableShape(client, t));
      const count = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified(t)}`);
      total += Number(count.rows[0]?.n ?? 0);
    }
    const progress: SnapshotProgress = { rowsDone: 0, rowsTotal: total };
    options.onProgress(progress);
    const marks = options.reset ? { reset: true as const } : {};
    options.mirror?.beginSnapshot();
    for (const [i, t] of config.tables.entries()) {
      const shape = shapes[i] as TableShape;
      const schema: ChangeValue = { op: 'schema', table: shape.table, columns: shape.columns, lsn, ...marks };
      await broker.produce(config.topic, [changeRecord(null, schema)]);
      await client.query(`DECLARE tributary_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${qualified(t)}`);
      for (;;) {
        if (options.stopped()) {
          await client.query('ROLLBACK');
          return null;
        }
        const batch = await client.query<Record<string, unknown>>(
          `FETCH ${FETCH_ROWS} FROM tributary_snapshot`,
        );
        if (batch.rows.length === 0) break;
        const values: ChangeValue[] = batch.rows.map((raw) => ({
          op: 'r',
          table: shape.table,
          before: null,
          after: rowJson(raw),
          lsn,
          ...marks,
        }));
        await options.mirror?.apply(values.map((value) => ({ keyColumns: shape.keyColumns, value })));
        const records: ProduceRecord[] = values.map((value) =>
          changeRecord(rowKey(shape.keyColumns, value.after ?? null), value),
        );
        await broker.produce(config.topic, records);
        rows += records.length;
        progress.rowsDone = rows;
        options.onProgress(progress);
      }
      await client.query('CLOSE tributary_snapshot');
    }
    await client.query('COMMIT');
    await options.mirror?.endSnapshot();
    await options.positions.save(lsn);
    return { lsn, shapes, rows };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
