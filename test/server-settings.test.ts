/**
 * The one settings table (`SERVER_SETTINGS`): its naming rule, the rules between settings
 * (checked by every entry point before anything listens), and every front end's limits settable
 * from `tributary serve` (flags, `TRIBUTARY_*` variables, config file), in a child process.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker/broker.js';
import { isTributaryError } from '../src/errors.js';
import { createMemoryLog } from '../src/log/memory/memory-log.js';
import { envName, kebabCase, resolveServerConfig } from '../src/server/config.js';
import { startKafkaFrontEnd } from '../src/server/front/kafka/index.js';
import { attachWebSocketFrontEnd } from '../src/server/front/ws/index.js';
import { RawClient } from '../src/server/front/ws/testing/harness.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { startServer } from '../src/server/server.js';
import {
  DEFAULT_SERVER_CONFIG,
  SERVER_SETTINGS,
  SETTING_NAMES,
  SETTING_RELATIONS,
  type SettingName,
  settingSpec,
} from '../src/server/settings.js';
import { type CliProcess, spawnCli } from './fixtures/cli-process.js';
import { freePort } from './fixtures/server-process.js';
import { tempDir } from './http-helpers.js';
import { BEGIN_MARKER, END_MARKER, settingsMarkdown } from './settings-doc.js';

const ROOT = resolve(import.meta.dirname, '..');

let dir: Awaited<ReturnType<typeof tempDir>>;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await tempDir('tributary-settings-');
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await dir.remove();
});

function invalidSetting(action: () => unknown): { setting: unknown; message: string } {
  try {
    action();
  } catch (error) {
    if (isTributaryError(error, 'INVALID_SETTING'))
      return { setting: error.details.setting, message: error.message };
    throw error;
  }
  throw new Error('no INVALID_SETTING was thrown');
}

describe('SERVER_SETTINGS', () => {
  it('names every setting one way: front end first, unit and qualifier last; flag and variable spelled from the name', () => {
    const prefixes = {
      server: /^(?!http|sse|ws|kafka|socketio|mqtt)[a-z]/,
      http: /^(http|sse)[A-Z]/,
      ws: /^ws[A-Z]/,
      kafka: /^kafka[A-Z]/,
      socketio: /^socketio[A-Z]/,
      mqtt: /^mqtt[A-Z]/,
    };
    for (const name of SETTING_NAMES) {
      const spec = settingSpec(name);
      expect(name, name).toMatch(prefixes[spec.group]);
      // "Max"/"Min" only ever last: `frameBytesMax`, never `maxFrameBytes`.
      expect(name, name).not.toMatch(/^max|Max(?!$)|^min|Min(?!$)/);
      if (spec.unit === 'ms') expect(name, name).toMatch(/Ms(Max)?$/);
      if (spec.unit === 'bytes') expect(name, name).toMatch(/Bytes(Max|High)?$/);
      if (name === 'dataDir') continue;
      expect(spec.flag, name).toBe(`--${kebabCase(name)}`);
      expect(spec.env, name).toBe(envName(name));
      expect(spec.doc.length, name).toBeGreaterThan(10);
      if ('min' in spec) {
        expect(spec.default, name).toBeGreaterThanOrEqual(spec.min);
        expect(spec.default, name).toBeLessThanOrEqual(spec.max);
      }
    }
  });

  it('has defaults that keep every rule between settings', () => {
    for (const relation of SETTING_RELATIONS)
      expect(relation.holds(DEFAULT_SERVER_CONFIG), relation.rule).toBe(true);
  });

  it('refuses a configuration that breaks a rule, naming the setting, wherever it comes from', () => {
    const flags = { httpHeadersTimeoutMs: '5000', httpRequestTimeoutMs: '1000' };
    expect(invalidSetting(() => resolveServerConfig({ flags }))).toMatchObject({
      setting: 'httpHeadersTimeoutMs',
      message: expect.stringMatching(
        /httpHeadersTimeoutMs = 5000, httpRequestTimeoutMs = 1000 breaks the rule/,
      ),
    });
    expect(
      invalidSetting(() =>
        resolveServerConfig({
          env: { TRIBUTARY_WS_CREDIT_MAX: '100', TRIBUTARY_WS_BROKER_CREDIT_CHUNK_RECORDS: '500' },
        }),
      ).setting,
    ).toBe('wsBrokerCreditChunkRecords');
    // 0 turns the request timeout off, so no rule binds the headers timeout to it.
    expect(resolveServerConfig({ flags: { httpRequestTimeoutMs: '0' } }).httpRequestTimeoutMs).toBe(0);
  });

  it('checks the limits a front end is mounted with: range, rules and unknown names', async () => {
    const broker = await createBroker(createMemoryLog());
    const server = createHttpServer();
    const options = {
      logger: pino({ level: 'silent' }),
      metrics: new ServerMetrics({ defaultMetrics: false }),
    };
    try {
      const ws = (limits: Record<string, number>) => () =>
        attachWebSocketFrontEnd(server, broker, { ...options, limits });
      expect(invalidSetting(ws({ wsFrameBytesMax: 0 })).setting).toBe('wsFrameBytesMax');
      expect(invalidSetting(ws({ wsCreditMax: 200_000 })).message).toMatch(/from 1 to 100000/);
      expect(invalidSetting(ws({ wsCreditMax: 10 })).setting).toBe('wsBrokerCreditChunkRecords');
      expect(invalidSetting(ws({ wsSubscriberBufferedBytesMax: 256 })).message).toMatch(/from 4096 to/);
      expect(invalidSetting(ws({ wsBufferedBytesHigh: 128 * 1024 })).setting).toBe(
        'wsSubscriberBufferedBytesMax',
      );
      expect(invalidSetting(ws({ maxFrameBytes: 1024 })).setting).toBe('maxFrameBytes');
      const kafka = (limits: Record<string, number>) =>
        startKafkaFrontEnd({
          ...options,
          broker,
          groups: broker.kafkaGroups,
          host: '127.0.0.1',
          port: 0,
          limits,
        });
      await expect(kafka({ maxInFlightRequests: 1 })).rejects.toMatchObject({ code: 'INVALID_SETTING' });
      await expect(kafka({ kafkaRequestsInFlightMax: -1 })).rejects.toMatchObject({
        code: 'INVALID_SETTING',
        details: { setting: 'kafkaRequestsInFlightMax' },
      });
    } finally {
      await broker.close();
    }
  });

  it('startServer refuses bad settings before it opens the data directory', async () => {
    const dataDir = join(dir.path, 'never-created');
    await expect(
      startServer({
        dataDir,
        port: 0,
        host: '127.0.0.1',
        httpHeadersTimeoutMs: 2000,
        httpRequestTimeoutMs: 1000,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_SETTING', details: { setting: 'httpHeadersTimeoutMs' } });
    await expect(
      startServer({ dataDir, port: 0, host: '127.0.0.1', wsHeartbeatMs: 0 }),
    ).rejects.toMatchObject({
      code: 'INVALID_SETTING',
    });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('accepts a former name in a config file, a variable or a flag, and says what it is now', () => {
    const warnings: string[] = [];
    const config = resolveServerConfig({
      file: { path: 'c.json', text: JSON.stringify({ maxBodyBytes: 2048 }) },
      env: { TRIBUTARY_MAX_SSE_STREAMS: '7' },
      flags: { maxFetchRecords: '9' },
      warn: (w) => warnings.push(w),
    });
    expect(config).toMatchObject({ httpBodyBytesMax: 2048, sseStreamsMax: 7, httpFetchRecordsMax: 9 });
    expect(warnings.join('\n')).toMatch(/"maxBodyBytes" is now "httpBodyBytesMax"/);
    expect(warnings.join('\n')).toMatch(/TRIBUTARY_MAX_SSE_STREAMS is now TRIBUTARY_SSE_STREAMS_MAX/);
    expect(warnings.join('\n')).toMatch(/--max-fetch-records is now --http-fetch-records-max/);
    expect(() =>
      resolveServerConfig({ file: { path: 'c.json', text: '{"maxBodyBytes": 1, "httpBodyBytesMax": 2}' } }),
    ).toThrow(/"maxBodyBytes" and "httpBodyBytesMax" are the same setting/);
  });
});

describe('the docs of the settings', () => {
  const doc = (name: string): string => readFileSync(join(ROOT, 'docs', name), 'utf8');

  it('docs/http-api.md lists exactly the table (regenerate with test/settings-doc.ts)', () => {
    const text = doc('http-api.md');
    const begin = text.indexOf(BEGIN_MARKER);
    const end = text.indexOf(END_MARKER);
    expect(begin, 'the begin marker').toBeGreaterThan(-1);
    expect(end, 'the end marker').toBeGreaterThan(begin);
    expect(text.slice(begin + BEGIN_MARKER.length + 1, end)).toBe(settingsMarkdown());
  });

  it('docs/protocol.md names every WebSocket setting, docs/kafka.md every Kafka one, docs/mqtt.md every MQTT one', () => {
    const protocol = doc('protocol.md');
    const kafka = doc('kafka.md');
    const mqtt = doc('mqtt.md');
    for (const name of SETTING_NAMES) {
      const group = settingSpec(name).group;
      if (group === 'ws') expect(protocol, name).toContain(`\`${name}\``);
      if (group === 'kafka' && name !== 'kafkaPort' && name !== 'kafkaAdvertisedHost') {
        expect(kafka, name).toContain(`\`${name}\``);
      }
      if (group === 'mqtt') expect(mqtt, name).toContain(`\`${name}\``);
    }
  });
});

interface Serve extends CliProcess {
  /** The JSON log lines so far. */
  lines(): { msg?: string; level?: number; url?: string; kafkaPort?: number }[];
}

