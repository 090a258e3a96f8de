/**
 * An Aedes 1 MQTT broker, the "Aedes" peer of the MQTT benchmark (`bench/systems/aedes.ts`), with
 * Aedes's defaults: in-memory persistence (`aedes-persistence`) and the in-memory emitter
 * (`mqemitter`). Nothing is written to disk: a QoS 1 PUBACK means "in memory".
 *
 * Run: `node --import tsx bench/servers/aedes-server.ts --port 41234`
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { exitOnSignal, parseListenArgs } from './args.js';

const { port, host } = parseListenArgs(process.argv.slice(2));
const broker = await Aedes.createBroker();
// TCP_NODELAY, as Tributary's MQTT front end and Mosquitto (`set_tcp_nodelay true`) run here.
const server = createServer({ noDelay: true }, broker.handle);
server.listen(port, host, () => {
  process.stdout.write(`aedes listening on ${host}:${port}\n`);
});
exitOnSignal(
  () =>
    new Promise<void>((resolve) => {
      server.close();
      broker.close(() => resolve());
    }),
);
