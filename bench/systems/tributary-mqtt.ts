/**
 * @module bench/systems/tributary-mqtt
 * Tributary's MQTT front end as one system of the MQTT suite: the built server, started like the
 * `tributary` system (`node --initial-old-space-size=64 dist/cli/main.js serve`, file log in the
 * run's directory) with `--mqtt-port P` (the harness's free port, what the clients connect to),
 * its HTTP port on a second free port and the Kafka port off. Clients: mqtt.js
 * (`./mqtt-client.ts`), the same as for Mosquitto and Aedes.
 *
 * Each run's Tributary topic is created over HTTP before it (`POST /v1/topics`, 1 partition,
 * `fsync: 'interval'`: a PUBACK once the message is appended, fdatasync within 100 ms) and
 * deleted after it. The MQTT topic is that name, so every message is a record of that topic
 * with the MQTT topic name as its key.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SERVER_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { freePort, LOOPBACK, waitForPort } from '../lib/procs.js';
import { BUILT_CLI, ensureBuilt } from './build.js';
import { startNodeBuilt } from './node-server.js';
import { tributary } from './tributary.js';
import { MQTT_CAPABILITIES, type SystemModule, type Target } from './types.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** MQTT port → HTTP port of the servers this process started (the admin calls use HTTP). */
const httpPorts = new Map<number, number>();

function adminTarget(target: Target): Target {
  const httpPort = httpPorts.get(target.endpoint.port);
  if (httpPort === undefined) throw new Error(`no Tributary server on MQTT port ${target.endpoint.port}`);
  return { ...target, endpoint: { ...target.endpoint, port: httpPort } };
}

/** Why the built server has no MQTT front end, or undefined when `serve --mqtt-port` exists. */
async function mqttProblem(): Promise<string | undefined> {
  const built = ensureBuilt(PROJECT_ROOT);
  if (built !== undefined) return built;
  const help = await promisify(execFile)(process.execPath, [BUILT_CLI, 'serve', '--help'], {
    cwd: PROJECT_ROOT,
  }).then(
    (output) => output.stdout,
    () => '',
  );
  return help.includes('--mqtt-port')
    ? undefined
    : 'skipped: this build has no MQTT front end (`tributary serve --mqtt-port` is unknown)';
}

export const tributaryMqtt: SystemModule = {
  id: 'tributary-mqtt',
  label: 'tributary',
  description:
    "Tributary's MQTT front end (built: node --initial-old-space-size=64 dist/cli/main.js serve --mqtt-port, file log, topics fsync 'interval'), mqtt.js MQTT 3.1.1 clients",
  capabilities: MQTT_CAPABILITIES,
  unavailable: mqttProblem,
  async start(context) {
    const httpPort = await freePort();
    const child = await startNodeBuilt(
      { ...context, port: httpPort },
      'tributary server (MQTT)',
      BUILT_CLI,
      [
        'serve',
        ...['--host', LOOPBACK, '--port', String(httpPort), '--mqtt-port', String(context.port)],
        ...['--kafka-port', '0', '--data', context.dir, '--log-level', 'warn'],
      ],
      SERVER_NODE_FLAGS,
    );
    await waitForPort(context.port, child, 30_000);
    httpPorts.set(context.port, httpPort);
    return child;
  },
  prepare: (target, durability) => tributary.prepare(adminTarget(target), durability),
  cleanup: (target, durability) => tributary.cleanup(adminTarget(target), durability),
  async loadClient() {
    const { mqttClient } = await import('./mqtt-client.js');
    return mqttClient;
  },
  version: (context) => tributary.version(context),
};
