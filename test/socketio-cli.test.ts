/**
 * `tributary serve --no-socketio`: the server starts without the Socket.IO endpoint (an
 * engine.io handshake at /socket.io/ is not answered) and with it by default; the flag cannot be
 * combined with `--socketio-enabled`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const HANDSHAKE = '/socket.io/?EIO=4&transport=polling';
const started: ServerProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => killServer(server, 'SIGTERM')));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function serve(args: string[]): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-sio-cli-'));
  dirs.push(dir);
  const server = await startServerProcess(dir, await freePort(), { args, readyTimeoutMs: 45_000 });
  started.push(server);
  return server;
}

describe('tributary serve --no-socketio', () => {
  it('serves no Socket.IO endpoint with the flag, and one without it', { timeout: 100_000 }, async () => {
    const [off, on] = await Promise.all([serve(['--no-socketio']), serve([])]);
    const refused = await fetch(`${off.url}${HANDSHAKE}`);
    expect(refused.status).toBe(404);
    expect(await refused.text()).not.toContain('"sid"');
    const answered = await fetch(`${on.url}${HANDSHAKE}`);
    expect(answered.status).toBe(200);
    expect(await answered.text()).toMatch(/^0\{"sid":/);
    // The rest of the server is there.
    expect((await fetch(`${off.url}/v1/topics`)).status).toBe(200);
  });

  it('refuses --no-socketio with --socketio-enabled (exit 2)', { timeout: 30_000 }, async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'serve', '--no-socketio', '--socketio-enabled'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("option '--no-socketio' cannot be used with option '--socketio-enabled'");
  });
});
