/**
 * `tributary serve --auth-file`: an invalid auth file stops the start with the problem named;
 * a running server re-reads the file on SIGHUP and when it changes, keeping the previous one
 * when the new one is broken.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../src/server/auth/passwords.js';
import { type CliProcess, spawnCli } from './fixtures/cli-process.js';
import { freePort } from './fixtures/server-process.js';

const TIMEOUT_MS = 120_000;
const FAST = { N: 1024, r: 8, p: 1 };

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function waitFor(cli: CliProcess, text: string, from = 0, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = cli.output().indexOf(text, from);
    if (at >= 0) return at + text.length;
    if (cli.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no "${text}" in the output:\n${cli.output()}`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe('serve --auth-file', () => {
  it(
    'refuses to start on an invalid auth file, naming the problem',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'serve-auth-'));
      const file = join(dir, 'auth.json');
      writeFileSync(file, JSON.stringify({ users: { alice: { password: 'hunter2' } } }));
      const cli = spawnCli([
        'serve',
        '--port',
        '0',
        '--data',
        join(dir, 'data'),
        '--kafka-port',
        '0',
        '--auth-file',
        file,
      ]);
      expect(await cli.exited).toBe(2);
      expect(cli.output()).toContain('users.alice.password: not a scrypt hash');
      expect(cli.output()).not.toContain('hunter2');
    },
    TIMEOUT_MS,
  );

  it(
    'reloads on SIGHUP and on change, and keeps the previous file when the new one is broken',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'serve-auth-'));
      const file = join(dir, 'auth.json');
      writeAtomic(file, JSON.stringify({ users: { alice: { password: await hashPassword('a', FAST) } } }));
      const port = await freePort();
      const cli = spawnCli(
        ['serve', '--port', String(port), '--data', join(dir, 'data'), '--kafka-port', '0'],
        {
          TRIBUTARY_AUTH_FILE: file,
          TRIBUTARY_LOG_LEVEL: 'info',
        },
      );
      try {
        let at = await waitFor(cli, 'Tributary listening on');
        writeFileSync(file, '{ "users": ');
        cli.child.kill('SIGHUP');
        at = await waitFor(cli, 'Auth file not reloaded, the previous one stays in force', at);
        writeAtomic(file, JSON.stringify({ users: { bob: { password: await hashPassword('b', FAST) } } }));
        at = await waitFor(cli, 'Auth file reloaded', at);
        cli.child.kill('SIGTERM');
        expect(await cli.exited).toBe(0);
      } finally {
        if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      }
    },
    TIMEOUT_MS,
  );
});
