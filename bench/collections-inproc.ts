/**
 * The sync layer's cost per write without any front end: `npx tsx bench/collections-inproc.ts
 * [--ms 4000] [--writers 64]`. A CollectionService on a file log (`fsync: always`) and LMDB
 * stored documents, in this process; `writers` concurrent writers each keep one `put` in flight
 * on random keys (1000 keys, ~100-byte documents), as `bench:collections`'s writes rows do over
 * WebSocket. Prints writes/s and this process's CPU per write, for `eventual` and `strong`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createBroker } from '../src/broker/broker.js';
import { openFileLog } from '../src/log/file/file-log.js';
import { CollectionService } from '../src/sync/index.js';

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const MS = arg('--ms', 4000);
const WRITERS = arg('--writers', 64);
const PAYLOAD = 'x'.repeat(80);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-collections-inproc-'));
  const log = await openFileLog({ dir: join(dir, 'log'), maintenanceIntervalMs: 0 });
  const broker = (await createBroker(log)).forSystem();
  const service = await CollectionService.open(broker, { checkpointDir: join(dir, 'collections') });
  try {
    for (const mode of ['eventual', 'strong'] as const) {
      await service.create(`bench-${mode}`, { mode });
      const collection = service.collection(`bench-${mode}`);
      let ops = 0;
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const deadline = started + MS;
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, c) => {
          let i = 0;
          while (performance.now() < deadline) {
            i++;
            const key = `k${(c * 7919 + i * 104729) % 1000}`;
            await collection.write({ op: 'put', key, value: { n: i, payload: PAYLOAD } });
            ops++;
          }
        }),
      );
      const elapsed = performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      const cpuUs = cpu.user + cpu.system;
      process.stdout.write(
        `${mode.padEnd(8)} ${Math.round((ops * 1000) / elapsed)} writes/s, CPU ${(cpuUs / ops).toFixed(1)} µs/write (user ${(cpu.user / ops).toFixed(1)}, system ${(cpu.system / ops).toFixed(1)})\n`,
      );
    }
  } finally {
    await service.close();
    await broker.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
