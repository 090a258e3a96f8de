/**
 * Strong-collection writes across gateways: the compare-and-set workload of
 * `test/cas-workload.ts` (clients over WebSocket reading, writing and compare-and-setting a few
 * hot keys of one partition) on 1, 2, … `tributary serve` gateways over one nats-server started
 * here, clients spread over the gateways. Prints operations per second, the outcome counts and
 * whether every key's history is linearizable (`test/linearizability.ts`), per gateway count,
 * and the gateways' CPU per operation (their `tributary_process_cpu_seconds_total` over the run;
 * the nats-server's and the clients' not included).
 *
 *   npx tsx bench/scale-out-collections.ts [--ops 2000] [--clients 6] [--keys 2] [--seed 11] [--gateways 1,2] [--repeats 1]
 *
 * docs/scale-out.md ("Strong collections across gateways") quotes its figures.
 */
import { parseArgs } from 'node:util';
import { startNatsServers } from '../src/log/jetstream/testing/nats-servers.js';
import { checkCasWorkload, runCasWorkload } from '../test/cas-workload.js';
import { metricValue } from '../test/http-helpers.js';

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
  },
});
const counts = values.gateways.split(',').map(Number);
for (let repeat = 0; repeat < Number(values.repeats); repeat++) {
  for (const count of counts) {
    // A fresh nats-server per run: the workload creates its collection anew.
    const nats = await startNatsServers({ startTimeoutMs: 120_000 });
    try {
      let cpuAtStart = 0;
      let cpuAtEnd = 0;
      const result = await runCasWorkload({
        ops: Number(values.ops),
        kills: 0,
        clients: Number(values.clients),
        keys: Number(values.keys),
        seed: Number(values.seed),
        gateways: { logUrl: nats.urls.join(','), count },
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
        `${count} gateway(s): ${opsPerSecond} ops/s, gateways' CPU ${((1e6 * (cpuAtEnd - cpuAtStart)) / result.stats.ops).toFixed(0)} µs/op ${JSON.stringify(result.stats)} ${ok ? 'linearizable' : `NOT linearizable: ${[...checked.failures, ...result.anomalies].join('; ')}`}`,
      );
    } finally {
      await nats.stop();
    }
  }
}
