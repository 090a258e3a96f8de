/**
 * `npm run interop:mqtt -- <paho.mqtt.testing checkout> [v3|v5|both] [test name ...]`
 *
 * Runs the Eclipse Paho interoperability suites (`interoperability/client_test.py`, MQTT 3.1.1,
 * and `client_test5.py`, MQTT 5) of a checkout you provide against a freshly started Tributary
 * (temporary data directory, MQTT on a free port) and prints PASS / FAIL / ERROR / TIMEOUT per
 * test. It fetches nothing: get the checkout with `git clone
 * https://github.com/eclipse/paho.mqtt.testing`. The suites are pure Python 3 with their own
 * client; `scripts/paho_interop.py` runs each test in its own process with a time limit.
 *
 * `--mosquitto` runs them against a Mosquitto started on a free port with a temporary config
 * instead, to tell the suites' own quirks from Tributary's differences (docs/mqtt.md, "The
 * Paho interoperability suites"). Environment: PYTHON (default /usr/bin/python3),
 * PAHO_TEST_TIMEOUT_S (default 90), PAHO_DETAIL=1 (tracebacks of failures).
 *
 * Exit code 0 when every test selected passed, 1 otherwise, 2 on bad arguments.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../src/server/server.js';

const HOST = '127.0.0.1';
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const HARNESS = join(dirname(fileURLToPath(import.meta.url)), 'paho_interop.py');

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npm run interop:mqtt -- <paho.mqtt.testing checkout> [--mosquitto] [v3|v5|both] [test ...]`,
  );
  process.exit(2);
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const { connect } = await import('node:net');
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, HOST, () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (open) return;
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new Error(`mosquitto did not listen on ${port}`);
}

/** A broker to test: its MQTT port and how to stop it. */
interface Target {
  readonly label: string;
  readonly port: number;
  stop(): Promise<void>;
}

async function startTributary(dir: string): Promise<Target> {
  const server = await startServer({ dataDir: dir, host: HOST, port: 0, mqtt: { port: 0 } });
  const port = server.mqtt?.port;
  if (port === undefined) throw new Error('the MQTT listener did not start');
  return { label: `Tributary (MQTT on ${HOST}:${port})`, port, stop: () => server.close() };
}

async function startMosquitto(dir: string): Promise<Target> {
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      `listener ${port} ${HOST}`,
      'allow_anonymous true',
      'persistence false',
      `user ${userInfo().username}`,
      '',
    ].join('\n'),
  );
  const child = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
  await waitForPort(port, child);
  return {
    label: `Mosquitto (${HOST}:${port})`,
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const mosquitto = args.includes('--mosquitto');
  const [checkout, ...rest] = args.filter((arg) => arg !== '--mosquitto');
  if (checkout === undefined) usage('the path of a paho.mqtt.testing checkout is missing');
  const suites = resolve(checkout, 'interoperability');
  if (!existsSync(join(suites, 'client_test.py'))) usage(`${suites}/client_test.py not found`);
  const [which = 'both', ...tests] = rest;
  if (!['v3', 'v5', 'both'].includes(which)) usage(`unknown suite ${which}`);

  const dir = mkdtempSync(join(tmpdir(), 'tributary-interop-mqtt-'));
  const target = mosquitto ? await startMosquitto(dir) : await startTributary(dir);
  console.log(`Paho interoperability suites (${which}) against ${target.label}`);
  try {
    const child = spawn(PYTHON, [HARNESS, suites, HOST, String(target.port), which, ...tests], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return await new Promise<number>((done) => child.once('exit', (code) => done(code ?? 1)));
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
