import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';
import { type CliProcess, spawnCli } from './fixtures/cli-process.js';
import { blockPort, expectPortInUseRefused, untilOutput } from './fixtures/serve-test.js';
import { freePort } from './fixtures/server-process.js';
import { tempDir } from './http-helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  dir = await tempDir('tributary-mqtt-serve-');
});

afterEach(async () => {
  await dir.remove();
});

function serve(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  return spawnCli(
    ['serve', '--data', join(dir.path, 'data'), '--port', '0', '--kafka-port', '0', ...args],
    env,
  );
}

describe('MQTT listener of tributary serve', () => {
  it('serves MQTT on --mqtt-port and says so', async () => {
    const mqttPort = await freePort();
    const s = serve(['--mqtt-port', String(mqttPort)]);
    try {
      await untilOutput('MQTT listening line', () => s.output().includes('MQTT listening on'), s);
      expect(s.output()).toContain(`MQTT listening on mqtt://127.0.0.1:${mqttPort} and ws://127.0.0.1:`);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
      await client.publishAsync('served/x', 'hello', { qos: 1 });
      await client.endAsync();
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exited).toBe(0);
  });

  it('turns the listener off with TRIBUTARY_MQTT_PORT=0', async () => {
    const s = serve([], { TRIBUTARY_MQTT_PORT: '0' });
    try {
      await untilOutput('listening line', () => s.output().includes('Tributary listening on'), s);
      await new Promise((done) => setTimeout(done, 200));
      expect(s.output()).not.toContain('MQTT');
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exited).toBe(0);
  });

  it('exits 1 naming host:port when an explicit MQTT port is in use', async () => {
    await expectPortInUseRefused((port) => serve(['--mqtt-port', String(port)]));
  });

  it('runs without the listener when an optional port is in use, still serving MQTT over WebSocket', async () => {
    const blocker = await blockPort();
    try {
      const server = await startServer({
        dataDir: dir.path,
        host: '127.0.0.1',
        port: 0,
        metrics: new ServerMetrics({ defaultMetrics: false }),
        mqtt: { port: blocker.port, optional: true },
      });
      try {
        expect(server.mqtt).toBeNull();
        const client = await mqtt.connectAsync(`${server.url.replace('http', 'ws')}/mqtt`, {
          reconnectPeriod: 0,
        });
        await client.publishAsync('over-ws/x', 'hello', { qos: 1 });
        await client.endAsync();
      } finally {
        await server.close();
      }
    } finally {
      await blocker.release();
    }
  });
});
