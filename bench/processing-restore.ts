/**
 * How long a pipeline task takes to restore a large state from its compacted changelog: the
 * time a moved or restarted task is unavailable. For each state size (`RESTORE_KEYS`, default
 * 100000,300000), a `tributary serve` child process (file log) holds a one-partition source of
 * that many distinct keys; a pipeline keeps a running count per key (one state key per source
 * key, one changelog record each), runs to the end and stops. Then:
 *
 * - `read`: the restore's own work, as the runtime does it (processing/topics `readCommitted` of
 *   the changelog partition into a `StateStore`): wall time, this process's CPU time and the
 *   server's (from /proc);
 * - `worker`: a new worker (runPipeline) started, one more record produced, and the time until
 *   that record's batch committed: joining the group, restoring, processing and committing.
 *
 * @example
 * RESTORE_KEYS=100000,500000 npm run bench:processing-restore
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type TributaryClient } from '../src/client/node/index.js';
import { groupOf, pipeline, runPipeline, topic } from '../src/processing/index.js';
import { StateStore } from '../src/processing/state.js';
import { changelogTopic, readCommitted } from '../src/processing/topics.js';
import { freePort, killServer, startServerProcess } from '../test/fixtures/server-process.js';
import { cpuStopwatch, processCpuMs } from './lib/system.js';

const SIZES = (process.env.RESTORE_KEYS ?? '100000,300000').split(',').map(Number);

function definition(name: string, source: string) {
  return pipeline(name)
    .from(topic<{ k: string }>(source))
    .keyBy((v) => v.k)
    .aggregate({ init: () => 0, add: (n: number) => n + 1 }, { name: 'count' })
    .to(topic(`${name}.out`));
}

async function produceKeys(
  client: TributaryClient,
  name: string,
  from: number,
  count: number,
): Promise<void> {
  const producer = client.producer({ topic: name });
  const chunk = 5_000;
  for (let i = from; i < from + count; i += chunk) {
    const sends: Promise<unknown>[] = [];
    for (let k = i; k < Math.min(from + count, i + chunk); k++) {
      sends.push(producer.send({ key: `key-${k}`, value: JSON.stringify({ k: `key-${k}` }), partition: 0 }));
    }
    await Promise.all(sends);
  }
  await producer.close();
}

async function caughtUp(client: TributaryClient, groupId: string, source: string): Promise<void> {
  for (;;) {
    const end = (await client.admin.offsets(source, 0)).next;
    const { offsets } = await client.connection.request(
      'fetchOffsets',
      { groupId, partitions: [{ topic: source, partition: 0 }] },
      'safe',
    );
    if (offsets[0]?.offset === end) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tributary-restore-'));
const server = await startServerProcess(dir, await freePort());
const rows: string[] = [];
try {
  const client = await connect({ url: server.wsUrl, reconnect: false });
  for (const keys of SIZES) {
    const name = `restore${keys}`;
    const source = `${name}-src`;
    await client.admin.createTopic(source, { partitions: 1 });
    let t = performance.now();
    await produceKeys(client, source, 0, keys);
    console.log(`${keys} keys produced in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    const first = await runPipeline(client, definition(name, source), { batchRecordsMax: 2_000 });
    await caughtUp(client, groupOf(name), source);
    await first.stop();
    console.log(`${keys} keys processed in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const changelog = changelogTopic(name, 'count');
    const offsets = await client.admin.offsets(changelog, 0);

    const store = new StateStore();
    const decoder = new TextDecoder();
    const cpu = cpuStopwatch();
    const serverCpuBefore = processCpuMs(server.child.pid!);
    t = performance.now();
    await readCommitted(client, changelog, 0, (records) => {
      for (const r of records) if (r.key !== null) store.restore(decoder.decode(r.key), r.value);
    });
    const readMs = performance.now() - t;
    const readCpuMs = cpu();
    const serverCpuMs = processCpuMs(server.child.pid!) - serverCpuBefore;

    const worker = await connect({ url: server.wsUrl, reconnect: false });
    t = performance.now();
    const second = await runPipeline(worker, definition(name, source), { batchRecordsMax: 2_000 });
    const committed = new Promise<void>((resolve) => second.on('committed', () => resolve()));
    await produceKeys(client, source, 0, 1);
    await committed;
    const workerMs = performance.now() - t;
    await second.stop();
    await worker.close();
    const line = `| ${keys.toLocaleString('en-US')} | ${store.size.toLocaleString('en-US')} | ${(offsets.next - offsets.earliest).toLocaleString('en-US')} | ${(readMs / 1000).toFixed(2)} | ${(readCpuMs / 1000).toFixed(2)} | ${(serverCpuMs / 1000).toFixed(2)} | ${(workerMs / 1000).toFixed(2)} | ${((readMs / keys) * 100).toFixed(2)} |`;
    console.log(line);
    rows.push(line);
  }
  await client.close();
} finally {
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  '\n| keys | restored keys | changelog offsets | read s | read CPU s (worker) | read CPU s (server) | new worker to first commit s | read s per 100k keys |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
