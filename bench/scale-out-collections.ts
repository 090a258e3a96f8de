/**
 * Strong-collection writes across gateways: the compare-and-set workload of
 * `test/cas-workload.ts` (clients over WebSocket reading, writing and compare-and-setting a few
 * hot keys of one partition) on 1, 2, … `tributary serve` gateways over one nats-server started
 * here, clients spread over the gateways. Prints operations per second, the outcome counts and
 * whether every key's history is linearizable (`test/linearizability.ts`), per gateway count,
 * and the gateways' CPU per operation (their `tributary_process_cpu_seconds_total` over the run;
 * the nats-server's and the clients' not included).
 *
 *   npx tsx bench/scale-out-collections.ts [--ops 2000] [--clients 6] [--keys 2] [--seed 11] [--gateways 1,2] [--repeats 1] [--routing on,off]
 *
 * `--workload writers` runs `./scale-out-writers.ts` instead: many clients (`--clients`, e.g.
 * 48) each writing its own key of one partition, puts and compare-and-sets (`--cas-share`), for
 * `--seconds`; it prints acknowledged writes/s, refusals, the gateways' lost appends
 * (conflicts) and forwarded writes, and CPU per acknowledged write of each gateway, of the
 * nats-server and of the clients' process (/proc/<pid>/stat).
 *
 *   npx tsx bench/scale-out-collections.ts --workload writers --clients 48 --gateways 2,3 --routing on,off [--seconds 20] [--cas-share 0.5]
 *
 * `--routing on,off` runs each gateway count with partition routing (`logCollectionRouting`) on
 * and off, alternated. docs/scale-out.md ("Strong collections across gateways") quotes the figures.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNatsServers } from '../src/log/jetstream/testing/nats-servers.js';
import { checkCasWorkload, runCasWorkload } from '../test/cas-workload.js';
import { metricValue } from '../test/http-helpers.js';
import { runWriters } from './scale-out-writers.js';

/** CPU seconds the gateways used so far, summed (their own `process_cpu_seconds_total`). */
async function gatewaysCpuSeconds(urls: readonly string[]): Promise<number> {
  let sum = 0;
  for (const url of urls) sum += await metricValue(url, 'tributary_process_cpu_seconds_total');
  return sum;
}

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '6' },
    keys: { type: 'string', default: '2' },
    seed: { type: 'string', default: '11' },
    gateways: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '1' },
    routing: { type: 'string', default: 'on' },
    workload: { type: 'string', default: 'cas' },
    seconds: { type: 'string', default: '20' },
    'cas-share': { type: 'string', default: '0.5' },
  },
});
const counts = values.gateways.split(',').map(Number);
const routings = values.routing.split(',').map((each) => each === 'on');
for (let repeat = 0; repeat < Number(values.repeats); repeat++) {
  for (const count of counts) {
    for (const routing of routings) await runOnce(count, routing);
  }
}

async function runOnce(count: number, routing: boolean): Promise<void> {
  const label = `${count} gateway(s), routing ${routing ? 'on' : 'off'}`;
  // A fresh nats-server per run: the workload creates its collection anew.
  const natsPids: number[] = [];
  const nats = await startNatsServers({
    startTimeoutMs: 120_000,
    onSpawn: (_name, child) => {
      if (child.pid !== undefined) natsPids.push(child.pid);
    },
  });
  try {
    if (values.workload === 'writers') {
      const result = await runWriters({
        logUrl: nats.urls.join(','),
        natsPids,
        gateways: count,
        clients: Number(values.clients),
        seconds: Number(values.seconds),
        casShare: Number(values['cas-share']),
        routing,
      });
      const cpu = result.cpuUsPerWrite;
      console.log(
        `${label}, ${values.clients} clients: ${result.writesPerSecond} acknowledged writes/s ` +
          `(${result.acknowledged}, ${result.casAcknowledged} of them CAS, in ${result.elapsedMs} ms), ` +
          `refused ${JSON.stringify(result.refused)}, lost appends (conflicts) ${result.conflicts}, forwarded ${result.forwarded}, ` +
          `appends ${result.appends} (${(result.acknowledged / Math.max(1, result.appends)).toFixed(1)} writes each, mean ${result.appendMeanMs} ms); ` +
          `CPU µs/write: gateways ${cpu.gateways.join(' + ')} = ${cpu.gateways.reduce((a, b) => a + b, 0)}, nats-server ${cpu.nats}, clients ${cpu.clients}`,
      );
      return;
    }
    let cpuAtStart = 0;
    let cpuAtEnd = 0;
    const result = await runCasWorkload({
      ops: Number(values.ops),
      kills: 0,
      clients: Number(values.clients),
      keys: Number(values.keys),
      seed: Number(values.seed),
      gateways: {
        logUrl: nats.urls.join(','),
        count,
        ...(routing ? {} : { args: ['--config', await routingOffConfig()] }),
      },
      afterStart: async (urls) => {
        cpuAtStart = await gatewaysCpuSeconds(urls);
      },
      beforeStop: async (urls) => {
        cpuAtEnd = await gatewaysCpuSeconds(urls);
      },
    });
    const checked = checkCasWorkload(result);
    const opsPerSecond = Math.round((result.stats.ops * 1000) / result.stats.elapsedMs);
    const ok = checked.failures.length === 0 && result.anomalies.length === 0;
    console.log(
      `${label}: ${opsPerSecond} ops/s, gateways' CPU ${((1e6 * (cpuAtEnd - cpuAtStart)) / result.stats.ops).toFixed(0)} µs/op ${JSON.stringify(result.stats)} ${ok ? 'linearizable' : `NOT linearizable: ${[...checked.failures, ...result.anomalies].join('; ')}`}`,
    );
  } finally {
    await nats.stop();
  }
}

/** A config file turning partition routing off (written once, removed at exit). */
async function routingOffConfig(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-routing-off-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ logCollectionRouting: false }));
  return file;
}
