/**
 * An idle Node process, started the same way as the Node servers under test
 * (`node --import tsx bench/servers/idle.ts`): its resident memory is the loader baseline that
 * every Node server in the benchmark carries (tsx's transform hooks), reported next to the memory
 * table so the servers' own memory can be told apart from it. Exits on SIGTERM / SIGINT.
 */
import { exitOnSignal } from './args.js';

const keepAlive = setInterval(() => undefined, 60_000);
process.stdout.write('idle\n');
exitOnSignal(() => clearInterval(keepAlive));
