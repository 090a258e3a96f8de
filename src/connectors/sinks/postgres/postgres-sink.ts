/**
 * @module connectors/sinks/postgres/postgres-sink
 * `postgres-sink`: upserts each record's value (a JSON object) into a table by key and deletes
 * the row on a tombstone, one transaction per batch. The transaction first locks the partition's
 * row in the positions table, skips records below the stored next offset, writes, and stores the
 * new next offset before it commits, so a batch applied twice (a crash after the commit but
 * before Tributary knew, or two group members during a rebalance) changes nothing the second time.
 *
 * @example
 * await fetch(`${server}/v1/connectors`, { method: 'POST', headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ name: 'orders-to-pg', type: 'postgres-sink',
 *     config: { topics: ['orders'], connectionString: 'postgres://postgres@127.0.0.1/test', table: 'orders' } }) });
 */
import type pg from 'pg';
import type { TopicPartition } from '../../../broker/types.js';
import { TributaryError } from '../../../errors.js';
import { loadPg } from '../../drivers.js';
import type { ConnectorFactory, ConnectorSpec } from '../../types.js';
import {
  changeOf,
  effectiveChanges,
  type JsonRow,
  latestPerKey,
  type RecordChange,
  type RecordWhere,
  recordInvalid,
} from '../record-changes.js';
import { createSinkConnector, sinkOwnsItsPositions, sinkPositionOwner } from '../sink-connector.js';
import { positionKey, type SinkBatch, type SinkTarget } from '../sink-target.js';
import { type PostgresSinkConfig, readPostgresSinkConfig } from './config.js';
import {
  applyAtOnceSql,
  COLUMNS_SQL,
  createPositionsTableSql,
  deleteSql,
  lockPositionSql,
  PRIMARY_KEY_SQL,
  quoteName,
  skipPositionSql,
  storePositionSql,
  upsertSql,
} from './sql.js';

/** Connections per sink: one per partition being applied at once is plenty. */
const POOL_SIZE = 4;
/** SQLSTATE classes retrying cannot fix: data, integrity, syntax/undefined objects, unsupported. */
const PERMANENT_SQLSTATE_CLASSES = ['22', '23', '42', '0A', '21', '2B', '44'];

export const postgresSinkFactory: ConnectorFactory<PostgresSinkConfig> = {
  type: 'postgres-sink',
  kind: 'sink',
  validate: readPostgresSinkConfig,
  create(spec, config, context) {
    return createSinkConnector(
      spec,
      config.common,
      createPostgresSinkTarget(spec, config, context.logger),
      context,
      config.keyed.deadLetterTopic,
    );
  },
  async destroy(spec, config) {
    if (!sinkOwnsItsPositions(config.common)) return; // the group's other members go on from them
    const { Client } = await loadPg();
    const client = new Client({ connectionString: config.connectionString });
    await client.connect();
    try {
      await client.query(`DELETE FROM ${quoteName(config.positionsTable)} WHERE connector = $1`, [
        sinkPositionOwner(spec, config.common),
      ]);
    } catch (error) {
      if ((error as { code?: unknown }).code !== '42P01') throw error; // no positions table: nothing to remove
    } finally {
      await client.end();
    }
  },
};

/** The target alone (no group, no reader): what the connector drives; tests apply batches with it directly. */
export function createPostgresSinkTarget(
  spec: ConnectorSpec,
  config: PostgresSinkConfig,
  logger: { warn(object: object, message: string): void },
): SinkTarget {
  return new PostgresSinkTarget(spec, config, logger);
}

interface WritePlan {
  readonly deletes: JsonRow[];
  /** Rows to upsert, by the columns they carry (joined with NUL). */
  readonly upserts: Map<string, JsonRow[]>;
}

interface TableShape {
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
}

class PostgresSinkTarget implements SinkTarget {
  readonly #spec: ConnectorSpec;
  readonly #config: PostgresSinkConfig;
  readonly #logger: { warn(object: object, message: string): void };
  readonly #table: string;
  readonly #positions: string;
  /** The `connector` column of this sink's rows in the positions table: its group's. */
  readonly #owner: string;
  #pool: pg.Pool | undefined;
  #shape: TableShape | undefined;

  constructor(
    spec: ConnectorSpec,
    config: PostgresSinkConfig,
    logger: { warn(object: object, message: string): void },
  ) {
    this.#spec = spec;
    this.#config = config;
    this.#logger = logger;
    this.#table = quoteName(config.table);
    this.#positions = quoteName(config.positionsTable);
    this.#owner = sinkPositionOwner(spec, config.common);
  }

