/**
 * @module connectors/postgres-cdc
 * The `postgres-cdc` source connector type (docs/connectors.md, "Postgres change data
 * capture"): `pg` + `pg-logical-replication` with the built-in `pgoutput` plugin, so the
 * database needs no extension, only `wal_level = logical` and a role allowed to replicate.
 * Deleting the connector drops its replication slot (which would otherwise hold WAL forever)
 * and its publication.
 */
import { loadPg } from '../drivers.js';
import type { ConnectorFactory } from '../types.js';
import { dropPublication, dropSlot } from './catalog.js';
import { checkCdcConfig, type PostgresCdcConfig, validateCdcConfig } from './config.js';
import { PostgresCdcConnector } from './connector.js';

export type { PostgresCdcConfig } from './config.js';
export type { ChangeOp, ChangeValue } from './records.js';

export const postgresCdcFactory: ConnectorFactory<PostgresCdcConfig> = {
  type: 'postgres-cdc',
  kind: 'source',
  validate: validateCdcConfig,
  create: (spec, _config, context) =>
    new PostgresCdcConnector(spec, checkCdcConfig(spec.config, spec.name), context),
  async destroy(spec) {
    const config = checkCdcConfig(spec.config, spec.name);
    const { Client } = await loadPg();
    const client = new Client({ connectionString: config.connectionString });
    await client.connect();
    try {
      await dropSlot(client, config.slot);
      await dropPublication(client, config.publication);
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};
