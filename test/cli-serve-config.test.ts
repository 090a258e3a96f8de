/**
 * Server settings: defaults < config file < TRIBUTARY_* environment < flags (server/config.ts),
 * checked directly and through `tributary serve` as a child process.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_SERVER_CONFIG,
  resolveServerConfig,
  SERVER_SETTINGS,
  SETTING_NAMES,
} from '../src/server/config.js';
import { tempDir } from './http-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/cli/main.ts');

let dir: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  dir = await tempDir('tributary-config-');
});

afterEach(async () => {
  await dir.remove();
});

describe('resolveServerConfig', () => {
  it('has a default, an env name, a flag and a doc line for every setting', () => {
    for (const name of SETTING_NAMES) {
      const spec = SERVER_SETTINGS[name];
      expect(spec.env).toMatch(/^TRIBUTARY_[A-Z_]+$/);
      expect(spec.flag).toMatch(/^--[a-z-]+$/);
      expect(spec.doc.length).toBeGreaterThan(10);
      expect(DEFAULT_SERVER_CONFIG[name]).toBe(spec.default);
    }
    expect(DEFAULT_SERVER_CONFIG.httpBodyBytesMax).toBe(16 * 1024 * 1024);
  });

  it('layers defaults < file < env < flags', () => {
    const file = {
      path: '/etc/tributary/config.json',
      text: JSON.stringify({
        port: 1111,
        host: '0.0.0.0',
        httpBodyBytesMax: 2048,
        dataDir: 'data',
        logLevel: 'warn',
      }),
    };
    const config = resolveServerConfig({
      file,
      env: { TRIBUTARY_PORT: '2222', TRIBUTARY_HTTP_BODY_BYTES_MAX: '4096', TRIBUTARY_UNRELATED: 'x' },
      flags: { port: '3333' },
      cwd: '/work',
    });
    expect(config.port).toBe(3333); // flag
    expect(config.httpBodyBytesMax).toBe(4096); // env over file
    expect(config.host).toBe('0.0.0.0'); // file over default
    expect(config.logLevel).toBe('warn');
    expect(config.dataDir).toBe('/etc/tributary/data'); // relative to the file
    expect(config.sseHeartbeatMs).toBe(15_000); // default
    expect(resolveServerConfig({ cwd: '/srv' }).dataDir).toBe('/srv/data');
    expect(resolveServerConfig({ env: { TRIBUTARY_DATA: 'd' }, cwd: '/srv' }).dataDir).toBe('/srv/d');
  });

  it('does not parse an env value that a flag overrides', () => {
    expect(resolveServerConfig({ env: { TRIBUTARY_PORT: 'abc' }, flags: { port: '0' } }).port).toBe(0);
  });

  it('rejects unknown keys, wrong types and bad values with clear messages', () => {
    const file = (text: string) => () => resolveServerConfig({ file: { path: 'c.json', text } });
    expect(file('{"prot": 1}')).toThrow(ConfigError);
    expect(file('{"prot": 1}')).toThrow(/c\.json: unknown setting "prot"/);
    expect(file('{"port": "7700"}')).toThrow(/"port" is "7700"; The port must be an integer from 0 to 65535/);
    expect(file('{"httpBodyBytesMax": 0}')).toThrow(
      /"httpBodyBytesMax" is 0; it must be an integer from 1 to 1073741824/,
    );
    expect(file('{"httpBodyBytesMax": 1.5}')).toThrow(/httpBodyBytesMax/);
    expect(file('{"httpJsonDepthMax": 0}')).toThrow(
      /"httpJsonDepthMax" is 0; it must be an integer from 1 to 1000/,
    );
    expect(file('{"httpJsonDepthMax": 1001}')).toThrow(/"httpJsonDepthMax" is 1001/);
    expect(file('{"httpJsonDepthMax": 1000}')().httpJsonDepthMax).toBe(1000);
    expect(file('{"logLevel": "loud"}')).toThrow(/logLevel.*one of fatal, error/);
    expect(file('{"dataDir": 5}')).toThrow(/dataDir/);
    expect(file('[1]')).toThrow(/one JSON object/);
    expect(file('{"port": 1,')).toThrow(/c\.json is not valid JSON/);
    expect(() => resolveServerConfig({ env: { TRIBUTARY_HTTP_BODY_BYTES_MAX: '16MB' } })).toThrow(
      /TRIBUTARY_HTTP_BODY_BYTES_MAX is "16MB": it must be an integer from 1 to 1073741824/,
    );
    expect(() => resolveServerConfig({ env: { TRIBUTARY_LOG_LEVEL: 'verbose' } })).toThrow(
      /TRIBUTARY_LOG_LEVEL/,
    );
  });
});

describe('tributary serve with a config file', () => {
  function run(
    args: readonly string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number | string | null; output: string }> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const name of [
      'TRIBUTARY_DATA',
      'TRIBUTARY_PORT',
      'TRIBUTARY_HOST',
      'TRIBUTARY_LOG_LEVEL',
      'TRIBUTARY_CONFIG',
    ]) {
      if (env[name] === undefined) delete childEnv[name];
    }
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stopping = false;
    const onData = (chunk: string): void => {
      output += chunk;
      if (!stopping && output.includes('Tributary listening on')) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    return new Promise((resolveRun) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolveRun({ code: code ?? signal, output });
      }),
    );
  }

  it('starts with the settings of the file (TRIBUTARY_CONFIG) and exits 0 on SIGTERM', async () => {
    const path = join(dir.path, 'tributary.json');
    await writeFile(
      path,
      JSON.stringify({ dataDir: 'from-file', port: 0, host: '127.0.0.1', httpBodyBytesMax: 1024 }),
    );
    const { code, output } = await run([], { TRIBUTARY_CONFIG: path });
    expect(code).toBe(0);
    expect(output).toContain(`(data: ${join(dir.path, 'from-file')})`);
  });

  it('exits 2 naming the file and the key for an unknown key, and for an unreadable file', async () => {
    const path = join(dir.path, 'bad.json');
    await writeFile(path, JSON.stringify({ port: 0, maxBodyByte: 5 }));
    const bad = await run(['--config', path]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain(`error: Config file ${path}: unknown setting "maxBodyByte"`);
    expect(bad.output).not.toMatch(/\n\s+at /);

    const missing = await run(['--config', join(dir.path, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/Cannot read config file .*missing\.json/);
  });

  it('validates limit flags like --http-body-bytes-max', async () => {
    const bad = await run(['--http-body-bytes-max', 'lots', '--port', '0']);
    expect(bad.code).toBe(2);
    expect(bad.output).toMatch(/--http-body-bytes-max.*'lots'.*invalid/);
  });
});
