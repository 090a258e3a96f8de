/**
 * One Nexmark pipeline worker process: `worker.ts <ws url> <query> <pipeline name>`. Prints
 * `ready` once it has its partitions; runs until killed.
 */
import { connect } from '../../src/client/node/index.js';
import { runPipeline } from '../../src/processing/index.js';
import { QUERIES } from './model.js';

const [url, queryName, name] = process.argv.slice(2);
const query = QUERIES.find((q) => q.name === queryName);
if (query === undefined) throw new Error(`unknown query ${queryName}`);
const client = await connect({ url: url!, reconnect: false });
const run = await runPipeline(client, query.pipeline(name!), { batchRecordsMax: 1000 });
run.on('error', (error) => process.stderr.write(`pipeline error: ${String(error)}\n`));
client.on('close', () => process.exit(3));
await run.ready;
process.stdout.write('ready\n');