function serve(args: readonly string[], env: Record<string, string> = {}): Serve {
  const cli = spawnCli(['serve', ...args], env);
  children.push(cli.child);
  return {
    ...cli,
    lines: () =>
      cli
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string }),
  };
}

async function until<T>(what: string, probe: () => T | undefined, s: Serve, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (s.child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${what}:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('tributary serve sets the limits of every front end', () => {
  it('from a config file, TRIBUTARY_* variables and flags: WebSocket, Kafka and HTTP', async () => {
    const kafkaPort = await freePort();
    const config = join(dir.path, 'tributary.json');
    await writeFile(config, JSON.stringify({ dataDir: 'data', wsFrameBytesMax: 8192, maxSseStreams: 3 }));
    const s = serve(
      ['--config', config, '--port', '0', '--host', '127.0.0.1', '--kafka-port', String(kafkaPort)].concat([
        '--http-body-bytes-max',
        '100',
      ]),
      { TRIBUTARY_KAFKA_CONNECTION_IDLE_TIMEOUT_MS: '300' },
    );
    const url = await until('listening line', () => s.lines().find((l) => l.url !== undefined)?.url, s);
    await until('Kafka listening line', () => s.lines().find((l) => l.kafkaPort !== undefined), s);
    expect(s.output()).toMatch(/"maxSseStreams\\?" is now \\?"sseStreamsMax/);

    // WebSocket: the frame limit of the file is announced and enforced.
    const ws = await RawClient.connect(`${url.replace('http', 'ws')}/v1/ws`, false);
    ws.send({ type: 'hello', protocol: 1, client: 'settings-test/1' });
    expect(await ws.next((f) => f.type === 'welcome')).toMatchObject({ maxFrameBytes: 8192 });
    ws.socket.terminate();

    // HTTP: the body limit of the flag.
    const answer = await fetch(`${url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(200) }),
    });
    expect(answer.status).toBe(413);
    expect(await answer.json()).toMatchObject({
      error: { details: { limit: 100, limitName: 'httpBodyBytesMax' } },
    });

    // Kafka: the idle timeout of the variable closes a connection that sends nothing.
    const socket = connectTcp(kafkaPort, '127.0.0.1');
    const started = Date.now();
    await new Promise<void>((r) => socket.once('close', () => r()));
    const idleMs = Date.now() - started;
    expect(idleMs).toBeGreaterThanOrEqual(250);
    expect(idleMs).toBeLessThan(5000);

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('exits 2 naming the setting when two settings contradict each other', async () => {
    const s = serve(['--port', '0', '--kafka-port', '0', '--data', join(dir.path, 'd')], {
      TRIBUTARY_HTTP_REQUEST_TIMEOUT_MS: '1000',
      TRIBUTARY_HTTP_HEADERS_TIMEOUT_MS: '5000',
    });
    expect(await s.exited).toBe(2);
    expect(s.output()).toMatch(
      /Invalid setting httpHeadersTimeoutMs: .*breaks the rule httpHeadersTimeoutMs ≤/,
    );
  });

  it('lists every setting in serve --help, grouped, with its variable and range', async () => {
    const s = serve(['--help']);
    expect(await s.exited).toBe(0);
    const help = s.output();
    for (const name of SETTING_NAMES) {
      const spec = SERVER_SETTINGS[name as SettingName];
      expect(help, name).toContain(spec.flag);
      expect(help.replace(/\s+/g, ' '), name).toContain(spec.env);
    }
    for (const heading of ['HTTP API and SSE limits:', 'WebSocket limits', 'Kafka protocol'])
      expect(help).toContain(heading);
    for (const relation of SETTING_RELATIONS) expect(help.replace(/\s+/g, ' ')).toContain(relation.rule);
  });
});
