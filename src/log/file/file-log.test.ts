import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLogContract } from '../log.contract.js';
import { openFileLog } from './file-log.js';

describeLogContract('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-log-'));
  return {
    log: await openFileLog({ dir, maintenanceIntervalMs: 0 }),
    reopen: () => openFileLog({ dir, maintenanceIntervalMs: 0 }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
