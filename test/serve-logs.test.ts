/**
 * What `tributary serve` writes to its log, read as a user reads it: JSON lines when stdout is not
 * a terminal, pino-pretty's lines with `--log-format pretty` (or TRIBUTARY_LOG_FORMAT), a plain
 * `cannot start` line on stderr for a failed start, the client name of each SDK connection at
 * info, and an HTTP request or a TLS handshake sent to the Kafka or MQTT port named as such.
 */
import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node/index.js';
import { type CliProcess, spawnCli } from './fixtures/cli-process.js';
import { freePort } from './fixtures/server-process.js';
import { tempDir } from './http-helpers.js';
import { waitFor } from './kafka-harness.js';

const READY_MS = 30_000;
const running: CliProcess[] = [];
const dirs: Awaited<ReturnType<typeof tempDir>>[] = [];

afterEach(async () => {
  for (const cli of running.splice(0)) {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
  await Promise.all(dirs.splice(0).map((dir) => dir.remove()));
});

async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<CliProcess> {
  const dir = await tempDir('tributary-serve-logs-');
  dirs.push(dir);
  const cli = spawnCli(['serve', '--data', `${dir.path}/data`, '--port', '0', ...args], env);
  running.push(cli);
  return cli;
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

function jsonLines(cli: CliProcess): LogLine[] {
  return cli
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The port a listening line names (`… listening on 127.0.0.1:PORT` or `…:PORT (`). */
async function listeningPort(cli: CliProcess, what: RegExp): Promise<number> {
  let port: number | undefined;
  await waitFor(
    () => {
      port = Number(what.exec(cli.output())?.[1] ?? Number.NaN);
      return Number.isInteger(port);
    },
    READY_MS,
    `${what} in:\n${cli.output()}`,
  );
  return port!;
}

/** Sends `bytes` to 127.0.0.1:`port` and waits until the server closes the connection. */
function sendAndWaitForClose(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    setTimeout(() => reject(new Error(`port ${port} did not close the connection`)), 10_000).unref();
  });
}

describe('tributary serve logs', { timeout: 90_000 }, () => {
  it('writes JSON lines when stdout is not a terminal, and pretty lines when asked', async () => {
    const json = await serve(['--kafka-port', '0', '--mqtt-port', '0']);
    await waitFor(
      () => jsonLines(json).some((l) => l.msg.startsWith('Tributary listening on')),
      READY_MS,
      'json',
    );

    const pretty = await serve(['--kafka-port', '0', '--mqtt-port', '0', '--log-format', 'pretty']);
    await waitFor(() => /INFO.*Tributary listening on/.test(pretty.output()), READY_MS, pretty.output());
    expect(pretty.output()).not.toMatch(/^\{"level"/m);
    // Not a terminal: no color codes.
    expect(pretty.output()).not.toContain('\u001b[');

    const fromEnv = await serve(['--kafka-port', '0', '--mqtt-port', '0'], {
      TRIBUTARY_LOG_FORMAT: 'pretty',
    });
    await waitFor(() => /INFO.*Tributary listening on/.test(fromEnv.output()), READY_MS, fromEnv.output());
  });

  it('refuses an unknown log format (exit 2)', async () => {
    const bad = await serve(['--log-format', 'xml']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('auto, json, pretty');
  });

  it('says why a start failed on stderr as a plain line, besides the JSON error', async () => {
    const first = await serve(['--kafka-port', '0', '--mqtt-port', '0']);
    const port = await listeningPort(first, /Tributary listening on http:\/\/127\.0\.0\.1:(\d+)/);
    const dir = await tempDir('tributary-serve-logs-busy-');
    dirs.push(dir);
    const second = spawnCli(['serve', '--data', `${dir.path}/data`, '--port', String(port)]);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(
      new RegExp(`^tributary: cannot start: .*127\\.0\\.0\\.1:${port}.*in use`, 'm'),
    );
    expect(jsonLines(second).filter((line) => line.level >= 50)).toHaveLength(1);
  });

  it('logs the client name of each WebSocket session at info', async () => {
    const cli = await serve(['--kafka-port', '0', '--mqtt-port', '0']);
    const port = await listeningPort(cli, /Tributary listening on http:\/\/127\.0\.0\.1:(\d+)/);
    const client = await connect({ url: `ws://127.0.0.1:${port}/v1/ws`, clientName: 'billing/2.3.0' });
    await client.close();
    await waitFor(() => jsonLines(cli).some((line) => line.client === 'billing/2.3.0'), 10_000, cli.output());
    const line = jsonLines(cli).find((l) => l.client === 'billing/2.3.0');
    expect(line?.level).toBe(30);
    expect(line?.msg).toBe('WebSocket client "billing/2.3.0" connected as local');
  });

  it('names HTTP and TLS sent to the Kafka and MQTT ports instead of a huge frame', async () => {
    // Port 0 turns these listeners off: give them free ports.
    const cli = await serve([
      '--kafka-port',
      String(await freePort()),
      '--mqtt-port',
      String(await freePort()),
    ]);
    const kafkaPort = await listeningPort(cli, /Kafka protocol listening on 127\.0\.0\.1:(\d+)/);
    const mqttPort = await listeningPort(cli, /MQTT listening on mqtt:\/\/127\.0\.0\.1:(\d+)/);
    const http = Buffer.from('GET /v1/topics HTTP/1.1\r\nHost: localhost\r\n\r\n');
    // The start of a TLS ClientHello: handshake record, TLS 1.0 record version, a length.
    const tlsHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    await sendAndWaitForClose(kafkaPort, http);
    await sendAndWaitForClose(kafkaPort, tlsHello);
    await sendAndWaitForClose(mqttPort, http);
    const said = (text: string) => jsonLines(cli).filter((line) => line.msg.includes(text));
    await waitFor(() => said('this looks like').length >= 3, 10_000, cli.output());
    expect(
      said('closing a Kafka connection: this looks like HTTP; the Kafka port speaks the Kafka protocol'),
    ).toHaveLength(1);
    expect(said('closing a Kafka connection: this looks like a TLS handshake')).toHaveLength(1);
    expect(
      said('closing an MQTT connection: this looks like HTTP; the MQTT port speaks the MQTT protocol'),
    ).toHaveLength(1);
    expect(cli.output()).not.toMatch(/bad frame/);
  });
});
