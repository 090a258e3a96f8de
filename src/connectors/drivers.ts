/**
 * @module connectors/drivers
 * The client libraries connectors use, loaded on first use: a server with no connector of a
 * type never loads its driver (start-up time, memory at rest). Types come from `import type`.
 */
import type { Redis } from 'ioredis';
import type PgModule from 'pg';

type LogicalReplicationModule = typeof import('pg-logical-replication');

let pg: Promise<typeof PgModule> | undefined;
let redis: Promise<typeof Redis> | undefined;
let logicalReplication: Promise<LogicalReplicationModule> | undefined;

/** `pg` (node-postgres). */
export function loadPg(): Promise<typeof PgModule> {
  pg ??= import('pg').then((module) => module.default);
  return pg;
}

/** The `Redis` client class of `ioredis`. */
export function loadRedis(): Promise<typeof Redis> {
  redis ??= import('ioredis').then((module) => module.Redis);
  return redis;
}

/** `pg-logical-replication` (the replication stream and its pgoutput decoder). */
export function loadLogicalReplication(): Promise<LogicalReplicationModule> {
  logicalReplication ??= import('pg-logical-replication');
  return logicalReplication;
}