  async open(): Promise<void> {
    const { Pool } = await loadPg();
    const pool = new Pool({ connectionString: this.#config.connectionString, max: POOL_SIZE });
    // An idle connection that dies (Postgres restarted) must not crash the server: the next query reconnects.
    pool.on('error', (error) =>
      this.#logger.warn({ err: error, connector: this.#spec.name }, 'postgres connection lost'),
    );
    try {
      await createPositionsTable(pool, this.#positions);
      this.#shape = await this.#readShape(pool);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw this.#classify(error);
    }
    this.#pool = pool;
  }

  async storedPositions(partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    const pool = this.#openPool();
    const topics = [...new Set(partitions.map((tp) => tp.topic))];
    const result = await pool.query<{ topic: string; partition: number; next_offset: string }>(
      `SELECT topic, partition, next_offset FROM ${this.#positions} WHERE connector = $1 AND topic = ANY($2)`,
      [this.#owner, topics],
    );
    const positions = new Map<string, number>();
    for (const row of result.rows)
      positions.set(positionKey(row.topic, row.partition), Number(row.next_offset));
    return positions;
  }

  async apply(batch: SinkBatch): Promise<void> {
    const pool = this.#openPool();
    const shape = this.#shape;
    if (shape === undefined) throw new Error('postgres sink used before open()');
    const last = batch.records[batch.records.length - 1];
    if (last === undefined) return;
    const where: RecordWhere = { connector: this.#spec.name, topic: batch.topic, partition: batch.partition };
    if (await this.#applyAtOnce(pool, shape, batch, where)) return;
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const ids = [this.#owner, batch.topic, batch.partition];
      const [ensure, lock] = lockPositionSql(this.#positions);
      await client.query(ensure, ids);
      const locked = await client.query<{ next_offset: string }>(lock, ids);
      const stored = Number(locked.rows[0]?.next_offset ?? 0);
      const fresh = batch.records.filter((record) => record.offset >= stored);
      if (fresh.length > 0) {
        const { format, cdcTable } = this.#config.keyed;
        const { clear, keyed } = effectiveChanges(
          fresh.map((record) => changeOf(record, where, format, cdcTable)),
        );
        // A truncate or a lost slot upstream: every row goes, then what follows it in the batch.
        if (clear) await client.query(`DELETE FROM ${this.#table}`);
        await this.#write(client, shape, keyed, where);
        await client.query(storePositionSql(this.#positions), [...ids, last.offset + 1]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw this.#classify(error);
    } finally {
      client.release(broken);
    }
  }

  async skip(partition: TopicPartition, nextOffset: number): Promise<void> {
    await this.#openPool().query(skipPositionSql(this.#positions), [
      this.#owner,
      partition.topic,
      partition.partition,
      nextOffset,
    ]);
  }

  isPermanent(error: unknown): boolean {
    return error instanceof TributaryError && !error.retriable;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  /**
   * The usual batch in one statement, one round trip: the partition's position moves to the
   * batch's end only if it is at or below the batch's first offset (every record new), and the
   * deletes and the upsert run only if it moved. False when it did not (a batch applied again,
   * a concurrent member), or the batch needs more than one statement (a clear, rows carrying
   * different columns, a record to refuse): the transaction below then decides record by record.
   */
  async #applyAtOnce(
    pool: pg.Pool,
    shape: TableShape,
    batch: SinkBatch,
    where: RecordWhere,
  ): Promise<boolean> {
    const first = batch.records[0];
    const last = batch.records[batch.records.length - 1];
    if (first === undefined || last === undefined) return false;
    let plan: WritePlan;
    try {
      const { format, cdcTable } = this.#config.keyed;
      const { clear, keyed } = effectiveChanges(
        batch.records.map((record) => changeOf(record, where, format, cdcTable)),
      );
      if (clear) return false;
      plan = this.#plan(shape, keyed, where);
    } catch {
      return false;
    }
    if (plan.upserts.size > 1) return false;
    const [columns, rows] = [...plan.upserts][0] ?? [shape.keyColumns.join('\0'), []];
    const result = await pool
      .query<{ n: number }>(
        applyAtOnceSql(this.#positions, this.#table, columns.split('\0'), shape.keyColumns),
        [
          this.#owner,
          batch.topic,
          batch.partition,
          first.offset,
          last.offset + 1,
          JSON.stringify(plan.deletes),
          JSON.stringify(rows),
        ],
      )
      .catch((error: unknown) => {
        throw this.#classify(error);
      });
    return result.rows[0]?.n === 1;
  }

  async #write(
    client: pg.PoolClient,
    shape: TableShape,
    changes: readonly RecordChange[],
    where: RecordWhere,
  ): Promise<void> {
    const { deletes, upserts } = this.#plan(shape, changes, where);
    if (deletes.length > 0)
      await client.query(deleteSql(this.#table, shape.keyColumns), [JSON.stringify(deletes)]);
    for (const [columns, rows] of upserts) {
      const sql = upsertSql(this.#table, columns.split('\0'), shape.keyColumns);
      await client.query(sql, [JSON.stringify(rows)]);
    }
  }

  /** The last change per key, as rows to delete and rows to upsert grouped by the columns they carry. */
  #plan(shape: TableShape, changes: readonly RecordChange[], where: RecordWhere): WritePlan {
    const deletes: JsonRow[] = [];
    const upserts = new Map<string, JsonRow[]>();
    for (const change of latestPerKey(changes.map((change) => this.#keyed(change, shape, where)))) {
      if (change.op === 'delete') {
        deletes.push(change.row);
        continue;
      }
      // Rows are grouped by the columns they carry: an upsert sets exactly the fields its record has.
      const columns = shape.columns.filter((column) => column in change.row).join('\0');
      const group = upserts.get(columns) ?? [];
      group.push(change.row);
      upserts.set(columns, group);
    }
    return { deletes, upserts };
  }

  /**
   * The change with its row's key columns filled from the record key (a JSON object of the key
   * columns, or the text of the one key column), and keyed by those values so two records that
   * name one row in different ways still collapse to the last.
   */
  #keyed(
    change: RecordChange,
    shape: TableShape,
    where: RecordWhere,
  ): { op: 'upsert' | 'delete'; offset: number; key: string; row: JsonRow } {
    const keyFields = keyFieldsOf(change.key, shape.keyColumns);
    if (keyFields === undefined && change.op === 'delete') {
      throw recordInvalid(
        where,
        change.offset,
        `the key must be a JSON object of ${shape.keyColumns.join(', ')}`,
      );
    }
    const row: Record<string, unknown> =
      change.op === 'upsert' ? { ...keyFields, ...change.row } : { ...keyFields };
    for (const column of shape.keyColumns) {
      if (row[column] === undefined || row[column] === null) {
        throw recordInvalid(where, change.offset, `key column ${column} has no value`);
      }
    }
    return {
      op: change.op,
      offset: change.offset,
      key: JSON.stringify(shape.keyColumns.map((c) => row[c])),
      row,
    };
  }

  async #readShape(pool: pg.Pool): Promise<TableShape> {
    const columns = (await pool.query<{ name: string }>(COLUMNS_SQL, [this.#table])).rows.map(
      (row) => row.name,
    );
    const keyColumns =
      this.#config.keyColumns ??
      (await pool.query<{ name: string }>(PRIMARY_KEY_SQL, [this.#table])).rows.map((row) => row.name);
    if (keyColumns.length === 0) {
      throw new TributaryError('SINK_TARGET_REFUSED', {
        connector: this.#spec.name,
        reason: `table ${this.#table} has no primary key; set config.keyColumns to columns of a unique index`,
      });
    }
    const missing = keyColumns.find((column) => !columns.includes(column));
    if (missing !== undefined) {
      throw new TributaryError('SINK_TARGET_REFUSED', {
        connector: this.#spec.name,
        reason: `key column ${missing} is not a writable column of ${this.#table}`,
      });
    }
    return { columns, keyColumns };
  }

  #openPool(): pg.Pool {
    if (this.#pool === undefined) throw new TributaryError('SHUTTING_DOWN');
    return this.#pool;
  }

  /** A Postgres error retrying cannot fix becomes `SINK_TARGET_REFUSED`; others pass through (retried). */
  #classify(error: unknown): unknown {
    const code = (error as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      code.length === 5 &&
      PERMANENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))
    ) {
      return new TributaryError(
        'SINK_TARGET_REFUSED',
        { connector: this.#spec.name, reason: `${code} ${(error as Error).message}` },
        { cause: error },
      );
    }
    return error;
  }
}

/** The key columns' values from a record key: a JSON object of them, or the text of the only one. */
function keyFieldsOf(key: string, keyColumns: readonly string[]): JsonRow | undefined {
  if (key.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(key);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as JsonRow;
    } catch {
      // not JSON: the key is the text of the one key column
    }
  }
  const [only] = keyColumns;
  return keyColumns.length === 1 && only !== undefined ? { [only]: key } : undefined;
}

async function createPositionsTable(pool: pg.Pool, positionsTable: string): Promise<void> {
  try {
    await pool.query(createPositionsTableSql(positionsTable));
  } catch (error) {
    // Two sinks creating it at once: one of them loses the race on the catalog, the table exists.
    const code = (error as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P07') throw error;
  }
}
