/**
 * @module bench/systems/aedes
 * Aedes 1 as an MQTT peer: `bench/servers/aedes-server.ts` (compiled by esbuild and run with plain
 * `node`, like Tributary's built server, so neither carries the tsx loader), with Aedes's default
 * in-memory persistence and emitter: nothing is written to disk. Clients: mqtt.js
 * (`./mqtt-client.ts`), MQTT 3.1.1 (Aedes 1 has no MQTT 5).
 */
import { packageVersion, startNodeCompiled } from './node-server.js';
import { MQTT_CAPABILITIES, type SystemModule } from './types.js';

export const aedes: SystemModule = {
  id: 'aedes',
  label: 'aedes',
  description:
    'Aedes 1 (Node, plain node, default in-memory persistence and mqemitter), mqtt.js MQTT 3.1.1 clients',
  capabilities: MQTT_CAPABILITIES,
  async unavailable() {
    return undefined;
  },
  start(context) {
    return startNodeCompiled(context, 'aedes', 'bench/servers/aedes-server.ts', [
      '--port',
      String(context.port),
    ]);
  },
  async prepare() {},
  async cleanup() {},
  async loadClient() {
    const { mqttClient } = await import('./mqtt-client.js');
    return mqttClient;
  },
  async version(context) {
    return packageVersion(context.projectRoot, 'aedes');
  },
};
