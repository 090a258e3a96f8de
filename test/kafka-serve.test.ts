/**
 * The Kafka listener's settings: `--kafka-port` / `TRIBUTARY_KAFKA_PORT` / `"kafkaPort"` (0 turns
 * it off), `--kafka-advertised-host`, through `tributary serve` as a child process and through
 * `startServer`; a port in use is an error when asked for, a warning for the default.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SERVER_CONFIG, resolveServerConfig, settingSource } from '../src/server/config.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';
import { blockPort, expectPortInUseRefused, untilOutput } from './fixtures/serve-test.js';
import { tempDir } from './kafka-harness.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/cli/main.ts');

let dir: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  dir = await tempDir('tributary-kafka-serve-');
});

afterEach(async () => {
  await dir.remove();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

interface Serve {
  readonly output: () => string;
  readonly exited: Promise<number | string>;
  stop(): void;
}

function serve(args: readonly string[], env: Record<string, string> = {}): Serve {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of [
    'TRIBUTARY_PORT',
    'TRIBUTARY_KAFKA_PORT',
    'TRIBUTARY_KAFKA_ADVERTISED_HOST',
    'TRIBUTARY_CONFIG',
  ]) {
    if (env[name] === undefined) delete childEnv[name];
  }
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'serve', '--data', join(dir.path, 'data'), ...args],
    {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exited = new Promise<number | string>((done) =>
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      done(code ?? signal ?? 'unknown');
    }),
  );
  return { output: () => output, exited, stop: () => child.kill('SIGTERM') };
}

describe('Kafka listener settings', () => {
  it('resolves kafkaPort and kafkaAdvertisedHost from defaults, file, env and flags', () => {
    expect(DEFAULT_SERVER_CONFIG.kafkaPort).toBe(9092);
    expect(DEFAULT_SERVER_CONFIG.kafkaAdvertisedHost).toBe('');
    const file = {
      path: '/etc/t.json',
      text: '{"kafkaPort": 19092, "kafkaAdvertisedHost": "kafka.internal"}',
    };
    expect(resolveServerConfig({ file })).toMatchObject({
      kafkaPort: 19092,
      kafkaAdvertisedHost: 'kafka.internal',
    });
    expect(resolveServerConfig({ file, env: { TRIBUTARY_KAFKA_PORT: '0' } }).kafkaPort).toBe(0);
    expect(
      resolveServerConfig({ env: { TRIBUTARY_KAFKA_PORT: '0' }, flags: { kafkaPort: '9093' } }).kafkaPort,
    ).toBe(9093);
    expect(() => resolveServerConfig({ env: { TRIBUTARY_KAFKA_PORT: '99999' } })).toThrow(
      /TRIBUTARY_KAFKA_PORT/,
    );
    expect(() => resolveServerConfig({ flags: { kafkaAdvertisedHost: 'a b' } })).toThrow(/host/);
    expect(settingSource('kafkaPort', {})).toBe('default');
    expect(settingSource('kafkaPort', { file })).toBe('file');
    expect(settingSource('kafkaPort', { env: { TRIBUTARY_KAFKA_PORT: '1' } })).toBe('env');
  });

  it('serves Kafka clients from `tributary serve --kafka-port` at the advertised host', async () => {
    const kafkaPort = await freePort();
    const s = serve([
      '--port',
      '0',
      '--kafka-port',
      String(kafkaPort),
      '--kafka-advertised-host',
      'localhost',
    ]);
    try {
      await untilOutput('Kafka listening line', () => s.output().includes('Kafka protocol listening'), s);
      expect(s.output()).toContain(`advertised as localhost:${kafkaPort}`);
      const kafka = new Kafka({
        brokers: [`127.0.0.1:${kafkaPort}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 2 },
      });
      const admin = kafka.admin();
      await admin.connect();
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toEqual([{ nodeId: 0, host: 'localhost', port: kafkaPort }]);
      expect(cluster.controller).toBe(0);
      await admin.disconnect();
    } finally {
      s.stop();
    }
    expect(await s.exited).toBe(0);
  });

  it('turns the listener off with TRIBUTARY_KAFKA_PORT=0', async () => {
    const s = serve(['--port', '0'], { TRIBUTARY_KAFKA_PORT: '0' });
    try {
      await untilOutput('listening line', () => s.output().includes('Tributary listening on'), s);
      await new Promise((done) => setTimeout(done, 200));
      expect(s.output()).not.toContain('Kafka protocol');
    } finally {
      s.stop();
    }
    expect(await s.exited).toBe(0);
  });

  it('exits 1 naming host:port when an explicit Kafka port is in use', async () => {
    await expectPortInUseRefused((port) => serve(['--port', '0', '--kafka-port', String(port)]));
  });

  it('runs without the listener, with a warning, when an optional port is in use', async () => {
    const blocker = await blockPort();
    try {
      const server = await startServer({
        dataDir: dir.path,
        host: '127.0.0.1',
        port: 0,
        metrics: new ServerMetrics({ defaultMetrics: false }),
        kafka: { port: blocker.port, optional: true },
      });
      expect(server.kafka).toBeNull();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      await server.close();
    } finally {
      await blocker.release();
    }
  });
});
