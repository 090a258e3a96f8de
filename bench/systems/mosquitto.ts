/**
 * @module bench/systems/mosquitto
 * Eclipse Mosquitto as an MQTT peer: `mosquitto -c <dir>/mosquitto.conf`, a config written here
 * with one listener on 127.0.0.1 and the harness's free port, anonymous clients, and persistence
 * on in the run's directory. Clients: mqtt.js (`./mqtt-client.ts`).
 *
 * Persistence, as close to Tributary's as Mosquitto goes: Mosquitto has no message log. It keeps
 * messages in memory and, with `persistence true`, writes a snapshot of its state (retained
 * messages, persistent sessions and their queued messages) to `mosquitto.db`; `autosave_interval
 * 1` makes that every second when something changed (the default is 30 minutes), the nearest it
 * has to Tributary's fsync within 100 ms. With the clean sessions and unretained messages of these
 * workloads the snapshot holds nearly nothing: a QoS 1 PUBACK from Mosquitto means "in memory".
 * `set_tcp_nodelay true` sends small packets at once, as Tributary's front end and the Aedes server
 * here do. Everything else is Mosquitto's default (among them `max_inflight_messages 20` and
 * `max_queued_messages 1000` per client).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary, LOOPBACK, waitForPort } from '../lib/procs.js';
import { MQTT_CAPABILITIES, type SystemModule } from './types.js';

/** Debian's path; anything else on PATH or in the sbin directories is found too. */
const BINARY = 'mosquitto';

export function mosquittoConfig(port: number, dir: string): string {
  return [
    `listener ${port} ${LOOPBACK}`,
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    // TCP_NODELAY, as Tributary's front end and Aedes here (and every WebSocket server) run.
    'set_tcp_nodelay true',
    // Started as root, Mosquitto would switch to the `mosquitto` user, which cannot write the run's directory.
    `user ${userInfo().username}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n');
}

export const mosquitto: SystemModule = {
  id: 'mosquitto',
  label: 'mosquitto',
  description:
    'Mosquitto (native, one listener on 127.0.0.1, persistence true, autosave_interval 1, set_tcp_nodelay true), mqtt.js MQTT 3.1.1 clients',
  capabilities: MQTT_CAPABILITIES,
  async unavailable() {
    return findBinary(BINARY) === undefined
      ? 'skipped: mosquitto not found (install: apt-get install mosquitto)'
      : undefined;
  },
  async start(context) {
    const config = join(context.dir, 'mosquitto.conf');
    writeFileSync(config, mosquittoConfig(context.port, context.dir));
    const child = context.spawn('mosquitto', findBinary(BINARY)!, ['-c', config]);
    await waitForPort(context.port, child);
    return child;
  },
  async prepare() {},
  async cleanup() {},
  async loadClient() {
    const { mqttClient } = await import('./mqtt-client.js');
    return mqttClient;
  },
  async version() {
    const binary = findBinary(BINARY);
    if (binary === undefined) return 'not installed';
    // `mosquitto -h` prints its version first and exits non-zero.
    const output = await promisify(execFile)(binary, ['-h']).catch((error: { stdout?: string }) => ({
      stdout: error.stdout ?? '',
    }));
    return output.stdout.split('\n')[0]?.trim() || 'mosquitto';
  },
};
