/**
 * MQTT benchmark: `npm run bench:mqtt` (add `-- --quick` or `-- --smoke`). The MQTT suite of
 * `bench/run.ts` alone: Tributary's MQTT front end against Mosquitto and Aedes, every server
 * started on a free loopback port and stopped by pid, mqtt.js clients in separate load-generator
 * processes. Workloads and method: `bench/workloads/mqtt.ts` and docs/benchmarks.md, "MQTT".
 * Takes the same options as `bench/run.ts` (`--repeats`, `--only`, `--systems`, `--results-dir`,
 * `--keep-temp`). A plain script, never a test.
 */
import { runAndExit } from './run.js';

await runAndExit(['--suites', 'mqtt', ...process.argv.slice(2)]);
