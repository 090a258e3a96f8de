/**
 * The long run of the CAS-heavy linearizability check: `npm run test:linearizability` (defaults:
 * 40,000 operations, 10 SIGKILLs, 8 clients, 3 hot keys; `-- --ops N --kills K --seed S`).
 * Prints the figures and exits 1 if any key's history is not linearizable.
 */
import { parseArgs } from 'node:util';
import { checkCasWorkload, runCasWorkload } from './cas-workload.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '40000' },
    kills: { type: 'string', default: '10' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    clients: { type: 'string', default: '8' },
    keys: { type: 'string', default: '3' },
  },
});
const seed = Number(values.seed);
console.log(`seed ${seed}`);
const result = await runCasWorkload({
  ops: Number(values.ops),
  kills: Number(values.kills),
  clients: Number(values.clients),
  keys: Number(values.keys),
  seed,
  log: (line) => console.log(line),
});
const checked = checkCasWorkload(result);
console.log(JSON.stringify({ ...result.stats, checkSteps: checked.steps, checkMs: checked.checkMs }));
for (const [key, history] of result.histories) console.log(`${key}: ${history.length} ops checked`);
for (const anomaly of result.anomalies) console.log(`anomaly: ${anomaly}`);
for (const failure of checked.failures) console.log(failure);
const ok = checked.failures.length === 0 && result.anomalies.length === 0;
console.log(ok ? `linearizable (seed ${seed})` : `NOT linearizable (seed ${seed})`);
process.exit(ok ? 0 : 1);
