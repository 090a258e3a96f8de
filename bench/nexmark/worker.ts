/**
 * One Nexmark pipeline worker process: `worker.ts <ws url> <query> <pipeline name>`. Runs
 * every pipeline of the query; prints `ready` once each has its partitions; runs until killed.
 */
import { connect } from '../../src/client/node/index.js';
import { runPipeline } from '../../src/processing/index.js';
import { QUERIES } from './model.js';

const [url, queryName, name] = process.argv.slice(2);
const query = QUERIES.find((q) => q.name === queryName);
if (query === undefined) throw new Error(`unknown query ${queryName}`);
const client = await connect({ url: url!, reconnect: false });
const runs = [];
for (const definition of query.pipelines(name!)) {
  const run = await runPipeline(client, definition, { batchRecordsMax: 1000 });
  run.on('error', (error) => process.stderr.write(`pipeline error: ${String(error)}\n`));
  // Expected while a second worker joins: the former owner's commit is refused, and it restores.
  run.on('fenced', (partition) => process.stderr.write(`task ${partition} fenced, restoring\n`));
  runs.push(run);
}
client.on('close', () => process.exit(3));
await Promise.all(runs.map((r) => r.ready));
process.stdout.write('ready\n');
