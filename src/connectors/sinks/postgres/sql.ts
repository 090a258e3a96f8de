/**
 * @module connectors/sinks/postgres/sql
 * The SQL of the Postgres sink, built once per table from quoted identifiers (never from record
 * data: rows travel as one JSONB parameter that `jsonb_populate_recordset` turns into the
 * table's own row type, so Postgres does every type conversion).
 */

/** `"a"."b"`, doubling any `"` inside a part. */
export function quoteName(parts: readonly string[]): string {
  return parts.map(quoteIdentifier).join('.');
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function createPositionsTableSql(positionsTable: string): string {
  return `CREATE TABLE IF NOT EXISTS ${positionsTable} (
  connector text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  next_offset bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connector, topic, partition))`;
}

/** Locks the partition's position row (made first if missing) so appliers of one partition take turns. */
export function lockPositionSql(positionsTable: string): readonly [string, string] {
  return [
    `INSERT INTO ${positionsTable} (connector, topic, partition, next_offset) VALUES ($1, $2, $3, 0)
     ON CONFLICT (connector, topic, partition) DO NOTHING`,
    `SELECT next_offset FROM ${positionsTable} WHERE connector = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
  ];
}

export function storePositionSql(positionsTable: string): string {
  return `UPDATE ${positionsTable} SET next_offset = $4, updated_at = now()
    WHERE connector = $1 AND topic = $2 AND partition = $3`;
}

/** Moves a partition's position forward (never back), making its row if missing. */
export function skipPositionSql(positionsTable: string): string {
  return `INSERT INTO ${positionsTable} AS p (connector, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
    ON CONFLICT (connector, topic, partition)
    DO UPDATE SET next_offset = GREATEST(p.next_offset, EXCLUDED.next_offset), updated_at = now()`;
}

/**
 * A whole batch as one statement: $1–$3 the position row, $4 the batch's first offset, $5 its
 * next offset, $6 the rows to delete, $7 the rows to upsert (both JSONB arrays). The position row
 * moves to $5 (made if missing) only when it is at or below $4, and the writes run only when it
 * moved; the answer's `n` is 1 then, else 0 and nothing changed. Deletes and upserts name
 * different keys (the last change per key), so the two never touch one row.
 */
export function applyAtOnceSql(
  positionsTable: string,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
): string {
  const list = columns.map(quoteIdentifier).join(', ');
  const updates = columns.filter((column) => !keyColumns.includes(column));
  const onConflict =
    updates.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updates.map((c) => `${quoteIdentifier(c)} = EXCLUDED.${quoteIdentifier(c)}`).join(', ')}`;
  const match = keyColumns.map((c) => `t.${quoteIdentifier(c)} = d.${quoteIdentifier(c)}`).join(' AND ');
  return `WITH moved AS (
    INSERT INTO ${positionsTable} AS p (connector, topic, partition, next_offset) VALUES ($1, $2, $3, $5)
    ON CONFLICT (connector, topic, partition)
    DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now() WHERE p.next_offset <= $4
    RETURNING 1),
  gone AS (
    DELETE FROM ${table} AS t USING jsonb_populate_recordset(NULL::${table}, $6::jsonb) AS d
    WHERE ${match} AND EXISTS (SELECT 1 FROM moved)),
  put AS (
    INSERT INTO ${table} (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::${table}, $7::jsonb)
    WHERE EXISTS (SELECT 1 FROM moved)
    ON CONFLICT (${keyColumns.map(quoteIdentifier).join(', ')}) ${onConflict})
  SELECT count(*)::int AS n FROM moved`;
}

export function upsertSql(table: string, columns: readonly string[], keyColumns: readonly string[]): string {
  const list = columns.map(quoteIdentifier).join(', ');
  const updates = columns.filter((column) => !keyColumns.includes(column));
  const onConflict =
    updates.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updates.map((c) => `${quoteIdentifier(c)} = EXCLUDED.${quoteIdentifier(c)}`).join(', ')}`;
  return `INSERT INTO ${table} (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)
    ON CONFLICT (${keyColumns.map(quoteIdentifier).join(', ')}) ${onConflict}`;
}

export function deleteSql(table: string, keyColumns: readonly string[]): string {
  const match = keyColumns.map((c) => `t.${quoteIdentifier(c)} = d.${quoteIdentifier(c)}`).join(' AND ');
  return `DELETE FROM ${table} AS t USING jsonb_populate_recordset(NULL::${table}, $1::jsonb) AS d WHERE ${match}`;
}

/** Columns of the table that can be written (not generated), in table order. */
export const COLUMNS_SQL = `SELECT a.attname AS name FROM pg_attribute a
  WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
  ORDER BY a.attnum`;

export const PRIMARY_KEY_SQL = `SELECT a.attname AS name FROM pg_index i
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
  WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`;
