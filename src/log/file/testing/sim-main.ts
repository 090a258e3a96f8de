/**
 * @module log/file/testing/sim-main
 * Runs the file engine's fault simulation (simulation.ts) over many seeds and prints the seed of
 * every failure so it can be replayed.
 *
 * @example
 * npm run sim -- --seeds 5000              # seeds 1…5000
 * npm run sim -- --seeds 5000 --from 90000 # seeds 90000…94999
 * npm run sim -- --seed 12345 --trace      # replay one seed, printing its events
 */
import { parseArgs } from 'node:util';
import { runSimulation } from './simulation.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    seed: { type: 'string' },
    steps: { type: 'string', default: '200' },
    trace: { type: 'boolean', default: false },
    'flip-anywhere': { type: 'boolean', default: false },
  },
});

const steps = Number(values.steps);
const flipAnywhere = values['flip-anywhere'];
const seeds =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.from) + i);

const failed: number[] = [];
const totals = { appends: 0, acknowledged: 0, crashes: 0, flips: 0, damageReports: 0, recordsChecked: 0 };
const started = Date.now();
for (const [i, seed] of seeds.entries()) {
  const report = await runSimulation(seed, {
    steps,
    flipAnywhere,
    ...(values.trace ? { trace: (line: string) => console.log(line) } : {}),
  });
  for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += report.stats[key];
  if (!report.ok) {
    failed.push(seed);
    console.log(`FAIL seed ${seed} (${report.config}): ${report.failure}`);
    console.log(
      `  replay: npm run sim -- --seed ${seed} --steps ${steps}${flipAnywhere ? ' --flip-anywhere' : ''} --trace`,
    );
  } else if (seeds.length === 1) {
    console.log(`ok seed ${seed} (${report.config}) ${JSON.stringify(report.stats)}`);
  }
  if ((i + 1) % 100 === 0) {
    console.log(
      `${i + 1}/${seeds.length} seeds, ${failed.length} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  }
}
console.log(
  `${seeds.length} seeds run, ${failed.length} failed${failed.length > 0 ? ` (${failed.join(', ')})` : ''}; ` +
    `${totals.appends} appends, ${totals.acknowledged} acknowledged, ${totals.crashes} crashes, ` +
    `${totals.flips} bytes flipped at rest, ${totals.damageReports} damage reports, ` +
    `${totals.recordsChecked} records checked, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exitCode = failed.length > 0 ? 1 : 0;
